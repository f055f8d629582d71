//! Every credential has one kind, and every check names the kinds it accepts.
//!
//! The JWTs we sign say what they are twice: in the header (`typ`) and in a claim, because a
//! verifier that only sees claims (PostgREST's `request.jwt.claims`, the RLS helpers) must
//! tell them apart too.
//! - access token: header `typ: at+jwt` (RFC 9068), claim `client_id`;
//! - ID token: header `typ: JWT` (what OpenID Connect clients expect), claim `token_use: id`,
//!   and `azp`/`at_hash`, which only ID tokens carry;
//! - user session (`oauth.issue_session_token`): header `typ: JWT`, claim `token_use: session`,
//!   no `client_id`.
//!
//! Anything else signed with our keys (an older session without `token_use`, say) is of no
//! kind and accepted nowhere.

use serde_json::Value;

/// The claim that names the kind of a token (the name Amazon Cognito uses for the same).
pub const KIND_CLAIM: &str = "token_use";
pub const SESSION: &str = "session";
pub const ID: &str = "id";

/// Header `typ` of access tokens (RFC 9068 §2.1), of ID tokens and of sessions.
pub const ACCESS_TYP: &str = "at+jwt";
pub const JWT_TYP: &str = "JWT";
/// OpenID Connect Back-Channel Logout §2.4: a logout token's header `typ`.
pub const LOGOUT_TYP: &str = "logout+jwt";

/// Claims that decide a token's kind: no caller-supplied claim (session extras, hook output,
/// user claims) may set them.
pub const KIND_CLAIMS: &[&str] = &[KIND_CLAIM, "client_id", "azp", "at_hash", "nonce"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An OAuth access token: issued to a client, for a user or (client_credentials) itself.
    Access,
    /// An OpenID Connect ID token: an assertion *to* a client, never a credential *from* one.
    Id,
    /// A first-party user session.
    Session,
    /// A back-channel logout token: an event sent *to* a client, never a credential.
    Logout,
    /// Signed by us but of no kind we issue today.
    Unknown,
}

impl TokenKind {
    pub fn name(self) -> &'static str {
        match self {
            TokenKind::Access => "an access token",
            TokenKind::Id => "an ID token",
            TokenKind::Session => "a user session",
            TokenKind::Logout => "a logout token",
            TokenKind::Unknown => "a token of no known kind",
        }
    }
}

fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a Value> {
    claims.get(name).filter(|v| !v.is_null())
}

/// Whether claims are those of an ID token (ours or anyone's): `token_use: id`, or `at_hash`
/// or `nonce`, which OpenID Connect defines for ID tokens only.
pub fn looks_like_id_token(claims: &Value) -> bool {
    claim(claims, KIND_CLAIM).and_then(Value::as_str) == Some(ID)
        || claim(claims, "at_hash").is_some()
        || claim(claims, "nonce").is_some()
}

/// Whether claims are those of an assertion that is nobody's credential: an ID token, or a
/// security event token (RFC 8417) such as a back-channel logout token (`events`).
pub fn is_no_credential(claims: &Value) -> bool {
    looks_like_id_token(claims) || claim(claims, "events").is_some()
}

/// The kind of a token we signed, from its verified header `typ` and claims. The checks run
/// from the most specific mark to the least, and a token with the marks of two kinds is of
/// none.
pub fn of_ours(typ: Option<&str>, claims: &Value) -> TokenKind {
    let has_client = claim(claims, "client_id").is_some();
    let kind = claim(claims, KIND_CLAIM).and_then(Value::as_str);
    let id_marks = looks_like_id_token(claims) || claim(claims, "azp").is_some();
    match (typ, has_client, kind, id_marks) {
        (Some(ACCESS_TYP), true, None, false) => TokenKind::Access,
        (Some(JWT_TYP), false, Some(ID), true) => TokenKind::Id,
        (Some(JWT_TYP), false, Some(SESSION), false) => TokenKind::Session,
        (Some(LOGOUT_TYP), false, None, false) if claim(claims, "events").is_some() => {
            TokenKind::Logout
        }
        (_, _, _, true) => TokenKind::Id,
        _ => TokenKind::Unknown,
    }
}

/// The kind of verified claims seen without their header (PostgREST's `request.jwt.claims`):
/// `ours` says whether `iss` is this server. A session of ours must say so; claims of another
/// issuer are a session unless they carry an OAuth client's, an ID token's or a security
/// event's marks, or name another kind (`token_use`).
pub fn of_claims(claims: &Value, ours: bool) -> TokenKind {
    if claim(claims, "client_id").is_some() {
        return TokenKind::Access;
    }
    if is_no_credential(claims) {
        return TokenKind::Id;
    }
    let kind = claim(claims, KIND_CLAIM).map(Value::as_str);
    let azp = claim(claims, "azp").is_some();
    match (ours, kind) {
        (true, Some(Some(SESSION))) if !azp => TokenKind::Session,
        (true, _) if azp => TokenKind::Id,
        (true, _) => TokenKind::Unknown,
        (false, None | Some(Some(SESSION))) => TokenKind::Session,
        (false, Some(_)) => TokenKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_we_sign_is_recognised() {
        let at = json!({"sub": "u", "client_id": "c", "session_id": "g"});
        assert_eq!(of_ours(Some(ACCESS_TYP), &at), TokenKind::Access);
        let id = json!({"sub": "u", "aud": "c", "azp": "c", "at_hash": "h", "token_use": "id"});
        assert_eq!(of_ours(Some(JWT_TYP), &id), TokenKind::Id);
        let session = json!({"sub": "u", "token_use": "session"});
        assert_eq!(of_ours(Some(JWT_TYP), &session), TokenKind::Session);
    }

    #[test]
    fn a_token_with_marks_of_two_kinds_is_not_a_session_or_access_token() {
        // An ID token whose user claims tried to say "session".
        let forged = json!({"sub": "u", "azp": "c", "at_hash": "h", "token_use": "session"});
        assert_eq!(of_ours(Some(JWT_TYP), &forged), TokenKind::Id);
        // An access token whose hook added token_use.
        let hooked = json!({"sub": "u", "client_id": "c", "token_use": "session"});
        assert_ne!(of_ours(Some(ACCESS_TYP), &hooked), TokenKind::Session);
        assert_ne!(of_ours(Some(ACCESS_TYP), &hooked), TokenKind::Access);
        // The right claims under the wrong header, and the reverse.
        let at = json!({"sub": "u", "client_id": "c"});
        assert_eq!(of_ours(Some(JWT_TYP), &at), TokenKind::Unknown);
        let session = json!({"sub": "u", "token_use": "session"});
        assert_eq!(of_ours(Some(ACCESS_TYP), &session), TokenKind::Unknown);
        assert_eq!(of_ours(None, &session), TokenKind::Unknown);
        // A session of an older release, without token_use.
        assert_eq!(
            of_ours(Some(JWT_TYP), &json!({"sub": "u"})),
            TokenKind::Unknown
        );
    }

    #[test]
    fn claims_alone_tell_sessions_from_id_and_access_tokens() {
        let id = json!({"sub": "u", "aud": "c", "azp": "c", "at_hash": "h", "token_use": "id"});
        assert_eq!(of_claims(&id, true), TokenKind::Id);
        let bare_id = json!({"sub": "u", "aud": "c", "azp": "c"});
        assert_eq!(of_claims(&bare_id, true), TokenKind::Id);
        assert_eq!(
            of_claims(&json!({"sub": "u", "client_id": "c"}), false),
            TokenKind::Access
        );
        assert_eq!(
            of_claims(&json!({"sub": "u", "token_use": "session"}), true),
            TokenKind::Session
        );
        assert_eq!(of_claims(&json!({"sub": "u"}), true), TokenKind::Unknown);
        // Another issuer's session (Supabase Auth, Clerk with its azp origin).
        assert_eq!(
            of_claims(&json!({"sub": "u", "azp": "https://app"}), false),
            TokenKind::Session
        );
        assert_eq!(
            of_claims(&json!({"sub": "u", "at_hash": "x"}), false),
            TokenKind::Id
        );
        assert_eq!(
            of_claims(&json!({"sub": "u", "nonce": "n"}), false),
            TokenKind::Id
        );
        let logout = json!({"sub": "u", "events": {"http://schemas.openid.net/event/backchannel-logout": {}}});
        assert_ne!(of_claims(&logout, false), TokenKind::Session);
        assert!(is_no_credential(&logout));
        assert_eq!(
            of_claims(&json!({"sub": "u", "token_use": "access"}), false),
            TokenKind::Unknown
        );
    }
}
