//! `oauth.logout_deliveries`: the back-channel logout outbox (written by the triggers in
//! schema.sql, delivered by the front).

use super::{all, scalar};
use crate::error::MisuseError;
use crate::{query, row_type};
use serde_json::Value;

row_type! {
    /// A delivery claimed for an attempt.
    pub struct Claimed {
        pub id: String,
        pub client_id: String,
        /// Where the client says now; `None`: it has no back-channel logout URI any more.
        pub uri: Option<String>,
        pub user_id: String,
        pub sid: Option<String>,
        pub jti: String,
        /// This claim's attempt, which its report names.
        pub attempts: i32,
    }
}

pub fn claim(max_rows: i32, lease_secs: f64) -> Result<Vec<Claimed>, MisuseError> {
    all(
        query!("logout_deliveries/claim"),
        &[i64::from(max_rows).into(), lease_secs.into()],
    )
}

/// Records an attempt's outcome; `None` when the delivery was already delivered or given up,
/// or `attempt` is not its latest.
pub fn report(
    id: &str,
    status: Option<i32>,
    error: Option<&str>,
    attempt: Option<i32>,
) -> Result<Option<Value>, MisuseError> {
    scalar(
        query!("logout_deliveries/report"),
        &[id.into(), status.into(), error.into(), attempt.into()],
    )
}

/// Gives up a delivery that cannot be sent, saying why.
pub fn give_up(id: &str, why: &str) -> Result<(), MisuseError> {
    super::execute(
        query!("logout_deliveries/give_up"),
        &[id.into(), why.into()],
    )
    .map(|_| ())
}

pub fn list(client_id: Option<&str>, max_rows: i32) -> Result<Value, MisuseError> {
    Ok(scalar(
        query!("logout_deliveries/list"),
        &[client_id.into(), i64::from(max_rows).into()],
    )?
    .unwrap_or(Value::Array(vec![])))
}

/// Queues logouts by sub for the families of `sub` a session of `issuer` approved.
pub fn queue_for_issuer(sub: &str, issuer: &str) -> Result<(), MisuseError> {
    super::execute(
        query!("logout_deliveries/queue_for_issuer"),
        &[sub.into(), issuer.into()],
    )
    .map(|_| ())
}
