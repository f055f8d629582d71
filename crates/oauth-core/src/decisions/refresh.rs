//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection (OAuth 2.1 §4.3.1,
//! RFC 9700 §4.14.2): a used token presented again means it was stolen, so its family ends —
//! except, when the server allows a retry grace, a client presenting the token it has just
//! used again while the family has not moved on since: the answer it lost (a failover, a
//! dropped connection) is replaced by a new one, and the unused token it never received dies.

use crate::error::{invalid_grant, OAuthError};
use crate::protocol::{resource, scope};

/// The presented refresh token and its family, as locked for this transaction.
#[derive(Debug, Clone, Copy)]
pub struct RefreshState<'a> {
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub resources: &'a [String],
    pub used: bool,
    pub expired: bool,
    pub revoked: bool,
    /// For a used token whose rotation's successor is the family's open token and after which
    /// nothing of the family was used: seconds since that rotation.
    pub retry_age: Option<f64>,
}

#[derive(Debug, PartialEq)]
pub enum RefreshOutcome {
    /// Mark the token used and issue the next one of the family, for these scopes and this
    /// audience (never wider than the original grant).
    Rotate {
        scopes: Vec<String>,
        audience: Vec<String>,
    },
    /// A used token again, within the retry grace and before the family moved on: supersede
    /// the family's open token and issue the next one, as for `Rotate`.
    Retry {
        scopes: Vec<String>,
        audience: Vec<String>,
    },
    /// A used token again: revoke the family, then answer [`reuse_error`].
    Reused,
    Refuse(OAuthError),
}

pub fn reuse_error() -> OAuthError {
    invalid_grant("refresh token has already been used; its token family is revoked")
}

/// `state`: the row of the token's hash, if any; `client_id`: the authenticated client;
/// `retry_grace`: seconds after a rotation during which its token may be presented again as a
/// retry (0: never).
pub fn decide(
    state: Option<&RefreshState>,
    client_id: &str,
    requested_scope: Option<&str>,
    requested_resources: &[String],
    retry_grace: f64,
) -> RefreshOutcome {
    let Some(row) = state else {
        return RefreshOutcome::Refuse(invalid_grant("refresh token is invalid"));
    };
    // Another client's token is refused before reuse is judged: presenting a token stolen
    // from another client must not let anyone end that client's family.
    if row.client_id != client_id {
        return RefreshOutcome::Refuse(invalid_grant("refresh token was issued to another client"));
    }
    if row.revoked {
        return RefreshOutcome::Refuse(invalid_grant("refresh token has been revoked"));
    }
    let retry = row.used
        && !row.expired
        && retry_grace > 0.0
        && row
            .retry_age
            .is_some_and(|age| (0.0..=retry_grace).contains(&age));
    if row.used && !retry {
        return RefreshOutcome::Reused;
    }
    if row.expired {
        return RefreshOutcome::Refuse(invalid_grant("refresh token has expired"));
    }
    let scopes = match requested_scope.filter(|s| !s.trim().is_empty()) {
        Some(s) => match scope::parse(s).and_then(|requested| {
            scope::ensure_subset(&requested, row.scopes, "part of the original grant")
                .map(|()| requested)
        }) {
            Ok(requested) => requested,
            Err(e) => return RefreshOutcome::Refuse(e),
        },
        None => row.scopes.to_vec(),
    };
    match resource::narrow(requested_resources, row.resources) {
        Ok(audience) if retry => RefreshOutcome::Retry { scopes, audience },
        Ok(audience) => RefreshOutcome::Rotate { scopes, audience },
        Err(e) => RefreshOutcome::Refuse(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn check(
        used: bool,
        expired: bool,
        revoked: bool,
        client: &str,
        scope: Option<&str>,
        resources: &[&str],
    ) -> RefreshOutcome {
        let scopes = strings(&["openid", "read", "write"]);
        let granted = strings(&["https://api.example", "https://mcp.example"]);
        let row = RefreshState {
            client_id: "app",
            scopes: &scopes,
            resources: &granted,
            used,
            expired,
            revoked,
            retry_age: None,
        };
        decide(Some(&row), client, scope, &strings(resources), 0.0)
    }

    fn refusal(o: RefreshOutcome) -> String {
        match o {
            RefreshOutcome::Refuse(e) => format!("{}: {}", e.code(), e.description()),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_fresh_token_rotates_with_the_grant_or_narrower() {
        assert_eq!(
            check(false, false, false, "app", None, &[]),
            RefreshOutcome::Rotate {
                scopes: strings(&["openid", "read", "write"]),
                audience: strings(&["https://api.example", "https://mcp.example"]),
            }
        );
        assert_eq!(
            check(
                false,
                false,
                false,
                "app",
                Some("read"),
                &["https://mcp.example"]
            ),
            RefreshOutcome::Rotate {
                scopes: strings(&["read"]),
                audience: strings(&["https://mcp.example"]),
            }
        );
        // A blank scope is no scope parameter.
        assert!(matches!(
            check(false, false, false, "app", Some("  "), &[]),
            RefreshOutcome::Rotate { .. }
        ));
    }

    #[test]
    fn reuse_ends_the_family_but_only_for_its_own_client() {
        assert_eq!(
            check(true, false, false, "app", None, &[]),
            RefreshOutcome::Reused
        );
        // Expired and used: still reuse (the thief's copy is as good a signal).
        assert_eq!(
            check(true, true, false, "app", None, &[]),
            RefreshOutcome::Reused
        );
        assert!(refusal(check(true, false, false, "other", None, &[])).contains("another client"));
        assert!(refusal(check(true, false, true, "app", None, &[])).contains("revoked"));
        assert_eq!(reuse_error().code(), "invalid_grant");
    }

    #[test]
    fn unknown_revoked_expired_and_wider_requests_are_refused() {
        assert!(refusal(decide(None, "app", None, &[], 0.0)).ends_with("refresh token is invalid"));
        assert!(refusal(check(false, false, true, "app", None, &[])).contains("revoked"));
        assert!(refusal(check(false, true, false, "app", None, &[])).contains("expired"));
        assert!(
            refusal(check(false, false, false, "app", Some("admin"), &[]))
                .starts_with("invalid_scope")
        );
        assert!(refusal(check(
            false,
            false,
            false,
            "app",
            Some("read"),
            &["https://evil.example"]
        ))
        .starts_with("invalid_target"));
    }

    fn retried(age: Option<f64>, grace: f64, expired: bool, scope: Option<&str>) -> RefreshOutcome {
        let scopes = strings(&["openid", "read"]);
        let row = RefreshState {
            client_id: "app",
            scopes: &scopes,
            resources: &[],
            used: true,
            expired,
            revoked: false,
            retry_age: age,
        };
        decide(Some(&row), "app", scope, &[], grace)
    }

    #[test]
    fn a_used_token_is_a_retry_only_within_the_grace_and_before_the_family_moved_on() {
        let retry = RefreshOutcome::Retry {
            scopes: strings(&["openid", "read"]),
            audience: vec![],
        };
        assert_eq!(retried(Some(2.0), 10.0, false, None), retry);
        assert_eq!(retried(Some(0.0), 10.0, false, None), retry);
        // No grace configured, past the grace, or the family moved on (no retry age): reuse.
        assert_eq!(retried(Some(0.0), 0.0, false, None), RefreshOutcome::Reused);
        assert_eq!(
            retried(Some(10.5), 10.0, false, None),
            RefreshOutcome::Reused
        );
        assert_eq!(retried(None, 10.0, false, None), RefreshOutcome::Reused);
        assert_eq!(
            retried(Some(-1.0), 10.0, false, None),
            RefreshOutcome::Reused
        );
        // A superseded (expired) token is never retried: presenting it is reuse.
        assert_eq!(retried(Some(1.0), 10.0, true, None), RefreshOutcome::Reused);
        // A retry is held to the grant like any refresh.
        assert!(
            refusal(retried(Some(1.0), 10.0, false, Some("admin"))).starts_with("invalid_scope")
        );
        // Another client's token is refused before anything else.
        let scopes = strings(&["openid"]);
        let row = RefreshState {
            client_id: "app",
            scopes: &scopes,
            resources: &[],
            used: true,
            expired: false,
            revoked: false,
            retry_age: Some(1.0),
        };
        assert!(refusal(decide(Some(&row), "other", None, &[], 10.0)).contains("another client"));
    }
}
