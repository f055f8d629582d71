//! Storage of `oauth.sessions`: the first-party sessions our session tokens name by `sid`.

use super::{execute, scalar};
use crate::error::MisuseError;
use crate::query;
use crate::store::db::is_uuid;
use serde_json::Value;

/// A new session of `user_id` for `lifetime_secs`; its id.
pub fn create(
    user_id: &str,
    provider: Option<&str>,
    lifetime_secs: f64,
) -> Result<String, MisuseError> {
    scalar::<String>(
        query!("sessions/create"),
        &[user_id.into(), provider.into(), lifetime_secs.into()],
    )?
    .ok_or_else(|| crate::error::internal("INSERT … RETURNING returned no row"))
}

/// Records the identity (of the session's provider) session `id` was signed in through.
pub fn bind_identity(id: &str, issuer: &str, subject: &str) -> Result<(), MisuseError> {
    execute(
        query!("sessions/bind_identity"),
        &[id.into(), issuer.into(), subject.into()],
    )
    .map(|_| ())
}

/// Whether session `id` exists, has not ended and has not expired.
pub fn is_active(id: &str) -> Result<bool, MisuseError> {
    if !is_uuid(id) {
        return Ok(false);
    }
    Ok(scalar::<bool>(query!("sessions/is_active"), &[id.into()])?.unwrap_or(false))
}

/// Ends session `id`; its user, if it was active.
pub fn end(id: &str, reason: &str) -> Result<Option<String>, MisuseError> {
    if !is_uuid(id) {
        return Ok(None);
    }
    scalar::<String>(query!("sessions/end"), &[id.into(), reason.into()])
}

/// Ends every active session of `user_id`; how many.
pub fn end_for_user(user_id: &str, reason: &str) -> Result<usize, MisuseError> {
    execute(
        query!("sessions/end_for_user"),
        &[user_id.into(), reason.into()],
    )
}

/// The sessions of `user_id`, newest first, as a JSON array.
pub fn list_for_user(user_id: &str) -> Result<Value, MisuseError> {
    Ok(
        scalar(query!("sessions/list_for_user"), &[user_id.into()])?
            .unwrap_or(Value::Array(vec![])),
    )
}
