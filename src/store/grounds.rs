//! Today's state behind a stored decision: what
//! `decisions::grounds::recheck` compares a refresh-token family, an approved code or a pending
//! request with, in one statement (and the user's state from `accounts`). A new table or
//! switch a decision rests on is added here and in `services::grounds`, nowhere else.

use crate::error::MisuseError;
use crate::model::GrantType;
use crate::protocol::scope;
use crate::{query, row_type};
use serde_json::Value;

row_type! {
    /// The client, registries and user as they are now.
    pub struct Grounds {
        pub client_scopes: Option<Vec<String>>,
        pub redirect_uris: Vec<String>,
        pub grant_types: Vec<GrantType>,
        pub registered_scopes: Vec<String>,
        pub registered_resources: Vec<String>,
        /// The approving session's issuer in `oauth.issuers`: `None` when no row names it
        /// (or none was recorded), else its options (the policy of today).
        pub issuer_options: Option<Value>,
        /// RFC 9126 §6: the client's authorization requests must be pushed.
        pub require_pushed_authorization_requests: bool,
    }
}

impl Grounds {
    /// The scopes the client may be granted today, as far as `scopes` (the ones loaded) go.
    pub fn allowed_scopes(&self) -> Vec<String> {
        scope::allowed_for_client(self.client_scopes.as_deref(), &self.registered_scopes)
    }
}

/// The grounds of a decision of `client_id` about `scopes` and `resources`, approved through
/// a session of `issuer` (as recorded; `None`: none was); `None` when the client no longer
/// exists. (The user's state: `accounts::is_disabled`.)
pub fn current(
    client_id: &str,
    scopes: &[String],
    resources: &[String],
    issuer: Option<&str>,
) -> Result<Option<Grounds>, MisuseError> {
    super::one(
        query!("grounds/current"),
        &[
            client_id.into(),
            scopes.to_vec().into(),
            resources.to_vec().into(),
            issuer.into(),
        ],
    )
}
