//! What trusted issuers and client metadata documents bring in: issuer options, a fetched
//! JWKS, and the claims of a session token, as arbitrary JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oauth_core::protocol::{issuer_policy, session_jwt, user_claims};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = issuer_policy::sanitize_jwks(&value);
    if let Ok(policy) = issuer_policy::IssuerPolicy::from_options("https://idp.example", &value) {
        let again = issuer_policy::IssuerPolicy::from_options("https://idp.example", &policy.to_options());
        assert_eq!(again.as_ref().ok(), Some(&policy));
        let _ = session_jwt::judge(value.clone(), &policy);
    }
    let _ = user_claims::normalise(&value);
    let _ = user_claims::from_supabase_user(&value);
});
