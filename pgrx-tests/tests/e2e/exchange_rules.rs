//! Token exchange (RFC 8693): an agent (client B) that received a user's token for its own
//! API acts for that user toward another API, as the exchange policy allows and no further.
//! Here: what the policy allows, what only narrows, which tokens are taken, and what the
//! issued token says (`act`, lifetime) and RLS reads of it. `chains` has delegation chains and
//! actor tokens, `grounds` revocation, refresh and the policy's grounds changing.

mod attacks;
mod chains;
mod grounds;
mod rls;

use oauth_server_e2e::*;
use postgres::Client;
use serde_json::{json, Value};

pub const MCP: &str = "https://mcp.example/mcp";
pub const API: &str = "https://api.example/";
pub const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A database with two resource servers, the scopes they use, client A (what the user signs in
/// to, with a token for the MCP server) and client B (the MCP server's agent, registered for
/// token exchange and refresh).
pub struct Stage {
    pub db: TestDb,
    pub c: Client,
    pub a: TestClient,
    pub b: TestClient,
}

pub fn agent(c: &mut Client) -> TestClient {
    TestClient::from_json(&json(
        c,
        "SELECT oauth.create_client('Agent', '{}', 'confidential', NULL, ARRAY[$1, 'refresh_token'])",
        &[&EXCHANGE],
    ))
}

pub fn stage(tag: &str) -> Stage {
    let db = TestDb::new(tag);
    let mut c = db.connect();
    c.batch_execute(&format!(
        "SELECT oauth.set_scope('mcp:tools', 'Use the tools');
         SELECT oauth.set_scope('api:read', 'Read');
         SELECT oauth.set_scope('api:write', 'Write');
         SELECT oauth.add_resource('{MCP}');
         SELECT oauth.add_resource('{API}');"
    ))
    .unwrap();
    let a = create_client(&mut c, &[REDIRECT], "confidential");
    let b = agent(&mut c);
    Stage { db, c, a, b }
}

/// The user's token of client A for the MCP server: a code flow with `resource`.
pub fn user_token(c: &mut Client, a: &TestClient, sub: &str, scope: &str) -> Value {
    let mut p = auth_params(a, REDIRECT, scope);
    p["resource"] = json!(MCP);
    let aid = pending(c, &p);
    let out = call_as(c, &user(sub), "SELECT oauth.consent($1, true)", &aid);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let (t, _) = token_endpoint(
        c,
        json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
               "redirect_uri": REDIRECT, "resource": MCP}),
        a,
    );
    assert!(t.get("access_token").is_some(), "{t}");
    t
}

/// `oauth.allow_token_exchange(client, from, to, scopes, may_act, refresh)`.
pub fn allow(
    c: &mut Client,
    client: &TestClient,
    from: &str,
    to: &str,
    scopes: &[&str],
    may_act: bool,
    refresh: bool,
) -> Value {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    json(
        c,
        "SELECT oauth.allow_token_exchange($1, $2, $3, $4, $5, $6)",
        &[&client.id, &from, &to, &scopes, &may_act, &refresh],
    )
}

/// The exchange form for `subject` (an access token) toward `audience`, plus `extra` fields.
pub fn form(subject: &str, audience: &str, extra: Value) -> Value {
    let mut f = json!({"grant_type": EXCHANGE, "subject_token": subject,
                       "subject_token_type": ACCESS, "audience": audience});
    for (k, v) in extra.as_object().unwrap() {
        f[k] = v.clone();
    }
    f
}

/// The token endpoint as `client` → (body, status); a success sets no status, read as 200.
pub fn exchange_as(c: &mut Client, client: &TestClient, form: Value) -> (Value, String) {
    let (body, status) = token_endpoint(c, form, client);
    let status = if status.is_empty() {
        "200".into()
    } else {
        status
    };
    (body, status)
}

/// The error an exchange answers, with its status.
pub fn refusal(c: &mut Client, client: &TestClient, form: Value) -> (String, String) {
    let (body, status) = exchange_as(c, client, form);
    (
        body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("not refused: {body}"))
            .to_string(),
        status,
    )
}

/// An access token with `claims`, signed with this server's current key (ES256, as tests
/// install it): what the server itself would have signed.
pub fn signed_by_us(c: &mut Client, claims: &Value) -> String {
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let row = c
        .query_one(
            "SELECT kid, private_key, alg FROM oauth.signing_keys WHERE status = 'current'",
            &[],
        )
        .unwrap();
    let (kid, der, alg): (String, Vec<u8>, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(alg, "ES256");
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap();
    oauth_server_e2e::jose::signed_as_alg(
        &key,
        &json!({}),
        &json!({"alg": "ES256", "kid": kid, "typ": "at+jwt"}),
        claims,
    )
}

pub fn at(t: &Value) -> &str {
    t["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token in {t}"))
}

#[test]
fn an_agent_acts_for_the_user_toward_another_api_as_the_policy_allows() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("x_act");
    let user_t = user_token(&mut c, &a, "alice", "openid mcp:tools api:read api:write");
    let subject = at(&user_t).to_string();
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    let (t, status) = exchange_as(&mut c, &b, form(&subject, API, json!({})));
    assert_eq!(status, "200", "{t}");
    assert_eq!(t["issued_token_type"], json!(ACCESS));
    assert_eq!(t["token_type"], json!("Bearer"));
    assert_eq!(t["scope"], json!("api:read"));
    assert!(
        t.get("refresh_token").is_none(),
        "no refresh unless the rule says: {t}"
    );
    assert!(
        t.get("id_token").is_none(),
        "an exchange is no sign-in: {t}"
    );
    let claims = access_token_claims(&t);
    let source = access_token_claims(&user_t);
    assert_eq!(claims["sub"], json!("alice"));
    assert_eq!(claims["client_id"], json!(b.id));
    assert_eq!(claims["aud"], json!(API));
    assert_eq!(claims["act"], json!({"sub": b.id, "client_id": b.id}));
    assert!(
        claims["exp"].as_i64() <= source["exp"].as_i64(),
        "{claims} {source}"
    );
    assert_ne!(claims["session_id"], source["session_id"]);
    // It verifies, and RLS reads who acts.
    let verified = json(&mut c, "SELECT oauth.verify($1)", &[&at(&t)]);
    assert_eq!(verified["act"]["client_id"], json!(b.id));
    let mut tx = c.transaction().unwrap();
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&claims.to_string()],
    )
    .unwrap();
    let row = tx
        .query_one("SELECT oauth.uid(), oauth.actor(), oauth.act_chain()", &[])
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("alice"));
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some(b.id.as_str())
    );
    assert_eq!(
        row.get::<_, Value>(2),
        json!([{"sub": b.id, "client_id": b.id}])
    );
    // The user's own token: no actor, an empty chain.
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&source.to_string()],
    )
    .unwrap();
    let row = tx
        .query_one("SELECT oauth.actor(), oauth.act_chain()", &[])
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert_eq!(row.get::<_, Value>(1), json!([]));
    tx.rollback().unwrap();
    // Audited, with the delegation.
    let logged = json(
        &mut c,
        "SELECT to_jsonb(l) FROM oauth.audit_log l WHERE event = 'token_exchanged'",
        &[],
    );
    assert_eq!(logged["user_id"], json!("alice"));
    assert_eq!(logged["details"]["act"]["client_id"], json!(b.id));
    assert_eq!(logged["details"]["subject_client_id"], json!(a.id));
}

#[test]
fn nothing_is_exchanged_without_a_rule_of_this_client_for_these_audiences() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("x_deny");
    let subject = at(&user_token(
        &mut c,
        &a,
        "alice",
        "openid mcp:tools api:read",
    ))
    .to_string();
    // No rule at all.
    assert_eq!(
        refusal(&mut c, &b, form(&subject, API, json!({}))),
        ("unauthorized_client".into(), "400".into())
    );
    // A rule of another client; a rule from another audience; a rule that does not let it act.
    let other = agent(&mut c);
    allow(&mut c, &other, MCP, API, &["api:read"], true, false);
    allow(&mut c, &b, API, MCP, &["mcp:tools"], true, false);
    assert_eq!(
        refusal(&mut c, &b, form(&subject, API, json!({}))).0,
        "unauthorized_client"
    );
    allow(&mut c, &b, MCP, API, &["api:read"], false, false);
    assert_eq!(
        refusal(&mut c, &b, form(&subject, API, json!({}))).0,
        "unauthorized_client",
        "narrowing only is not acting for the user"
    );
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    assert_eq!(
        exchange_as(&mut c, &b, form(&subject, API, json!({}))).1,
        "200"
    );
    // A client not registered for the grant is refused before any rule is read, and the
    // policy cannot be written for it.
    let plain = create_client(&mut c, &[REDIRECT], "confidential");
    assert_eq!(
        refusal(&mut c, &plain, form(&subject, API, json!({}))).0,
        "unauthorized_client"
    );
    let refused = c
        .query_one(
            "SELECT oauth.allow_token_exchange($1, $2, $3, ARRAY['api:read'])",
            &[&plain.id, &MCP, &API],
        )
        .unwrap_err();
    assert_eq!(refused.code().unwrap().code(), "22023", "{refused}");
    // Nor for a public client, which cannot register the grant at all.
    let public = c
        .query_one(
            "SELECT oauth.create_client('P', ARRAY[$1], 'public', NULL, ARRAY['authorization_code', $2])",
            &[&REDIRECT, &EXCHANGE],
        )
        .unwrap_err();
    assert_eq!(public.code().unwrap().code(), "22023", "{public}");
    // Rules name real audiences and scopes.
    for (from, to, scope) in [
        ("https://typo.example/", API, "api:read"),
        (MCP, "https://typo.example/", "api:read"),
        (MCP, API, "no:such"),
    ] {
        let e = c
            .query_one(
                "SELECT oauth.allow_token_exchange($1, $2, $3, ARRAY[$4])",
                &[&b.id, &from, &to, &scope],
            )
            .unwrap_err();
        assert_eq!(
            e.code().unwrap().code(),
            "22023",
            "{from} {to} {scope}: {e}"
        );
    }
    // Listed, and removed (the families it made ended: see grounds).
    let listed = json(&mut c, "SELECT oauth.token_exchange_policies($1)", &[&b.id]);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let ended: i64 = c
        .query_one(
            "SELECT oauth.disallow_token_exchange($1, $2, $3)",
            &[&b.id, &MCP, &API],
        )
        .unwrap()
        .get(0);
    assert_eq!(ended, 1);
    assert_eq!(
        refusal(&mut c, &b, form(&subject, API, json!({}))).0,
        "unauthorized_client"
    );
    let gone = c
        .query_one(
            "SELECT oauth.disallow_token_exchange($1, $2, $3)",
            &[&b.id, &MCP, &API],
        )
        .unwrap_err();
    assert_eq!(gone.code().unwrap().code(), "P0002");
    let events: Vec<String> = c
        .query(
            "SELECT event FROM oauth.audit_log WHERE event LIKE 'token_exchange_%' ORDER BY at",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "token_exchange_allowed")
            .count(),
        4
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("token_exchange_disallowed")
    );
}

#[test]
fn scopes_and_audiences_only_narrow() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("x_narrow");
    let subject = at(&user_token(
        &mut c,
        &a,
        "alice",
        "openid mcp:tools api:read",
    ))
    .to_string();
    allow(
        &mut c,
        &b,
        MCP,
        API,
        &["api:read", "api:write", "openid"],
        true,
        false,
    );
    // api:write: the rule allows it, the user never granted it.
    let (e, _) = refusal(
        &mut c,
        &b,
        form(&subject, API, json!({"scope": "api:write"})),
    );
    assert_eq!(e, "invalid_scope");
    // mcp:tools: the user granted it, no rule allows it toward the API.
    let (e, _) = refusal(
        &mut c,
        &b,
        form(&subject, API, json!({"scope": "api:read mcp:tools"})),
    );
    assert_eq!(e, "invalid_scope");
    // Without scope: what both allow.
    let (t, _) = exchange_as(&mut c, &b, form(&subject, API, json!({})));
    assert_eq!(t["scope"], json!("openid api:read"), "{t}");
    // Another audience, as `audience` or as `resource`: no rule, or not registered.
    let (e, _) = refusal(&mut c, &b, form(&subject, MCP, json!({})));
    assert_eq!(e, "unauthorized_client");
    let (e, _) = refusal(
        &mut c,
        &b,
        json!({"grant_type": EXCHANGE, "subject_token": subject, "subject_token_type": ACCESS,
               "resource": [API, "https://elsewhere.example/"]}),
    );
    assert_eq!(e, "invalid_target");
    let (t, status) = exchange_as(
        &mut c,
        &b,
        json!({"grant_type": EXCHANGE, "subject_token": subject, "subject_token_type": ACCESS,
               "resource": API}),
    );
    assert_eq!(status, "200", "{t}");
    // No target at all is no exchange.
    let (e, _) = refusal(
        &mut c,
        &b,
        json!({"grant_type": EXCHANGE, "subject_token": subject, "subject_token_type": ACCESS}),
    );
    assert_eq!(e, "invalid_request");
    // A client's own scopes bound what any rule gives it.
    update_client(&mut c, &b, json!({"scopes": ["api:read"]}));
    let (t, _) = exchange_as(&mut c, &b, form(&subject, API, json!({})));
    assert_eq!(t["scope"], json!("api:read"), "{t}");
}

#[test]
fn only_access_tokens_of_ours_are_subject_tokens() {
    let Stage { db, mut c, a, b } = stage("x_kinds");
    let user_t = user_token(
        &mut c,
        &a,
        "alice",
        "openid mcp:tools api:read offline_access",
    );
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    let session = session_token(&mut c, "alice");
    let id_token = user_t["id_token"].as_str().unwrap().to_string();
    let refresh = user_t["refresh_token"].as_str().unwrap().to_string();
    for (token, kind) in [
        (id_token.as_str(), ACCESS),
        (session.as_str(), ACCESS),
        (refresh.as_str(), ACCESS),
        ("not.a.token", ACCESS),
        (
            id_token.as_str(),
            "urn:ietf:params:oauth:token-type:id_token",
        ),
        (session.as_str(), "urn:ietf:params:oauth:token-type:jwt"),
        (
            refresh.as_str(),
            "urn:ietf:params:oauth:token-type:refresh_token",
        ),
        (at(&user_t), "urn:ietf:params:oauth:token-type:saml2"),
    ] {
        let mut f = form(token, API, json!({}));
        f["subject_token_type"] = json!(kind);
        assert_eq!(
            refusal(&mut c, &b, f),
            ("invalid_request".into(), "400".into()),
            "{kind}: {token:.20}"
        );
    }
    // A token of a machine (client_credentials) has no user to act for.
    let machine = TestClient::from_json(&json(
        &mut c,
        "SELECT oauth.create_client('M', '{}', 'confidential', NULL, ARRAY['client_credentials'])",
        &[],
    ));
    let (m, _) = token_endpoint(
        &mut c,
        json!({"grant_type": "client_credentials"}),
        &machine,
    );
    assert_eq!(
        refusal(&mut c, &b, form(at(&m), API, json!({}))).0,
        "invalid_request"
    );
    // Only access tokens are issued.
    let f = form(
        at(&user_t),
        API,
        json!({"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"}),
    );
    assert_eq!(refusal(&mut c, &b, f).0, "invalid_request");
    // An expired subject token: the user's own, signed by our current key, its exp passed.
    let mut claims = access_token_claims(&user_t);
    let t = oauth_server_e2e::stand_in::now();
    claims["iat"] = json!(t - 600);
    claims["exp"] = json!(t - 120);
    let expired = signed_by_us(&mut c, &claims);
    assert_eq!(verify_sqlstate(&mut c, &expired), "28000");
    claims["exp"] = json!(t + 120);
    let fresh = signed_by_us(&mut c, &claims);
    assert_eq!(
        exchange_as(&mut c, &b, form(&fresh, API, json!({}))).1,
        "200",
        "the same token unexpired is taken"
    );
    assert_eq!(
        refusal(&mut c, &b, form(&expired, API, json!({}))).0,
        "invalid_request"
    );
    drop(db);
}

#[test]
fn the_exchanged_token_never_outlives_its_subject_token() {
    let Stage { db, mut c, a, b } = stage("x_life");
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    let subject = user_token(&mut c, &a, "alice", "openid api:read");
    // The server's lifetime grows; the subject token's end does not.
    db.set("access_token_lifetime", "86400");
    let mut c = db.connect();
    let (t, _) = exchange_as(&mut c, &b, form(at(&subject), API, json!({})));
    let (got, source) = (access_token_claims(&t), access_token_claims(&subject));
    assert_eq!(got["exp"], source["exp"], "{got} {source}");
    let expires_in = t["expires_in"].as_i64().unwrap();
    assert!(expires_in <= 3600 && expires_in > 3500, "{t}");
}

#[test]
fn a_hook_cannot_drop_or_forge_who_acts() {
    let Stage { db, mut c, a, b } = stage("x_hook");
    c.batch_execute(
        "CREATE FUNCTION public.drop_act(e jsonb) RETURNS jsonb LANGUAGE sql AS
           $$ SELECT jsonb_build_object('claims', (e->'claims') - 'act') $$;
         CREATE FUNCTION public.forge_act(e jsonb) RETURNS jsonb LANGUAGE sql AS
           $$ SELECT jsonb_build_object('claims', (e->'claims') || '{\"act\": {\"sub\": \"x\", \"client_id\": \"x\"}}') $$;",
    )
    .unwrap();
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    let subject = user_token(&mut c, &a, "alice", "openid api:read");
    db.set("access_token_hook", "public.drop_act");
    let mut c = db.connect();
    let e = c
        .query_one(
            "SELECT oauth.token($1, $2)",
            &[&form(at(&subject), API, json!({})), &Some(basic_header(&b))],
        )
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22023", "{e}");
    // Nor may it make a user's own token look delegated (or a delegated one direct).
    db.set("access_token_hook", "public.forge_act");
    let mut c = db.connect();
    let e = c
        .query_one(
            "SELECT oauth.token($1, $2)",
            &[&form(at(&subject), API, json!({})), &Some(basic_header(&b))],
        )
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22023", "{e}");
}
