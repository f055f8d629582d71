//! High-entropy random values (codes, refresh tokens, client secrets, ids) and their storage
//! form: only the SHA-256 hash is ever stored, compared in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 256 bits: codes, refresh tokens, client secrets, authorization ids.
pub const TOKEN_BYTES: usize = 32;

/// A fresh random value as base64url without padding (43 characters for 32 bytes).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Whether `s` has the exact shape of an authorization id (a [`random_token`] of
/// [`TOKEN_BYTES`]: 43 base64url characters) and could not be a device user code however it
/// is normalised: a random id has ~41 letters and digits, a padded user code (`BCDF-GHJK---…`)
/// 8. The extension and the front tell the two apart with this one rule, so no spelling of a
/// user code passes as an id and escapes the limits on guessing.
pub fn is_authorization_id(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && s.bytes().filter(u8::is_ascii_alphanumeric).count() > 16
}

/// The stored form of a secret value.
pub fn hash(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Does `presented` hash to `stored`? Constant time in the stored hash, so a secret cannot be
/// guessed byte by byte from response timing.
pub fn verify(presented: &str, stored: &[u8]) -> bool {
    let h = hash(presented);
    stored.len() == h.len() && bool::from(h.ct_eq(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_url_safe() {
        let a = random_token(TOKEN_BYTES);
        let b = random_token(TOKEN_BYTES);
        assert!(is_authorization_id(&a) && is_authorization_id(&b));
        assert!(!is_authorization_id("BCDF-GHJK"));
        assert!(!is_authorization_id(&format!("{a}=")));
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn verify_accepts_only_the_same_value() {
        let stored = hash("s3cret");
        assert!(verify("s3cret", &stored));
        assert!(!verify("s3cres", &stored));
        assert!(!verify("", &stored));
        assert!(!verify("s3cret", &stored[..31]));
    }
}
