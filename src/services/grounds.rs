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
    /// The user claims recorded with the decision (its approving session's issuer, and what
    /// that issuer's policy judged), and our issuer now.
    user_claims: Option<Value>,
    ours: String,
}

impl Loaded {
    /// Whether the client, as it is now, must push its authorization requests (RFC 9126 §6).
    pub fn client_requires_pushing(&self) -> bool {
        self.grounds
            .as_ref()
            .is_some_and(|g| g.require_pushed_authorization_requests)
    }

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
                    recorded: self.user_claims.as_ref().and_then(recorded_issuer),
                    ours: &self.ours,
                    options: g.issuer_options.as_ref(),
                    user_claims: self.user_claims.as_ref(),
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
        user_claims: None,
        ours: String::new(),
    }
}

/// The session that approved a decision, as the user claims recorded with it describe it
/// (`sessions::caller` adds `iss`, and for a trusted issuer's session what its policy judged,
/// `session_jwt::RECORD`).
#[derive(Debug, Clone, Copy)]
pub struct Approver<'a>(Option<&'a Value>);

impl<'a> Approver<'a> {
    /// The issuer of the approving session; `None` when none was recorded.
    pub fn issuer(&self) -> Option<&'a str> {
        self.0.and_then(recorded_issuer)
    }
}

/// A recorded `iss` that is not a string (nothing we write is; a row written by hand may be)
/// names no issuer we trust: it reads as `""`, refused as an issuer no longer trusted, as
/// `grants/is_live.sql` (which reads it as text) refuses it too — never as "none recorded".
fn recorded_issuer(user_claims: &Value) -> Option<&str> {
    match user_claims.get("iss")? {
        Value::Null => None,
        Value::String(iss) => Some(iss),
        _ => Some(""),
    }
}

/// The approving session of a decision, from the user claims recorded with it: its issuer,
/// and what that issuer's policy judged of it.
pub fn issuer_of(user_claims: Option<&Value>) -> Approver<'_> {
    Approver(user_claims)
}

/// The grounds of a decision of `client_id` for `user_id` about `scopes` and `resources`,
/// approved by `approver` (as recorded: [`issuer_of`]).
pub fn load(
    client_id: &str,
    user_id: &str,
    approver: Approver,
    scopes: &[String],
    resources: &[String],
) -> Result<Loaded, crate::error::MisuseError> {
    let grounds = store::current(client_id, scopes, resources, approver.issuer())?;
    let allowed_scopes = grounds
        .as_ref()
        .map(Grounds::allowed_scopes)
        .unwrap_or_default();
    Ok(Loaded {
        grounds,
        allowed_scopes,
        user_disabled: accounts::is_disabled(user_id)?,
        user_claims: approver.0.cloned(),
        ours: settings::issuer(),
    })
}

/// Loads the grounds of `recorded` and re-checks it: what may still be issued, or why not.
pub fn recheck(
    client_id: &str,
    user_id: &str,
    approver: Approver,
    recorded: &Recorded,
) -> Result<Result<Effective, OAuthError>, crate::error::MisuseError> {
    let loaded = load(
        client_id,
        user_id,
        approver,
        recorded.scopes,
        recorded.resources,
    )?;
    Ok(grounds::recheck(recorded, &loaded.current()))
}
