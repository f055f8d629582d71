//! `oauth.userinfo(access_token)` (OIDC Core §5.3): the user claims the access token's scopes
//! release (`services::user_claims` says where they come from).

use super::{respond, set_response_headers, ApiResult};
use crate::decisions::dpop_binding;
use crate::error::OAuthError;
use crate::protocol::client_metadata::RelyingParty;
use crate::protocol::scope;
use crate::services::dpop;
use crate::services::keys::verify_access_token;
use crate::services::pairwise::SubjectClient;
use crate::services::user_claims;
use crate::store::{db, grants};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Map, Value};

/// How the access token came: as a bearer token, or with the DPoP scheme and this proof for a
/// request of this method (RFC 9449 §7.1).
#[derive(Clone, Copy)]
enum Presented<'a> {
    Bearer,
    Dpop {
        proof: Option<&'a str>,
        method: &'a str,
    },
}

fn userinfo_response(access_token: Option<&str>, presented: Presented) -> ApiResult<Value> {
    let token = access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::InvalidToken("an access token is required".into()))?;
    let claims = verify_access_token(token).map_err(|e| OAuthError::InvalidToken(e.message))?;
    let proven = match presented {
        Presented::Bearer => None,
        Presented::Dpop { proof, method } => {
            if !matches!(method, "GET" | "POST") {
                return Err(OAuthError::InvalidRequest(format!(
                    "userinfo is reached with GET or POST, not {method:?}"
                ))
                .into());
            }
            let proof = proof.ok_or_else(|| {
                OAuthError::InvalidDpopProof(
                    "the DPoP scheme needs the request's proof in a DPoP header".into(),
                )
            })?;
            dpop::check(
                Some(proof),
                method,
                &dpop::endpoint_url("/oauth/userinfo"),
                Some(token),
                false,
            )?
        }
    };
    let bound = claims
        .get("cnf")
        .and_then(|c| c.get("jkt"))
        .and_then(Value::as_str);
    dpop_binding::at_resource(bound, proven.as_ref().map(|p| p.jkt.as_str()))?;
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
    // A session_id that is not a uuid names no grant (and must not make the cast raise).
    let grant = if db::is_uuid(session_id) {
        grants::find_live(session_id)?
    } else {
        None
    }
    .ok_or_else(|| OAuthError::InvalidToken("the grant of this token is revoked".into()))?;
    let mut out = Map::new();
    let subjects = SubjectClient {
        client_id: &grant.client_id,
        relying_party: RelyingParty::from_stored(grant.relying_party.as_ref())
            .map_err(crate::error::internal)?,
        redirect_uris: &grant.redirect_uris,
        grant_types: &grant.grant_types,
        metadata_document: grant.metadata_document,
    };
    out.insert("sub".into(), json!(subjects.subject(&grant.user_id)?));
    out.extend(user_claims::for_user(
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
    answer(userinfo_response(access_token, Presented::Bearer), false)
}

/// `oauth.userinfo(access_token, dpop, method)`: the access token presented with the DPoP
/// scheme (RFC 9449 §7.1), `dpop` the request's `DPoP` header and `method` its method. The
/// proof must be by the key the token is bound to, for this endpoint, with `ath`; its `jti`
/// is remembered. Errors carry a `DPoP` challenge.
#[pg_extern(name = "userinfo", volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn userinfo_with_dpop(
    access_token: Option<&str>,
    dpop: Option<&str>,
    method: Option<&str>,
) -> JsonB {
    let presented = Presented::Dpop {
        proof: dpop,
        method: method.unwrap_or("GET"),
    };
    answer(userinfo_response(access_token, presented), true)
}

fn answer(result: ApiResult<Value>, dpop_scheme: bool) -> JsonB {
    // A resource answers every refusal of the token or its proof with 401 and a challenge in
    // the scheme the token came with; a bound token gets a DPoP one (RFC 9449 §7.1).
    let challenge = match &result {
        Err(super::Failure::OAuth(e)) if dpop_scheme => {
            e.dpop_challenge(crate::protocol::dpop::ALGS)
        }
        Err(super::Failure::OAuth(e)) => e.www_authenticate(),
        _ => None,
    };
    let dpop_refusal = matches!(
        &result,
        Err(super::Failure::OAuth(
            OAuthError::InvalidDpopProof(_) | OAuthError::UseDpopNonce(_)
        ))
    );
    let body = respond(result);
    if dpop_refusal {
        super::set_response_status(401);
    }
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
