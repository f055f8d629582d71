//! Pushed authorization requests required (RFC 9126 §5, §6: server-wide or per client, for a
//! request that arrives after the rule and one shown before it), and bound to a DPoP key when
//! the push carries a proof (RFC 9449 §10.1), with the server's nonce when it asks for one.

use oauth_server_e2e::dpop::{DpopKey, TOKEN_URL};
use oauth_server_e2e::par::*;
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

#[test]
fn the_server_may_require_pushed_requests_of_every_client() {
    let db = TestDb::new("par_required");
    let mut c = db.connect();
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(
        md["pushed_authorization_request_endpoint"],
        "http://localhost:8080/oauth/par"
    );
    assert_eq!(md["require_pushed_authorization_requests"], false);
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let public = create_client(&mut c, &[REDIRECT], "public");
    to_consent(&status_of(
        &mut c,
        "SELECT oauth.authorize($1)",
        &[&auth_params(&client, REDIRECT, "openid")],
    ));
    db.set("require_pushed_authorization_requests", "on");
    let mut c = db.connect();
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(md["require_pushed_authorization_requests"], true);
    for who in [&client, &public] {
        let answer = status_of(
            &mut c,
            "SELECT oauth.authorize($1)",
            &[&auth_params(who, REDIRECT, "openid")],
        );
        let why = refused_json(&answer, "invalid_request");
        assert!(
            why.contains("oauth_server.require_pushed_authorization_requests"),
            "{why}"
        );
    }
    assert_eq!(
        json(
            &mut c,
            "SELECT to_jsonb(count(*)) FROM oauth.authorizations",
            &[]
        ),
        1
    );
    // Pushed, the same request goes through, for either kind of client.
    for who in [&client, &public] {
        let uri = push(&mut c, who, auth_params(who, REDIRECT, "openid"));
        to_consent(&use_pushed(&mut c, &who.id, &uri, json!({})));
    }
}

#[test]
fn a_client_may_be_registered_to_require_pushed_requests() {
    let db = TestDb::new("par_client_required");
    let mut c = db.connect();
    let strict = create_client(&mut c, &[REDIRECT], "confidential");
    let lax = create_client(&mut c, &[REDIRECT], "confidential");
    update_client(
        &mut c,
        &strict,
        json!({"require_pushed_authorization_requests": true}),
    );
    let answer = status_of(
        &mut c,
        "SELECT oauth.authorize($1)",
        &[&auth_params(&strict, REDIRECT, "openid")],
    );
    let why = refused_json(&answer, "invalid_request");
    assert!(
        why.contains("require_pushed_authorization_requests"),
        "{why}"
    );
    // Only that client: the server's setting is off, the other client is unaffected.
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    assert_eq!(md["require_pushed_authorization_requests"], false);
    to_consent(&status_of(
        &mut c,
        "SELECT oauth.authorize($1)",
        &[&auth_params(&lax, REDIRECT, "openid")],
    ));
    let uri = push(&mut c, &strict, request(&strict, "openid", "strict-state"));
    let aid = to_consent(&use_pushed(&mut c, &strict.id, &uri, json!({})));
    let callback = approve(&mut c, &aid, "u");
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some("strict-state")
    );
    // Lifted, the plain request goes through again.
    update_client(
        &mut c,
        &strict,
        json!({"require_pushed_authorization_requests": false}),
    );
    to_consent(&status_of(
        &mut c,
        "SELECT oauth.authorize($1)",
        &[&auth_params(&strict, REDIRECT, "openid")],
    ));
}

#[test]
fn a_dpop_proof_at_par_binds_the_code_to_its_key() {
    let db = TestDb::new("par_dpop");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let key = DpopKey::new();
    let uri = pushed(par(
        &mut c,
        &client,
        auth_params(&client, REDIRECT, "openid"),
        Some(&key.proof("POST", PAR_URL)),
    ));
    let kept = json(&mut c, "SELECT params FROM oauth.pushed_requests", &[]);
    assert_eq!(kept["dpop_jkt"], json!(key.jkt()), "{kept}");
    let aid = to_consent(&use_pushed(&mut c, &client.id, &uri, json!({})));
    let code = code_in(&approve(&mut c, &aid, "u"));
    // No proof (the client's secret is not the key), another key's: refused, code unspent.
    let (body, status) = token(&mut c, &client, code_form(&code), None);
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_dpop_proof"), "400"),
        "{body}"
    );
    let thief = DpopKey::new();
    let (body, status) = token(
        &mut c,
        &client,
        code_form(&code),
        Some(&thief.proof("POST", TOKEN_URL)),
    );
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_grant"), "400"),
        "{body}"
    );
    let (t, status) = token(
        &mut c,
        &client,
        code_form(&code),
        Some(&key.proof("POST", TOKEN_URL)),
    );
    assert_eq!(status, "", "{t}");
    assert_eq!(t["token_type"], "DPoP", "{t}");
    assert_eq!(access_token_claims(&t)["cnf"], json!({"jkt": key.jkt()}));
}

#[test]
fn a_dpop_proof_at_par_must_be_for_par_and_agree_with_dpop_jkt() {
    let db = TestDb::new("par_dpop_jkt");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let key = DpopKey::new();
    let with_jkt = |jkt: String| {
        let mut p = auth_params(&client, REDIRECT, "openid");
        p["dpop_jkt"] = json!(jkt);
        p
    };
    let bad = [
        (
            "dpop_jkt of another key",
            with_jkt(DpopKey::new().jkt()),
            key.proof("POST", PAR_URL),
        ),
        (
            "a proof for the token endpoint",
            auth_params(&client, REDIRECT, "openid"),
            key.proof("POST", TOKEN_URL),
        ),
        (
            "a proof for GET",
            auth_params(&client, REDIRECT, "openid"),
            key.proof("GET", PAR_URL),
        ),
    ];
    for (what, form, proof) in bad {
        let (body, status) = par(&mut c, &client, form, Some(&proof));
        assert_eq!(
            (body["error"].as_str(), status.as_str()),
            (Some("invalid_dpop_proof"), "400"),
            "{what}: {body}"
        );
    }
    assert_eq!(stored_requests(&mut c), 0);
    // dpop_jkt of the proof's own key is taken; the same proof a second time is a replay.
    let proof = key.proof("POST", PAR_URL);
    pushed(par(&mut c, &client, with_jkt(key.jkt()), Some(&proof)));
    let (body, status) = par(&mut c, &client, with_jkt(key.jkt()), Some(&proof));
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("invalid_dpop_proof"), "400"),
        "replayed: {body}"
    );
    assert_eq!(stored_requests(&mut c), 1);
}

#[test]
fn with_dpop_nonce_on_a_proof_at_par_must_carry_the_servers_nonce() {
    let db = TestDb::new("par_dpop_nonce");
    db.set("dpop_nonce", "on");
    let mut c = db.connect();
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let key = DpopKey::new();
    let authorization = Some(basic_header(&client));
    let params = auth_params(&client, REDIRECT, "openid");
    let call = |c: &mut Client, proof: &str| -> (Value, String, Option<String>) {
        let mut tx = c.transaction().unwrap();
        let row = tx
            .query_one(
                "SELECT oauth.par($1, $2, $3), coalesce(current_setting('response.status', true), ''),
                        (SELECT h->>'DPoP-Nonce' FROM jsonb_array_elements(
                            nullif(current_setting('response.headers', true), '')::jsonb) h
                          WHERE h ? 'DPoP-Nonce')",
                &[&params, &authorization, &proof],
            )
            .unwrap();
        tx.commit().unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    let (body, status, nonce) = call(&mut c, &key.proof("POST", PAR_URL));
    assert_eq!(
        (body["error"].as_str(), status.as_str()),
        (Some("use_dpop_nonce"), "400"),
        "{body}"
    );
    let nonce = nonce.unwrap_or_else(|| panic!("no DPoP-Nonce header with {body}"));
    assert_eq!(stored_requests(&mut c), 0);
    let proof = key.proof_with(
        json!({}),
        json!({"htm": "POST", "htu": PAR_URL, "nonce": nonce}),
    );
    let (body, status, _) = call(&mut c, &proof);
    let uri = pushed((body, status));
    let kept = json(&mut c, "SELECT params FROM oauth.pushed_requests", &[]);
    assert_eq!(kept["dpop_jkt"], json!(key.jkt()), "{kept}");
    to_consent(&use_pushed(&mut c, &client.id, &uri, json!({})));
}

/// A request sent in the query while that was allowed, shown after pushing became required (by
/// the server or for its client), ends at the consent step: as one sent after the rule, it is
/// refused, and the client hears why. A pushed request shown at the same time goes on.
#[test]
fn a_request_sent_in_the_query_before_pushing_was_required_ends_at_consent() {
    for server_wide in [true, false] {
        let db = TestDb::new("par_after");
        let mut c = db.connect();
        let client = create_client(&mut c, &[REDIRECT], "confidential");
        let in_query = to_consent(&status_of(
            &mut c,
            "SELECT oauth.authorize($1)",
            &[&auth_params(&client, REDIRECT, "openid")],
        ));
        let uri = push(&mut c, &client, request(&client, "openid", "s-pushed"));
        let pushed_aid = to_consent(&use_pushed(&mut c, &client.id, &uri, json!({})));
        if server_wide {
            db.set("require_pushed_authorization_requests", "on");
        } else {
            update_client(
                &mut c,
                &client,
                json!({"require_pushed_authorization_requests": true}),
            );
        }
        let mut c = db.connect();
        let out = call_as(
            &mut c,
            &user("u"),
            "SELECT oauth.consent($1, true)",
            &in_query,
        );
        let back = out["redirect_to"]
            .as_str()
            .unwrap_or_else(|| panic!("{out}"));
        assert_eq!(
            query_param(back, "error").as_deref(),
            Some("invalid_request"),
            "{back}"
        );
        assert!(query_param(back, "code").is_none(), "{back}");
        let why = query_param(back, "error_description").unwrap_or_default();
        assert!(
            why.contains("require_pushed_authorization_requests"),
            "{why}"
        );
        // Ended for good: the page cannot show it again.
        let again = call_as(
            &mut c,
            &user("u"),
            "SELECT oauth.authorization($1)",
            &in_query,
        );
        assert_eq!(again["error"], "not_found", "{again}");
        // The pushed one is approved as usual.
        let callback = approve(&mut c, &pushed_aid, "u");
        assert!(query_param(&callback, "code").is_some(), "{callback}");
    }
}
