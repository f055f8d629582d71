//! DPoP at a resource (RFC 9449 §7): `oauth.verify_dpop(access_token, proof, method, url)`
//! for a resource server that checks a request in SQL, and `oauth.dpop_jkt()`, the RLS helper
//! that reads the proof of the current PostgREST request.

use super::{or_raise, raise};
use crate::decisions::dpop_binding;
use crate::error::{Failure, Misuse, MisuseError};
use crate::services::{dpop, keys};
use crate::settings;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;
use std::cell::RefCell;
use std::ffi::CStr;

/// A refused proof or binding, raised as 28000 with the RFC's error code in the message.
fn refused(f: Failure) -> MisuseError {
    match f {
        Failure::OAuth(e) | Failure::OAuthThen(e, _) => MisuseError::new(
            Misuse::InvalidToken,
            format!("{}: {}", e.code(), e.description()),
        ),
        Failure::Misuse(e) => e,
    }
}

/// The key a token is bound to (`cnf.jkt`), if it is.
fn bound_key(claims: &Value) -> Option<&str> {
    claims
        .get("cnf")
        .and_then(|c| c.get("jkt"))
        .and_then(Value::as_str)
}

fn verify(token: &str, proof: &str, method: &str, url: &str) -> Result<Value, MisuseError> {
    // The caller's URL, not the client's proof: a malformed one is the caller's mistake.
    crate::protocol::dpop::htu::normalize(url)
        .map_err(|e| crate::error::bad_param(format!("url is not a request URL: {e}")))?;
    let claims = keys::verify_access_token(token)?;
    let proven = dpop::check(Some(proof), method, url, Some(token), false).map_err(refused)?;
    let jkt = proven.as_ref().map(|p| p.jkt.as_str());
    dpop_binding::at_resource(bound_key(&claims), jkt).map_err(|e| refused(Failure::OAuth(e)))?;
    Ok(claims)
}

/// The claims of a DPoP-bound access token presented with `proof` (the `DPoP` header) on a
/// request of `method` to `url`: the token as `oauth.verify` checks it, the proof as RFC 9449
/// §4.3 and §7.1 say (signed by the key in `cnf.jkt`, for this method and URL, recent, `ath`
/// the token's hash), and its `jti` remembered so that a replay is refused. Raises 28000 with
/// the RFC's error (`invalid_token`, `invalid_dpop_proof`) otherwise.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn verify_dpop(
    access_token: Option<&str>,
    proof: Option<&str>,
    method: Option<&str>,
    url: Option<&str>,
) -> JsonB {
    let token = or_raise(super::required(access_token, "access_token"));
    let proof = or_raise(super::required(proof, "proof"));
    let method = or_raise(super::required(method, "method"));
    let url = or_raise(super::required(url, "url"));
    JsonB(or_raise(verify(token, proof, method, url)))
}

/// What one request's proof proved, cached for the statement's rows.
struct Judged {
    key: String,
    jkt: Option<String>,
}

thread_local! {
    static JUDGED: RefCell<Option<Judged>> = const { RefCell::new(None) };
}

fn setting(name: &CStr) -> Option<String> {
    // SAFETY: a NUL-terminated name; missing_ok, so an unset setting is NULL, never an error.
    let ptr = unsafe { pg_sys::GetConfigOption(name.as_ptr(), true, false) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: GUC values are NUL-terminated strings owned by the GUC machinery.
    let s = unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned();
    Some(s).filter(|s| !s.is_empty())
}

/// The proof of the current PostgREST request, judged: `None` when it carries none.
fn current_jkt() -> Result<Option<String>, MisuseError> {
    let Some(headers) = setting(c"request.headers") else {
        return Ok(None);
    };
    let headers: Value = serde_json::from_str(&headers).unwrap_or(Value::Null);
    let Some(proof) = headers.get("dpop").and_then(Value::as_str) else {
        return Ok(None);
    };
    let method = setting(c"request.method").unwrap_or_default();
    let path = setting(c"request.path").unwrap_or_default();
    let token = headers
        .get("authorization")
        .and_then(Value::as_str)
        .and_then(|a| a.split_once(' '))
        .map(|(_, t)| t.trim().to_string())
        .unwrap_or_default();
    // Keyed on everything the answer depends on, and the transaction's clock.
    let key = format!(
        "{proof}\n{method}\n{path}\n{}\n{}",
        crate::protocol::dpop::ath(&token),
        unsafe { pg_sys::GetCurrentTransactionStartTimestamp() }
    );
    if let Some(jkt) = JUDGED.with(|j| {
        j.borrow()
            .as_ref()
            .filter(|j| j.key == key)
            .map(|j| j.jkt.clone())
    }) {
        return Ok(jkt);
    }
    let base = settings::dpop_api_url().ok_or_else(|| {
        MisuseError::new(
            Misuse::Misconfigured,
            "oauth.dpop_jkt() needs oauth_server.dpop_api_url: the public URL the API's requests reach",
        )
        .hint("ALTER DATABASE … SET oauth_server.dpop_api_url = 'https://api.example.com/rest/v1'")
    })?;
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let proven = dpop::judge(proof, &method, &url, Some(&token), false).map_err(refused)?;
    JUDGED.with(|j| {
        *j.borrow_mut() = Some(Judged {
            key,
            jkt: Some(proven.jkt.clone()),
        })
    });
    Ok(Some(proven.jkt))
}

/// RLS helper: the JWK thumbprint of the key the current PostgREST request proved with its
/// `DPoP` header (for `request.method` to `oauth_server.dpop_api_url` + `request.path`, recent,
/// `ath` the hash of the request's access token), or NULL when it sent none. Raises 28000 for
/// a proof that does not hold. Compare it with `oauth.jwt() -> 'cnf' ->> 'jkt'`. It cannot
/// remember proofs (a policy may run in a read-only transaction): a proof may be replayed
/// within `oauth_server.dpop_proof_max_age`, for the same request with the same token.
#[pg_extern(stable, parallel_safe)]
fn dpop_jkt() -> Option<String> {
    match current_jkt() {
        Ok(jkt) => jkt,
        Err(e) => raise(e),
    }
}
