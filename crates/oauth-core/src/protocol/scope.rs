//! Scope strings (RFC 6749 §3.3): space-delimited, case-sensitive tokens of
//! `%x21 / %x23-5B / %x5D-7E`, order-insensitive.

use crate::error::{invalid_scope, OAuthResult};

/// The longest scope token we accept; longer ones are abuse, not scopes.
const MAX_SCOPE_LEN: usize = 128;
/// The most scopes one request may carry.
const MAX_SCOPES: usize = 64;

/// Is `s` a syntactically valid scope token?
pub fn is_valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SCOPE_LEN
        && s.bytes()
            .all(|c| c == 0x21 || (0x23..=0x5B).contains(&c) || (0x5D..=0x7E).contains(&c))
}

/// Parses a scope parameter into distinct tokens, keeping first-seen order.
pub fn parse(scope: &str) -> OAuthResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        if !is_valid_token(token) {
            return Err(invalid_scope(format!("malformed scope {token:?}")));
        }
        if !out.iter().any(|s| s == token) {
            out.push(token.to_string());
        }
    }
    if out.len() > MAX_SCOPES {
        return Err(invalid_scope(format!(
            "more than {MAX_SCOPES} scopes requested"
        )));
    }
    Ok(out)
}

/// The wire form: tokens joined by single spaces.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// Every requested scope must be in `allowed`; the error names the first one that is not.
pub fn ensure_subset(requested: &[String], allowed: &[String], what: &str) -> OAuthResult<()> {
    match requested.iter().find(|s| !allowed.contains(s)) {
        None => Ok(()),
        Some(s) => Err(invalid_scope(format!("scope {s:?} is not {what}"))),
    }
}

/// Union, keeping the order of `a` then the new ones of `b` (consents accumulate).
pub fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for s in b {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Does `granted` cover all of `requested`?
pub fn covers(granted: &[String], requested: &[String]) -> bool {
    requested.iter().all(|s| granted.contains(s))
}

/// Scopes every installation knows, with the text shown on the consent page unless
/// `oauth.scopes` overrides it.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("openid", "Sign you in with your account"),
    ("profile", "See your name and profile picture"),
    ("email", "See your email address"),
    ("phone", "See your phone number"),
    (
        OFFLINE_ACCESS,
        "Stay connected: keep access while you are not using the app",
    ),
];

/// The scopes a client may be granted: its explicit list, which always includes
/// `offline_access` (it grants nothing the client's grant types do not, and OIDC clients ask for
/// it unprompted), or, when it has none (`None`), every known scope: the built-in ones and
/// `registered` (rows of `oauth.scopes`).
pub fn allowed_for_client(explicit: Option<&[String]>, registered: &[String]) -> Vec<String> {
    match explicit {
        Some(list) => {
            let mut s = list.to_vec();
            if !s.iter().any(|x| x == OFFLINE_ACCESS) {
                s.push(OFFLINE_ACCESS.into());
            }
            s
        }
        None => {
            let mut all: Vec<String> = BUILT_IN.iter().map(|(n, _)| n.to_string()).collect();
            for r in registered {
                if !all.contains(r) {
                    all.push(r.clone());
                }
            }
            all
        }
    }
}

/// OIDC Core §11: asks for a refresh token. Every client may ask for it; whether one is issued
/// depends on the client being registered for the refresh_token grant.
pub const OFFLINE_ACCESS: &str = "offline_access";

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_and_deduplicates() {
        assert_eq!(
            parse("openid  email openid").unwrap(),
            v(&["openid", "email"])
        );
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn refuses_forbidden_characters() {
        for bad in ["a\"b", "a\\b", "é", "a\tb", "a\u{7f}"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&"a".repeat(129)).is_err());
        assert!(parse("read:things write:things").is_ok());
    }

    #[test]
    fn subset_union_cover() {
        assert!(ensure_subset(&v(&["a"]), &v(&["a", "b"]), "allowed").is_ok());
        let e = ensure_subset(&v(&["a", "c"]), &v(&["a", "b"]), "allowed").unwrap_err();
        assert_eq!(e.code(), "invalid_scope");
        assert_eq!(union(&v(&["a", "b"]), &v(&["b", "c"])), v(&["a", "b", "c"]));
        assert!(covers(&v(&["a", "b"]), &v(&["b"])));
        assert!(!covers(&v(&["a"]), &v(&["a", "b"])));
    }

    #[test]
    fn a_client_is_allowed_its_list_and_offline_access_or_every_known_scope() {
        assert_eq!(
            allowed_for_client(Some(&v(&["read"])), &v(&["write"])),
            v(&["read", "offline_access"])
        );
        assert_eq!(
            allowed_for_client(Some(&[]), &v(&["write"])),
            v(&["offline_access"])
        );
        let all = allowed_for_client(None, &v(&["write", "openid"]));
        assert!(all.contains(&"write".to_string()) && all.contains(&"openid".to_string()));
        assert_eq!(all.iter().filter(|s| *s == "openid").count(), 1);
    }

    #[test]
    fn too_many_scopes() {
        let many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
        assert!(parse(&many.join(" ")).is_err());
    }
}
