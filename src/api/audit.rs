//! The audit log (`oauth.audit_log`): one row per security-relevant event, written in the same
//! transaction as what it records, so an event is logged exactly when it happened. Rows carry
//! ids only, never a secret, code or token. `oauth.audit_events(…)` reads them for
//! administrators; `oauth.purge_expired()` drops rows older than `oauth_server.audit_retention`.

use super::or_raise;
use crate::error::MisuseError;
use crate::store::db;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// Longest id stored: a failed authentication may present anything as its client_id.
const MAX_ID: usize = 256;

fn clip(s: Option<&str>) -> Option<String> {
    s.map(|s| s.chars().take(MAX_ID).collect())
}

/// Records `event` for `client_id` / `user_id` with `details`.
pub fn record(
    event: &str,
    client_id: Option<&str>,
    user_id: Option<&str>,
    details: Value,
) -> Result<(), MisuseError> {
    db::execute(
        "INSERT INTO oauth.audit_log (event, client_id, user_id, details) VALUES ($1, $2, $3, $4)",
        &[
            event.into(),
            clip(client_id).into(),
            clip(user_id).into(),
            JsonB(details).into(),
        ],
    )
    .map(|_| ())
}

/// Audit events, newest first: since `since`, optionally of one `event` kind and one client.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn audit_events(
    since: default!(
        Option<pgrx::datum::TimestampWithTimeZone>,
        "now() - interval '1 day'"
    ),
    event: default!(Option<&str>, "NULL"),
    client_id: default!(Option<&str>, "NULL"),
    max_rows: default!(Option<i32>, "1000"),
) -> JsonB {
    JsonB(
        or_raise(db::query_json(
            "SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.at DESC), '[]') FROM (
                 SELECT * FROM oauth.audit_log
                 WHERE at >= coalesce($1, now() - interval '1 day')
                   AND ($2::text IS NULL OR event = $2) AND ($3::text IS NULL OR client_id = $3)
                 ORDER BY at DESC LIMIT greatest(least(coalesce($4, 1000), 100000), 1)) a",
            &[
                since.into(),
                event.into(),
                client_id.into(),
                max_rows.into(),
            ],
        ))
        .unwrap_or(json!([])),
    )
}
