//! What the extension says and the front reads: one definition, so the two cannot drift.

/// The DETAIL `oauth.verify_session` gives when a trusted issuer's token names a key the
/// extension does not have: `unknown_kid: <issuer>`. The front fetches that issuer's keys once
/// and retries.
pub const UNKNOWN_KID_PREFIX: &str = "unknown_kid: ";

pub fn unknown_kid_detail(issuer: &str) -> String {
    format!("{UNKNOWN_KID_PREFIX}{issuer}")
}

/// The issuer named by an unknown-key DETAIL, if it is one.
pub fn unknown_kid_issuer(detail: &str) -> Option<&str> {
    detail
        .strip_prefix(UNKNOWN_KID_PREFIX)
        .filter(|i| !i.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips() {
        let d = unknown_kid_detail("https://login.example.com");
        assert_eq!(unknown_kid_issuer(&d), Some("https://login.example.com"));
        assert_eq!(unknown_kid_issuer("unknown_kid: "), None);
        assert_eq!(unknown_kid_issuer("something else"), None);
    }
}
