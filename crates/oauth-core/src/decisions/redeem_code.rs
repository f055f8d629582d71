//! Redeeming an authorization code (RFC 6749 §4.1.3, §10.5; OAuth 2.1 §4.1.3 with PKCE).

use crate::error::{invalid_grant, invalid_request, OAuthError};
use crate::model::{AuthorizationKind, AuthorizationStatus};
use crate::protocol::pkce;

/// The authorization row the presented code names, as locked for this transaction.
#[derive(Debug, Clone, Copy)]
pub struct CodeState<'a> {
    pub kind: AuthorizationKind,
    pub status: AuthorizationStatus,
    pub expired: bool,
    pub client_id: &'a str,
    pub redirect_uri: Option<&'a str>,
    /// Whether the authorization request named redirect_uri (then the token request must).
    pub redirect_uri_given: bool,
    pub code_challenge: Option<&'a str>,
}

/// What the token request presents besides the code.
#[derive(Debug, Clone, Copy)]
pub struct CodeRequest<'a> {
    /// The authenticated client.
    pub client_id: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

#[derive(Debug, PartialEq)]
pub enum CodeOutcome {
    /// Start the token family, mark the code redeemed by it, issue the tokens.
    Redeem,
    /// The code was redeemed before: revoke the family it issued (RFC 6749 §4.1.2), then
    /// answer [`replay_error`]. Checked before the client, so whoever replays it, the tokens
    /// a stolen code obtained stop working.
    Replayed,
    Refuse(OAuthError),
}

pub fn replay_error() -> OAuthError {
    invalid_grant("authorization code has already been used; the tokens it issued are revoked")
}

/// `state`: the row of the code's hash, if any.
pub fn decide(state: Option<&CodeState>, request: &CodeRequest) -> CodeOutcome {
    let Some(row) = state.filter(|r| r.kind == AuthorizationKind::Code) else {
        return CodeOutcome::Refuse(invalid_grant("authorization code is invalid"));
    };
    match row.status {
        AuthorizationStatus::Redeemed => return CodeOutcome::Replayed,
        AuthorizationStatus::Approved if !row.expired => {}
        AuthorizationStatus::Approved
        | AuthorizationStatus::Pending
        | AuthorizationStatus::Denied => {
            return CodeOutcome::Refuse(invalid_grant("authorization code has expired"))
        }
    }
    if row.client_id != request.client_id {
        return CodeOutcome::Refuse(invalid_grant(
            "authorization code was issued to another client",
        ));
    }
    match request.redirect_uri.filter(|s| !s.is_empty()) {
        Some(r) if Some(r) != row.redirect_uri => {
            return CodeOutcome::Refuse(invalid_grant(
                "redirect_uri does not match the authorization request",
            ))
        }
        None if row.redirect_uri_given => {
            return CodeOutcome::Refuse(invalid_request(
                "redirect_uri is required: the authorization request included it",
            ))
        }
        _ => {}
    }
    match pkce::verify(
        request.code_verifier,
        row.code_challenge.unwrap_or_default(),
    ) {
        Ok(()) => CodeOutcome::Redeem,
        Err(e) => CodeOutcome::Refuse(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn row() -> CodeState<'static> {
        CodeState {
            kind: AuthorizationKind::Code,
            status: AuthorizationStatus::Approved,
            expired: false,
            client_id: "app",
            redirect_uri: Some("https://app.example/cb"),
            redirect_uri_given: true,
            code_challenge: Some(CHALLENGE),
        }
    }

    fn request() -> CodeRequest<'static> {
        CodeRequest {
            client_id: "app",
            redirect_uri: Some("https://app.example/cb"),
            code_verifier: Some(VERIFIER),
        }
    }

    fn refused(o: CodeOutcome) -> (String, String) {
        match o {
            CodeOutcome::Refuse(e) => (e.code().to_string(), e.description().to_string()),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_fresh_code_with_the_right_verifier_is_redeemed() {
        assert_eq!(decide(Some(&row()), &request()), CodeOutcome::Redeem);
        // redirect_uri may be left out when the authorization request left it out.
        let r = CodeState {
            redirect_uri_given: false,
            ..row()
        };
        let q = CodeRequest {
            redirect_uri: None,
            ..request()
        };
        assert_eq!(decide(Some(&r), &q), CodeOutcome::Redeem);
    }

    #[test]
    fn a_replay_is_detected_whoever_presents_it() {
        let r = CodeState {
            status: AuthorizationStatus::Redeemed,
            ..row()
        };
        assert_eq!(decide(Some(&r), &request()), CodeOutcome::Replayed);
        // Another client, no verifier, expired: still a replay (the family is revoked).
        let q = CodeRequest {
            client_id: "thief",
            code_verifier: None,
            ..request()
        };
        let r = CodeState { expired: true, ..r };
        assert_eq!(decide(Some(&r), &q), CodeOutcome::Replayed);
        assert_eq!(replay_error().code(), "invalid_grant");
    }

    #[test]
    fn unknown_device_pending_denied_and_expired_codes_are_refused() {
        assert_eq!(
            refused(decide(None, &request())).1,
            "authorization code is invalid"
        );
        let device = CodeState {
            kind: AuthorizationKind::Device,
            ..row()
        };
        assert_eq!(
            refused(decide(Some(&device), &request())).1,
            "authorization code is invalid"
        );
        for status in [AuthorizationStatus::Pending, AuthorizationStatus::Denied] {
            let r = CodeState { status, ..row() };
            assert_eq!(
                refused(decide(Some(&r), &request())).1,
                "authorization code has expired"
            );
        }
        let r = CodeState {
            expired: true,
            ..row()
        };
        assert_eq!(
            refused(decide(Some(&r), &request())).1,
            "authorization code has expired"
        );
    }

    #[test]
    fn client_redirect_uri_and_verifier_must_match() {
        let q = CodeRequest {
            client_id: "other",
            ..request()
        };
        assert_eq!(refused(decide(Some(&row()), &q)).0, "invalid_grant");
        let q = CodeRequest {
            redirect_uri: Some("https://app.example/cb2"),
            ..request()
        };
        assert_eq!(refused(decide(Some(&row()), &q)).0, "invalid_grant");
        let q = CodeRequest {
            redirect_uri: None,
            ..request()
        };
        assert_eq!(refused(decide(Some(&row()), &q)).0, "invalid_request");
        let q = CodeRequest {
            redirect_uri: Some(""),
            ..request()
        };
        assert_eq!(refused(decide(Some(&row()), &q)).0, "invalid_request");
        let q = CodeRequest {
            code_verifier: None,
            ..request()
        };
        assert_eq!(refused(decide(Some(&row()), &q)).0, "invalid_request");
        let wrong = "a".repeat(43);
        let q = CodeRequest {
            code_verifier: Some(&wrong),
            ..request()
        };
        assert_eq!(refused(decide(Some(&row()), &q)).0, "invalid_grant");
    }
}
