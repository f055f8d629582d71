//! Limits on guessing device user codes (RFC 8628 §5.1), kept where the code is checked so
//! that every path (the front, PostgREST, plain SQL) and every spelling of a code counts:
//! each wrong code a signed-in user enters is a row of `oauth.user_code_failures`.
//! - a user may enter `user_code_failures_per_user` wrong codes in 10 minutes;
//! - everyone together `user_code_failures_per_minute` a minute;
//! - a device request during whose life more than `user_code_max_failures` wrong codes were
//!   entered is refused even with the right code, which bounds the chance of guessing any one
//!   live code to that number / 20^8 whatever the rates.

use crate::error::MisuseError;
use crate::settings;
use crate::store::db;
use serde_json::Value;

/// Whether `user_id` may try another user code now. A user's tries are serialised (an
/// advisory lock until the transaction ends), so parallel guesses cannot all read the count
/// before any of them adds to it.
pub fn within_budget(user_id: &str) -> Result<bool, MisuseError> {
    db::execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('oauth.user_codes:' || $1, 0))",
        &[user_id.into()],
    )?;
    let counts = db::query_json(
        "SELECT jsonb_build_object(
                'user', count(*) FILTER (WHERE user_id = $1),
                'all', count(*) FILTER (WHERE at > now() - interval '1 minute'))
         FROM oauth.user_code_failures WHERE at > now() - interval '10 minutes'",
        &[user_id.into()],
    )?
    .unwrap_or(Value::Null);
    let n = |k: &str| counts[k].as_i64().unwrap_or(0);
    Ok(n("user") < settings::user_code_failures_per_user()
        && n("all") < settings::user_code_failures_per_minute())
}

/// Counts a wrong code twice: a row for the rate limits (transactional: they bind callers
/// that commit, as the front and PostgREST do), and the non-transactional counter that the
/// lockout reads, which no rollback undoes.
pub fn record_failure(user_id: &str) -> Result<(), MisuseError> {
    db::execute(
        "WITH counted AS (SELECT nextval('oauth.user_code_failure_count'))
         INSERT INTO oauth.user_code_failures (user_id) SELECT $1 FROM counted",
        &[user_id.into()],
    )
    .map(|_| ())
}

/// The lockout counter now: what a new device request records as `failures_at_start`.
pub const FAILURES_SO_FAR: &str =
    "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM oauth.user_code_failure_count)";

/// Whether too many wrong codes were entered during the life of a device request (which
/// recorded the counter as `failures_at_start`) for its code still to be trusted.
pub fn locked_out(failures_at_start: i64) -> Result<bool, MisuseError> {
    let now = db::query_json(&format!("SELECT to_jsonb({FAILURES_SO_FAR})"), &[])?
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    Ok(now - failures_at_start >= settings::user_code_max_failures())
}
