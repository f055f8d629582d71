//! `oauth.purge_expired()`: deletes what can no longer be used. Run by the front on a timer;
//! schedulable with pg_cron (`SELECT cron.schedule('oauth-purge', '*/10 * * * *',
//! 'SELECT oauth.purge_expired()')`). Administrators only.

use super::or_raise;
use crate::error::MisuseError;
use crate::settings;
use crate::store::db;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn purge() -> Result<Value, MisuseError> {
    // Expired requests and codes: a code past expires_at is refused whatever its status.
    let authorizations = db::execute(
        "DELETE FROM oauth.authorizations WHERE expires_at < now()",
        &[],
    )?;
    // Access tokens of a family outlive its revocation or last refresh by at most their
    // lifetime; after that, neither the family nor its tokens can verify or be reused.
    let grace = settings::access_token_lifetime() as f64 + settings::clock_skew() as f64;
    let refresh_tokens = db::execute(
        "DELETE FROM oauth.refresh_tokens t WHERE t.expires_at < now()
            OR EXISTS (SELECT FROM oauth.grants g WHERE g.id = t.grant_id
                       AND g.revoked_at < now() - make_interval(secs => $1))",
        &[grace.into()],
    )?;
    let grants = db::execute(
        "DELETE FROM oauth.grants g
         WHERE coalesce(g.revoked_at, g.last_used_at) < now() - make_interval(secs => $1)
           AND NOT EXISTS (SELECT FROM oauth.refresh_tokens t WHERE t.grant_id = g.id)",
        &[grace.into()],
    )?;
    // Wrong user codes count for the per-user window (10 minutes) and for the lockout of the
    // device requests live while they were entered (at most one request lifetime).
    let window = settings::code_lifetime().max(600) as f64;
    let user_code_failures = db::execute(
        "DELETE FROM oauth.user_code_failures WHERE at < now() - make_interval(secs => $1)",
        &[window.into()],
    )?;
    let retention = settings::audit_retention_days();
    let audit_log = if retention > 0 {
        db::execute(
            "DELETE FROM oauth.audit_log WHERE at < now() - make_interval(days => $1)",
            &[(retention as i32).into()],
        )?
    } else {
        0
    };
    Ok(json!({
        "audit_log": audit_log,
        "authorizations": authorizations,
        "refresh_tokens": refresh_tokens,
        "grants": grants,
        "user_code_failures": user_code_failures,
    }))
}

/// Deletes expired authorization requests and codes, expired refresh tokens, and token
/// families none of whose tokens can be used any more; returns how many rows of each.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn purge_expired() -> JsonB {
    JsonB(or_raise(purge()))
}
