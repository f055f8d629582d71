//! What the database login snapshot reads (`services::db_login`).

use super::{all, scalar};
use crate::error::MisuseError;
use crate::{query, row_type};
use serde_json::Value;

row_type! {
    /// A family of a client allowed to sign in, live by what SQL can tell (`db_login/families`).
    pub struct FamilyRow {
        pub id: String,
        pub user_id: String,
        pub client_id: String,
        pub scopes: Vec<String>,
        pub resources: Vec<String>,
        pub issuer: Option<String>,
        pub issuer_options: Option<Value>,
        pub user_claims: Option<Value>,
        pub metadata_document: bool,
    }
}

pub fn families(clients: &[String]) -> Result<Vec<FamilyRow>, MisuseError> {
    all(query!("db_login/families"), &[clients.to_vec().into()])
}

/// Whether the database holds the extension at a version with the snapshot (0.2.0 on).
pub fn installed() -> Result<bool, MisuseError> {
    Ok(scalar::<bool>(query!("db_login/installed"), &[])?.unwrap_or(false))
}

/// Ends backend `pid` if it is the one that started at `started_us` (epoch microseconds).
pub fn end_session(pid: i32, started_us: i64) -> Result<bool, MisuseError> {
    Ok(scalar::<bool>(
        query!("db_login/end_session"),
        &[pid.into(), started_us.into()],
    )?
    .unwrap_or(false))
}

row_type! {
    /// A client backend running now.
    pub struct Running {
        pub pid: i32,
        pub started_us: i64,
    }
}

/// The client backends running now.
pub fn running_sessions() -> Result<Vec<Running>, MisuseError> {
    all(query!("db_login/running_sessions"), &[])
}

/// Pins the worker session's settings (its role, timeouts, `search_path`) against what the
/// database's own settings gave it.
pub fn pin_search_path() -> Result<(), MisuseError> {
    scalar::<String>(query!("db_login/pin_search_path"), &[]).map(|_| ())
}

/// Whether the session's current role is a superuser.
pub fn is_superuser() -> Result<bool, MisuseError> {
    Ok(scalar::<bool>(query!("db_login/is_superuser"), &[])?.unwrap_or(false))
}

/// Whether this is a standby whose replay is paused.
pub fn replay_paused() -> Result<bool, MisuseError> {
    Ok(scalar::<bool>(query!("db_login/replay_paused"), &[])?.unwrap_or(false))
}
