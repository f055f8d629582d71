//! The HTTP admin API's users (the front's `PUT`/`DELETE /auth/v1/admin/users/{id}`):
//! `oauth.admin_users`, GoTrue's ban and delete mapped onto `oauth.disable_user` /
//! `enable_user` / `delete_user`. Executable by all, authorised by the credential passed, as
//! `oauth.admin_clients` is.

use super::{or_raise, required};
use crate::audit_events::AuditEvent;
use crate::error::{bad_param, MisuseError};
use crate::protocol::ban_duration::{self, Ban};
use crate::services::admin_access::{self, Admin};
use crate::store::{self, accounts};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Map, Value};

/// What `banned_until` says of a disabled user: disabling has no end date, so the farthest
/// RFC 3339 time, which supabase-js hands on as the string it is and every date parser reads.
const BANNED_UNTIL_LIFTED: &str = "9999-12-31T23:59:59Z";

/// One user operation of the admin API, authorised by `credential` (an administrator key or a
/// session with an administrator role, never a user's session or a client's token). `action`
/// is `get` (what supabase-js's `getUserById` and `deleteUser` read first; any `user_id`
/// answers, as this server keeps no registry of another login's users), `ban` (params
/// `{"ban_duration": "none" | "876000h" or longer}`: enable or disable user `user_id`; timed
/// bans are refused) or `delete` (params `{}`). Answers `{"id", "banned_until"}`. Bans and
/// deletions are audited with who did it, besides the user_* events the triggers write.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn admin_users(
    credential: Option<&str>,
    action: Option<&str>,
    user_id: Option<&str>,
    params: default!(Option<JsonB>, "'{}'"),
) -> JsonB {
    // First: nothing about the arguments is answered to a caller who is not an administrator.
    let admin = or_raise(admin_access::authenticate(credential));
    let params = params.map(|p| p.0).unwrap_or_else(|| json!({}));
    JsonB(or_raise(admin_action(&admin, action, user_id, &params)))
}

fn admin_action(
    admin: &Admin,
    action: Option<&str>,
    user_id: Option<&str>,
    params: &Value,
) -> Result<Value, MisuseError> {
    let params = params
        .as_object()
        .ok_or_else(|| bad_param("params must be a JSON object"))?;
    let action = required(action, "action")?;
    let sub = required(user_id, "user_id")?;
    match action {
        "get" => {
            only(params, &[])?;
            Ok(user_json(sub, accounts::is_disabled(sub)?))
        }
        "ban" => {
            only(params, &["ban_duration"])?;
            let given = params
                .get("ban_duration")
                .and_then(Value::as_str)
                .ok_or_else(|| bad_param("params.ban_duration must be a string"))?;
            let ban = ban_duration::decide(given).map_err(|r| bad_param(r.message()))?;
            let forever = ban == Ban::Forever;
            let changed = accounts::set_disabled(sub, forever)?;
            let event = if forever {
                AuditEvent::AdminUserBanned
            } else {
                AuditEvent::AdminUserUnbanned
            };
            audit(
                event,
                sub,
                admin,
                json!({"ban_duration": given, "changed": changed}),
            )?;
            Ok(user_json(sub, forever))
        }
        "delete" => {
            only(params, &[])?;
            let known = accounts::delete_user(sub)?;
            audit(
                AuditEvent::AdminUserDeleted,
                sub,
                admin,
                json!({"known": known}),
            )?;
            Ok(user_json(sub, false))
        }
        other => Err(bad_param(format!(
            "unknown action {other:?}: get, ban or delete"
        ))),
    }
}

/// The user as GoTrue's admin API answers one, as far as this server knows them.
fn user_json(sub: &str, disabled: bool) -> Value {
    json!({"id": sub, "banned_until": disabled.then_some(BANNED_UNTIL_LIFTED)})
}

/// Params name only what the action reads: anything else would be silently ignored.
fn only(params: &Map<String, Value>, allowed: &[&str]) -> Result<(), MisuseError> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad_param(format!(
            "unknown parameter {k:?}: this action takes {}",
            if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            }
        ))),
        None => Ok(()),
    }
}

fn audit(event: AuditEvent, sub: &str, by: &Admin, mut details: Value) -> Result<(), MisuseError> {
    details["by"] = json!(by.describe());
    store::audit::record(event, None, Some(sub), details)
}
