//! Today's grounds of a stored decision, loaded for `decisions::grounds::recheck`: one store
//! call, then the pure decision. Used by the refresh, code and device redemptions and by the
//! consent step (docs/security.md#decisions-that-outlive-their-grounds).

use crate::decisions::grounds::{self, Current, Effective, Recorded, SessionIssuer};
use crate::error::OAuthError;
use crate::settings;
use crate::store::accounts;
use crate::store::grounds::{self as store, Grounds};
use serde_json::Value;

/// The grounds as loaded; `current()` borrows them for the decision.
pub struct Loaded {
    grounds: Option<Grounds>,
    allowed_scopes: Vec<String>,
    user_disabled: bool,
    /// The approving session's issuer as recorded, and ours now.
    issuer: Option<String>,
    ours: String,
}

impl Loaded {
    /// A client that no longer exists has nothing: no grant type, so every decision of it is
    /// `unauthorized_client` (its rows are gone by cascade anyway).
    pub fn current(&self) -> Current<'_> {
        match &self.grounds {
            Some(g) => Current {
                allowed_scopes: &self.allowed_scopes,
                redirect_uris: &g.redirect_uris,
                grant_types: &g.grant_types,
                registered_resources: &g.registered_resources,
                user_disabled: self.user_disabled,
                session_issuer: SessionIssuer {
                    recorded: self.issuer.as_deref(),
                    ours: &self.ours,
                    enabled: g.issuer_enabled,
                },
            },
            None => Current {
                allowed_scopes: &[],
                redirect_uris: &[],
                grant_types: &[],
                registered_resources: &[],
                user_disabled: false,
                session_issuer: SessionIssuer::UNRECORDED,
            },
        }
    }
}

/// No grounds at all (nothing was found to re-check).
pub fn empty() -> Loaded {
    Loaded {
        grounds: None,
        allowed_scopes: Vec::new(),
        user_disabled: false,
        issuer: None,
        ours: String::new(),
    }
}

/// The issuer of the session that approved a decision, from the user claims recorded with it
/// (`sessions::caller` adds `iss`); `None` when none was recorded.
pub fn issuer_of(user_claims: Option<&Value>) -> Option<&str> {
    user_claims?.get("iss")?.as_str()
}

/// The grounds of a decision of `client_id` for `user_id` about `scopes` and `resources`,
/// approved through a session of `issuer` (as recorded: [`issuer_of`]).
pub fn load(
    client_id: &str,
    user_id: &str,
    issuer: Option<&str>,
    scopes: &[String],
    resources: &[String],
) -> Result<Loaded, crate::error::MisuseError> {
    let grounds = store::current(client_id, scopes, resources, issuer)?;
    let allowed_scopes = grounds
        .as_ref()
        .map(Grounds::allowed_scopes)
        .unwrap_or_default();
    Ok(Loaded {
        grounds,
        allowed_scopes,
        user_disabled: accounts::is_disabled(user_id)?,
        issuer: issuer.map(String::from),
        ours: settings::issuer(),
    })
}

/// Loads the grounds of `recorded` and re-checks it: what may still be issued, or why not.
pub fn recheck(
    client_id: &str,
    user_id: &str,
    issuer: Option<&str>,
    recorded: &Recorded,
) -> Result<Result<Effective, OAuthError>, crate::error::MisuseError> {
    let loaded = load(
        client_id,
        user_id,
        issuer,
        recorded.scopes,
        recorded.resources,
    )?;
    Ok(grounds::recheck(recorded, &loaded.current()))
}
