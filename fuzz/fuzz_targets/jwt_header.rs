//! Compact JWS as presented by anyone: header and payload decoding, the algorithm and kid
//! checks done before any key is looked up, and the session-token issuer dispatch.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oauth_core::protocol::{jws, session_jwt};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let _ = jws::peek_header(token);
    let _ = jws::peek_external_header(token);
    let _ = jws::unverified_claims(token);
    let _ = session_jwt::unverified_issuer(token);
});
