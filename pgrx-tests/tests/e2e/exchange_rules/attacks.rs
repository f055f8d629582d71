//! Attacks on token exchange, from its attack review: each test is an attack, asserting the
//! refusal a sound server gives. The first seven found holes that were then closed (issue 33's
//! closing note lists them); the rest were refused from the start.

use super::*;
use oauth_server_e2e::dpop::{DpopKey, TOKEN_URL};
use oauth_server_e2e::stand_in::StandInIssuer;
use oauth_server_e2e::trusted::{session_token_of, trust, update_issuer};

const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// The exchange form for a trusted issuer's session `token` toward `audience`.
fn session_form(token: &str, audience: &str) -> Value {
    let mut f = form(token, audience, json!({}));
    f["subject_token_type"] = json!(JWT);
    f
}

/// A trusted stand-in issuer whose sessions may be exchanged.
fn exchanging_idp(c: &mut Client) -> StandInIssuer {
    let idp = StandInIssuer::new("https://idp.example");
    trust(c, &idp, json!({"token_exchange": true}));
    idp
}

// ---------------------------------------------------------------------------------------------
// Holes the review found (closed since).
// ---------------------------------------------------------------------------------------------

/// Was a hole. A rule without `may_act` is documented as "only lets a client narrow a token that was
/// issued to itself … and nothing acts for anyone". But a token the agent got *by acting* for
/// the user is also "issued to itself" (client_id = the agent): the decision treats exchanging
/// it as narrowing (`acts` ignores `subject.act`), so the agent acts for the user toward an
/// audience that no rule lets it act toward, and the result still says it acts (`act`).
#[test]
fn a_rule_without_may_act_does_not_let_an_agent_act_toward_a_new_audience() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("xa_noact");
    // B may act for users toward the API; toward the MCP server it may only narrow its own
    // users' tokens (no may_act).
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    allow(&mut c, &b, API, MCP, &["api:read"], false, false);
    let subject = user_token(&mut c, &a, "alice", "openid api:read");
    let (t1, s1) = exchange_as(&mut c, &b, form(at(&subject), API, json!({})));
    assert_eq!(s1, "200", "{t1}");
    // Now B "narrows" the token it got by acting for alice, toward the MCP server.
    let (t2, status) = exchange_as(&mut c, &b, form(at(&t1), MCP, json!({})));
    assert_ne!(
        status,
        "200",
        "B acts for alice toward {MCP} with a rule that does not let it act: {}",
        if t2.get("access_token").is_some() {
            access_token_claims(&t2).to_string()
        } else {
            t2.to_string()
        }
    );
    assert_eq!(t2["error"], json!("unauthorized_client"), "{t2}");
}

/// Was a hole. A trusted issuer's session that is itself delegated (it carries `act`: some agent
/// acts for the user at the issuer) is exchanged as if it were the user's own: the result's
/// `act` names only the exchanging client, so the earlier actor vanishes from
/// `oauth.act_chain()` and a policy such as "no agent of vendor X anywhere in the chain"
/// (docs/delegation.md) is escaped. Either refuse such a session, or nest its chain.
#[test]
fn a_delegated_session_of_a_trusted_issuer_keeps_its_actor_or_is_refused() {
    let Stage {
        db: _db,
        mut c,
        a: _,
        b,
    } = stage("xa_sessact");
    let idp = exchanging_idp(&mut c);
    allow(&mut c, &b, &idp.issuer, API, &["api:read"], true, false);
    let delegated = session_token_of(
        &idp,
        "carol",
        json!({"act": {"sub": "vendor-x-agent", "client_id": "vendor-x-agent"}}),
    );
    let (t, status) = exchange_as(&mut c, &b, session_form(&delegated, API));
    if status == "200" {
        let act = access_token_claims(&t)["act"].to_string();
        assert!(
            act.contains("vendor-x-agent"),
            "the session's actor was dropped: act = {act}"
        );
    }
}

/// Was a hole. A session-derived family keeps refreshing after its issuer's option `token_exchange`
/// is turned off: `redecide` re-checks rules, scopes and the source family, never the option
/// that allowed the exchange (and `is_live` only checks `enabled`).
#[test]
fn turning_off_an_issuers_token_exchange_stops_what_its_sessions_became() {
    let Stage {
        db: _db,
        mut c,
        a: _,
        b,
    } = stage("xa_optoff");
    let idp = exchanging_idp(&mut c);
    allow(&mut c, &b, &idp.issuer, API, &["api:read"], true, true);
    let session = session_token_of(&idp, "carol", json!({}));
    let (t, status) = exchange_as(&mut c, &b, session_form(&session, API));
    assert_eq!(status, "200", "{t}");
    let rt = t["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token: {t}"))
        .to_string();
    update_issuer(&mut c, &idp, json!({"token_exchange": false}));
    // A new exchange is refused …
    assert_eq!(
        refusal(&mut c, &b, session_form(&session, API)).0,
        "invalid_request"
    );
    // … and what was already exchanged refreshes no more.
    let r = peek_refresh_grant(&mut c, &b, &rt);
    assert_eq!(
        r["error"],
        json!("invalid_grant"),
        "refreshed after token_exchange was turned off: {r}"
    );
}

/// Was a hole. The client's token exchange grant taken away (`oauth.update_client`), its derived
/// families keep refreshing: the refresh checks the refresh_token grant (grounds) and the rules
/// (which outlive the grant type), never that the client may still exchange.
#[test]
fn taking_the_exchange_grant_away_stops_the_derived_refresh() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("xa_grantgone");
    allow(&mut c, &b, MCP, API, &["api:read"], true, true);
    let subject = user_token(&mut c, &a, "alice", "openid api:read offline_access");
    let (t, status) = exchange_as(&mut c, &b, form(at(&subject), API, json!({})));
    assert_eq!(status, "200", "{t}");
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    update_client(
        &mut c,
        &b,
        json!({"grant_types": ["client_credentials", "refresh_token"]}),
    );
    assert_eq!(
        refusal(&mut c, &b, form(at(&subject), API, json!({}))).0,
        "unauthorized_client"
    );
    let r = peek_refresh_grant(&mut c, &b, &rt);
    assert!(
        r.get("error").is_some(),
        "a client no longer registered for token exchange still refreshes what it exchanged: {r}"
    );
}

/// Was a hole. Removing a trusted issuer leaves every exchange rule naming it (a removed resource
/// takes its rules, `exchange_grounds_removed`; an issuer has no such trigger): trusting it
/// again later (new keys after a compromise, another tenant at that URL) silently re-allows
/// exchanges no rule was written for since.
#[test]
fn removing_an_issuer_takes_the_rules_naming_it() {
    let Stage {
        db: _db,
        mut c,
        a: _,
        b,
    } = stage("xa_issgone");
    let idp = exchanging_idp(&mut c);
    allow(&mut c, &b, &idp.issuer, API, &["api:read"], true, false);
    c.query_one("SELECT oauth.remove_issuer($1)", &[&idp.issuer])
        .unwrap();
    let rules = json(&mut c, "SELECT oauth.token_exchange_policies()", &[]);
    trust(&mut c, &idp, json!({"token_exchange": true}));
    let session = session_token_of(&idp, "carol", json!({}));
    let (t, status) = exchange_as(&mut c, &b, session_form(&session, API));
    assert_ne!(
        status, "200",
        "the issuer trusted again: exchanged by a rule written before it was removed ({rules}): {t}"
    );
}

/// HOLE (low). The exchange reads the subject token's audiences from its `aud` claim, which
/// the access-token hook may shape (claims.rs: aud is not protected); `redecide` reads them
/// from the family (its resources). A hook that adds an audience to every token (a common
/// PostgREST/Supabase pattern) makes a rule `from` that audience apply to tokens whose family
/// never named it — and the family so made is refused at its first refresh.
#[test]
fn a_hook_widened_aud_is_not_an_audience_the_user_granted() {
    let Stage { db, mut c, a, b } = stage("xa_hookaud");
    c.batch_execute(&format!(
        "CREATE FUNCTION public.widen_aud(e jsonb) RETURNS jsonb LANGUAGE sql AS
           $$ SELECT jsonb_build_object('claims', (e->'claims') ||
                jsonb_build_object('aud', jsonb_build_array(e->'claims'->'aud', '{API}'))) $$;"
    ))
    .unwrap();
    // B may act from the API (not from the MCP server) toward the MCP server.
    allow(&mut c, &b, API, MCP, &["api:read"], true, true);
    db.set("access_token_hook", "public.widen_aud");
    let mut c = db.connect();
    // alice's token of A for the MCP server only; the hook says the API too.
    let subject = user_token(&mut c, &a, "alice", "openid api:read offline_access");
    let claims = access_token_claims(&subject);
    assert!(claims["aud"].to_string().contains(API), "{claims}");
    let (t, status) = exchange_as(&mut c, &b, form(at(&subject), MCP, json!({})));
    if status == "200" {
        // What the exchange allowed, the refresh refuses: the two disagree.
        let r = peek_refresh_grant(&mut c, &b, t["refresh_token"].as_str().unwrap());
        panic!("exchanged from an audience the family never named ({API}); its refresh: {r}");
    }
}

/// HOLE (low). Introspection of a derived family's refresh token re-checks the grounds, not the
/// exchange: it says `active: true` for a refresh token the token endpoint refuses
/// (`redecide`: the rule no longer gives refresh tokens), contrary to `under_todays_grounds`'s
/// promise that introspection never calls active what the endpoint would refuse.
#[test]
fn introspection_calls_no_derived_refresh_token_active_that_redecide_refuses() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("xa_intrort");
    allow(&mut c, &b, MCP, API, &["api:read"], true, true);
    let subject = user_token(&mut c, &a, "alice", "openid api:read offline_access");
    let (t, _) = exchange_as(&mut c, &b, form(at(&subject), API, json!({})));
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    assert_eq!(
        peek_refresh_grant(&mut c, &b, &rt)["error"],
        json!("invalid_grant")
    );
    let shown = introspect(&mut c, &b, &rt);
    assert_eq!(shown["active"], json!(false), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// Held (these pass: the attack is refused).
// ---------------------------------------------------------------------------------------------

/// Credentials of the wrong kind, or other spellings of the same input.
#[test]
fn wrong_kinds_and_other_spellings_are_refused() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("xa_kinds");
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    let idp = exchanging_idp(&mut c);
    allow(&mut c, &b, &idp.issuer, API, &["api:read"], true, false);
    let user_t = user_token(&mut c, &a, "alice", "openid api:read");
    let subject = at(&user_t).to_string();
    let session = session_token_of(&idp, "carol", json!({}));
    // Our access token presented as a session (jwt, id_token); a session as an access token.
    for kind in [JWT, "urn:ietf:params:oauth:token-type:id_token"] {
        let mut f = form(&subject, API, json!({}));
        f["subject_token_type"] = json!(kind);
        assert_eq!(refusal(&mut c, &b, f).0, "invalid_request", "{kind}");
    }
    assert_eq!(
        refusal(&mut c, &b, form(&session, API, json!({}))).0,
        "invalid_request"
    );
    // Repeated parameters.
    for (k, v) in [
        ("subject_token", json!([subject, subject])),
        ("subject_token_type", json!([ACCESS, ACCESS])),
        ("scope", json!(["api:read", "api:write"])),
        ("requested_token_type", json!([ACCESS, ACCESS])),
    ] {
        let mut f = form(&subject, API, json!({}));
        f[k] = v;
        let (body, _) = exchange_as(&mut c, &b, f);
        assert!(body.get("error").is_some(), "{k}: {body}");
    }
    // Other spellings of the target: none is the registered resource.
    for aud in [
        "https://api.example",
        "HTTPS://API.EXAMPLE/",
        "https://api.example//",
        "https://api.example/#x",
        "",
        " https://api.example/",
    ] {
        let (body, status) = exchange_as(&mut c, &b, form(&subject, aud, json!({})));
        assert!(
            body.get("error").is_some() && status != "200",
            "{aud:?}: {body}"
        );
    }
    // The default audience mixed with a resource, by audience and resource both.
    let default: String = c
        .query_one(
            "SELECT current_setting('oauth_server.default_audience')",
            &[],
        )
        .unwrap()
        .get(0);
    let mut f = form(&subject, API, json!({}));
    f["resource"] = json!(default);
    assert_eq!(refusal(&mut c, &b, f).0, "invalid_target");
    // The same target twice: once.
    let mut f = form(&subject, API, json!({}));
    f["resource"] = json!(API);
    let (t, status) = exchange_as(&mut c, &b, f);
    assert_eq!(status, "200", "{t}");
    assert_eq!(access_token_claims(&t)["aud"], json!(API));
    // B's own machine token as the subject, narrowing (no acting): still a machine's.
    update_client(
        &mut c,
        &b,
        json!({"grant_types": [EXCHANGE, "refresh_token", "client_credentials"]}),
    );
    allow(&mut c, &b, &default, API, &["api:read"], false, false);
    let (m, _) = token_endpoint(
        &mut c,
        json!({"grant_type": "client_credentials", "scope": "api:read"}),
        &b,
    );
    assert_eq!(
        refusal(&mut c, &b, form(at(&m), API, json!({}))).0,
        "invalid_request"
    );
    // A derived token (it carries act) as the actor token.
    let (derived, _) = exchange_as(&mut c, &b, form(&subject, API, json!({})));
    let other = user_token(&mut c, &a, "bob", "openid api:read");
    let f = form(
        at(&other),
        API,
        json!({"actor_token": at(&derived), "actor_token_type": ACCESS}),
    );
    assert_eq!(refusal(&mut c, &b, f).0, "invalid_request");
    // A session as the actor token.
    let f = form(
        at(&other),
        API,
        json!({"actor_token": session, "actor_token_type": ACCESS}),
    );
    assert_eq!(refusal(&mut c, &b, f).0, "invalid_request");
}

/// A session is exchanged only by a rule that lets the client act; its may_act, of any JSON
/// type, names someone or no one (failing closed), and is carried on to refuse the next hop.
#[test]
fn a_sessions_may_act_fails_closed_and_binds_every_hop() {
    let Stage {
        db: _db,
        mut c,
        a: _,
        b,
    } = stage("xa_mayact");
    let idp = exchanging_idp(&mut c);
    allow(&mut c, &b, &idp.issuer, API, &["api:read"], false, false);
    let plain = session_token_of(&idp, "carol", json!({}));
    assert_eq!(
        refusal(&mut c, &b, session_form(&plain, API)).0,
        "unauthorized_client",
        "a session is never narrowed, always acted for"
    );
    allow(&mut c, &b, &idp.issuer, API, &["api:read"], true, false);
    for may_act in [
        json!(null),
        json!(b.id),
        json!([]),
        json!({}),
        json!({"client_id": 5}),
        json!({"client_id": [b.id]}),
        json!({"client_id": b.id, "sub": "someone"}),
        json!({"client_id": b.id, "sub": null}),
        json!({"sub": b.id.to_uppercase()}),
        json!([{"client_id": "other"}]),
    ] {
        let s = session_token_of(&idp, "dave", json!({ "may_act": may_act }));
        let (body, status) = exchange_as(&mut c, &b, session_form(&s, API));
        assert!(
            status != "200" && body.get("error").is_some(),
            "may_act {may_act}: {body}"
        );
    }
    let s = session_token_of(&idp, "dave", json!({"may_act": [{"client_id": b.id}]}));
    let (t1, status) = exchange_as(&mut c, &b, session_form(&s, API));
    assert_eq!(status, "200", "{t1}");
    let d = agent(&mut c);
    allow(&mut c, &d, API, MCP, &["api:read"], true, false);
    assert_eq!(
        refusal(&mut c, &d, form(at(&t1), MCP, json!({}))).0,
        "invalid_request",
        "may_act names B only"
    );
}

/// A DPoP-bound subject token is exchanged only with a proof by its key; the result is bound
/// to it.
#[test]
fn a_bound_subject_token_needs_its_key() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("xa_dpop");
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    let key = DpopKey::new();
    let code = approved_code(&mut c, &a, "openid api:read", &[MCP], "alice");
    let proof = key.proof("POST", TOKEN_URL);
    let (bound, _) = status_of(
        &mut c,
        "SELECT oauth.token($1, $2, $3)",
        &[
            &json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
                    "redirect_uri": REDIRECT, "resource": MCP}),
            &Some(basic_header(&a)),
            &Some(proof),
        ],
    );
    let jkt = key.jkt();
    assert_eq!(access_token_claims(&bound)["cnf"]["jkt"], json!(jkt));
    let exchange_with = |c: &mut Client, proof: Option<String>| {
        status_of(
            c,
            "SELECT oauth.token($1, $2, $3)",
            &[
                &form(at(&bound), API, json!({})),
                &Some(basic_header(&b)),
                &proof,
            ],
        )
        .0
    };
    let none = exchange_with(&mut c, None);
    assert!(none.get("error").is_some(), "{none}");
    let other = exchange_with(&mut c, Some(DpopKey::new().proof("POST", TOKEN_URL)));
    assert!(other.get("error").is_some(), "{other}");
    let ok = exchange_with(&mut c, Some(key.proof("POST", TOKEN_URL)));
    assert_eq!(access_token_claims(&ok)["cnf"]["jkt"], json!(jkt), "{ok}");
    assert_eq!(ok["token_type"], json!("DPoP"));
}

/// The user revoking the agent (or the agent's token being revoked at RFC 7009) ends what it
/// derived, and what others derived from that.
#[test]
fn the_user_revoking_the_agent_ends_its_derived_families() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("xa_userrev");
    let d = agent(&mut c);
    allow(&mut c, &b, MCP, API, &["api:read"], true, true);
    allow(&mut c, &d, API, MCP, &["api:read"], true, true);
    let subject = user_token(&mut c, &a, "alice", "openid api:read offline_access");
    let (t1, _) = exchange_as(&mut c, &b, form(at(&subject), API, json!({})));
    let (t2, _) = exchange_as(&mut c, &d, form(at(&t1), MCP, json!({})));
    call_as(
        &mut c,
        &user("alice"),
        "SELECT oauth.revoke_grant($1)",
        &b.id,
    );
    assert_eq!(verify_sqlstate(&mut c, at(&t1)), "28000");
    assert_eq!(verify_sqlstate(&mut c, at(&t2)), "28000");
    let rt = t2["refresh_token"].as_str().unwrap();
    assert_eq!(
        peek_refresh_grant(&mut c, &d, rt)["error"],
        json!("invalid_grant")
    );
    // The user's own token of A stands.
    assert!(json(&mut c, "SELECT oauth.verify($1)", &[&at(&subject)])["sub"].is_string());
}

/// A derived family's refresh tokens never outlive the session it came from, and a session
/// past its end is not exchanged.
#[test]
fn a_session_derived_family_ends_with_the_session() {
    let Stage {
        db: _db,
        mut c,
        a: _,
        b,
    } = stage("xa_sessend");
    let idp = exchanging_idp(&mut c);
    allow(&mut c, &b, &idp.issuer, API, &["api:read"], true, true);
    let now = oauth_server_e2e::stand_in::now();
    let s = session_token_of(&idp, "carol", json!({"exp": now + 120}));
    let (t, status) = exchange_as(&mut c, &b, session_form(&s, API));
    assert_eq!(status, "200", "{t}");
    assert!(access_token_claims(&t)["exp"].as_i64().unwrap() <= now + 120);
    let late: bool = c
        .query_one(
            "SELECT bool_or(t.expires_at > to_timestamp($1::float8) OR g.expires_at > to_timestamp($1::float8))
             FROM oauth.refresh_tokens t JOIN oauth.grants g ON g.id = t.grant_id
             WHERE g.client_id = $2",
            &[&((now + 121) as f64), &b.id],
        )
        .unwrap()
        .get(0);
    assert!(!late, "a refresh token outlives the session");
    let gone = session_token_of(&idp, "carol", json!({"iat": now - 600, "exp": now - 300}));
    assert_eq!(
        refusal(&mut c, &b, session_form(&gone, API)).0,
        "invalid_request"
    );
}
