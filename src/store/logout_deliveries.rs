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
        pub uri: String,
        pub user_id: String,
        pub sid: Option<String>,
        pub jti: String,
    }
}

pub fn claim(max_rows: i32, lease_secs: f64) -> Result<Vec<Claimed>, MisuseError> {
    all(
        query!("logout_deliveries/claim"),
        &[i64::from(max_rows).into(), lease_secs.into()],
    )
}

/// Records an attempt's outcome; `None` when the delivery was already delivered or given up.
pub fn report(
    id: &str,
    status: Option<i32>,
    error: Option<&str>,
) -> Result<Option<Value>, MisuseError> {
    scalar(
        query!("logout_deliveries/report"),
        &[id.into(), status.into(), error.into()],
    )
}

pub fn list(client_id: Option<&str>, max_rows: i32) -> Result<Value, MisuseError> {
    Ok(scalar(
        query!("logout_deliveries/list"),
        &[client_id.into(), i64::from(max_rows).into()],
    )?
    .unwrap_or(Value::Array(vec![])))
}
