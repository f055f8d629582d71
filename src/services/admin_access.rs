//! Who is calling the admin API (`oauth.admin_clients`): an administrator key, checked by its
//! hash, or a verified session whose role `oauth_server.admin_session_roles` names. The
//! session check is `verify_session_token`'s, which refuses access, ID and machine tokens, so
//! no token issued to a client or to a relying party reaches the role test.

use crate::error::{Misuse, MisuseError};
use crate::protocol::admin_access::{self, Credential};
use crate::protocol::secret;
use crate::services::sessions;
use crate::settings;
use crate::store::admin_keys;
use serde_json::Value;

/// The administrator behind an admin API call, for the audit log.
pub enum Admin {
    Key(String),
    Session { sub: String, issuer: String },
}

impl Admin {
    pub fn describe(&self) -> String {
        match self {
            Admin::Key(name) => format!("admin key {name}"),
            Admin::Session { sub, issuer } => format!("session of {sub} from {issuer}"),
        }
    }
}

fn refused(m: &str) -> MisuseError {
    MisuseError::new(Misuse::InvalidToken, m)
}

/// The administrator a credential proves, or 28000 (not a credential) / 42501 (a credential,
/// but not an administrator's).
pub fn authenticate(credential: Option<&str>) -> Result<Admin, MisuseError> {
    let credential = credential
        .filter(|c| !c.is_empty())
        .ok_or_else(|| refused("no administrator credential"))?;
    match admin_access::classify(credential) {
        Credential::Key(key) => admin_keys::use_key(secret::hash(key).to_vec())?
            .map(Admin::Key)
            .ok_or_else(|| refused("unknown or revoked administrator key")),
        Credential::Session(token) => {
            let claims = sessions::verify_session_token(token)?;
            let role = claims.get("role").and_then(Value::as_str);
            let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or("");
            let admin_roles = settings::admin_session_roles();
            if !admin_access::session_role_is_admin(role, issuer, &settings::issuer(), &admin_roles)
            {
                return Err(MisuseError::new(
                    Misuse::Privilege,
                    "not an administrator: the session's issuer and role are not in \
                     oauth_server.admin_session_roles",
                ));
            }
            let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
            Ok(Admin::Session {
                sub: sub.into(),
                issuer: issuer.into(),
            })
        }
    }
}
