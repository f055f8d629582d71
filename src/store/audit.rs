//! Storage of `oauth.audit_log`: see `store`. One row per security-relevant event, written in
//! the same transaction as what it records, so an event is logged exactly when it happened.
//! Rows carry ids only, never a secret, code or token.

use super::{execute, scalar};
use crate::audit_events::AuditEvent;
use crate::error::MisuseError;
use crate::query;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::JsonB;
use serde_json::Value;

/// Longest id stored: a failed authentication may present anything as its client_id.
const MAX_ID: usize = 256;

fn clip(s: Option<&str>) -> Option<String> {
    s.map(|s| s.chars().take(MAX_ID).collect())
}

/// Records `event` for `client_id` / `user_id` with `details`. On a hot standby, where nothing
/// can be written, the read-only calls that audit (a failed client authentication at
/// introspection, say) still answer: the event goes to the server log instead, as a line
/// `oauth_server audit (standby): {json}` that log shipping can collect.
pub fn record(
    event: AuditEvent,
    client_id: Option<&str>,
    user_id: Option<&str>,
    details: Value,
) -> Result<(), MisuseError> {
    if unsafe { pgrx::pg_sys::RecoveryInProgress() } {
        let line = serde_json::json!({"event": event.as_str(), "client_id": clip(client_id),
                                      "user_id": clip(user_id), "details": details});
        pgrx::log!("oauth_server audit (standby): {line}");
        return Ok(());
    }
    execute(
        query!("audit/record"),
        &[
            event.as_str().into(),
            clip(client_id).into(),
            clip(user_id).into(),
            JsonB(details).into(),
        ],
    )
    .map(|_| ())
}

/// Events as the JSON array handed to administrators, newest first: since `since` (default a
/// day ago), optionally of one `event` kind and one client, at most `max_rows` (default 1000,
/// capped at 100000).
pub fn events(
    since: Option<TimestampWithTimeZone>,
    event: Option<&str>,
    client_id: Option<&str>,
    max_rows: Option<i32>,
) -> Result<Value, MisuseError> {
    Ok(scalar(
        query!("audit/events"),
        &[
            since.into(),
            event.into(),
            client_id.into(),
            max_rows.into(),
        ],
    )?
    .unwrap_or(Value::Array(vec![])))
}
