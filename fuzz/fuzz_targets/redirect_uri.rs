//! Redirect URIs: registration validation and matching a requested URI against registered
//! ones. Whatever the input, a match is either exact or a loopback URI differing only in port.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oauth_core::protocol::redirect_uri;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (registered, requested) = s.split_once('\n').unwrap_or((s, s));
    let _ = redirect_uri::validate_registered(registered);
    let list = vec![registered.to_string(), "http://127.0.0.1/cb".to_string()];
    if let Some(m) = redirect_uri::find_match(&list, requested) {
        // The open-redirector invariant: only a registered URI (or its loopback port variant)
        // is ever returned.
        assert!(list.iter().any(|r| r == m));
    }
    let _ = redirect_uri::with_query(registered, &[("code", requested), ("state", s)]);
});
