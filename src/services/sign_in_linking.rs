//! Which user an upstream identity signs in: the one it is linked to, else (when linking by
//! verified email is on) the one with its verified email, else a new one; then the sign-in
//! hook's say. A disabled user is refused before anything is written.

use crate::error::{Misuse, MisuseError};
use crate::protocol::token_kind;
use crate::protocol::upstream::identity::Identity;
use crate::protocol::upstream::Provider;
use crate::settings;
use crate::store::{accounts, db};
use serde_json::{json, Map, Value};

/// Who signed in.
pub(super) struct User {
    pub(super) id: String,
    pub(super) email: Option<String>,
    pub(super) email_verified: bool,
    pub(super) profile: Value,
    pub(super) new: bool,
    /// Session claims the sign-in hook added.
    pub(super) extra: Map<String, Value>,
}

pub(super) enum LinkError {
    Refused(String),
    Misuse(MisuseError),
}

impl From<MisuseError> for LinkError {
    fn from(e: MisuseError) -> Self {
        LinkError::Misuse(e)
    }
}

/// Claims a hook may not put in a session: they make it ours, or another kind of token.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "sid",
    "scope",
    "session_id",
    "role",
    "idp",
    "auth_time",
];

/// The user of identity `id`: the one it is linked to, else the one with its verified email
/// (when linking is on), else a new one; then the sign-in hook's say. Nothing is written
/// before every refusal has had its chance.
pub(super) fn link(p: &Provider, issuer: &str, id: &Identity) -> Result<User, LinkError> {
    let existing = accounts::find_identity(&p.name, issuer, &id.subject)?;
    if existing.as_ref().is_some_and(|o| o.disabled) {
        return Err(LinkError::Refused("this user is disabled".into()));
    }
    let mut user_id = existing.map(|o| o.user_id);
    let mut linked_by_email = false;
    if user_id.is_none() && settings::link_verified_email() && id.email_verified {
        // ASCII only: lower() under the database's collation folds other characters too (the
        // Kelvin sign is a k), and an address that merely looks like another must not link.
        if let Some(email) = id.email.as_ref().filter(|e| e.is_ascii()) {
            let matches = accounts::users_with_verified_email(email)?;
            if matches.len() == 1 {
                user_id = matches.into_iter().next();
                linked_by_email = true;
            }
        }
    }
    let profile = Value::Object(id.profile.clone());
    let mut extra = Map::new();
    if let Some(hook) = settings::sign_in_hook() {
        let arg = json!({
            "provider": p.name, "kind": p.kind,
            "identity": {"issuer": issuer, "subject": id.subject, "email": id.email,
                         "email_verified": id.email_verified, "profile": profile,
                         "details": id.details},
            "user": {"id": user_id, "new": user_id.is_none(), "linked_by_email": linked_by_email},
        });
        let out = db::call_jsonb_function(&hook, "oauth_server.sign_in_hook", arg)?;
        if out.get("allow") == Some(&Value::Bool(false)) {
            let reason = out["reason"]
                .as_str()
                .unwrap_or("the application refused this user");
            return Err(LinkError::Refused(reason.chars().take(200).collect()));
        }
        match out.get("sub") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => {
                user_id = Some(s.clone())
            }
            Some(_) => {
                return Err(LinkError::Misuse(MisuseError::new(
                    Misuse::Misconfigured,
                    "oauth_server.sign_in_hook returned a sub that is not a string of 1 to 255 characters",
                )))
            }
        }
        if let Some(c) = out.get("claims").and_then(Value::as_object) {
            for (k, v) in c {
                if RESERVED.contains(&k.as_str()) || token_kind::KIND_CLAIMS.contains(&k.as_str()) {
                    return Err(LinkError::Misuse(MisuseError::new(
                        Misuse::Misconfigured,
                        format!("oauth_server.sign_in_hook may not set the session claim {k}"),
                    )));
                }
                extra.insert(k.clone(), v.clone());
            }
        }
    }
    // A user the hook named may be disabled: refused before anything is written.
    if let Some(id) = &user_id {
        if accounts::is_disabled(id)? {
            return Err(LinkError::Refused("this user is disabled".into()));
        }
    }
    let new = user_id.is_none();
    let uid = accounts::ensure_user(
        user_id.as_deref(),
        id.email.as_deref(),
        id.email_verified,
        &profile,
    )?;
    let merged = accounts::upsert_identity(accounts::IdentityRow {
        provider: &p.name,
        issuer,
        subject: &id.subject,
        user_id: &uid,
        email: id.email.as_deref(),
        email_verified: id.email_verified,
        profile,
        details: Value::Object(id.details.clone()),
    })?;
    let signed = accounts::sign_in_user(&uid, id.email.as_deref(), id.email_verified, &merged)?
        .ok_or_else(|| crate::error::internal("the user vanished during its sign-in"))?;
    if signed.disabled {
        return Err(LinkError::Refused("this user is disabled".into()));
    }
    Ok(User {
        id: signed.id,
        email: signed.email,
        email_verified: signed.email_verified,
        profile: signed.profile,
        new,
        extra,
    })
}
