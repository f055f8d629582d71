//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection (OAuth 2.1 §4.3.1,
//! RFC 9700 §4.14.2): a used token presented again means it was stolen, so its family ends —
//! except, when the server allows a retry grace, a client presenting the token it has just
//! used again while the family has not moved on since: the answer it lost (a failover, a
//! dropped connection) is replaced by a new one, and the unused token it never received dies.

use crate::decisions::grounds::{self, Current, Effective, Recorded};
use crate::error::{invalid_grant, OAuthError};
use crate::model::GrantType;
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
    /// Mark the token used, narrow the family to what its grounds still allow (`family`), and
    /// issue the next token of the family for these scopes and this audience (never wider than
    /// the original grant nor than today's client, scopes and resources allow).
    Rotate {
        scopes: Vec<String>,
        audience: Vec<String>,
        family: Effective,
    },
    /// A used token again, within the retry grace and before the family moved on: supersede
    /// the family's open token and issue the next one, as for `Rotate`.
    Retry {
        scopes: Vec<String>,
        audience: Vec<String>,
        family: Effective,
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
/// retry (0: never); `current`: today's grounds of the family (`grounds::recheck`), judged
/// only once the token is known to be its client's, live and unused, so that whatever changed
/// never hides a reuse.
pub fn decide(
    state: Option<&RefreshState>,
    client_id: &str,
    requested_scope: Option<&str>,
    requested_resources: &[String],
    retry_grace: f64,
    current: &Current,
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
    let recorded = |scopes, resources, resources_named| Recorded {
        scopes,
        resources,
        redirect_uri: None,
        resources_named,
        grant: GrantType::RefreshToken,
    };
    // What the family may still have: kept from now on, so that a scope or resource server
    // removed and later added again (perhaps another server at the same URL) is not regained.
    let family = match grounds::recheck(&recorded(row.scopes, row.resources, false), current) {
        Ok(f) => f,
        Err(e) => return RefreshOutcome::Refuse(e),
    };
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
    let audience = match resource::narrow(requested_resources, row.resources) {
        Ok(a) => a,
        Err(e) => return RefreshOutcome::Refuse(e),
    };
    let named = !requested_resources.is_empty();
    match grounds::recheck(&recorded(&scopes, &audience, named), current) {
        Ok(issued) if retry => RefreshOutcome::Retry {
            scopes: issued.scopes,
            audience: issued.resources,
            family,
        },
        Ok(issued) => RefreshOutcome::Rotate {
            scopes: issued.scopes,
            audience: issued.resources,
            family,
        },
        Err(e) => RefreshOutcome::Refuse(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const GRANTS: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];

    /// Grounds under which nothing changed since the grant.
    fn unchanged<'a>(allowed: &'a [String], registered: &'a [String]) -> Current<'a> {
        Current {
            allowed_scopes: allowed,
            redirect_uris: &[],
            grant_types: GRANTS,
            registered_resources: registered,
            user_disabled: false,
            session_issuer: grounds::SessionIssuer::UNRECORDED,
        }
    }

    fn all_scopes() -> Vec<String> {
        strings(&["openid", "read", "write", "admin", "offline_access"])
    }

    fn all_resources() -> Vec<String> {
        strings(&[
            "https://api.example",
            "https://mcp.example",
            "https://evil.example",
        ])
    }

    /// A rotation's issued scopes and audience, the family as it was granted.
    fn rotate(scopes: &[&str], audience: &[&str]) -> RefreshOutcome {
        RefreshOutcome::Rotate {
            scopes: strings(scopes),
            audience: strings(audience),
            family: Effective {
                scopes: strings(&["openid", "read", "write"]),
                resources: strings(&["https://api.example", "https://mcp.example"]),
            },
        }
    }

    /// The family `openid read write` for two resources, presented under `current`.
    fn present(
        current: &Current,
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
        decide(Some(&row), client, scope, &strings(resources), 0.0, current)
    }

    /// That family under grounds that did not change.
    fn check(
        used: bool,
        expired: bool,
        revoked: bool,
        client: &str,
        scope: Option<&str>,
        resources: &[&str],
    ) -> RefreshOutcome {
        let (allowed, registered) = (all_scopes(), all_resources());
        let current = unchanged(&allowed, &registered);
        present(&current, used, expired, revoked, client, scope, resources)
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
            rotate(
                &["openid", "read", "write"],
                &["https://api.example", "https://mcp.example"]
            )
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
            rotate(&["read"], &["https://mcp.example"])
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
        let (allowed, registered) = (all_scopes(), all_resources());
        let current = unchanged(&allowed, &registered);
        assert!(refusal(decide(None, "app", None, &[], 0.0, &current))
            .ends_with("refresh token is invalid"));
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
        let (allowed, registered) = (all_scopes(), all_resources());
        decide(
            Some(&row),
            "app",
            scope,
            &[],
            grace,
            &unchanged(&allowed, &registered),
        )
    }

    #[test]
    fn a_used_token_is_a_retry_only_within_the_grace_and_before_the_family_moved_on() {
        let retry = RefreshOutcome::Retry {
            scopes: strings(&["openid", "read"]),
            audience: vec![],
            family: Effective {
                scopes: strings(&["openid", "read"]),
                resources: vec![],
            },
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
        let (allowed, registered) = (all_scopes(), all_resources());
        let current = unchanged(&allowed, &registered);
        assert!(
            refusal(decide(Some(&row), "other", None, &[], 10.0, &current))
                .contains("another client")
        );
    }

    /// That family, unexpired and unrevoked, refreshed by its client under `current`.
    fn under(
        current: &Current,
        used: bool,
        scope: Option<&str>,
        resources: &[&str],
    ) -> RefreshOutcome {
        present(current, used, false, false, "app", scope, resources)
    }

    #[test]
    fn the_family_is_narrowed_to_its_grounds_today() {
        let allowed = strings(&["openid", "read", "offline_access"]);
        let registered = strings(&["https://mcp.example"]);
        let current = unchanged(&allowed, &registered);
        let narrowed = Effective {
            scopes: strings(&["openid", "read"]),
            resources: strings(&["https://mcp.example"]),
        };
        assert_eq!(
            under(&current, false, None, &[]),
            RefreshOutcome::Rotate {
                scopes: strings(&["openid", "read"]),
                audience: strings(&["https://mcp.example"]),
                family: narrowed.clone(),
            }
        );
        // Asking for a removed scope among others: the others; only for it: invalid_scope.
        assert_eq!(
            under(&current, false, Some("read write"), &[]),
            RefreshOutcome::Rotate {
                scopes: strings(&["read"]),
                audience: strings(&["https://mcp.example"]),
                family: narrowed,
            }
        );
        assert!(refusal(under(&current, false, Some("write"), &[])).starts_with("invalid_scope"));
        // Naming a removed resource server: invalid_target, never its audience.
        assert!(
            refusal(under(&current, false, None, &["https://api.example"]))
                .starts_with("invalid_target")
        );
        // Every resource server gone: no fallback to the default audience.
        let none: Vec<String> = vec![];
        assert!(
            refusal(under(&unchanged(&allowed, &none), false, None, &[]))
                .starts_with("invalid_target")
        );
    }

    #[test]
    fn changed_grounds_refuse_without_hiding_a_reuse() {
        let (allowed, registered) = (all_scopes(), all_resources());
        let disabled = Current {
            user_disabled: true,
            ..unchanged(&allowed, &registered)
        };
        assert!(refusal(under(&disabled, false, None, &[])).contains("disabled"));
        // A stolen token presented again is still reuse, whatever changed.
        assert_eq!(under(&disabled, true, None, &[]), RefreshOutcome::Reused);
        let no_refresh = Current {
            grant_types: &[GrantType::AuthorizationCode],
            ..unchanged(&allowed, &registered)
        };
        assert!(refusal(under(&no_refresh, false, None, &[])).starts_with("unauthorized_client"));
        // The trusted issuer whose session approved the family, disabled since.
        let issuer_off = Current {
            session_issuer: grounds::SessionIssuer {
                recorded: Some("https://idp.example"),
                ours: "https://auth.example",
                options: Some(&serde_json::json!({"enabled": false})),
                user_claims: None,
            },
            ..unchanged(&allowed, &registered)
        };
        assert!(refusal(under(&issuer_off, false, None, &[])).contains("no longer trusted"));
        assert_eq!(under(&issuer_off, true, None, &[]), RefreshOutcome::Reused);
    }
}
