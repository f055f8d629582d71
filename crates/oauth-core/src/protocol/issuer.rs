//! Issuer identifiers: how two of them are compared, and what counts as a respelling of ours.
//!
//! An issuer identifier is compared as a string, exactly (RFC 8414 §3.3, OpenID Connect Core
//! §3.1.3.7, RFC 9207 §2.4): `https://idp.example` and `https://idp.example/` are two issuers,
//! and a token, a discovery document, a setting entry or a stored row names one of them. Every
//! issuer comparison in the code goes through [`same`], so none of them quietly trims, folds
//! case or decodes: a comparison that normalises lets one issuer's sessions answer for
//! another's entry (an `admin_session_roles` entry, our own bare roles, a stored policy).
//!
//! Normalising is for one refusal only: [`respells`] tells whether an identifier an
//! administrator is about to trust is another spelling of this server's own, which no trusted
//! issuer may be (its tokens would be judged by a policy instead of by our keys and sessions).

use super::issuer_policy::is_loopback;
use url::Url;

/// Whether `a` and `b` are the same issuer: the same string, byte for byte. An empty
/// identifier is nobody's.
pub fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && a == b
}

/// Whether `candidate` is another spelling of the issuer `ours` (or `ours` itself): the scheme
/// and host in any case, a host with a trailing dot, a default or explicit port, any loopback
/// host for another, a path percent-encoded, in another case, with dot segments, doubled or
/// trailing slashes. Only for refusing to trust our own issuer under another name; never for
/// deciding that a token is ours.
pub fn respells(candidate: &str, ours: &str) -> bool {
    match (loose_key(candidate), loose_key(ours)) {
        (Some(a), Some(b)) => a == b,
        // What does not parse as a URL is compared as text, folded.
        _ => fold_text(candidate) == fold_text(ours),
    }
}

fn fold_text(s: &str) -> String {
    s.trim().trim_end_matches('/').to_lowercase()
}

/// The parts of an issuer URL that name the server, with every spelling difference removed.
/// The URL parser already lowercases the scheme and host, decodes percent-encoding and IDNA in
/// the host, resolves dot segments (`.`, `%2e`) and drops a default port.
fn loose_key(s: &str) -> Option<String> {
    let url = Url::parse(s.trim()).ok()?;
    let host = if is_loopback(&url) {
        "loopback".to_string()
    } else {
        url.host_str()?.trim_end_matches('.').to_ascii_lowercase()
    };
    let port = url.port_or_known_default().unwrap_or(0);
    let path = percent_decode(url.path()).to_lowercase();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    Some(format!(
        "{}://{host}:{port}/{}",
        url.scheme(),
        segments.join("/")
    ))
}

/// Decodes every `%XX` (invalid sequences stay as they are, bytes that are not UTF-8 become
/// U+FFFD): for comparison only.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a trusted issuer's session issued at `iat` was issued before its user was revoked
/// at `revoked_at` (seconds since the epoch), and so is refused. The issuer's clock may run
/// ahead of ours by as much as we allow on `iat` (`leeway`), so a session that says it was
/// issued up to `leeway` seconds after the revocation may still be an old one: it is refused
/// too, and the user signs in again a moment later. A session without a numeric `iat` cannot
/// show that it is newer.
pub fn issued_before_revocation(iat: Option<f64>, revoked_at: f64, leeway: u64) -> bool {
    match iat {
        Some(iat) if iat.is_finite() => iat <= revoked_at + leeway as f64,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "https://auth.example.com";

    #[test]
    fn issuers_compare_exactly() {
        assert!(same(OURS, OURS));
        for other in [
            "https://auth.example.com/",
            "https://Auth.example.com",
            "HTTPS://auth.example.com",
            "https://auth.example.com:443",
            "https://auth.example.com.",
            "",
        ] {
            assert!(!same(other, OURS), "{other}");
            assert!(!same(OURS, other), "{other}");
        }
        assert!(!same("", ""));
    }

    #[test]
    fn every_spelling_of_our_issuer_is_a_respelling() {
        for spelling in [
            OURS,
            "https://auth.example.com/",
            "https://auth.example.com//",
            "HTTPS://AUTH.EXAMPLE.COM",
            "https://auth.example.com.",
            "https://auth.example.com.:443/",
            "https://auth.example.com:443",
            "https://%61uth.example.com",
            "https://auth.example.com/./",
            "https://auth.example.com/%2e/",
            " https://auth.example.com ",
        ] {
            assert!(respells(spelling, OURS), "{spelling}");
        }
        let with_path = "https://example.com/tenant/auth";
        for spelling in [
            "https://example.com/tenant/auth/",
            "https://example.com/Tenant/Auth",
            "https://example.com/tenant/%61uth",
            "https://example.com/tenant//auth",
            "https://example.com/tenant/x/../auth",
            "https://EXAMPLE.com:443/tenant/auth",
        ] {
            assert!(respells(spelling, with_path), "{spelling}");
        }
        // Any loopback host is this machine.
        assert!(respells("http://127.0.0.1:8080/", "http://localhost:8080"));
        assert!(respells("http://[::1]:8080", "http://localhost:8080"));
    }

    #[test]
    fn other_issuers_are_not_respellings() {
        for other in [
            "https://auth.example.com:8443",
            "https://auth.example.org",
            "https://login.auth.example.com",
            "https://auth.example.com/tenant",
            "http://localhost:8081",
        ] {
            assert!(!respells(other, OURS), "{other}");
        }
        assert!(!respells(
            "http://localhost:8080/x",
            "http://localhost:8080"
        ));
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("/a%2Fb%zz%4"), "/a/b%zz%4");
        assert_eq!(percent_decode("%"), "%");
    }

    #[test]
    fn sessions_issued_before_the_revocation_are_refused() {
        let revoked = 1_000.5;
        assert!(issued_before_revocation(Some(1_000.0), revoked, 0));
        assert!(issued_before_revocation(Some(1_000.5), revoked, 0));
        assert!(!issued_before_revocation(Some(1_001.0), revoked, 0));
        // The issuer's clock may be ahead by the leeway.
        assert!(issued_before_revocation(Some(1_030.0), revoked, 30));
        assert!(!issued_before_revocation(Some(1_031.0), revoked, 30));
        assert!(issued_before_revocation(None, revoked, 0));
        assert!(issued_before_revocation(Some(f64::NAN), revoked, 0));
    }
}
