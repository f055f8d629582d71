//! `oauth.purge_expired()`: deletes what can no longer be used. Run by the front on a timer;
//! schedulable with pg_cron (`SELECT cron.schedule('oauth-purge', '*/10 * * * *',
//! 'SELECT oauth.purge_expired()')`). Administrators only.

use super::or_raise;
use crate::error::MisuseError;
use crate::settings;
use crate::store::purge;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn purge_all() -> Result<Value, MisuseError> {
    let authorizations = purge::authorizations()?;
    // Access tokens of a family outlive its revocation or last refresh by at most their
    // lifetime; after that, neither the family nor its tokens can verify or be reused.
    let grace = settings::access_token_lifetime() as f64 + settings::clock_skew() as f64;
    let refresh_tokens = purge::refresh_tokens(grace)?;
    let grants = purge::grants(grace)?;
    // Wrong user codes count for the per-user window (10 minutes) and for the lockout of the
    // device requests live while they were entered (at most one request lifetime).
    let window = settings::code_lifetime().max(600) as f64;
    let user_code_failures = purge::user_code_failures(window)?;
    let sign_in_states = purge::sign_in_states()?;
    let sessions = purge::sessions(settings::clock_skew() as f64)?;
    let used_jtis = purge::used_jtis()?;
    let pushed_requests = purge::pushed_requests()?;
    let dpop_nonces = purge::dpop_nonces(crate::protocol::dpop::NONCE_ACCEPT_SECS as f64)?;
    // A logout delivery's outcome stays visible a week after it is settled.
    let logout_deliveries = purge::logout_deliveries(7)?;
    let retention = settings::audit_retention_days();
    let audit_log = if retention > 0 {
        purge::audit_log(retention as i32)?
    } else {
        0
    };
    Ok(json!({
        "audit_log": audit_log,
        "authorizations": authorizations,
        "refresh_tokens": refresh_tokens,
        "grants": grants,
        "user_code_failures": user_code_failures,
        "sign_in_states": sign_in_states,
        "sessions": sessions,
        "used_jtis": used_jtis,
        "dpop_nonces": dpop_nonces,
        "pushed_requests": pushed_requests,
        "logout_deliveries": logout_deliveries,
    }))
}

/// Deletes expired authorization requests and codes, expired refresh tokens, and token
/// families none of whose tokens can be used any more; returns how many rows of each.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn purge_expired() -> JsonB {
    JsonB(or_raise(purge_all()))
}
