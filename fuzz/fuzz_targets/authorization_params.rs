//! Authorization and token request parameters as they reach the extension (a JSON object made
//! from a query string or form): every accessor, and the parsers of the values (scope, PKCE,
//! resource, user code), on arbitrary JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oauth_core::protocol::{params::Params, pkce, resource, scope, user_code};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(p) = Params::new(&value) else { return };
    for name in ["client_id", "scope", "state", "code_challenge", "code_challenge_method", "prompt"] {
        let _ = p.get(name);
    }
    if let Ok(Some(s)) = p.get("scope") {
        let _ = scope::parse(s);
    }
    let _ = pkce::validate_challenge(
        p.get("code_challenge").ok().flatten(),
        p.get("code_challenge_method").ok().flatten(),
    );
    if let Ok(Some(v)) = p.get("code_verifier") {
        let _ = pkce::verify(Some(v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
    if let Ok(list) = p.get_all("resource") {
        if let Ok(r) = resource::parse(&list) {
            let _ = resource::narrow(&r, &r);
        }
    }
    if let Ok(Some(code)) = p.get("user_code") {
        if let Some(n) = user_code::normalize(code) {
            assert_eq!(user_code::normalize(&user_code::display(&n)), Some(n));
        }
    }
});
