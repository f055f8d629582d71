//! Private signing keys encrypted at rest with a key-encryption key (KEK) that lives outside the
//! database (a file only the server's OS user reads). AES-256-GCM with a random nonce; the
//! key's `kid` is the associated data, so a ciphertext moved onto another key's row does not
//! decrypt. A KEK is named by a short fingerprint stored beside each key, so rotation knows
//! which KEK opens which key.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

pub struct Kek {
    /// Fingerprint: hex of the first 8 bytes of SHA-256 of the key.
    pub id: String,
    key: LessSafeKey,
}

/// A KEK from a file's content: 32 bytes as base64 (44 characters) or hex (64), whitespace
/// around it ignored (`openssl rand -base64 32 > kek`).
pub fn parse(content: &[u8]) -> Result<Kek, String> {
    let text = std::str::from_utf8(content)
        .map_err(|_| "the key-encryption key file is not text".to_string())?
        .trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| "bad hex".to_string())?
    } else {
        STANDARD
            .decode(text)
            .map_err(|_| "the key-encryption key must be 32 bytes in base64 or hex".to_string())?
    };
    if bytes.len() != 32 {
        return Err(format!(
            "the key-encryption key must be 32 bytes, not {}",
            bytes.len()
        ));
    }
    let id = Sha256::digest(&bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| "unusable AES key".to_string())?;
    Ok(Kek {
        id,
        key: LessSafeKey::new(key),
    })
}

/// `nonce || ciphertext || tag` of `plaintext`, bound to `kid`.
pub fn wrap(kek: &Kek, kid: &str, plaintext: &[u8]) -> Result<Vec<u8>, String> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| "no randomness".to_string())?;
    let mut sealed = plaintext.to_vec();
    kek.key
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(kid.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| "encryption failed".to_string())?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The plaintext of what [`wrap`] produced for `kid`.
pub fn unwrap(kek: &Kek, kid: &str, blob: &[u8]) -> Result<Vec<u8>, String> {
    if blob.len() < NONCE_LEN + 16 {
        return Err("the encrypted key is too short".into());
    }
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce".to_string())?;
    let mut buf = sealed.to_vec();
    let plain = kek
        .key
        .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buf)
        .map_err(|_| "the key-encryption key does not open this signing key".to_string())?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn wraps_and_unwraps_bound_to_the_kid() {
        let kek = parse(HEX.as_bytes()).unwrap();
        let same = parse(STANDARD.encode((0u8..32).collect::<Vec<_>>()).as_bytes()).unwrap();
        assert_eq!(kek.id, same.id);
        let blob = wrap(&kek, "kid-1", b"private key").unwrap();
        assert_eq!(unwrap(&same, "kid-1", &blob).unwrap(), b"private key");
        // Another kid, another KEK, a flipped bit: refused.
        assert!(unwrap(&kek, "kid-2", &blob).is_err());
        let other = parse(&[b'a'; 64]).unwrap();
        assert_ne!(other.id, kek.id);
        assert!(unwrap(&other, "kid-1", &blob).is_err());
        let mut tampered = blob.clone();
        tampered[20] ^= 1;
        assert!(unwrap(&kek, "kid-1", &tampered).is_err());
        // Two wraps of the same key differ (random nonce).
        assert_ne!(
            wrap(&kek, "kid-1", b"x").unwrap(),
            wrap(&kek, "kid-1", b"x").unwrap()
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        for bad in [&b""[..], b"short", &[b'z'; 64], b"AAAA"] {
            assert!(parse(bad).is_err());
        }
    }
}
