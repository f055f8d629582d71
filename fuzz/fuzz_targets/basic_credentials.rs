//! HTTP Basic client credentials (RFC 6749 §2.3.1: base64, then form-URL-decoding of each
//! part) and the choice of one authentication method per request.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oauth_core::protocol::client_auth;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = client_auth::parse_basic(s);
    let _ = client_auth::form_url_decode(s);
    let mid = (0..=s.len() / 2).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
    let (a, b) = s.split_at(mid);
    let _ = client_auth::credentials(Some(s), Some(a), Some(b));
    let _ = client_auth::credentials(None, Some(a), Some(b));
});
