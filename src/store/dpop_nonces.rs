//! Storage of `oauth.dpop_nonces`: the server's DPoP nonces (RFC 9449 §8).

use crate::error::MisuseError;
use crate::query;

/// The nonce to hand out: the newest one younger than `rotate_secs`, else `fresh`, stored.
pub fn current(rotate_secs: i64, fresh: &str) -> Result<String, MisuseError> {
    super::scalar::<String>(
        query!("dpop/current_nonce"),
        &[(rotate_secs as f64).into(), fresh.into()],
    )?
    .ok_or_else(|| crate::error::internal("no DPoP nonce was found or added"))
}

/// Whether `nonce` is ours and younger than `accept_secs`.
pub fn is_current(nonce: &str, accept_secs: i64) -> Result<bool, MisuseError> {
    Ok(super::scalar::<bool>(
        query!("dpop/nonce_is_current"),
        &[nonce.into(), (accept_secs as f64).into()],
    )?
    .unwrap_or(false))
}
