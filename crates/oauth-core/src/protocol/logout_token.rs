//! Logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4): what this server signs and
//! POSTs to a client's `backchannel_logout_uri` when a session of the user ends. A security
//! event token, never a credential: `typ` `logout+jwt`, the back-channel logout event, `sub`
//! (as the client sees the user) and/or `sid`, a `jti` the client can dedupe retries by, and
//! never a `nonce` (which would make it pass for an ID token).

use serde_json::{json, Value};

/// §2.4: the member of `events` that makes a logout token one.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long a logout token is good for: the client checks `iat`/`exp`; a delivery retried
/// later is signed again (same `jti`).
pub const LIFETIME_SECS: i64 = 120;

pub struct LogoutInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The user as the client sees them (pairwise for a pairwise client); `None` for a logout
    /// of one session that names no user.
    pub sub: Option<&'a str>,
    pub sid: Option<&'a str>,
    pub jti: &'a str,
    pub now: i64,
}

/// The claims, or `None` when neither `sub` nor `sid` is known (§2.4: one is required).
pub fn claims(i: &LogoutInput) -> Option<Value> {
    if i.sub.is_none() && i.sid.is_none() {
        return None;
    }
    let mut c = json!({
        "iss": i.issuer,
        "aud": i.client_id,
        "iat": i.now,
        "exp": i.now + LIFETIME_SECS,
        "jti": i.jti,
        "events": { EVENT: {} },
    });
    if let Some(s) = i.sub {
        c["sub"] = json!(s);
    }
    if let Some(s) = i.sid {
        c["sid"] = json!(s);
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::token_kind::{self, TokenKind};

    fn input<'a>(sub: Option<&'a str>, sid: Option<&'a str>) -> LogoutInput<'a> {
        LogoutInput {
            issuer: "https://as.example",
            client_id: "c1",
            sub,
            sid,
            jti: "j1",
            now: 1_800_000_000,
        }
    }

    #[test]
    fn a_logout_token_is_an_event_never_a_credential() {
        let c = claims(&input(Some("u"), Some("s"))).unwrap();
        assert_eq!(c["events"], json!({EVENT: {}}));
        assert_eq!(
            (c["sub"].as_str(), c["sid"].as_str()),
            (Some("u"), Some("s"))
        );
        assert_eq!(
            c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
            LIFETIME_SECS
        );
        for forbidden in ["nonce", "client_id", "token_use", "scope", "at_hash", "azp"] {
            assert!(c.get(forbidden).is_none(), "{forbidden}");
        }
        assert!(token_kind::is_no_credential(&c));
        assert_eq!(
            token_kind::of_ours(Some(token_kind::LOGOUT_TYP), &c),
            TokenKind::Logout
        );
        // Signed as anything else it is of no kind we take.
        assert_eq!(
            token_kind::of_ours(Some(token_kind::ACCESS_TYP), &c),
            TokenKind::Unknown
        );
        assert_eq!(
            token_kind::of_ours(Some(token_kind::JWT_TYP), &c),
            TokenKind::Unknown
        );
    }

    #[test]
    fn sub_or_sid_or_nothing_to_send() {
        assert!(claims(&input(None, None)).is_none());
        let only_sid = claims(&input(None, Some("s"))).unwrap();
        assert!(only_sid.get("sub").is_none());
        let only_sub = claims(&input(Some("u"), None)).unwrap();
        assert!(only_sub.get("sid").is_none());
    }
}
