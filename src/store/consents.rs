//! `oauth.consents`: what each user allowed each client, per audience (accumulating).

use super::{execute, one, scalar};
use crate::error::{internal, MisuseError};
use crate::protocol::consent::ScopesByAudience;
use crate::query;
use crate::row_type;
use pgrx::JsonB;
use serde_json::{json, Value};

row_type! {
    struct ConsentRow {
        pub scopes_by_audience: Value,
    }
}

fn read(
    sql: &'static str,
    user_id: &str,
    client_id: &str,
) -> Result<ScopesByAudience, MisuseError> {
    match one::<ConsentRow>(sql, &[user_id.into(), client_id.into()])? {
        None => Ok(ScopesByAudience::default()),
        Some(r) => serde_json::from_value(r.scopes_by_audience)
            .map_err(|e| internal(format!("consents.scopes_by_audience: {e}"))),
    }
}

/// The user's live consent to a client (empty when none or withdrawn).
pub fn find(user_id: &str, client_id: &str) -> Result<ScopesByAudience, MisuseError> {
    read(query!("consents/find"), user_id, client_id)
}

/// Adds to a user's consent with `add` applied to what is there: the row is created (as
/// withdrawn) and locked first, so two approvals at once both count; a withdrawn consent
/// starts afresh.
pub fn update(
    user_id: &str,
    client_id: &str,
    add: impl FnOnce(&mut ScopesByAudience),
) -> Result<(), MisuseError> {
    execute(
        query!("consents/ensure_row"),
        &[user_id.into(), client_id.into()],
    )?;
    let mut approved = read(query!("consents/lock"), user_id, client_id)?;
    add(&mut approved);
    let stored = serde_json::to_value(&approved).map_err(|e| internal(e.to_string()))?;
    execute(
        query!("consents/store"),
        &[user_id.into(), client_id.into(), JsonB(stored).into()],
    )
    .map(|_| ())
}

/// Withdraws a consent; whether there was a live one.
pub fn withdraw(user_id: &str, client_id: &str) -> Result<bool, MisuseError> {
    Ok(execute(
        query!("consents/withdraw"),
        &[user_id.into(), client_id.into()],
    )? > 0)
}

/// The user's live consents with their clients, as `oauth.grants()` returns them.
pub fn list_for_user(user_id: &str) -> Result<Value, MisuseError> {
    Ok(scalar::<Value>(query!("consents/list_for_user"), &[user_id.into()])?.unwrap_or(json!([])))
}

/// The descriptions of the custom scopes among `scopes`, by name.
pub fn scope_descriptions(scopes: &[String]) -> Result<Value, MisuseError> {
    Ok(scalar::<Value>(
        query!("consents/scope_descriptions"),
        &[scopes.to_vec().into()],
    )?
    .unwrap_or(json!({})))
}

/// What the consent page shows of a client: id, name, client_uri, logo_uri.
pub fn client_display(client_id: &str) -> Result<Option<Value>, MisuseError> {
    scalar::<Value>(query!("consents/client_display"), &[client_id.into()])
}
