//! Delegation chains: an agent's token exchanged again by another agent nests the earlier
//! actor (RFC 8693 §4.1); a client appears in a chain once; an actor token is the exchanging
//! client's own; a trusted issuer's session is exchanged only when its option says.

use super::*;

#[test]
fn a_chain_nests_each_actor_and_never_loops() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("x_chain");
    let d = agent(&mut c);
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    allow(&mut c, &d, API, MCP, &["api:read"], true, false);
    allow(&mut c, &b, MCP, MCP, &["api:read"], true, false);
    let subject = user_token(&mut c, &a, "alice", "openid api:read");
    let (t1, _) = exchange_as(&mut c, &b, form(at(&subject), API, json!({})));
    let (t2, status) = exchange_as(&mut c, &d, form(at(&t1), MCP, json!({})));
    assert_eq!(status, "200", "{t2}");
    let claims = access_token_claims(&t2);
    assert_eq!(
        claims["act"],
        json!({"sub": d.id, "client_id": d.id, "act": {"sub": b.id, "client_id": b.id}})
    );
    let mut tx = c.transaction().unwrap();
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&claims.to_string()],
    )
    .unwrap();
    let row = tx
        .query_one("SELECT oauth.actor(), oauth.act_chain()", &[])
        .unwrap();
    assert_eq!(
        row.get::<_, Option<String>>(0).as_deref(),
        Some(d.id.as_str())
    );
    assert_eq!(
        row.get::<_, Value>(1),
        json!([{"sub": d.id, "client_id": d.id}, {"sub": b.id, "client_id": b.id}])
    );
    tx.rollback().unwrap();
    // B again, on a token it already acted on: a loop, whatever the rules allow.
    assert_eq!(
        refusal(&mut c, &b, form(at(&t2), MCP, json!({}))).0,
        "invalid_request"
    );
}

#[test]
fn an_actor_token_is_the_exchanging_clients_own() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("x_actor");
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    let subject = user_token(&mut c, &a, "alice", "openid api:read");
    // B's own machine token (client_credentials) names it as the actor.
    update_client(
        &mut c,
        &b,
        json!({"grant_types": [EXCHANGE, "refresh_token", "client_credentials"]}),
    );
    let (own, _) = token_endpoint(&mut c, json!({"grant_type": "client_credentials"}), &b);
    let with_actor = |actor: &str| {
        form(
            at(&subject),
            API,
            json!({"actor_token": actor, "actor_token_type": ACCESS}),
        )
    };
    let (t, status) = exchange_as(&mut c, &b, with_actor(at(&own)));
    assert_eq!(status, "200", "{t}");
    assert_eq!(
        access_token_claims(&t)["act"],
        json!({"sub": b.id, "client_id": b.id})
    );
    // Another client's token as the actor: refused, even a token of the same user.
    let other = user_token(&mut c, &a, "mallory", "openid api:read");
    assert_eq!(
        refusal(&mut c, &b, with_actor(at(&other))).0,
        "invalid_request"
    );
    // The user's own token as the actor: no one acts for anyone.
    assert_eq!(
        refusal(&mut c, &b, with_actor(at(&subject))).0,
        "invalid_request"
    );
    // An actor token with no type, or a type with no token.
    let mut f = with_actor(at(&own));
    f.as_object_mut().unwrap().remove("actor_token_type");
    assert_eq!(refusal(&mut c, &b, f).0, "invalid_request");
    let mut f = with_actor(at(&own));
    f.as_object_mut().unwrap().remove("actor_token");
    assert_eq!(refusal(&mut c, &b, f).0, "invalid_request");
}

#[test]
fn a_trusted_issuers_session_is_exchanged_only_when_its_option_says() {
    use oauth_server_e2e::stand_in::StandInIssuer;
    use oauth_server_e2e::trusted::{session_token_of, trust, update_issuer};
    let Stage {
        db: _db,
        mut c,
        a: _,
        b,
    } = stage("x_trusted");
    let idp = StandInIssuer::new("https://idp.example");
    trust(&mut c, &idp, json!({}));
    allow(&mut c, &b, &idp.issuer, API, &["api:read"], true, false);
    let session = session_token_of(&idp, "carol", json!({}));
    let as_jwt = |token: &str| {
        let mut f = form(token, API, json!({}));
        f["subject_token_type"] = json!("urn:ietf:params:oauth:token-type:jwt");
        f
    };
    // Trusting an issuer's sessions at the consent page does not hand them to machines.
    assert_eq!(refusal(&mut c, &b, as_jwt(&session)).0, "invalid_request");
    update_issuer(&mut c, &idp, json!({"token_exchange": true}));
    let (t, status) = exchange_as(&mut c, &b, as_jwt(&session));
    assert_eq!(status, "200", "{t}");
    let claims = access_token_claims(&t);
    assert_eq!(claims["sub"], json!("carol"));
    assert_eq!(claims["act"], json!({"sub": b.id, "client_id": b.id}));
    assert!(claims["exp"].as_i64().unwrap() <= oauth_server_e2e::stand_in::now() + 600);
    // Its user revoked at the issuer: the derived token falls with the session.
    c.query_one("SELECT oauth.revoke_user($1, $2)", &[&"carol", &idp.issuer])
        .unwrap();
    assert_eq!(verify_sqlstate(&mut c, at(&t)), "28000");
    assert_eq!(refusal(&mut c, &b, as_jwt(&session)).0, "invalid_request");
    // A session whose may_act names another client: this one may not act for it.
    let named = session_token_of(
        &idp,
        "dave",
        json!({"may_act": {"client_id": "someone-else"}}),
    );
    assert_eq!(refusal(&mut c, &b, as_jwt(&named)).0, "invalid_request");
    let named = session_token_of(&idp, "dave", json!({"may_act": {"client_id": b.id}}));
    let (t, status) = exchange_as(&mut c, &b, as_jwt(&named));
    assert_eq!(status, "200", "{t}");
    assert_eq!(
        access_token_claims(&t)["may_act"],
        json!({"client_id": b.id})
    );
    // The issuer disabled: what it approved stops verifying.
    update_issuer(&mut c, &idp, json!({"enabled": false}));
    assert_eq!(verify_sqlstate(&mut c, at(&t)), "28000");
}

#[test]
fn a_trusted_issuers_id_token_is_exchanged_but_not_its_access_or_logout_tokens() {
    use oauth_server_e2e::stand_in::StandInIssuer;
    use oauth_server_e2e::trusted::{session_token_of, trust};
    let Stage {
        db: _db,
        mut c,
        a: _,
        b,
    } = stage("x_id_token");
    let idp = StandInIssuer::new("https://accounts.idp.example");
    trust(
        &mut c,
        &idp,
        json!({"token_exchange": true, "audience": "our-app"}),
    );
    allow(&mut c, &b, &idp.issuer, API, &["api:read"], true, false);
    let as_type = |token: &str, kind: &str| {
        let mut f = form(token, API, json!({}));
        f["subject_token_type"] = json!(kind);
        f
    };
    let id_type = "urn:ietf:params:oauth:token-type:id_token";
    // An ID token the issuer gave our app (aud pinned by its policy), with its nonce.
    let id_token = session_token_of(
        &idp,
        "erin",
        json!({"aud": "our-app", "nonce": "n", "azp": "our-app"}),
    );
    let (t, status) = exchange_as(&mut c, &b, as_type(&id_token, id_type));
    assert_eq!(status, "200", "{t}");
    assert_eq!(access_token_claims(&t)["sub"], json!("erin"));
    // One given to another app of the issuer: its audience is not ours.
    let theirs = session_token_of(&idp, "erin", json!({"aud": "other-app", "nonce": "n"}));
    assert_eq!(
        refusal(&mut c, &b, as_type(&theirs, id_type)).0,
        "invalid_request"
    );
    // The issuer's access token (it names a client) and its logout token (an event) are no
    // one's sign-in.
    let access = session_token_of(&idp, "erin", json!({"aud": "our-app", "client_id": "x"}));
    assert_eq!(
        refusal(&mut c, &b, as_type(&access, id_type)).0,
        "invalid_request"
    );
    let logout = session_token_of(
        &idp,
        "erin",
        json!({"aud": "our-app", "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
    );
    assert_eq!(
        refusal(&mut c, &b, as_type(&logout, id_type)).0,
        "invalid_request"
    );
    // Our own logout token, whatever type it is given as.
    let session = session_token(&mut c, "frank");
    let app = create_client(&mut c, &[REDIRECT], "confidential");
    update_client(
        &mut c,
        &app,
        json!({"backchannel_logout_uri": "https://rp.example/l"}),
    );
    oauth_server_e2e::trusted::family_via(&mut c, &app, &session, "openid");
    json(&mut c, "SELECT oauth.sign_out($1)", &[&session]);
    let claimed = json(&mut c, "SELECT oauth.claim_logout_deliveries()", &[]);
    let ours = claimed[0]["logout_token"].as_str().unwrap().to_string();
    for kind in [ACCESS, id_type, "urn:ietf:params:oauth:token-type:jwt"] {
        assert_eq!(
            refusal(&mut c, &b, as_type(&ours, kind)).0,
            "invalid_request",
            "{kind}"
        );
    }
}
