//! Attack review of the DPoP proof check (`dpop`, `dpop::htu`) and of the private_key_jwt
//! client assertion check (`client_assertion`). Each test asserts the SECURE behaviour: a test
//! that failed demonstrated a hole (marked `// WAS A HOLE`, each fixed since); the others are
//! attacks that held. One file per part: DPoP's kinds, spellings, and windows; assertions.

use crate::protocol::client_assertion as ca;
use crate::protocol::dpop::{self, htu, Refusal};
use crate::protocol::jws::{self, Alg};
use crate::protocol::test_keys::TestKey;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A key that signs any bytes: to build JWS with raw (duplicate-key, padded, …) parts.
struct Raw {
    alg: Alg,
    pkcs8: Vec<u8>,
    jwk: Value,
}

impl Raw {
    fn new(alg: Alg) -> Raw {
        let g = jws::generate(alg).unwrap();
        Raw {
            alg,
            pkcs8: g.private_pkcs8,
            jwk: g.public_jwk,
        }
    }

    fn sig(&self, input: &[u8], pss: bool) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self.alg {
            Alg::ES256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.pkcs8)
                .unwrap()
                .sign(&rng, input)
                .unwrap()
                .as_ref()
                .to_vec(),
            Alg::EdDSA => Ed25519KeyPair::from_pkcs8(&self.pkcs8)
                .unwrap()
                .sign(input)
                .as_ref()
                .to_vec(),
            Alg::RS256 => {
                let kp = RsaKeyPair::from_pkcs8(&self.pkcs8).unwrap();
                let mut s = vec![0u8; kp.public_modulus_len()];
                let pad: &dyn aws_lc_rs::signature::RsaEncoding = if pss {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                kp.sign(pad, &rng, input, &mut s).unwrap();
                s
            }
        }
    }

    /// header and payload given as already-encoded parts.
    fn sign_parts(&self, h: &str, p: &str) -> String {
        let input = format!("{h}.{p}");
        let s = self.sig(input.as_bytes(), false);
        format!("{input}.{}", b64(s))
    }

    /// header and payload given as raw JSON text (duplicates, whitespace … kept as written).
    fn sign_text(&self, header: &str, payload: &str) -> String {
        self.sign_parts(&b64(header), &b64(payload))
    }
}

// ---------------------------------------------------------------- DPoP helpers

use crate::protocol::dpop::tests::{
    claims as dpop_claims, expected, proof_with as proof, NOW, URL,
};

fn dpop_header_text(jwk: &Value) -> String {
    format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#)
}

// ---------------------------------------------------------------- client assertion helpers

use crate::protocol::client_assertion::tests::{
    assertion, claims as ca_claims, expected as ca_expected, CLIENT, ISSUER,
};

/// A 1024-bit RSA key (openssl genrsa 1024) and an assertion it signed for CLIENT, RS256.
const WEAK_N: &str = "x45jPPHD-Gm93j4QJJ8x4BvToGJkJTeyoJI2tyEhDHksY-FCIw_1QUJ-S6nnrwXZO_1vA2Z2kyBs-AKDFIwB637FGzwt09DbfF7-sxIcf7y6ZT22J4-BbLfjvIdlTb--PGPioRGmTZIBFOO-l-2H_gd2mI2L4crkcMwMZ0jMLpU";
const WEAK_ASSERTION: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6IndlYWsifQ.eyJpc3MiOiJjbGllbnQtMTIzIiwic3ViIjoiY2xpZW50LTEyMyIsImF1ZCI6Imh0dHBzOi8vYXMuZXhhbXBsZSIsImp0aSI6IndlYWstMSIsImV4cCI6MTgwMDAwMDA2MH0.imE08zmCPKA9NQx1pqCdE3Jz3sVB32Phcdclc4RnfDXu902YWeHakM73FG6xwYQQ2cv32JHbwfR8ne-5AyVe22Dikd652GI-pRSEzoH6WihiyEYiCK-laj7naqqQgjgwGW7XUmKX1Pf5gdDBGgv0gT7a9H8o9SqCMp1pJ2kU2EY";

mod assertion;
mod dpop_kinds;
mod dpop_spellings;
mod dpop_windows;
