//! PKCE (RFC 7636), S256 only: `plain` gives no protection against a code intercepted
//! together with its challenge, and OAuth 2.1 servers may refuse it.

use crate::error::{invalid_grant, invalid_request, OAuthResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A S256 challenge is base64url(SHA-256(verifier)) without padding: exactly 43 characters.
const CHALLENGE_LEN: usize = 43;

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

/// Validates the authorization request's `code_challenge` and `code_challenge_method`.
pub fn validate_challenge(challenge: Option<&str>, method: Option<&str>) -> OAuthResult<String> {
    let challenge = match challenge {
        Some(c) if !c.is_empty() => c,
        _ => {
            return Err(invalid_request(
                "code_challenge is required (PKCE with S256)",
            ))
        }
    };
    match method {
        Some("S256") => {}
        None | Some("") => {
            return Err(invalid_request(
                "code_challenge_method is required and must be S256",
            ))
        }
        Some(other) => {
            return Err(invalid_request(format!(
                "code_challenge_method {other:?} is not supported; use S256"
            )))
        }
    }
    let valid = challenge.len() == CHALLENGE_LEN
        && challenge
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if !valid {
        return Err(invalid_request(
            "code_challenge must be the 43-character base64url SHA-256 of the code_verifier",
        ));
    }
    Ok(challenge.to_string())
}

/// Checks the token request's `code_verifier` (43–128 unreserved characters) against the
/// stored challenge.
pub fn verify(verifier: Option<&str>, challenge: &str) -> OAuthResult<()> {
    let verifier = match verifier {
        Some(v) if !v.is_empty() => v,
        _ => return Err(invalid_request("code_verifier is required")),
    };
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(is_unreserved) {
        return Err(invalid_request(
            "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
        ));
    }
    if s256(verifier) == challenge {
        Ok(())
    } else {
        Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        ))
    }
}

/// base64url(SHA-256(verifier)).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(s256(VERIFIER), CHALLENGE);
        assert!(verify(Some(VERIFIER), CHALLENGE).is_ok());
    }

    #[test]
    fn plain_and_missing_method_are_refused() {
        assert!(validate_challenge(Some(CHALLENGE), Some("plain")).is_err());
        assert!(validate_challenge(Some(CHALLENGE), None).is_err());
        assert!(validate_challenge(None, Some("S256")).is_err());
        assert!(validate_challenge(Some(CHALLENGE), Some("S256")).is_ok());
    }

    #[test]
    fn challenge_format_is_checked() {
        assert!(validate_challenge(Some(&CHALLENGE[..42]), Some("S256")).is_err());
        assert!(validate_challenge(Some(&format!("{}=", &CHALLENGE[..42])), Some("S256")).is_err());
        assert!(validate_challenge(Some(&"a".repeat(128)), Some("S256")).is_err());
    }

    #[test]
    fn verifier_format_and_match() {
        assert_eq!(
            verify(Some("short"), CHALLENGE).unwrap_err().code(),
            "invalid_request"
        );
        assert_eq!(
            verify(Some(&"a".repeat(129)), CHALLENGE)
                .unwrap_err()
                .code(),
            "invalid_request"
        );
        let bad = format!("{}!", &VERIFIER[..43]);
        assert_eq!(
            verify(Some(&bad), CHALLENGE).unwrap_err().code(),
            "invalid_request"
        );
        let other = "x".repeat(43);
        assert_eq!(
            verify(Some(&other), CHALLENGE).unwrap_err().code(),
            "invalid_grant"
        );
        assert_eq!(
            verify(None, CHALLENGE).unwrap_err().code(),
            "invalid_request"
        );
    }
}
