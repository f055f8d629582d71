//! Redirect URIs: what may be registered, how a request's URI is matched against the
//! registered ones, and how parameters are added to the one chosen.
//!
//! Matching is exact string comparison (OAuth 2.1 §2.3.1), with one exception from RFC 8252
//! §7.3: for loopback redirects the port may differ, because native apps bind an ephemeral
//! port. Matching never normalises (no case folding, no percent-decoding, no dot-segment
//! removal): every normalisation is a way to make an attacker's URI equal a registered one.

use url::Url;

/// More than this many characters is not a redirect URI.
pub const MAX_URI_LEN: usize = 2000;
/// At most this many redirect URIs per client.
pub const MAX_REDIRECT_URIS: usize = 10;

const DANGEROUS_SCHEMES: &[&str] = &["javascript", "data", "file", "vbscript", "about", "blob"];
const LOOPBACK_HOSTS: &[&str] = &["127.0.0.1", "[::1]", "localhost"];

/// Validates a redirect URI at registration. The error says what is wrong, for the admin.
pub fn validate_registered(uri: &str) -> Result<(), String> {
    if uri.is_empty() {
        return Err("redirect URI is empty".into());
    }
    if uri.len() > MAX_URI_LEN {
        return Err(format!(
            "redirect URI is longer than {MAX_URI_LEN} characters"
        ));
    }
    if uri.bytes().any(|c| c <= b' ' || c == 0x7f) {
        return Err(format!(
            "redirect URI {uri:?} contains whitespace or control characters"
        ));
    }
    if uri.contains('#') {
        return Err(format!("redirect URI {uri:?} must not contain a fragment"));
    }
    let parsed = Url::parse(uri)
        .map_err(|e| format!("redirect URI {uri:?} is not an absolute URI ({e})"))?;
    let scheme = parsed.scheme();
    if DANGEROUS_SCHEMES.contains(&scheme) {
        return Err(format!("redirect URI scheme {scheme:?} is not allowed"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "redirect URI {uri:?} must not contain user information"
        ));
    }
    // The scheme as written must already be lower case, or exact matching would surprise.
    if !uri.starts_with(&format!("{scheme}:")) {
        return Err(format!("redirect URI {uri:?} must use a lower-case scheme"));
    }
    match scheme {
        "https" if parsed.host_str().is_none_or(str::is_empty) => {
            return Err(format!("redirect URI {uri:?} has no host"));
        }
        "http" if split_loopback(uri).is_none() => {
            return Err(format!(
                "plain http redirect URIs are allowed only for loopback hosts (127.0.0.1, [::1], localhost): {uri:?}"
            ));
        }
        // https with a host, loopback http, and the private-use schemes of native apps
        // (RFC 8252 §7.1, e.g. com.example.app:/callback).
        _ => {}
    }
    Ok(())
}

/// `http://<loopback host>[:port]<rest>` → (host, rest). `None` for anything else.
fn split_loopback(uri: &str) -> Option<(&str, &str)> {
    let after = uri.strip_prefix("http://")?;
    let host = LOOPBACK_HOSTS.iter().find(|h| after.starts_with(**h))?;
    let mut rest = &after[host.len()..];
    if let Some(port_and_rest) = rest.strip_prefix(':') {
        let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 5 || port_and_rest[..digits].parse::<u32>().ok()? > 65535 {
            return None;
        }
        rest = &port_and_rest[digits..];
    }
    if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
        return None; // e.g. http://127.0.0.1.evil.example/
    }
    Some((host, rest))
}

/// Finds the registered URI the request's `redirect_uri` matches and returns the URI to
/// redirect to (the requested one, which for loopback may carry a different port).
pub fn find_match<'a>(registered: &'a [String], requested: &'a str) -> Option<&'a str> {
    if requested.is_empty() || requested.len() > MAX_URI_LEN || requested.contains('#') {
        return None;
    }
    if registered.iter().any(|r| r == requested) {
        return Some(requested);
    }
    let (req_host, req_rest) = split_loopback(requested)?;
    registered
        .iter()
        .filter_map(|r| split_loopback(r))
        .any(|(host, rest)| host == req_host && rest == req_rest)
        .then_some(requested)
}

/// Appends query parameters to a redirect URI that may already have a query.
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let query = ser.finish();
    let sep = if uri.contains('?') {
        if uri.ends_with('?') || uri.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    format!("{uri}{sep}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs(u: &[&str]) -> Vec<String> {
        u.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn registration_rules() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?x=1",
            "http://127.0.0.1/callback",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(validate_registered(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/relative/path",
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb#",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "vbscript:x",
            "about:blank",
            "blob:https://x/y",
            "http://app.example.com/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://localhost.evil.example/cb",
            "https://user:pw@app.example.com/cb",
            "HTTPS://app.example.com/cb",
            "https://app.example.com/c b",
        ] {
            assert!(validate_registered(bad).is_err(), "{bad}");
        }
        assert!(validate_registered(&format!("https://a.example/{}", "x".repeat(2000))).is_err());
    }

    #[test]
    fn exact_match_only() {
        let r = regs(&["https://app.example.com/callback"]);
        assert!(find_match(&r, "https://app.example.com/callback").is_some());
        for bad in [
            "https://app.example.com/callback/",
            "https://app.example.com/Callback",
            "https://APP.example.com/callback",
            "https://app.example.com/callback?x=1",
            "https://app.example.com/callback#x",
            "https://app.example.com/%63allback",
            "https://app.example.com/x/../callback",
            "https://app.example.com:443/callback",
            "https://evil@app.example.com/callback",
            "https://app.example.com.evil.example/callback",
        ] {
            assert!(find_match(&r, bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn loopback_any_port() {
        let r = regs(&[
            "http://127.0.0.1/cb",
            "http://[::1]:1234/cb",
            "http://localhost/cb",
        ]);
        assert_eq!(
            find_match(&r, "http://127.0.0.1:51234/cb"),
            Some("http://127.0.0.1:51234/cb")
        );
        assert!(find_match(&r, "http://[::1]:9/cb").is_some());
        assert!(find_match(&r, "http://[::1]/cb").is_some());
        assert!(find_match(&r, "http://localhost:8080/cb").is_some());
        // The host, path and query must still match exactly.
        assert!(find_match(&r, "http://127.0.0.1:51234/cb2").is_none());
        assert!(find_match(&r, "http://127.0.0.2:51234/cb").is_none());
        assert!(find_match(&r, "http://127.0.0.1:51234/cb?x").is_none());
        assert!(find_match(&r, "http://127.0.0.1:99999/cb").is_none());
        assert!(find_match(&r, "http://127.0.0.1:/cb").is_none());
        assert!(find_match(&r, "https://127.0.0.1:443/cb").is_none());
        assert!(find_match(&r, "http://127.0.0.1.evil.example:80/cb").is_none());
        // No port exception for non-loopback registrations.
        let r = regs(&["https://app.example.com/cb"]);
        assert!(find_match(&r, "https://app.example.com:8443/cb").is_none());
    }

    #[test]
    fn query_is_appended() {
        assert_eq!(
            with_query("https://a.example/cb", &[("code", "x y"), ("state", "s&t")]),
            "https://a.example/cb?code=x+y&state=s%26t"
        );
        assert_eq!(
            with_query("https://a.example/cb?k=v", &[("code", "c")]),
            "https://a.example/cb?k=v&code=c"
        );
    }
}
