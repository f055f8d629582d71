//! The token functions: `oauth.exchange_code(…)` and `oauth.refresh(…)`, and the issuing of
//! access, ID and refresh tokens they share. Failures are returned as RFC 6749 JSON with
//! `response.status`, so that what must persist does: a replayed code revokes the tokens it
//! issued, a reused refresh token revokes its family. A failure after validation (signing, the
//! hook) raises instead, rolling back, so a code is never burned without an answer.

use super::keys::current_signer;
use super::{audit, userinfo};
use super::{or_raise, required, respond, set_no_store, ApiResult};
use crate::error::{
    bad_param, invalid_client, invalid_grant, invalid_request, MisuseError, OAuthError,
};
use crate::model::GrantType;
use crate::protocol::claims::{self, AccessTokenInput, IdTokenInput};
use crate::protocol::params::Params;
use crate::protocol::{client_auth, jws, pkce, resource, scope, secret, token_kind};
use crate::settings;
use crate::store::clients::{self, Client};
use crate::store::db;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::Deserialize;
use serde_json::{json, Value};

/// Client authentication (RFC 6749 §2.3): a confidential client proves its secret, a public
/// client presents none. Every failure is the same `invalid_client` so the response does not
/// tell an attacker which part was wrong.
pub fn authenticate_client(
    client_id: Option<&str>,
    client_secret: Option<&str>,
) -> ApiResult<Client> {
    let result = check_credentials(client_id, client_secret);
    if let Err(super::Failure::OAuth(e @ OAuthError::InvalidClient(_))) = &result {
        record_failed_authentication(client_id, e)?;
    }
    result
}

/// Every failed client authentication is audited: repeated failures for one client_id are
/// the signal of a secret being guessed.
fn record_failed_authentication(
    client_id: Option<&str>,
    e: &OAuthError,
) -> Result<(), MisuseError> {
    audit::record(
        "client_authentication_failed",
        client_id.filter(|c| !c.is_empty()),
        None,
        json!({"reason": e.description()}),
    )
}

fn check_credentials(client_id: Option<&str>, client_secret: Option<&str>) -> ApiResult<Client> {
    let client_id = client_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid_client("client_id is required"))?;
    let client = clients::find(client_id)?;
    let secret = client_secret.filter(|s| !s.is_empty());
    match (client, secret) {
        (Some(c), Some(s)) if c.is_confidential() && c.secret_matches(s) => Ok(c),
        (Some(c), None) if !c.is_confidential() => Ok(c),
        (Some(c), Some(_)) if !c.is_confidential() => {
            Err(invalid_client("a public client must not send a client secret").into())
        }
        _ => Err(invalid_client("client authentication failed").into()),
    }
}

/// Client authentication, then the check that the client may use `grant_type`
/// (`unauthorized_client` otherwise): the first step of every grant.
fn authenticate_for_grant(
    client_id: Option<&str>,
    client_secret: Option<&str>,
    grant_type: &str,
) -> ApiResult<Client> {
    let client = authenticate_client(client_id, client_secret)?;
    ensure_grant_allowed(&client, grant_type)?;
    Ok(client)
}

fn ensure_grant_allowed(client: &Client, grant_type: &str) -> ApiResult<()> {
    if !client.allows_grant_named(grant_type) {
        return Err(OAuthError::UnauthorizedClient(format!(
            "this client may not use the {grant_type} grant"
        ))
        .into());
    }
    Ok(())
}

/// Client authentication from an endpoint's form and `Authorization` header: the credentials
/// must verify, and the method used must be the one the client registered.
pub fn authenticate_request(form: &Params, authorization: Option<&str>) -> ApiResult<Client> {
    let creds = client_auth::credentials(
        authorization,
        form.get("client_id")?,
        form.get("client_secret")?,
    )?;
    let client = authenticate_client(Some(&creds.client_id), creds.secret.as_deref())?;
    if client.token_endpoint_auth_method.as_str() != creds.method.name() {
        let e = invalid_client(format!(
            "this client must authenticate with {}",
            client.token_endpoint_auth_method
        ));
        record_failed_authentication(Some(&client.client_id), &e)?;
        return Err(e.into());
    }
    Ok(client)
}

/// The token endpoint (RFC 6749 §3.2): client authentication, then the grant.
fn token_request(form: &Value, authorization: Option<&str>) -> ApiResult<Value> {
    let form = Params::new(form)?;
    let grant_type = form.require("grant_type")?;
    if GrantType::parse(grant_type).is_none() {
        return Err(OAuthError::UnsupportedGrantType(format!(
            "grant_type {grant_type:?} is not supported"
        ))
        .into());
    }
    let client = authenticate_request(&form, authorization)?;
    ensure_grant_allowed(&client, grant_type)?;
    let resources = resource::parse(&form.get_all("resource")?)?;
    match grant_type {
        "authorization_code" => exchange(
            client,
            form.get("code")?,
            form.get("code_verifier")?,
            form.get("redirect_uri")?,
            &resources,
        ),
        "client_credentials" => client_credentials(client, form.get("scope")?, &resources),
        super::device::GRANT_TYPE => {
            super::device::redeem(client, form.get("device_code")?, &resources)
        }
        _ => refresh_grant(
            client,
            form.get("refresh_token")?,
            form.get("scope")?,
            &resources,
        ),
    }
}

/// A token family as the issuing step needs it.
#[derive(Deserialize)]
struct Grant {
    id: String,
    client_id: String,
    user_id: String,
    resources: Vec<String>,
    grant_type: String,
    auth_time: i64,
    user_claims: Option<Value>,
}

const GRANT_JSON: &str =
    "SELECT jsonb_build_object('id', id, 'client_id', client_id, 'user_id', user_id,
        'resources', resources, 'grant_type', grant_type,
        'auth_time', floor(extract(epoch FROM auth_time))::bigint, 'user_claims', user_claims)
    FROM oauth.grants WHERE id = $1::uuid";

/// What a new token family starts from.
struct NewFamily<'a> {
    client_id: &'a str,
    user_id: &'a str,
    scopes: &'a [String],
    resources: &'a [String],
    grant_type: &'a str,
    auth_time: Option<i64>,
    authorization_id: Option<&'a str>,
    user_claims: Option<Value>,
}

/// Creates a token family (the grant every token of one authorization belongs to).
fn start_family(f: NewFamily) -> Result<Grant, MisuseError> {
    let grant_id: String = db::query_row(
        "INSERT INTO oauth.grants (client_id, user_id, scopes, resources, grant_type, auth_time,
                                   authorization_id, user_claims)
         VALUES ($1, $2, $3, $4, $5, coalesce(to_timestamp($6::float8), now()), $7, $8)
         RETURNING to_jsonb(id)",
        &[
            f.client_id.into(),
            f.user_id.into(),
            f.scopes.to_vec().into(),
            f.resources.to_vec().into(),
            f.grant_type.into(),
            f.auth_time.map(|t| t as f64).into(),
            f.authorization_id.into(),
            f.user_claims.map(JsonB).into(),
        ],
    )?
    .ok_or_else(|| crate::error::internal("grant insert returned nothing"))?;
    load_grant(&grant_id)
}

fn load_grant(grant_id: &str) -> Result<Grant, MisuseError> {
    db::query_row(GRANT_JSON, &[grant_id.into()])?
        .ok_or_else(|| crate::error::internal("grant vanished"))
}

impl Grant {
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Signs the access token for `audience` (resources; the default audience when empty), an ID
/// token when `openid` is granted, and, if the client may refresh and the grant is a user's,
/// stores a new refresh token of the family.
fn issue_tokens(
    grant: &Grant,
    client: &Client,
    scopes: &[String],
    nonce: Option<&str>,
    audience: &[String],
) -> ApiResult<Value> {
    let signer = current_signer()?;
    let now = db::now_epoch()?;
    let issuer = settings::issuer();
    let lifetime = settings::access_token_lifetime();
    let scope_str = scope::join(scopes);
    let audience = resource::audience(audience, &settings::default_audience());
    let jti = secret::random_token(16);
    let role = role_of(grant)?;
    let mut at_claims = claims::access_token(&AccessTokenInput {
        issuer: &issuer,
        subject: &grant.user_id,
        audience: &audience,
        client_id: &grant.client_id,
        scope: &scope_str,
        role: &role,
        session_id: &grant.id,
        jti: &jti,
        now,
        lifetime_secs: lifetime,
    });
    if let Some(hook) = settings::access_token_hook() {
        at_claims = run_hook(&hook, grant, scopes, at_claims)?;
    }
    let access_token = signer.sign(token_kind::ACCESS_TYP, &at_claims)?;
    let mut response = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope_str,
    });
    if scopes.iter().any(|s| s == "openid") {
        let mut id_claims = claims::id_token(&IdTokenInput {
            issuer: &issuer,
            subject: &grant.user_id,
            client_id: &grant.client_id,
            auth_time: grant.auth_time,
            nonce,
            at_hash: &jws::at_hash(signer.alg, &access_token),
            now,
            lifetime_secs: lifetime,
        });
        let user = userinfo::user_claims(
            &grant.user_id,
            &grant.client_id,
            scopes,
            grant.user_claims.as_ref(),
        )?;
        for (k, v) in user {
            id_claims[k] = v;
        }
        response["id_token"] = json!(signer.sign(token_kind::JWT_TYP, &id_claims)?);
    }
    // client_credentials: no user, so nothing to refresh (RFC 6749 §4.4.3).
    if client.allows_grant(GrantType::RefreshToken) && grant.grant_type != "client_credentials" {
        let refresh_token = secret::random_token(secret::TOKEN_BYTES);
        db::execute(
            "INSERT INTO oauth.refresh_tokens (token_hash, grant_id, expires_at)
             VALUES ($1, $2::uuid, now() + make_interval(secs => $3))",
            &[
                secret::hash(&refresh_token).to_vec().into(),
                grant.id.as_str().into(),
                (settings::refresh_token_lifetime() as f64).into(),
            ],
        )?;
        response["refresh_token"] = json!(refresh_token);
    }
    set_no_store();
    Ok(response)
}

/// The `role` claim: a user's grant gets the signed-in role, a machine's (client_credentials)
/// its own, which may never be the signed-in role: PostgREST would treat the machine as a user.
fn role_of(grant: &Grant) -> Result<String, MisuseError> {
    let user_role = settings::default_role();
    if grant.grant_type != "client_credentials" {
        return Ok(user_role);
    }
    let machine_role = settings::client_credentials_role();
    if machine_role == user_role {
        return Err(MisuseError::new(
            crate::error::Misuse::Misconfigured,
            format!("oauth_server.client_credentials_role is {machine_role:?}, the role of signed-in users"),
        )
        .hint("set it to a role for machines, e.g. CREATE ROLE oauth_machine NOLOGIN; GRANT oauth_machine TO authenticator"));
    }
    Ok(machine_role)
}

/// Calls the configured hook `fn(jsonb) returns jsonb` with the event and validates the result.
fn run_hook(
    hook: &str,
    grant: &Grant,
    scopes: &[String],
    at_claims: Value,
) -> Result<Value, MisuseError> {
    let event = json!({
        "client_id": grant.client_id,
        "user_id": grant.user_id,
        "scopes": scopes,
        "resource": grant.resources.first(),
        "resources": grant.resources,
        "claims": at_claims,
    });
    let result = db::call_jsonb_function(hook, "oauth_server.access_token_hook", event)?;
    claims::apply_hook_result(&at_claims, &result)
}

/// The authorization row a code names, locked for this transaction.
#[derive(Deserialize)]
struct CodeRow {
    id: String,
    client_id: String,
    kind: String,
    redirect_uri: Option<String>,
    redirect_uri_given: bool,
    scopes: Vec<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    resources: Vec<String>,
    user_id: Option<String>,
    status: String,
    expired: bool,
    grant_id: Option<String>,
    auth_time: Option<i64>,
    user_claims: Option<Value>,
}

/// Revokes a token family: its refresh tokens stop working and `verify` rejects its access
/// tokens. `event` names it in the audit log (code_replayed, refresh_token_reused, …).
pub fn revoke_grant(grant_id: &str, event: &str, reason: &str) -> Result<(), MisuseError> {
    let revoked = db::query_json(
        "UPDATE oauth.grants SET revoked_at = now(), revoked_reason = $2
         WHERE id = $1::uuid AND revoked_at IS NULL
         RETURNING jsonb_build_object('client_id', client_id, 'user_id', user_id)",
        &[grant_id.into(), reason.into()],
    )?;
    if let Some(g) = revoked {
        audit::record(
            event,
            g["client_id"].as_str(),
            g["user_id"].as_str(),
            json!({"grant_id": grant_id, "reason": reason}),
        )?;
    }
    Ok(())
}

fn exchange(
    client: Client,
    code: Option<&str>,
    code_verifier: Option<&str>,
    redirect_uri: Option<&str>,
    requested_resources: &[String],
) -> ApiResult<Value> {
    let code = code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| invalid_request("code is required"))?;
    // Locking the row serialises concurrent redemptions: the second one waits, then sees
    // status 'redeemed' and is treated as a replay.
    let row: CodeRow = db::query_row(
        "SELECT to_jsonb(a) - 'code_hash' || jsonb_build_object('expired', expires_at <= now(),
                'auth_time', floor(extract(epoch FROM auth_time))::bigint)
         FROM oauth.authorizations a WHERE code_hash = $1 FOR UPDATE",
        &[secret::hash(code).to_vec().into()],
    )?
    .filter(|r: &CodeRow| r.kind == "code")
    .ok_or_else(|| invalid_grant("authorization code is invalid"))?;
    if row.status == "redeemed" {
        if let Some(g) = &row.grant_id {
            revoke_grant(g, "code_replayed", "authorization code replayed")?;
        }
        return Err(invalid_grant(
            "authorization code has already been used; the tokens it issued are revoked",
        )
        .into());
    }
    if row.status != "approved" || row.expired {
        return Err(invalid_grant("authorization code has expired").into());
    }
    if row.client_id != client.client_id {
        return Err(invalid_grant("authorization code was issued to another client").into());
    }
    match redirect_uri.filter(|s| !s.is_empty()) {
        Some(r) if Some(r) != row.redirect_uri.as_deref() => {
            return Err(
                invalid_grant("redirect_uri does not match the authorization request").into(),
            )
        }
        None if row.redirect_uri_given => {
            return Err(invalid_request(
                "redirect_uri is required: the authorization request included it",
            )
            .into())
        }
        _ => {}
    }
    pkce::verify(
        code_verifier,
        row.code_challenge.as_deref().unwrap_or_default(),
    )?;
    redeem_approved(
        &client,
        Approved {
            id: &row.id,
            user_id: row.user_id.as_deref(),
            scopes: &row.scopes,
            resources: &row.resources,
            auth_time: row.auth_time,
            user_claims: row.user_claims.clone(),
            nonce: row.nonce.as_deref(),
            what: "authorization code",
        },
        requested_resources,
    )
}

/// An approved authorization (a code, or a device request) about to be redeemed.
pub struct Approved<'a> {
    pub id: &'a str,
    pub user_id: Option<&'a str>,
    pub scopes: &'a [String],
    pub resources: &'a [String],
    pub auth_time: Option<i64>,
    pub user_claims: Option<Value>,
    pub nonce: Option<&'a str>,
    /// "authorization code" or "device code", for the error message.
    pub what: &'a str,
}

/// The valid redemption shared by codes and device codes: narrow the audience, start the token
/// family, mark the authorization redeemed by it, issue the tokens.
pub fn redeem_approved(
    client: &Client,
    a: Approved,
    requested_resources: &[String],
) -> ApiResult<Value> {
    let audience = resource::narrow(requested_resources, a.resources)?;
    let user_id = a
        .user_id
        .ok_or_else(|| invalid_grant(format!("{} has no user", a.what)))?;
    let grant = start_family(NewFamily {
        client_id: &client.client_id,
        user_id,
        scopes: a.scopes,
        resources: a.resources,
        grant_type: "authorization_code",
        auth_time: a.auth_time,
        authorization_id: Some(a.id),
        user_claims: a.user_claims,
    })?;
    mark_redeemed(a.id, grant.id())?;
    issue_tokens(&grant, client, a.scopes, a.nonce, &audience)
}

/// Marks an approved authorization (code or device) as redeemed by `grant_id`'s family.
fn mark_redeemed(authorization_id: &str, grant_id: &str) -> Result<(), MisuseError> {
    db::execute(
        "UPDATE oauth.authorizations SET status = 'redeemed', grant_id = $2::uuid WHERE id = $1",
        &[authorization_id.into(), grant_id.into()],
    )
    .map(|_| ())
}

/// The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself.
/// The token's `sub` is the client; no user scope (OpenID Connect), no refresh token.
fn client_credentials(
    client: Client,
    requested_scope: Option<&str>,
    resources: &[String],
) -> ApiResult<Value> {
    if !client.is_confidential() {
        return Err(OAuthError::UnauthorizedClient(
            "only confidential clients may use client_credentials".into(),
        )
        .into());
    }
    let scopes = match requested_scope.filter(|s| !s.trim().is_empty()) {
        Some(s) => scope::parse(s)?,
        None => Vec::new(),
    };
    if let Some(s) = scopes
        .iter()
        .find(|s| scope::BUILT_IN.iter().any(|(b, _)| b == s))
    {
        return Err(crate::error::invalid_scope(format!(
            "scope {s:?} is about a user; client_credentials has none"
        ))
        .into());
    }
    scope::ensure_subset(
        &scopes,
        &clients::allowed_scopes(&client)?,
        "allowed for this client",
    )?;
    crate::services::resources::ensure_registered(resources)?;
    let grant = start_family(NewFamily {
        client_id: &client.client_id,
        user_id: &client.client_id,
        scopes: &scopes,
        resources,
        grant_type: "client_credentials",
        auth_time: None,
        authorization_id: None,
        user_claims: None,
    })?;
    issue_tokens(&grant, &client, &scopes, None, resources)
}

#[derive(Deserialize)]
struct RefreshRow {
    grant_id: String,
    client_id: String,
    scopes: Vec<String>,
    resources: Vec<String>,
    used: bool,
    expired: bool,
    revoked: bool,
}

fn refresh_grant(
    client: Client,
    refresh_token: Option<&str>,
    requested_scope: Option<&str>,
    requested_resources: &[String],
) -> ApiResult<Value> {
    let token = refresh_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid_request("refresh_token is required"))?;
    // Lock the token row: concurrent presentations of one token serialise here, and all but the
    // first see it used.
    let row: RefreshRow = db::query_row(
        "SELECT jsonb_build_object('grant_id', g.id, 'client_id', g.client_id, 'scopes', g.scopes,
                'resources', g.resources,
                'used', t.used_at IS NOT NULL, 'expired', t.expires_at <= now(), 'revoked', g.revoked_at IS NOT NULL)
         FROM oauth.refresh_tokens t JOIN oauth.grants g ON g.id = t.grant_id
         WHERE t.token_hash = $1 FOR UPDATE OF t",
        &[secret::hash(token).to_vec().into()],
    )?
    .ok_or_else(|| invalid_grant("refresh token is invalid"))?;
    if row.client_id != client.client_id {
        return Err(invalid_grant("refresh token was issued to another client").into());
    }
    if row.revoked {
        return Err(invalid_grant("refresh token has been revoked").into());
    }
    if row.used {
        revoke_grant(
            &row.grant_id,
            "refresh_token_reused",
            "refresh token reused",
        )?;
        return Err(invalid_grant(
            "refresh token has already been used; its token family is revoked",
        )
        .into());
    }
    if row.expired {
        return Err(invalid_grant("refresh token has expired").into());
    }
    let scopes = match requested_scope.filter(|s| !s.trim().is_empty()) {
        Some(s) => {
            let requested = scope::parse(s)?;
            scope::ensure_subset(&requested, &row.scopes, "part of the original grant")?;
            requested
        }
        None => row.scopes.clone(),
    };
    // A refresh may narrow the audience to some of the authorized resources, never widen it.
    let audience = resource::narrow(requested_resources, &row.resources)?;
    db::execute(
        "UPDATE oauth.refresh_tokens SET used_at = now() WHERE token_hash = $1",
        &[secret::hash(token).to_vec().into()],
    )?;
    db::execute(
        "UPDATE oauth.grants SET last_used_at = now() WHERE id = $1::uuid",
        &[row.grant_id.as_str().into()],
    )?;
    let grant = load_grant(&row.grant_id)?;
    issue_tokens(&grant, &client, &scopes, None, &audience)
}

/// The authorization code grant (RFC 6749 §4.1.3 with PKCE).
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn exchange_code(
    code: Option<&str>,
    code_verifier: Option<&str>,
    redirect_uri: Option<&str>,
    client_id: Option<&str>,
    client_secret: default!(Option<&str>, "NULL"),
    resource: default!(Option<&str>, "NULL"),
) -> JsonB {
    respond(
        authenticate_for_grant(client_id, client_secret, "authorization_code").and_then(|client| {
            let resources = resource::parse(&resource.into_iter().collect::<Vec<_>>())?;
            exchange(client, code, code_verifier, redirect_uri, &resources)
        }),
    )
}

/// The refresh token grant (RFC 6749 §6), with rotation and reuse detection.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn refresh(
    refresh_token: Option<&str>,
    client_id: Option<&str>,
    client_secret: default!(Option<&str>, "NULL"),
    scope: default!(Option<&str>, "NULL"),
) -> JsonB {
    respond(
        authenticate_for_grant(client_id, client_secret, "refresh_token")
            .and_then(|client| refresh_grant(client, refresh_token, scope, &[])),
    )
}

/// The token endpoint as one call: `form` is the request body as a JSON object (repeated
/// parameters as arrays, which are refused), `authorization` the `Authorization` header.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn token(form: Option<JsonB>, authorization: default!(Option<&str>, "NULL")) -> JsonB {
    let form = form.map(|f| f.0).unwrap_or(Value::Null);
    respond(token_request(&form, authorization))
}

/// Mints a first-party session token for `sub` (`token_use: session`, no `client_id`), signed
/// with our key: for apps without another login, the reference consent page, and tests.
/// Administrators only.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn issue_session_token(sub: Option<&str>, claims: default!(Option<JsonB>, "'{}'")) -> String {
    let sub = or_raise(required(sub, "sub"));
    let extra = claims.map(|c| c.0).unwrap_or(json!({}));
    let Some(extra) = extra.as_object() else {
        super::raise(bad_param("claims must be a JSON object"))
    };
    if let Some(k) = token_kind::KIND_CLAIMS
        .iter()
        .chain(&["scope", "session_id"])
        .find(|k| extra.contains_key(**k))
    {
        super::raise(bad_param(format!(
            "a session token must not carry {k}: that claim belongs to access or ID tokens"
        )));
    }
    let signer = or_raise(current_signer());
    let now = or_raise(db::now_epoch());
    let mut c = json!({
        "aud": settings::default_audience(),
        "role": settings::default_role(),
    });
    for (k, v) in extra {
        c[k] = v.clone();
    }
    for (k, v) in [
        ("iss", json!(settings::issuer())),
        ("sub", json!(sub)),
        ("iat", json!(now)),
        ("exp", json!(now + settings::session_token_lifetime())),
        (token_kind::KIND_CLAIM, json!(token_kind::SESSION)),
    ] {
        c[k] = v;
    }
    or_raise(signer.sign(token_kind::JWT_TYP, &c))
}
