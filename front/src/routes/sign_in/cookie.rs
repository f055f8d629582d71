//! The cookie that binds a sign-in attempt to the browser that started it.

use axum::http::{header, HeaderMap, HeaderValue};

/// `__Host-` binds the cookie to this exact origin (Secure, Path=/, no Domain), so a sibling
/// subdomain cannot plant one; plain http (development) cannot have it.
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-oauth_sign_in"
    } else {
        "oauth_sign_in"
    }
}

/// The binding cookie. SameSite=None over https because Apple posts the callback from its
/// own site; over http browsers refuse None without Secure, so Lax (GET callbacks only).
pub fn binding_cookie(https: bool, value: &str, max_age: u64) -> Option<HeaderValue> {
    let octets_ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'));
    if !octets_ok {
        return None;
    }
    let attributes = if https {
        "Secure; SameSite=None"
    } else {
        "SameSite=Lax"
    };
    let name = cookie_name(https);
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; {attributes}"
    ))
    .ok()
}

/// The first cookie called `name` the browser sent.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_host_bound_and_cross_site_over_https_and_lax_over_http() {
        let https = binding_cookie(true, "b1nd-ing_", 600).unwrap();
        assert_eq!(
            https,
            "__Host-oauth_sign_in=b1nd-ing_; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=None"
        );
        let http = binding_cookie(false, "abc", 60).unwrap();
        assert_eq!(
            http,
            "oauth_sign_in=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        for bad in ["", "a;b", "a b", "a,b", "\"a\"", "é"] {
            assert!(binding_cookie(true, bad, 600).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_scheme_picks_the_cookie_name() {
        assert_eq!(cookie_name(true), "__Host-oauth_sign_in");
        assert_eq!(cookie_name(false), "oauth_sign_in");
    }

    #[test]
    fn the_binding_is_read_from_the_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; oauth_sign_in_x=no; oauth_sign_in=yes"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("oauth_sign_in=later"),
        );
        assert_eq!(cookie_value(&h, "oauth_sign_in"), Some("yes"));
        assert_eq!(cookie_value(&h, "__Host-oauth_sign_in"), None);
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("oauth_sign_in="));
        assert_eq!(cookie_value(&h, "oauth_sign_in"), None);
    }
}
