//! Which key a token request's tokens are bound to (RFC 9449 §5, §10): the proof the request
//! carried (its key's thumbprint, already checked), against what the client registered, what
//! the authorization request bound the code to (`dpop_jkt`), and what a refresh token's family
//! is bound to. Pure: the extension loads the bindings and carries the outcome out.

use crate::error::{invalid_grant, OAuthError};

fn missing(what: &str) -> OAuthError {
    OAuthError::InvalidDpopProof(format!(
        "{what}: the request must carry a DPoP proof by that key"
    ))
}

/// RFC 9449 §5.2: a client registered with `dpop_bound_access_tokens` only gets bound tokens,
/// so a token request of it without a proof is refused (whatever the grant).
pub fn client_requirement(requires_dpop: bool, proven: Option<&str>) -> Result<(), OAuthError> {
    if requires_dpop && proven.is_none() {
        return Err(OAuthError::InvalidDpopProof(
            "this client is registered with dpop_bound_access_tokens: its token requests must carry a DPoP proof".into(),
        ));
    }
    Ok(())
}

/// A code (or a device code) or a refresh token bound to `bound` may only be redeemed with a
/// proof by that key: none is `invalid_dpop_proof`, another key's is `invalid_grant` (the grant
/// is not the presenter's). An unbound one may be redeemed with or without a proof.
pub fn redeem(bound: Option<&str>, proven: Option<&str>, what: &str) -> Result<(), OAuthError> {
    match (bound, proven) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(missing(&format!("this {what} is bound to a DPoP key"))),
        (Some(b), Some(p)) if b == p => Ok(()),
        (Some(_), Some(_)) => Err(invalid_grant(format!(
            "this {what} is bound to another DPoP key than the proof's"
        ))),
    }
}

/// The key a token family's refresh tokens are bound to, when it starts or (not bound yet) at a
/// refresh with a proof: the proof's, for a public client (RFC 9449 §5: it has no other
/// credential a thief would lack); none for a confidential client, whose refresh tokens are
/// already bound to its authentication, and may present another key on a later refresh.
pub fn family_key(public_client: bool, proven: Option<&str>) -> Option<String> {
    proven.filter(|_| public_client).map(String::from)
}

/// The access token's `cnf.jkt` and `token_type`: bound to the key the request proved, if it
/// proved one (RFC 9449 §5: `token_type` DPoP), else a bearer token.
pub fn token_type(proven: Option<&str>) -> &'static str {
    if proven.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

/// At a protected resource (RFC 9449 §7): a token bound to a key is used only with a proof by
/// that key (presented as a plain bearer token it is refused, `invalid_token`), and a proof
/// does not make an unbound token a DPoP one.
pub fn at_resource(bound: Option<&str>, proven: Option<&str>) -> Result<(), OAuthError> {
    match (bound, proven) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(OAuthError::InvalidToken(
            "this access token is bound to a DPoP key: present it with the DPoP scheme and a proof by that key".into(),
        )),
        (None, Some(_)) => Err(OAuthError::InvalidToken(
            "this access token is not DPoP-bound: present it as a Bearer token".into(),
        )),
        (Some(b), Some(p)) if b == p => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::InvalidDpopProof(
            "the DPoP proof is not by the key the access token is bound to (cnf.jkt)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_that_registered_dpop_is_refused_without_a_proof() {
        let e = client_requirement(true, None).unwrap_err();
        assert_eq!(e.code(), "invalid_dpop_proof");
        assert!(e.description().contains("dpop_bound_access_tokens"));
        assert!(client_requirement(true, Some("k")).is_ok());
        assert!(client_requirement(false, None).is_ok());
    }

    #[test]
    fn a_bound_code_or_refresh_token_needs_a_proof_by_its_key() {
        assert!(redeem(Some("k"), Some("k"), "code").is_ok());
        assert_eq!(
            redeem(Some("k"), None, "code").unwrap_err().code(),
            "invalid_dpop_proof"
        );
        let other = redeem(Some("k"), Some("j"), "refresh token").unwrap_err();
        assert_eq!(other.code(), "invalid_grant");
        assert!(other.description().contains("refresh token"));
        // Thumbprints compare exactly: they are canonical, another spelling is another key.
        assert!(redeem(Some("k"), Some("K"), "code").is_err());
    }

    #[test]
    fn an_unbound_one_is_redeemed_with_or_without_a_proof() {
        assert!(redeem(None, None, "code").is_ok());
        assert!(redeem(None, Some("k"), "code").is_ok());
    }

    #[test]
    fn only_public_clients_families_are_bound() {
        assert_eq!(family_key(true, Some("k")), Some("k".into()));
        assert_eq!(family_key(false, Some("k")), None);
        assert_eq!(family_key(true, None), None);
    }

    #[test]
    fn at_a_resource_a_bound_token_needs_its_key_and_an_unbound_one_no_proof() {
        assert!(at_resource(None, None).is_ok());
        assert!(at_resource(Some("k"), Some("k")).is_ok());
        assert_eq!(
            at_resource(Some("k"), None).unwrap_err().code(),
            "invalid_token"
        );
        assert_eq!(
            at_resource(None, Some("k")).unwrap_err().code(),
            "invalid_token"
        );
        assert_eq!(
            at_resource(Some("k"), Some("j")).unwrap_err().code(),
            "invalid_dpop_proof"
        );
    }

    #[test]
    fn the_token_type_says_whether_the_token_is_bound() {
        assert_eq!(token_type(Some("k")), "DPoP");
        assert_eq!(token_type(None), "Bearer");
    }
}
