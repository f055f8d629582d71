//! OpenID Connect user claims: `oauth.userinfo(access_token)` (OIDC Core §5.3), and where the
//! claims of ID tokens and userinfo come from: the configured claims function, else Supabase's
//! `auth.users` when it exists, else the claims of the session that approved the grant.

use super::keys::verify_access_token;
use super::{respond, set_response_headers, ApiResult};
use crate::error::{MisuseError, OAuthError};
use crate::protocol::{scope, user_claims};
use crate::settings;
use crate::store::db;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The claims of user `sub` that `scopes` release to `client_id`.
pub fn user_claims(
    sub: &str,
    client_id: &str,
    scopes: &[String],
    session_claims: Option<&Value>,
) -> Result<Map<String, Value>, MisuseError> {
    if !scopes
        .iter()
        .any(|s| matches!(s.as_str(), "profile" | "email" | "phone"))
    {
        return Ok(Map::new());
    }
    let source = match settings::user_claims_function() {
        Some(f) => {
            let arg = json!({
                "sub": sub, "client_id": client_id, "scopes": scopes,
                "session_claims": session_claims,
            });
            db::call_jsonb_function(&f, "oauth_server.user_claims_function", arg)?
        }
        None => match supabase_user(sub)? {
            Some(row) => user_claims::from_supabase_user(&row),
            None => session_claims.cloned().unwrap_or(Value::Null),
        },
    };
    Ok(user_claims::for_scopes(
        &user_claims::normalise(&source),
        scopes,
    ))
}

/// The `auth.users` row of `sub`, when that table exists (Supabase), is owned by a trusted
/// role, and `sub` is a UUID. A table of that name made by anyone else is ignored: it could
/// claim any email is verified.
fn supabase_user(sub: &str) -> Result<Option<Value>, MisuseError> {
    if !db::is_uuid(sub) || !db::relation_is_trusted("auth.users")? {
        return Ok(None);
    }
    db::query_json(
        "SELECT to_jsonb(u) || jsonb_build_object('updated_at_epoch', floor(extract(epoch FROM u.updated_at))::bigint)
         FROM auth.users u WHERE u.id = $1::uuid",
        &[sub.into()],
    )
}

#[derive(Deserialize)]
struct GrantRow {
    user_id: String,
    user_claims: Option<Value>,
}

fn userinfo_response(access_token: Option<&str>) -> ApiResult<Value> {
    let token = access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::InvalidToken("an access token is required".into()))?;
    let claims = verify_access_token(token).map_err(|e| OAuthError::InvalidToken(e.message))?;
    let (Some(client_id), Some(session_id)) = (
        claims.get("client_id").and_then(Value::as_str),
        claims.get("session_id").and_then(Value::as_str),
    ) else {
        return Err(
            OAuthError::InvalidToken("not an access token issued to a client".into()).into(),
        );
    };
    let scopes =
        scope::parse(claims.get("scope").and_then(Value::as_str).unwrap_or("")).unwrap_or_default();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::InsufficientScope(
            "userinfo needs an access token with the openid scope".into(),
        )
        .into());
    }
    let grant: GrantRow = db::query_row(
        "SELECT jsonb_build_object('user_id', user_id, 'user_claims', user_claims)
         FROM oauth.grants WHERE id = $1::uuid AND revoked_at IS NULL",
        &[session_id.into()],
    )?
    .ok_or_else(|| OAuthError::InvalidToken("the grant of this token is revoked".into()))?;
    let mut out = Map::new();
    out.insert("sub".into(), json!(grant.user_id));
    out.extend(user_claims(
        &grant.user_id,
        client_id,
        &scopes,
        grant.user_claims.as_ref(),
    )?);
    set_response_headers(&[("Cache-Control", "no-store")]);
    Ok(Value::Object(out))
}

/// The UserInfo endpoint: the signed-in user's claims, as the access token's scopes allow.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn userinfo(access_token: Option<&str>) -> JsonB {
    let result = userinfo_response(access_token);
    let challenge = match &result {
        Err(super::Failure::OAuth(e)) => e.www_authenticate(),
        _ => None,
    };
    let body = respond(result);
    // RFC 9728 §5.1: a 401 from a protected resource says where its metadata is, so that a
    // client (an MCP client, say) can find the authorization server from the challenge alone.
    if let Some(c) = challenge {
        let url = crate::protocol::resource::metadata_url(&crate::settings::issuer());
        super::set_response_headers(&[(
            "WWW-Authenticate",
            &format!("{c}, resource_metadata=\"{url}\""),
        )]);
    }
    body
}
