//! The claims of the token a session signed in with (set by the validator in the backend that
//! then serves the session). Once set, they are the session's claims for the RLS helpers,
//! whatever `request.jwt.claims` says: a session that signed in as a user could otherwise
//! `SET request.jwt.claims` to another user's.

use std::sync::OnceLock;

static CLAIMS: OnceLock<String> = OnceLock::new();

/// Records the sign-in's claims (JSON text); a second call changes nothing.
pub fn remember(claims: &serde_json::Value) {
    let _ = CLAIMS.set(claims.to_string());
}

/// The claims this session signed in with, if it signed in with one of our tokens.
pub fn claims() -> Option<&'static str> {
    CLAIMS.get().map(String::as_str)
}
