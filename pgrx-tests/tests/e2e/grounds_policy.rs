//! Decisions approved through a trusted issuer's session, after that issuer's *policy* changes
//! (docs/security.md#decisions-that-outlive-their-grounds): what the policy judged of the
//! session is recorded with the family, the approved code and the approved device request
//! (`user_claims->'judged_session'`), and every use judges it again by today's policy —
//! refresh, redemption, device polling, access-token verification, userinfo and
//! introspection. A narrowing change (a role no longer allowed, a claim now required, another
//! audience or `azp` pinned) refuses what it would no longer admit; a widening one refuses
//! nothing. Also: with `oauth_server.client_id_metadata_documents` off, a metadata-document
//! client's access tokens no longer verify, and the client may still revoke its own tokens.

use oauth_server_e2e::stand_in::StandInIssuer;
use oauth_server_e2e::trusted::*;
use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// What every session here approves.
const SCOPE: &str = "openid email";

/// The issuer's stored options (to restore them whole).
fn options_of(c: &mut Client, i: &StandInIssuer) -> Value {
    c.query_one(
        "SELECT options FROM oauth.issuers WHERE issuer = $1",
        &[&i.issuer],
    )
    .unwrap()
    .get(0)
}

fn s<'a>(t: &'a Value, k: &str) -> &'a str {
    t[k].as_str().unwrap_or_else(|| panic!("no {k}: {t}"))
}

/// What a session approved: a family (its token response), an approved code, and an approved
/// device request (its device code).
struct Approved {
    family: Value,
    code: String,
    device: String,
}

fn approve_all(c: &mut Client, client: &TestClient, tv: &TestClient, session: &str) -> Approved {
    Approved {
        family: family_via(c, client, session, SCOPE),
        code: code_via(c, client, session, SCOPE),
        device: device_code_via(c, tv, session),
    }
}

/// Every use of what the session approved is refused, naming the issuer's policy.
fn assert_refused(c: &mut Client, client: &TestClient, tv: &TestClient, a: &Approved, why: &str) {
    let r = peek_refresh_grant(c, client, s(&a.family, "refresh_token"));
    assert_eq!(r["error"], "invalid_grant", "{why}: {r}");
    assert!(
        s(&r, "error_description").contains("would not be admitted"),
        "{why}: {r}"
    );
    let r = peek_redeem_code(c, client, &a.code);
    assert_eq!(r["error"], "invalid_grant", "{why}: {r}");
    c.batch_execute("UPDATE oauth.authorizations SET last_polled_at = NULL")
        .unwrap();
    let r = token_endpoint(
        c,
        json!({"grant_type": DEVICE, "device_code": a.device}),
        tv,
    )
    .0;
    assert_eq!(r["error"], "invalid_grant", "{why}: {r}");
    let at = s(&a.family, "access_token");
    assert_eq!(verify_sqlstate(c, at), "28000", "{why}");
    let u = json(c, "SELECT oauth.userinfo($1)", &[&at]);
    assert_eq!(u["error"], "invalid_token", "{why}: {u}");
    assert_eq!(introspect(c, client, at)["active"], false, "{why}");
    let rt = s(&a.family, "refresh_token");
    assert_eq!(introspect(c, client, rt)["active"], false, "{why}");
}

fn assert_stands(c: &mut Client, client: &TestClient, a: &Approved, why: &str) {
    let r = peek_refresh_grant(c, client, s(&a.family, "refresh_token"));
    assert!(r["access_token"].is_string(), "{why}: {r}");
    let r = peek_redeem_code(c, client, &a.code);
    assert!(r["access_token"].is_string(), "{why}: {r}");
    let at = s(&a.family, "access_token");
    assert_eq!(verify_sqlstate(c, at), "ok", "{why}");
    let u = json(c, "SELECT oauth.userinfo($1)", &[&at]);
    assert_eq!(u["sub"], "alice", "{why}: {u}");
    // What the policy judged is never released to the client.
    assert!(u.get("judged_session").is_none(), "{u}");
    assert_eq!(introspect(c, client, at)["active"], true, "{why}");
}

#[test]
fn a_narrowed_issuer_policy_refuses_what_its_sessions_approved_and_a_widened_one_does_not() {
    let db = TestDb::new("gpnarrow");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.gp-narrow.example");
    trust(&mut c, &idp, json!({"audience": "spa"}));
    let base = options_of(&mut c, &idp);
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let tv = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('TV', ARRAY[]::text[], 'confidential',
                grant_types => ARRAY[$1, 'refresh_token'])",
        &[&DEVICE],
    ));
    // Role authenticated, no aal, addressed to and obtained by spa.
    let session = session_token_of(
        &idp,
        "alice",
        json!({"role": "authenticated", "aud": "spa", "azp": "spa",
               "email": "alice@example.com"}),
    );
    let a = approve_all(&mut c, &client, &tv, &session);
    assert_stands(&mut c, &client, &a, "as approved");
    // The record is kept with the family, and holds no time claim.
    let judged: Value = c
        .query_one(
            "SELECT user_claims->'judged_session' FROM oauth.grants WHERE client_id = $1",
            &[&client.id],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        judged,
        json!({"sub": "alice", "claims": {"sub": "alice", "role": "authenticated",
                                          "aud": "spa", "azp": "spa"}})
    );
    // ID tokens carry none of it either.
    let (_, id_claims) = jwt_parts(s(&a.family, "id_token"));
    assert!(id_claims.get("judged_session").is_none(), "{id_claims}");

    for narrowed in [
        json!({"allowed_roles": ["admin"], "default_role": "admin"}),
        json!({"required_claims": {"aal": "aal2"}}),
        json!({"audience": "other-app"}),
        json!({"required_claims": {"azp": "cli"}}),
    ] {
        update_issuer(&mut c, &idp, narrowed.clone());
        // A new session like the one that approved is refused too: the same judgement.
        let fresh = session_token_of(
            &idp,
            "alice",
            json!({"role": "authenticated", "aud": "spa", "azp": "spa"}),
        );
        let aid = pending(&mut c, &auth_params(&client, REDIRECT, "openid"));
        let r = status_of(
            &mut c,
            "SELECT oauth.authorization($1, $2)",
            &[&aid, &fresh],
        )
        .0;
        assert!(!r.to_string().contains("code="), "{narrowed}: {r}");
        assert_refused(&mut c, &client, &tv, &a, &narrowed.to_string());
        update_issuer(&mut c, &idp, base.clone());
        assert_stands(&mut c, &client, &a, &format!("restored after {narrowed}"));
    }

    // Widening refuses nothing: another role allowed, another audience, a value list.
    for widened in [
        json!({"allowed_roles": ["authenticated", "admin"]}),
        json!({"audience": ["spa", "other-app"]}),
        json!({"required_claims": {"azp": ["spa", "cli"]}}),
    ] {
        update_issuer(&mut c, &idp, widened.clone());
        assert_stands(&mut c, &client, &a, &widened.to_string());
    }
    // And the approved device request still polls, the code redeems for real.
    let r = redeem_code(&mut c, &client, &a.code).0;
    assert!(r["access_token"].is_string(), "{r}");
    c.batch_execute("UPDATE oauth.authorizations SET last_polled_at = NULL")
        .unwrap();
    let r = token_endpoint(
        &mut c,
        json!({"grant_type": DEVICE, "device_code": a.device}),
        &tv,
    )
    .0;
    assert!(r["access_token"].is_string(), "{r}");
}

#[test]
fn a_trusted_decision_recorded_without_what_the_policy_judged_is_refused_ours_and_unnamed_stand() {
    let db = TestDb::new("gplegacy");
    let mut c = db.connect();
    let idp = StandInIssuer::new("https://idp.gp-legacy.example");
    trust(&mut c, &idp, json!({}));
    let client = create_client(&mut c, &[REDIRECT], "confidential");
    let session = session_token_of(&idp, "alice", json!({}));
    let trusted = family_via(&mut c, &client, &session, SCOPE);
    let ours = session_token(&mut c, "alice");
    let of_ours = family_via(&mut c, &client, &ours, SCOPE);
    let unnamed = tokens(&mut c, &client, "openid", "alice");
    for t in [&trusted, &of_ours, &unnamed] {
        assert!(
            peek_refresh_grant(&mut c, &client, s(t, "refresh_token"))["access_token"].is_string()
        );
        assert_eq!(verify_sqlstate(&mut c, s(t, "access_token")), "ok");
    }
    // As a family approved before the record was kept: iss recorded, nothing judged.
    c.execute(
        "UPDATE oauth.grants SET user_claims = user_claims - 'judged_session'
         WHERE user_claims->>'iss' = $1",
        &[&idp.issuer],
    )
    .unwrap();
    let r = peek_refresh_grant(&mut c, &client, s(&trusted, "refresh_token"));
    assert_eq!(r["error"], "invalid_grant", "{r}");
    assert!(s(&r, "error_description").contains("not recorded"), "{r}");
    assert_eq!(
        verify_sqlstate(&mut c, s(&trusted, "access_token")),
        "28000"
    );
    // Ours and a login naming no issuer are judged by no policy, whatever it says.
    update_issuer(
        &mut c,
        &idp,
        json!({"allowed_roles": ["admin"], "default_role": "admin"}),
    );
    for t in [&of_ours, &unnamed] {
        assert!(
            peek_refresh_grant(&mut c, &client, s(t, "refresh_token"))["access_token"].is_string()
        );
        assert_eq!(verify_sqlstate(&mut c, s(t, "access_token")), "ok");
    }
}

const DOC_URL: &str = "https://mcp-client.gp.example/client.json";
const CALLBACK: &str = "http://127.0.0.1:53111/callback";

#[test]
fn a_document_clients_access_tokens_stop_while_its_switch_is_off_and_it_may_still_revoke() {
    let db = TestDb::new("gpswitch");
    let mut c = db.connect();
    let doc = json!({"client_id": DOC_URL, "client_name": "MCP client",
                     "redirect_uris": ["http://127.0.0.1/callback"],
                     "grant_types": ["authorization_code", "refresh_token"],
                     "token_endpoint_auth_method": "none"});
    json(
        &mut c,
        "SELECT oauth.register_metadata_document($1, $2)",
        &[&DOC_URL, &doc],
    );
    let client = TestClient {
        id: DOC_URL.into(),
        secret: None,
    };
    let rs = create_client(&mut c, &[REDIRECT], "confidential");
    let family = |c: &mut Client| {
        let code = get_code(c, &client, CALLBACK, "openid email", "u");
        exchange(c, &client, &code, CALLBACK)
    };
    let first = family(&mut c);
    let second = family(&mut c);
    let third = family(&mut c);
    let at = s(&first, "access_token");
    assert_eq!(verify_sqlstate(&mut c, at), "ok");
    assert_eq!(introspect(&mut c, &rs, at)["active"], true);

    db.set("client_id_metadata_documents", "off");
    let mut c = db.connect();
    // verify, userinfo and introspection refuse its access tokens, naming the setting.
    let e = c.query_one("SELECT oauth.verify($1)", &[&at]).unwrap_err();
    assert_eq!(e.code().unwrap().code(), "28000");
    assert!(
        e.as_db_error()
            .unwrap()
            .message()
            .contains("oauth_server.client_id_metadata_documents"),
        "{e}"
    );
    let u = json(&mut c, "SELECT oauth.userinfo($1)", &[&at]);
    assert_eq!(u["error"], "invalid_token", "{u}");
    assert_eq!(introspect(&mut c, &rs, at)["active"], false);

    // The client may still revoke its own tokens (it authenticates as itself: a public client
    // presents its client_id), by refresh token and by access token.
    let revoke = |c: &mut Client, token: &str, client_id: &str| {
        status_of(
            c,
            "SELECT oauth.revoke($1, NULL)",
            &[&json!({"token": token, "client_id": client_id})],
        )
    };
    // A success sets no status (200).
    let (body, status) = revoke(&mut c, s(&first, "refresh_token"), DOC_URL);
    assert_eq!(body, json!({}), "{status}");
    assert_eq!(status, "");
    let (body, _) = revoke(&mut c, s(&second, "access_token"), DOC_URL);
    assert_eq!(body, json!({}));
    // Another client cannot revoke it, nor a client that does not exist.
    let (body, _) = revoke(&mut c, s(&third, "refresh_token"), &rs.id);
    assert_eq!(body["error"], "invalid_client", "{body}");
    let (body, _) = revoke(
        &mut c,
        s(&third, "refresh_token"),
        "https://nobody.example/c",
    );
    assert_eq!(body["error"], "invalid_client", "{body}");

    // Back on: the families it revoked stay revoked; the one left alone works again.
    db.set("client_id_metadata_documents", "on");
    let mut c = db.connect();
    for t in [&first, &second] {
        assert_eq!(verify_sqlstate(&mut c, s(t, "access_token")), "28000");
        let r = status_of(
            &mut c,
            "SELECT oauth.refresh($1, $2, NULL, NULL)",
            &[&s(t, "refresh_token"), &DOC_URL],
        )
        .0;
        assert_eq!(r["error"], "invalid_grant", "{r}");
    }
    assert_eq!(verify_sqlstate(&mut c, s(&third, "access_token")), "ok");
    let r = refresh(&mut c, &client, s(&third, "refresh_token"), None);
    assert!(r["access_token"].is_string(), "{r}");
}
