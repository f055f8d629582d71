//! What clients send to bind or authenticate (RFC 9449, RFC 7523), as anyone may send it: a
//! DPoP proof checked against a request (its header and claims, its jwk, its htu normalised
//! and compared), a client assertion checked against a registered key, the `dpop_jkt`
//! spelling, a key's weakness, and the assertion's subject read before any key. None may
//! panic; a proof or assertion never verifies with made-up signatures.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oauth_core::protocol::{client_assertion, client_auth, dpop, jose_rules};
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let expected = dpop::Expected {
        method: "POST",
        url: "https://as.example/oauth/token",
        now: 1_800_000_000,
        max_age_secs: 60,
        skew_secs: 5,
        access_token: Some("at"),
        nonce: None,
    };
    let _ = dpop::check(text, &expected);
    let _ = dpop::htu::matches(text, "https://as.example/oauth/token");
    let _ = dpop::valid_jkt(text);
    let _ = client_auth::assertion_subject(text);
    let key = json!({"kty": "EC", "crv": "P-256", "kid": "k1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
    let audiences = ["https://as.example"];
    let assertion = client_assertion::Expected {
        client_id: "c",
        audiences: &audiences,
        now: 1_800_000_000,
        skew_secs: 5,
    };
    assert!(client_assertion::check(text, &[key], &assertion).is_err());
    if let Ok(jwk) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = jose_rules::weak_public_key(&jwk);
        let _ = jose_rules::jwk_for_signatures(&jwk);
    }
});
