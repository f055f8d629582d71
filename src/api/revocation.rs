//! Token revocation (RFC 7009) and introspection (RFC 7662). Both authenticate the client the
//! way the token endpoint does. A client may revoke only its own tokens; revoking either token
//! of a family revokes the family (the grant), so its access tokens stop verifying too.

use super::{respond, set_no_store, ApiResult};
use crate::audit_events::AuditEvent;
use crate::decisions::grounds::{Effective, Recorded};
use crate::error::invalid_client;
use crate::model::GrantType;
use crate::protocol::params::Params;
use crate::protocol::secret;
use crate::services::client_auth::{authenticate_request, authenticate_request_to_revoke};
use crate::services::grounds;
use crate::services::issuance::revoke_family;
use crate::services::keys::{verify_access_token, verify_access_token_to_revoke};
use crate::store::clients::Client;
use crate::store::db;
use crate::store::grants::{self, RefreshTokenInfo};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn find_refresh_token(token: &str) -> ApiResult<Option<RefreshTokenInfo>> {
    Ok(grants::find_refresh_token(secret::hash(token))?)
}

/// The claims of a valid access token we issued (not a session or ID token).
fn access_token_claims(token: &str) -> Option<Value> {
    // Only JWS-shaped strings are worth a signature check.
    if token.split('.').count() != 3 {
        return None;
    }
    verify_access_token(token)
        .ok()
        .filter(|c| c.get("client_id").is_some_and(Value::is_string))
}

/// The claims of an access token we signed, whether or not its family still stands: what
/// revocation needs to find the family to end.
fn signed_access_token_claims(token: &str) -> Option<Value> {
    if token.split('.').count() != 3 {
        return None;
    }
    verify_access_token_to_revoke(token)
        .ok()
        .filter(|c| c.get("client_id").is_some_and(Value::is_string))
}

fn revoke_request(form: &Value, authorization: Option<&str>) -> ApiResult<Value> {
    let form = Params::new(form)?;
    // Whatever today's switches say of the client: ending its own tokens only ever reduces
    // access, so a client they stop may still revoke what it holds (and must authenticate as
    // itself to).
    let client = authenticate_request_to_revoke(&form, authorization)?;
    let token = form.require("token")?;
    // token_type_hint only orders the lookups (RFC 7009 §2.1); both kinds are tried.
    if let Some(row) = find_refresh_token(token)? {
        if row.client_id == client.client_id {
            revoke_family(
                &row.grant_id,
                AuditEvent::TokenRevoked,
                "refresh token revoked by the client",
            )?;
        }
    } else if let Some(claims) = signed_access_token_claims(token) {
        let sid = claims["session_id"].as_str().unwrap_or_default();
        if claims["client_id"] == client.client_id.as_str() && db::is_uuid(sid) {
            revoke_family(
                sid,
                AuditEvent::TokenRevoked,
                "access token revoked by the client",
            )?;
        }
    }
    // An unknown, expired or foreign token gets the same answer (RFC 7009 §2.2): nothing
    // tells the caller whether a token it does not own exists.
    set_no_store();
    Ok(json!({}))
}

fn introspect_request(form: &Value, authorization: Option<&str>) -> ApiResult<Value> {
    let form = Params::new(form)?;
    let client = authenticate_request(&form, authorization)?;
    if !client.is_confidential() {
        return Err(invalid_client("introspection requires a confidential client").into());
    }
    let token = form.require("token")?;
    set_no_store();
    if let Some(c) = access_token_claims(token) {
        // Any confidential client (a resource server) may introspect access tokens: that is
        // what the endpoint is for.
        let mut answer = json!({
            "active": true,
            "token_type": "Bearer",
            "scope": c["scope"], "client_id": c["client_id"], "sub": c["sub"], "aud": c["aud"],
            "iss": c["iss"], "exp": c["exp"], "iat": c["iat"], "jti": c["jti"],
        });
        // RFC 9449 §6.2: a bound token's key, for the resource server to check proofs by.
        if let Some(cnf) = c.get("cnf").filter(|v| v.is_object()) {
            answer["cnf"] = cnf.clone();
            answer["token_type"] = json!("DPoP");
        }
        // RFC 8693 §4.1, §4.4: who acts for the user, and who may.
        for k in ["act", "may_act"] {
            if let Some(v) = c.get(k).filter(|v| !v.is_null()) {
                answer[k] = v.clone();
            }
        }
        return Ok(answer);
    }
    // A refresh token is only ever shown to the client holding it.
    if let Some(row) = find_refresh_token(token)? {
        if row.active && row.client_id == client.client_id {
            if let Ok(family) = under_todays_grounds(&row, &client)? {
                return Ok(json!({
                    "active": true,
                    "token_type": "refresh_token",
                    "scope": family.scopes.join(" "), "client_id": row.client_id,
                    "sub": crate::services::pairwise::SubjectClient::of(&client)?
                        .subject(&row.user_id)?,
                    "exp": row.exp, "iat": row.iat,
                }));
            }
        }
    }
    Ok(json!({ "active": false }))
}

/// What the next refresh of the family could still be granted: the same re-check against
/// today's client, registries, user and issuer the refresh makes first
/// (`decisions::refresh::decide`), so that introspection never calls active, or shows a scope
/// of, what the token endpoint would refuse or drop.
fn under_todays_grounds(
    row: &RefreshTokenInfo,
    client: &Client,
) -> ApiResult<Result<Effective, crate::error::OAuthError>> {
    let recorded = Recorded {
        scopes: &row.scopes,
        resources: &row.resources,
        redirect_uri: None,
        resources_named: false,
        grant: GrantType::RefreshToken,
    };
    let effective = grounds::recheck(
        &row.client_id,
        &row.user_id,
        grounds::issuer_of(row.user_claims.as_ref()),
        &recorded,
    )?;
    // A family derived by token exchange refreshes only as its exchange is decided again.
    if let (Ok(family), GrantType::TokenExchange) = (&effective, row.grant_type) {
        match crate::services::token_exchange::redecide(
            &row.grant_id,
            client,
            &row.user_id,
            &family.scopes,
            &family.resources,
        ) {
            Ok(_) => {}
            Err(crate::error::Failure::OAuth(e)) => return Ok(Err(e)),
            Err(other) => return Err(other),
        }
    }
    Ok(effective)
}

/// RFC 7009 revocation: `form` holds token, token_type_hint and the client's credentials.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn revoke(form: Option<JsonB>, authorization: default!(Option<&str>, "NULL")) -> JsonB {
    let form = form.map(|f| f.0).unwrap_or(Value::Null);
    respond(revoke_request(&form, authorization))
}

/// RFC 7662 introspection, for confidential clients.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn introspect(form: Option<JsonB>, authorization: default!(Option<&str>, "NULL")) -> JsonB {
    let form = form.map(|f| f.0).unwrap_or(Value::Null);
    respond(introspect_request(&form, authorization))
}
