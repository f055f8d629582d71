//! The `htu` of a DPoP proof against the URL the request reached (RFC 9449 §4.3, check 9):
//! both without query and fragment, compared after RFC 3986's syntax-based (§6.2.2) and
//! scheme-based (§6.2.3) normalisation. So `HTTPS://AS.example:443/oauth/%74oken` is the token
//! endpoint, and `https://as.example/oauth/token/..%2Ftoken` is not.

use url::Url;

/// The normal form of an http(s) URL as a DPoP proof's `htu` or a request's target, or why it
/// cannot be one.
pub fn normalize(raw: &str) -> Result<String, String> {
    // WHATWG parsing would drop tabs and newlines anywhere and spaces at the ends: a URL of a
    // request has none, so neither may the htu.
    if raw.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err("htu contains spaces or control characters".into());
    }
    // WHATWG parsing lowercases scheme and host, drops the scheme's default port, makes an
    // empty path "/" and removes dot segments: §6.2.2.1, §6.2.2.3 and §6.2.3.
    let url = Url::parse(raw).map_err(|e| format!("htu is not a URL ({e})"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("htu is not an http(s) URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("htu carries user information".into());
    }
    // A "%" that starts no escape would make one once escapes are decoded ("%%74" → "%t").
    let path = url.path().as_bytes();
    let hex_at = |i: usize| path.get(i).is_some_and(u8::is_ascii_hexdigit);
    if (0..path.len()).any(|i| path[i] == b'%' && !(hex_at(i + 1) && hex_at(i + 2))) {
        return Err("htu has a \"%\" that is not an escape".into());
    }
    let host = url.host_str().ok_or("htu has no host")?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!(
        "{}://{host}{port}{}",
        url.scheme(),
        percent_encoding_normal(url.path())
    ))
}

/// §6.2.2.2: percent-encoded unreserved characters decoded, other escapes in upper case. An
/// encoded "/" stays encoded (it is not the same path). The parser has already taken `%2E`
/// segments as dot segments, as RFC 3986's order (escapes first, then dot segments) would: an
/// encoded "." left is inside a longer segment, and decoding it makes no new dot segment.
fn percent_encoding_normal(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let digit = |at: usize| bytes.get(at).and_then(|b| hex(*b));
            if let (Some(hi), Some(lo)) = (digit(i + 1), digit(i + 2)) {
                let c = (hi << 4 | lo) as char;
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~') {
                    out.push(c);
                } else {
                    out.push('%');
                    out.push(bytes[i + 1].to_ascii_uppercase() as char);
                    out.push(bytes[i + 2].to_ascii_uppercase() as char);
                }
                i += 3;
                continue;
            }
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Whether a proof's `htu` names the URL the request reached.
pub fn matches(htu: &str, request_url: &str) -> Result<bool, String> {
    Ok(normalize(htu)? == normalize(request_url)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "https://as.example/oauth/token";

    #[test]
    fn spellings_of_the_same_endpoint_match() {
        for htu in [
            TOKEN,
            "HTTPS://AS.EXAMPLE/oauth/token",
            "https://as.example:443/oauth/token",
            "https://as.example/oauth/%74oken",
            "https://as.example/oauth/./token",
            "https://as.example/x/../oauth/token",
            "https://as.example/oauth/token?query=ignored",
            "https://as.example/oauth/token#fragment",
            "https://as.example/oauth/%2E%2E/oauth/token",
        ] {
            assert_eq!(matches(htu, TOKEN), Ok(true), "{htu}");
        }
        assert_eq!(
            matches("https://as.example", "https://as.example/"),
            Ok(true)
        );
        assert_eq!(
            matches("https://as.example/a%2Eb", "https://as.example/a.b"),
            Ok(true)
        );
        assert_eq!(
            matches("https://as.example/a%2fb", "https://as.example/a%2Fb"),
            Ok(true),
            "escapes compare in upper case"
        );
    }

    #[test]
    fn other_endpoints_schemes_hosts_and_ports_do_not() {
        for htu in [
            "https://as.example/oauth/userinfo",
            "http://as.example/oauth/token",
            "https://as.example:8443/oauth/token",
            "https://other.example/oauth/token",
            "https://as.example/oauth/token/",
            "https://as.example/oauth/TOKEN",
            "https://as.example/oauth%2Ftoken",
            "https://as.example/oauth/token/..%2Ftoken",
            "https://as.example./oauth/token",
        ] {
            assert_eq!(matches(htu, TOKEN), Ok(false), "{htu}");
        }
    }

    #[test]
    fn what_is_not_an_http_url_is_refused() {
        for htu in [
            "",
            "/oauth/token",
            "as.example/oauth/token",
            "ftp://as.example/oauth/token",
            "https://user:pw@as.example/oauth/token",
            "https://user@as.example/oauth/token",
            "urn:x:y",
            "https://as.example/oauth/to\tken",
            " https://as.example/oauth/token",
            "https://as.example/oauth/token\n",
        ] {
            assert!(matches(htu, TOKEN).is_err(), "{htu}");
        }
    }

    #[test]
    fn a_percent_sign_that_is_not_an_escape_is_refused() {
        for htu in [
            "https://a.example/x%4",
            "https://a.example/x%zz",
            "https://a.example/r/%%74",
        ] {
            assert!(normalize(htu).is_err(), "{htu}");
        }
    }
}
