//! Storage of `oauth.sign_in_states`: sign-ins in flight, keyed by the hash of their `state`.

use super::{execute, one};
use crate::error::MisuseError;
use crate::{query, row_type};

row_type! {
    /// A sign-in in flight, as its callback finds it.
    pub struct State {
        pub provider: String,
        pub binding_hash: Vec<u8>,
        pub authorization_id: String,
        pub nonce: String,
        pub code_verifier: Option<String>,
        pub redirect_uri: String,
        pub status: String,
        pub expired: bool,
    }
}

pub struct NewState<'a> {
    pub state_hash: [u8; 32],
    pub binding_hash: [u8; 32],
    pub provider: &'a str,
    pub authorization_id: &'a str,
    pub nonce: &'a str,
    pub code_verifier: Option<&'a str>,
    pub redirect_uri: &'a str,
    pub lifetime_secs: f64,
}

pub fn insert(s: NewState<'_>) -> Result<(), MisuseError> {
    execute(
        query!("sign_in_states/insert"),
        &[
            s.state_hash.to_vec().into(),
            s.binding_hash.to_vec().into(),
            s.provider.into(),
            s.authorization_id.into(),
            s.nonce.into(),
            s.code_verifier.into(),
            s.redirect_uri.into(),
            s.lifetime_secs.into(),
        ],
    )
    .map(|_| ())
}

/// The state with this hash, locked until the transaction ends.
pub fn lock(state_hash: &[u8; 32]) -> Result<Option<State>, MisuseError> {
    one(query!("sign_in_states/lock"), &[state_hash.to_vec().into()])
}

/// Moves a state on: `exchanging`, `done` or `failed`.
pub fn set_status(state_hash: &[u8; 32], status: &str) -> Result<(), MisuseError> {
    execute(
        query!("sign_in_states/set_status"),
        &[state_hash.to_vec().into(), status.into()],
    )
    .map(|_| ())
}
