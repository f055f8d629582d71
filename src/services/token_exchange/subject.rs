//! The tokens an exchange is asked about (RFC 8693 §2.1), verified: the subject token (one of
//! our access tokens, or a trusted issuer's session when its option `token_exchange` allows)
//! and the actor token (an access token of ours, the exchanging client's own).

use crate::error::{invalid_request, ApiResult, Misuse, MisuseError, OAuthError};
use crate::model::GrantType;
use crate::protocol::{issuer, jws, session_jwt};
use crate::services::{keys, sessions, trusted_sessions};
use crate::settings;
use crate::store::issuers;
use crate::store::token_exchange::{self as store, Source};
use serde_json::Value;

/// RFC 8693 §3 token type identifiers.
pub const ACCESS_TOKEN: &str = crate::services::issuance::ACCESS_TOKEN_TYPE;
pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";

/// A subject token, verified, with what deriving a family from it needs.
pub struct Subject {
    /// Its client; empty for a trusted issuer's session (no client of ours, so whoever
    /// exchanges it acts for its user).
    pub client_id: String,
    pub sub: String,
    pub audience: Vec<String>,
    pub scopes: Vec<String>,
    pub exp: i64,
    pub act: Option<Value>,
    pub may_act: Option<Value>,
    pub jkt: Option<String>,
    /// Its family (our access tokens), which the derived family is linked to.
    pub source_grant_id: Option<String>,
    pub user_claims: Option<Value>,
    pub auth_time: Option<i64>,
    /// The latest a derived family may reach: the source family's (or the session's) end.
    pub reach: i64,
}

/// The refusal for a subject or actor token that is not what the exchange takes.
fn refused(which: &str, why: impl std::fmt::Display) -> OAuthError {
    invalid_request(format!("{which} is not accepted: {why}"))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn text(claims: &Value, name: &str) -> String {
    claims[name].as_str().unwrap_or_default().to_string()
}

/// One of our access tokens, its family standing (`keys::verify_access_token`): an ID token,
/// a session, a logout token or another issuer's token is refused by name.
fn our_access_token(token: &str, which: &str) -> ApiResult<Value> {
    keys::verify_access_token(token).map_err(|e: MisuseError| match e.kind {
        Misuse::Privilege | Misuse::InvalidToken => refused(which, e.message).into(),
        _ => e.into(),
    })
}

/// The subject token as its `subject_token_type` says it is.
pub fn load(token: &str, token_type: &str) -> ApiResult<Subject> {
    match token_type {
        ACCESS_TOKEN => ours(token),
        JWT | ID_TOKEN => trusted_session(token),
        other => Err(invalid_request(format!(
            "subject_token_type {other:?} is not exchanged here: an access token of this server ({ACCESS_TOKEN}), or a trusted issuer's session ({JWT} or {ID_TOKEN})"
        ))
        .into()),
    }
}

fn ours(token: &str) -> ApiResult<Subject> {
    let claims = our_access_token(token, "subject_token")?;
    let sid = text(&claims, "session_id");
    // Verified live a moment ago; gone now only if revoked in between.
    let source: Source = store::source(&sid)?
        .ok_or_else(|| refused("subject_token", "its family has been revoked"))?;
    if source.grant_type == GrantType::ClientCredentials {
        return Err(refused(
            "subject_token",
            "it is a client's own token (client_credentials): a client asks for a narrower one of its own with client_credentials and resource",
        )
        .into());
    }
    let exp = claims["exp"].as_i64().unwrap_or(0);
    // The audiences the family was granted (the default audience when it names no resource):
    // `aud` is the hook's to shape, and only what the user granted may be exchanged from.
    let granted = if source.resources.is_empty() {
        vec![crate::settings::default_audience()]
    } else {
        source.resources.clone()
    };
    let audience = strings(claims.get("aud"))
        .into_iter()
        .filter(|a| granted.contains(a))
        .collect();
    // Today's family may have been narrowed since the token was signed.
    let scopes = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| source.scopes.iter().any(|f| f == s))
        .map(String::from)
        .collect();
    Ok(Subject {
        client_id: text(&claims, "client_id"),
        // The family's user, never the token's sub: a pairwise client's tokens name the user
        // by its sector's identifier (OIDC Core §8.1), which is nobody here.
        sub: source.user_id.clone(),
        audience,
        scopes,
        exp,
        act: claims.get("act").cloned(),
        may_act: claims.get("may_act").cloned(),
        jkt: claims["cnf"]["jkt"].as_str().map(String::from),
        source_grant_id: Some(sid),
        user_claims: source.user_claims,
        auth_time: Some(source.auth_time),
        reach: source.reach.unwrap_or(exp).max(exp),
    })
}

/// A trusted issuer's session (RFC 8693's `jwt`, or an OpenID Connect ID token), when the
/// issuer's policy allows exchange: verified with its keys and whole policy, its user not
/// revoked nor disabled (`sessions::from_token`). This server's own tokens never come this way.
fn trusted_session(token: &str) -> ApiResult<Subject> {
    let iss = session_jwt::unverified_issuer(token).map_err(|e| refused("subject_token", e))?;
    if issuer::same(&iss, &settings::issuer()) {
        return Err(refused(
            "subject_token",
            format!("this server's own tokens are exchanged only as access tokens ({ACCESS_TOKEN}); its ID, session and logout tokens never are"),
        )
        .into());
    }
    let stored = issuers::find(&iss)?
        .ok_or_else(|| refused("subject_token", format!("issuer {iss} is not trusted")))?;
    let policy = trusted_sessions::policy(&iss, &stored.options)?;
    if !policy.token_exchange {
        return Err(refused(
            "subject_token",
            format!("sessions of issuer {iss} are not exchanged (its option token_exchange is off: oauth.add_issuer)"),
        )
        .into());
    }
    let caller = sessions::from_exchanged_token(token).map_err(|e| match e {
        crate::error::Failure::OAuth(e) => refused("subject_token", e.description()).into(),
        other => other,
    })?;
    // Verified above: its claims as signed, for exp, may_act and cnf.
    let raw = jws::unverified_claims(token).map_err(|e| refused("subject_token", e))?;
    // A session that is itself delegated names actors that are not our clients: its chain
    // could be neither checked nor carried on, and dropping it would make the result look
    // less delegated than it is.
    if raw.get("act").is_some_and(|a| !a.is_null()) {
        return Err(refused(
            "subject_token",
            "it is itself delegated (act): only a user's own session is exchanged",
        )
        .into());
    }
    let exp = raw["exp"].as_i64().ok_or_else(|| {
        refused(
            "subject_token",
            "it has no exp: a session without an end cannot bound what is derived from it",
        )
    })?;
    Ok(Subject {
        client_id: String::new(),
        sub: caller.user_id,
        audience: vec![iss],
        // A session carries no scopes of ours: the rules alone say which (decide intersects).
        scopes: Vec::new(),
        exp,
        act: None,
        may_act: raw.get("may_act").cloned(),
        jkt: raw["cnf"]["jkt"].as_str().map(String::from),
        source_grant_id: None,
        user_claims: Some(caller.user_claims),
        auth_time: caller.auth_time,
        reach: exp,
    })
}

/// The actor token (RFC 8693 §2.1): one of our access tokens; whose it is, the decision checks.
pub struct ActorToken {
    pub client_id: String,
    pub sub: String,
    pub act: Option<Value>,
}

pub fn actor(token: Option<&str>, token_type: Option<&str>) -> ApiResult<Option<ActorToken>> {
    let token = match (token.filter(|t| !t.is_empty()), token_type) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(invalid_request("actor_token_type is given without actor_token").into())
        }
        (Some(_), None) => {
            return Err(invalid_request("actor_token needs its actor_token_type").into())
        }
        (Some(_), Some(t)) if t != ACCESS_TOKEN => {
            return Err(invalid_request(format!(
                "actor_token_type {t:?} is not taken: an actor presents an access token of this server ({ACCESS_TOKEN})"
            ))
            .into())
        }
        (Some(t), Some(_)) => t,
    };
    let claims = our_access_token(token, "actor_token")?;
    // Its family's subject (a machine's is its client), not the token's sub, which is pairwise
    // for a pairwise client.
    let family = store::source(&text(&claims, "session_id"))?
        .ok_or_else(|| refused("actor_token", "its family has been revoked"))?;
    Ok(Some(ActorToken {
        client_id: text(&claims, "client_id"),
        sub: family.user_id,
        act: claims.get("act").cloned(),
    }))
}
