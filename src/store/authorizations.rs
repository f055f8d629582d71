//! `oauth.authorizations`: pending requests and the codes issued for them, one row per request
//! (pending → approved → redeemed, or pending → denied); device requests too (RFC 8628).

use super::{execute, one};
use crate::error::MisuseError;
use crate::model::{AuthorizationKind, AuthorizationStatus};
use crate::query;
use crate::row_type;
use pgrx::JsonB;
use serde_json::Value;

/// A new browser authorization request.
pub struct NewCodeRequest<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub redirect_uri_given: bool,
    pub scopes: &'a [String],
    pub state: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub code_challenge: &'a str,
    pub resources: &'a [String],
    pub prompt: Option<&'a str>,
    pub max_age: Option<i32>,
    /// The `sub` of the request's `id_token_hint`: only that user's session may answer it.
    pub hint_sub: Option<&'a str>,
    /// RFC 9449 §10: the key the code is bound to (`dpop_jkt`).
    pub dpop_jkt: Option<&'a str>,
    /// RFC 9126: the request came pushed.
    pub pushed: bool,
    pub lifetime_secs: i64,
}

pub fn create_code_request(r: &NewCodeRequest) -> Result<(), MisuseError> {
    execute(
        query!("authorizations/create_code"),
        &[
            r.id.into(),
            r.client_id.into(),
            r.redirect_uri.into(),
            r.redirect_uri_given.into(),
            r.scopes.to_vec().into(),
            r.state.into(),
            r.nonce.into(),
            r.code_challenge.into(),
            r.resources.to_vec().into(),
            r.prompt.into(),
            r.max_age.into(),
            (r.lifetime_secs as f64).into(),
        ],
    )?;
    if let Some(sub) = r.hint_sub {
        execute(
            query!("authorizations/set_hint_sub"),
            &[r.id.into(), sub.into()],
        )?;
    }
    if r.pushed {
        execute(query!("authorizations/mark_pushed"), &[r.id.into()])?;
    }
    if let Some(jkt) = r.dpop_jkt {
        execute(
            query!("authorizations/bind_dpop_key"),
            &[r.id.into(), jkt.into()],
        )?;
    }
    Ok(())
}

/// A new device request.
pub struct NewDeviceRequest<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub resources: &'a [String],
    pub device_code_hash: [u8; 32],
    pub user_code: &'a str,
    pub poll_interval: i32,
    pub lifetime_secs: i64,
}

/// Whether the request was stored: `false` when its user code collides with a live one.
pub fn create_device_request(r: &NewDeviceRequest) -> Result<bool, MisuseError> {
    Ok(execute(
        query!("authorizations/create_device"),
        &[
            r.id.into(),
            r.client_id.into(),
            r.scopes.to_vec().into(),
            r.resources.to_vec().into(),
            r.device_code_hash.to_vec().into(),
            r.user_code.into(),
            r.poll_interval.into(),
            (r.lifetime_secs as f64).into(),
        ],
    )? == 1)
}

row_type! {
    /// The row an authorization code names, locked.
    pub struct CodeRow {
        pub id: String,
        pub kind: AuthorizationKind,
        pub client_id: String,
        pub redirect_uri: Option<String>,
        pub redirect_uri_given: bool,
        pub scopes: Vec<String>,
        pub nonce: Option<String>,
        pub code_challenge: Option<String>,
        pub resources: Vec<String>,
        pub user_id: Option<String>,
        pub status: AuthorizationStatus,
        pub expired: bool,
        pub grant_id: Option<String>,
        pub auth_time: Option<i64>,
        pub user_claims: Option<Value>,
        /// RFC 9449 §10: the key the request bound the code to (`dpop_jkt`).
        pub dpop_jkt: Option<String>,
    }
}

pub fn lock_by_code(code_hash: [u8; 32]) -> Result<Option<CodeRow>, MisuseError> {
    one(
        query!("authorizations/lock_by_code"),
        &[code_hash.to_vec().into()],
    )
}

row_type! {
    /// The device request a device code names, locked.
    pub struct DeviceRow {
        pub id: String,
        pub client_id: String,
        pub scopes: Vec<String>,
        pub resources: Vec<String>,
        pub status: AuthorizationStatus,
        pub user_id: Option<String>,
        pub auth_time: Option<i64>,
        pub user_claims: Option<Value>,
        pub grant_id: Option<String>,
        pub expired: bool,
        pub too_fast: bool,
    }
}

pub fn lock_by_device_code(device_code_hash: [u8; 32]) -> Result<Option<DeviceRow>, MisuseError> {
    one(
        query!("authorizations/lock_by_device_code"),
        &[device_code_hash.to_vec().into()],
    )
}

/// Records a poll of a pending device request, lengthening its interval by `slow_down_secs`.
pub fn record_poll(id: &str, slow_down_secs: i32) -> Result<(), MisuseError> {
    execute(
        query!("authorizations/record_poll"),
        &[id.into(), slow_down_secs.into()],
    )
    .map(|_| ())
}

row_type! {
    /// A pending request as the consent API needs it, locked.
    pub struct Pending {
        pub id: String,
        pub kind: AuthorizationKind,
        pub client_id: String,
        pub redirect_uri: Option<String>,
        pub scopes: Vec<String>,
        pub state: Option<String>,
        pub prompt: Option<String>,
        pub max_age: Option<i64>,
        pub resources: Vec<String>,
        pub user_id: Option<String>,
        pub expires_at: String,
        pub requested_at: i64,
        pub failures_at_start: Option<i64>,
        pub hint_sub: Option<String>,
        /// RFC 9126: the request came pushed, not in the query.
        pub pushed: bool,
    }
}

pub fn lock_pending_by_id(id: &str) -> Result<Option<Pending>, MisuseError> {
    one(query!("authorizations/lock_pending_by_id"), &[id.into()])
}

/// `user_code` in its stored form (see `protocol::user_code::normalize`).
pub fn lock_pending_by_user_code(user_code: &str) -> Result<Option<Pending>, MisuseError> {
    one(
        query!("authorizations/lock_pending_by_user_code"),
        &[user_code.into()],
    )
}

/// Binds a pending request to the user who opened it, signed in at `auth_time`.
pub fn claim(id: &str, user_id: &str, auth_time: Option<i64>) -> Result<(), MisuseError> {
    execute(
        query!("authorizations/claim"),
        &[
            id.into(),
            user_id.into(),
            auth_time.map(|t| t as f64).into(),
        ],
    )
    .map(|_| ())
}

pub fn deny(id: &str) -> Result<(), MisuseError> {
    execute(query!("authorizations/deny"), &[id.into()]).map(|_| ())
}

/// Approves a device request: the device redeems it with its device code.
pub fn approve_device(
    id: &str,
    user_claims: &Value,
    auth_time: Option<i64>,
    scopes: &[String],
    resources: &[String],
) -> Result<(), MisuseError> {
    execute(
        query!("authorizations/approve_device"),
        &[
            id.into(),
            JsonB(user_claims.clone()).into(),
            auth_time.map(|t| t as f64).into(),
            scopes.to_vec().into(),
            resources.to_vec().into(),
        ],
    )
    .map(|_| ())
}

/// Approves a code request, storing the hash of the code it issues.
pub fn approve_code(
    id: &str,
    code_hash: [u8; 32],
    user_claims: &Value,
    auth_time: Option<i64>,
    scopes: &[String],
    resources: &[String],
) -> Result<(), MisuseError> {
    execute(
        query!("authorizations/approve_code"),
        &[
            id.into(),
            code_hash.to_vec().into(),
            JsonB(user_claims.clone()).into(),
            auth_time.map(|t| t as f64).into(),
            scopes.to_vec().into(),
            resources.to_vec().into(),
        ],
    )
    .map(|_| ())
}

/// Ends the user's pending and approved-but-unredeemed requests of a client; how many.
pub fn end_open_for(user_id: &str, client_id: &str) -> Result<usize, MisuseError> {
    execute(
        query!("authorizations/end_open_for_user_client"),
        &[user_id.into(), client_id.into()],
    )
}

/// Narrows a pending request's scopes and resources (see `narrow.sql`).
pub fn narrow(id: &str, scopes: &[String], resources: &[String]) -> Result<(), MisuseError> {
    execute(
        query!("authorizations/narrow"),
        &[id.into(), scopes.to_vec().into(), resources.to_vec().into()],
    )
    .map(|_| ())
}
