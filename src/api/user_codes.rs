//! Limits on guessing device user codes (RFC 8628 §5.1), kept where the code is checked so
//! that every path (the front, PostgREST, plain SQL) and every spelling of a code counts:
//! each wrong code a signed-in user enters is a row of `oauth.user_code_failures`.
//! - a user may enter `user_code_failures_per_user` wrong codes in 10 minutes;
//! - everyone together `user_code_failures_per_minute` a minute;
//! - a device request during whose life more than `user_code_max_failures` wrong codes were
//!   entered is refused even with the right code, which bounds the chance of guessing any one
//!   live code to that number / 20^8 whatever the rates.

use super::db;
use crate::error::MisuseError;
use crate::settings;
use serde_json::Value;

/// Whether `user_id` may try another user code now.
pub fn within_budget(user_id: &str) -> Result<bool, MisuseError> {
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

pub fn record_failure(user_id: &str) -> Result<(), MisuseError> {
    db::execute(
        "INSERT INTO oauth.user_code_failures (user_id) VALUES ($1)",
        &[user_id.into()],
    )
    .map(|_| ())
}

/// Whether too many wrong codes were entered since a device request made at `requested_at`
/// (seconds since the epoch) for its code still to be trusted.
pub fn locked_out(requested_at: i64) -> Result<bool, MisuseError> {
    let failures = db::query_json(
        "SELECT to_jsonb(count(*)) FROM oauth.user_code_failures WHERE at >= to_timestamp($1::float8)",
        &[(requested_at as f64).into()],
    )?
    .and_then(|v| v.as_i64())
    .unwrap_or(0);
    Ok(failures >= settings::user_code_max_failures())
}
