//! Storage of `oauth.revoked_users`, and the state changes revoking a trusted issuer's user
//! makes to the rows that user left with this server (token families, consents, approved
//! requests): one aggregate, so that what a revocation touches is read in one place.

use super::{execute, scalar};
use crate::error::{internal, MisuseError};
use crate::query;
use serde_json::Value;

/// When `sub` of `issuer` was last revoked, in seconds since the epoch.
pub fn revoked_at(issuer: &str, sub: &str) -> Result<Option<f64>, MisuseError> {
    scalar(
        query!("revoked_users/revoked_at"),
        &[issuer.into(), sub.into()],
    )
}

/// What a revocation did.
pub struct Revocation {
    /// When, as JSON (a timestamp).
    pub revoked_at: Value,
    pub grants: usize,
    pub requests: usize,
    pub consents: usize,
}

/// Revokes `sub` of `issuer` now: records it, revokes the user's token families and approved
/// requests that may be this issuer's user's, and withdraws the user's consents.
pub fn revoke(issuer: &str, sub: &str) -> Result<Revocation, MisuseError> {
    let args = || [issuer.into(), sub.into()];
    let revoked_at = scalar::<Value>(query!("revoked_users/record"), &args())?
        .ok_or_else(|| internal("INSERT … RETURNING returned no row"))?;
    // Requests before families: a code being redeemed holds its request's row until it
    // commits, so ending the requests waits for it, and the families, read by the next
    // statement, then include the one it started (the other way round, that family was not
    // there yet when the families were revoked, and survived).
    let requests = execute(query!("revoked_users/end_requests"), &args())?;
    let grants = execute(query!("revoked_users/revoke_grants"), &args())?;
    Ok(Revocation {
        revoked_at,
        grants,
        requests,
        consents: execute(query!("revoked_users/withdraw_consents"), &[sub.into()])?,
    })
}
