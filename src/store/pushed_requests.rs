//! `oauth.pushed_requests`: authorization requests pushed by clients (RFC 9126), each used at
//! most once by the client that pushed it, within a minute.

use super::{execute, one};
use crate::error::{invalid_request, ApiResult, MisuseError};
use crate::protocol::secret;
use crate::{query, row_type};
use pgrx::JsonB;
use serde_json::Value;

/// What a `request_uri` is: this prefix and 256 random bits (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request may wait for its authorization request.
pub const LIFETIME_SECS: i64 = 60;

/// Stores `params` for `client_id`; the new `request_uri` (kept only as its hash).
pub fn push(client_id: &str, params: &Value) -> Result<String, MisuseError> {
    let request_uri = format!(
        "{REQUEST_URI_PREFIX}{}",
        secret::random_token(secret::TOKEN_BYTES)
    );
    execute(
        query!("pushed_requests/push"),
        &[
            secret::hash(&request_uri).to_vec().into(),
            client_id.into(),
            JsonB(params.clone()).into(),
            (LIFETIME_SECS as f64).into(),
        ],
    )?;
    Ok(request_uri)
}

row_type! {
    struct Taken {
        pub params: Value,
        pub expired: bool,
    }
}

/// The parameters pushed under `request_uri` by `client_id`, used up. Unknown, used, expired
/// and another client's are one refusal, `invalid_request`, so that none can be told apart.
pub fn take(request_uri: &str, client_id: &str) -> ApiResult<Value> {
    let taken: Option<Taken> = one(
        query!("pushed_requests/take"),
        &[secret::hash(request_uri).to_vec().into(), client_id.into()],
    )?;
    match taken {
        Some(t) if !t.expired => Ok(t.params),
        _ => Err(invalid_request(
            "request_uri is unknown, used, expired or another client's: push the request again",
        )
        .into()),
    }
}
