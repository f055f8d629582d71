//! Deletion of what can no longer be used, across the tables that expire: see `store` and
//! `oauth.purge_expired()`. Each function returns how many rows it deleted.

use super::execute;
use crate::error::MisuseError;
use crate::query;

/// Authorization requests and codes past their expiry.
pub fn authorizations() -> Result<usize, MisuseError> {
    execute(query!("purge/authorizations"), &[])
}

/// Expired refresh tokens, and those of families revoked more than `grace_secs` ago.
pub fn refresh_tokens(grace_secs: f64) -> Result<usize, MisuseError> {
    execute(query!("purge/refresh_tokens"), &[grace_secs.into()])
}

/// Token families revoked or unused for more than `grace_secs` that have no refresh token
/// left.
pub fn grants(grace_secs: f64) -> Result<usize, MisuseError> {
    execute(query!("purge/grants"), &[grace_secs.into()])
}

/// Wrong user codes entered more than `window_secs` ago.
pub fn user_code_failures(window_secs: f64) -> Result<usize, MisuseError> {
    execute(query!("purge/user_code_failures"), &[window_secs.into()])
}

/// Audit rows older than `days`.
pub fn audit_log(days: i32) -> Result<usize, MisuseError> {
    execute(query!("purge/audit_log"), &[days.into()])
}

/// Sign-in attempts past their lifetime.
pub fn sign_in_states() -> Result<usize, MisuseError> {
    execute(query!("purge/sign_in_states"), &[])
}

/// Sessions that ended or expired more than `grace_secs` ago.
pub fn sessions(grace_secs: f64) -> Result<usize, MisuseError> {
    execute(query!("purge/sessions"), &[grace_secs.into()])
}

/// DPoP proofs' and client assertions' jtis that could no longer be replayed anyway.
pub fn used_jtis() -> Result<usize, MisuseError> {
    execute(query!("purge/used_jtis"), &[])
}

/// DPoP nonces older than `accept_secs`, which no proof may carry any more.
pub fn dpop_nonces(accept_secs: f64) -> Result<usize, MisuseError> {
    execute(query!("purge/dpop_nonces"), &[accept_secs.into()])
}

/// Pushed authorization requests past their minute.
pub fn pushed_requests() -> Result<usize, MisuseError> {
    execute(query!("purge/pushed_requests"), &[])
}

/// Logout deliveries delivered or given up more than `days` ago.
pub fn logout_deliveries(days: i32) -> Result<usize, MisuseError> {
    execute(query!("purge/logout_deliveries"), &[days.into()])
}
