//! Re-checking a stored decision against today's state. A refresh-token family, an approved
//! code or device request, and a pending request the user is about to approve each recorded
//! what was agreed (scopes, resources, a redirect URI) under the client, registries and user
//! of that moment. Any of those may have changed since — an administrator narrowed the
//! client's scopes, removed a resource server or a scope, pulled a redirect URI because the
//! domain was lost, took a grant type away, disabled the user — and every place that turns a
//! stored decision into a token or a redirect asks this one function first, so that none of
//! them honours what is no longer true.
//!
//! The answer is to *narrow* where what remains is still something the user agreed to (fewer
//! scopes, fewer resource servers), and to *refuse* where nothing sensible remains or the
//! grounds of the whole decision are gone:
//!
//! | changed since | answer |
//! |---|---|
//! | a scope no longer allowed for the client (narrowed, or removed from the registry) | dropped; all of a non-empty grant gone: `invalid_scope` |
//! | a resource server no longer registered | dropped; named explicitly, or all gone: `invalid_target` |
//! | the redirect URI no longer registered for the client | `invalid_grant` (never redirected to) |
//! | the grant type taken from the client | `unauthorized_client` |
//! | the user disabled | `invalid_grant` |
//! | the trusted issuer whose session approved it disabled, or removed | `invalid_grant` |
//! | that issuer's policy changed so that it would no longer admit that session | `invalid_grant` |
//!
//! The issuer of the approving session is what `user_claims->>'iss'` recorded. Ours (exactly)
//! and none recorded (a family from before 0.2.0, a login whose claims name no issuer, a
//! machine) always stand; any other must be a trusted issuer, enabled, today, whose policy
//! still admits the session as recorded (`session_jwt::rejudge`: the claims its policy judged
//! are kept under `user_claims->'judged_session'`). Re-enabling the issuer (or trusting it
//! again, or widening its policy back) makes what it approved usable again, as
//! `oauth.enable_user` does for a user: nothing was revoked, only refused while the grounds
//! were missing.

use crate::error::{invalid_grant, invalid_scope, OAuthError};
use crate::model::GrantType;
use crate::protocol::issuer_policy::IssuerPolicy;
use crate::protocol::{issuer, redirect_uri, scope, session_jwt};
use serde_json::Value;

/// What the stored decision would issue now.
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    pub scopes: &'a [String],
    pub resources: &'a [String],
    /// The redirect URI a code goes (or went) to; `None` for refresh tokens and device
    /// requests, which have none.
    pub redirect_uri: Option<&'a str>,
    /// Whether the token request named the resources itself (then a removed one is an error
    /// about the request, not something to drop quietly).
    pub resources_named: bool,
    /// The grant the client must still be registered for: authorization_code for codes and
    /// their pending requests, the device grant for device requests, refresh_token for a
    /// refresh.
    pub grant: GrantType,
}

/// Today's client, registries and user, as one store call loaded them.
#[derive(Debug, Clone, Copy)]
pub struct Current<'a> {
    /// The scopes the client may be granted today (`store::clients::allowed_scopes`: its
    /// explicit list plus offline_access, or every known scope).
    pub allowed_scopes: &'a [String],
    pub redirect_uris: &'a [String],
    pub grant_types: &'a [GrantType],
    /// Which of the recorded resources are still registered resource servers.
    pub registered_resources: &'a [String],
    pub user_disabled: bool,
    /// The issuer of the session that approved the decision, as today's registry sees it.
    pub session_issuer: SessionIssuer<'a>,
}

/// The issuer of the session that approved a decision, and what `oauth.issuers` says of it
/// now.
#[derive(Debug, Clone, Copy)]
pub struct SessionIssuer<'a> {
    /// As recorded with the decision (`user_claims->>'iss'`); `None`: none recorded.
    pub recorded: Option<&'a str>,
    /// This server's issuer today.
    pub ours: &'a str,
    /// The options (policy) of the row of `oauth.issuers` named exactly `recorded`: `None`
    /// when there is none (never trusted, or removed).
    pub options: Option<&'a Value>,
    /// The user claims recorded with the decision: where the claims the issuer's policy
    /// judged are kept (`session_jwt::RECORD`).
    pub user_claims: Option<&'a Value>,
}

impl SessionIssuer<'static> {
    /// No issuer recorded: nothing to re-check.
    pub const UNRECORDED: SessionIssuer<'static> = SessionIssuer {
        recorded: None,
        ours: "",
        options: None,
        user_claims: None,
    };
}

/// Whether a decision approved through a session of `i.recorded` still stands on it: always
/// when none is recorded or it is exactly ours (`issuer::same`); otherwise only while it is a
/// trusted issuer, not another spelling of ours (an entry that became one when the issuer
/// setting changed is refused wherever it is used, as `trusted_sessions::policy` does),
/// enabled, and whose policy today still admits the approving session as recorded
/// (`session_jwt::rejudge`). The same rule for refresh, redemption, consent, introspection
/// and access-token verification.
pub fn issuer_still_trusted(i: &SessionIssuer) -> Result<(), OAuthError> {
    let Some(iss) = i.recorded else {
        return Ok(());
    };
    if issuer::same(iss, i.ours) {
        return Ok(());
    }
    let untrusted = |why: &str| {
        invalid_grant(format!(
            "the issuer {iss} of the session that approved this is no longer trusted: {why}"
        ))
    };
    let Some(options) = i.options else {
        return Err(untrusted("it has been removed"));
    };
    if issuer::respells(iss, i.ours) {
        return Err(untrusted(
            "it is now another spelling of this server's issuer",
        ));
    }
    let policy = IssuerPolicy::from_options(iss, options)
        .map_err(|e| untrusted(&format!("its stored policy is unusable ({e})")))?;
    if !policy.enabled {
        return Err(untrusted("it has been disabled"));
    }
    session_jwt::rejudge(i.user_claims.unwrap_or(&Value::Null), iss, &policy).map_err(|why| {
        invalid_grant(format!(
            "the session that approved this would not be admitted by issuer {iss} today: {why}"
        ))
    })
}

/// What may be issued now.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
}

/// Re-checks `recorded` against `current`: what may still be issued, or why nothing may.
pub fn recheck(recorded: &Recorded, current: &Current) -> Result<Effective, OAuthError> {
    if current.user_disabled {
        return Err(invalid_grant("the user has been disabled"));
    }
    issuer_still_trusted(&current.session_issuer)?;
    if !current.grant_types.contains(&recorded.grant) {
        return Err(OAuthError::UnauthorizedClient(format!(
            "the client is no longer registered for the {} grant",
            recorded.grant.as_str()
        )));
    }
    if !redirect_still_registered(recorded, current) {
        return Err(invalid_grant(
            "the redirect_uri of this authorization is no longer registered for the client",
        ));
    }
    let scopes: Vec<String> = recorded
        .scopes
        .iter()
        .filter(|s| current.allowed_scopes.contains(s))
        .cloned()
        .collect();
    // A grant whose every scope was withdrawn would still mint a token with the user's `sub`
    // and role, which row-level policies keyed on the user alone would honour.
    if scopes.is_empty() && !recorded.scopes.is_empty() {
        return Err(invalid_scope(format!(
            "none of the granted scopes ({}) is still allowed for the client",
            scope::join(recorded.scopes)
        )));
    }
    let mut resources = Vec::with_capacity(recorded.resources.len());
    for r in recorded.resources {
        if current.registered_resources.contains(r) {
            resources.push(r.clone());
        } else if recorded.resources_named {
            return Err(removed_resource(r));
        }
    }
    // Dropping every resource would fall back to the default audience: a token for a server
    // the user never named.
    if resources.is_empty() {
        if let Some(r) = recorded.resources.first() {
            return Err(removed_resource(r));
        }
    }
    Ok(Effective { scopes, resources })
}

/// Whether the redirect URI the decision sends to (if any) is still one of the client's, as
/// authorize matches it. When it is not, nothing may be sent there, not even an error.
pub fn redirect_still_registered(recorded: &Recorded, current: &Current) -> bool {
    recorded
        .redirect_uri
        .is_none_or(|uri| redirect_uri::find_match(current.redirect_uris, uri).is_some())
}

fn removed_resource(r: &str) -> OAuthError {
    OAuthError::InvalidTarget(format!(
        "resource {r} is no longer a resource server of this authorization server"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    struct Case {
        scopes: Vec<String>,
        resources: Vec<String>,
        redirect: Option<&'static str>,
        named: bool,
        grant: GrantType,
        allowed: Vec<String>,
        uris: Vec<String>,
        grants: Vec<GrantType>,
        registered: Vec<String>,
        disabled: bool,
        issuer: Option<&'static str>,
        issuer_enabled: Option<bool>,
        /// The issuer's policy today (with `enabled` from `issuer_enabled`).
        policy: Value,
    }

    const OURS: &str = "https://auth.example";
    const IDP: &str = "https://idp.example";

    fn case() -> Case {
        Case {
            scopes: strings(&["openid", "read", "write"]),
            resources: strings(&["https://api.example", "https://mcp.example"]),
            redirect: Some("https://app.example/cb"),
            named: false,
            grant: GrantType::AuthorizationCode,
            allowed: strings(&["openid", "read", "write", "offline_access"]),
            uris: strings(&["https://app.example/cb", "http://127.0.0.1/cb"]),
            grants: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            registered: strings(&["https://api.example", "https://mcp.example"]),
            disabled: false,
            issuer: Some(IDP),
            issuer_enabled: Some(true),
            policy: json!({}),
        }
    }

    /// The user claims a decision records when a session of IDP saying `role: authenticated`
    /// approved it under IDP's default policy.
    fn approved_by_idp() -> Value {
        let policy = IssuerPolicy::from_options(IDP, &json!({})).unwrap();
        let session = session_jwt::judge(
            json!({"iss": IDP, "sub": "u1", "role": "authenticated"}),
            &policy,
        )
        .unwrap();
        json!({"iss": IDP, session_jwt::RECORD: session[session_jwt::RECORD]})
    }

    fn run(c: &Case) -> Result<Effective, OAuthError> {
        let options = c.issuer_enabled.map(|e| {
            let mut o = c.policy.clone();
            o["enabled"] = json!(e);
            o
        });
        let user_claims = approved_by_idp();
        recheck(
            &Recorded {
                scopes: &c.scopes,
                resources: &c.resources,
                redirect_uri: c.redirect,
                resources_named: c.named,
                grant: c.grant,
            },
            &Current {
                allowed_scopes: &c.allowed,
                redirect_uris: &c.uris,
                grant_types: &c.grants,
                registered_resources: &c.registered,
                user_disabled: c.disabled,
                session_issuer: SessionIssuer {
                    recorded: c.issuer,
                    ours: OURS,
                    options: options.as_ref(),
                    user_claims: Some(&user_claims),
                },
            },
        )
    }

    fn refused(c: &Case) -> (String, String) {
        let e = run(c).expect_err("expected a refusal");
        (e.code().to_string(), e.description().to_string())
    }

    #[test]
    fn unchanged_grounds_keep_the_whole_decision() {
        let c = case();
        assert_eq!(
            run(&c).unwrap(),
            Effective {
                scopes: c.scopes.clone(),
                resources: c.resources.clone()
            }
        );
        // A loopback redirect registered without a port matches with any port, as at
        // authorize.
        let c = Case {
            redirect: Some("http://127.0.0.1:5173/cb"),
            ..case()
        };
        assert!(run(&c).is_ok());
        // A grant with no scopes and no resources stays one.
        let c = Case {
            scopes: vec![],
            resources: vec![],
            ..case()
        };
        assert_eq!(run(&c).unwrap().scopes, Vec::<String>::new());
    }

    #[test]
    fn scopes_no_longer_allowed_are_dropped_but_never_all() {
        let c = Case {
            allowed: strings(&["read", "offline_access"]),
            ..case()
        };
        assert_eq!(run(&c).unwrap().scopes, strings(&["read"]));
        let c = Case {
            allowed: strings(&["offline_access"]),
            ..case()
        };
        let (code, why) = refused(&c);
        assert_eq!(code, "invalid_scope");
        assert!(why.contains("openid read write"), "{why}");
    }

    #[test]
    fn removed_resources_are_dropped_unless_named_or_all_gone() {
        let c = Case {
            registered: strings(&["https://mcp.example"]),
            ..case()
        };
        assert_eq!(
            run(&c).unwrap().resources,
            strings(&["https://mcp.example"])
        );
        let c = Case {
            registered: strings(&["https://mcp.example"]),
            named: true,
            ..case()
        };
        assert_eq!(
            refused(&c),
            (
                "invalid_target".into(),
                "resource https://api.example is no longer a resource server of this authorization server".into()
            )
        );
        let c = Case {
            registered: vec![],
            ..case()
        };
        assert_eq!(refused(&c).0, "invalid_target");
    }

    #[test]
    fn a_removed_redirect_uri_a_removed_grant_type_or_a_disabled_user_refuse() {
        let c = Case {
            uris: strings(&["https://other.example/cb"]),
            ..case()
        };
        assert_eq!(refused(&c).0, "invalid_grant");
        // Exactly: another spelling of the removed URI is not it.
        let c = Case {
            uris: strings(&["https://app.example/cb/"]),
            ..case()
        };
        assert_eq!(refused(&c).0, "invalid_grant");
        let c = Case {
            grants: vec![GrantType::RefreshToken],
            ..case()
        };
        assert_eq!(refused(&c).0, "unauthorized_client");
        let c = Case {
            redirect: None,
            grant: GrantType::DeviceCode,
            ..case()
        };
        assert_eq!(refused(&c).0, "unauthorized_client");
        let c = Case {
            disabled: true,
            ..case()
        };
        assert_eq!(
            refused(&c),
            ("invalid_grant".into(), "the user has been disabled".into())
        );
        // No redirect URI recorded (a refresh, a device request): nothing to match.
        let c = Case {
            redirect: None,
            uris: vec![],
            ..case()
        };
        assert!(run(&c).is_ok());
    }

    #[test]
    fn a_disabled_or_removed_issuer_of_the_approving_session_refuses() {
        for (enabled, why) in [(Some(false), "disabled"), (None, "removed")] {
            let c = Case {
                issuer_enabled: enabled,
                ..case()
            };
            assert_eq!(
                refused(&c),
                (
                    "invalid_grant".into(),
                    format!(
                        "the issuer {IDP} of the session that approved this is no longer trusted: it has been {why}"
                    )
                )
            );
        }
        // Enabled (again): the decision stands.
        assert!(run(&case()).is_ok());
        // Ours, exactly, or none recorded: whatever oauth.issuers says (ours is never a row).
        for recorded in [Some(OURS), None] {
            let c = Case {
                issuer: recorded,
                issuer_enabled: None,
                ..case()
            };
            assert!(run(&c).is_ok(), "{recorded:?}");
        }
        // Ours spelt another way is not ours: not trusted unless a row says so, and a row
        // that became a spelling of ours is refused too.
        for spelling in ["https://auth.example/", "HTTPS://AUTH.EXAMPLE"] {
            for enabled in [None, Some(true), Some(false)] {
                let c = Case {
                    issuer: Some(spelling),
                    issuer_enabled: enabled,
                    ..case()
                };
                assert_eq!(refused(&c).0, "invalid_grant", "{spelling} {enabled:?}");
            }
        }
        // An issuer that is not ours recorded without a row (an empty one too) is refused.
        let c = Case {
            issuer: Some(""),
            issuer_enabled: None,
            ..case()
        };
        assert_eq!(refused(&c).0, "invalid_grant");
        // A disabled user is told first; a disabled issuer before a removed grant type.
        let c = Case {
            issuer_enabled: Some(false),
            disabled: true,
            ..case()
        };
        assert!(refused(&c).1.contains("user"));
        let c = Case {
            issuer_enabled: Some(false),
            grants: vec![],
            ..case()
        };
        assert_eq!(refused(&c).0, "invalid_grant");
    }

    #[test]
    fn a_policy_that_no_longer_admits_the_approving_session_refuses() {
        for narrowed in [
            json!({"allowed_roles": ["admin"], "default_role": "admin"}),
            json!({"required_claims": {"aal": "aal2"}}),
            json!({"audience": "spa"}),
        ] {
            let c = Case {
                policy: narrowed.clone(),
                ..case()
            };
            let (code, why) = refused(&c);
            assert_eq!(code, "invalid_grant", "{narrowed}");
            assert!(
                why.contains("would not be admitted by issuer https://idp.example today"),
                "{why}"
            );
        }
        // Widened: still admitted.
        let c = Case {
            policy: json!({"allowed_roles": ["authenticated", "admin"]}),
            ..case()
        };
        assert!(run(&c).is_ok());
        // A stored policy this library cannot read refuses, never admits.
        let c = Case {
            policy: json!({"allowed_roles": "admin"}),
            ..case()
        };
        assert!(refused(&c).1.contains("unusable"));
        // Ours and none recorded are never judged by a policy.
        for recorded in [Some(OURS), None] {
            let c = Case {
                issuer: recorded,
                policy: json!({"allowed_roles": ["admin"], "default_role": "admin"}),
                ..case()
            };
            assert!(run(&c).is_ok(), "{recorded:?}");
        }
    }

    #[test]
    fn the_issuer_rule_alone() {
        let open = json!({});
        let off = json!({"enabled": false});
        let uc = approved_by_idp();
        let i = |recorded, enabled: Option<bool>| SessionIssuer {
            recorded,
            ours: OURS,
            options: enabled.map(|e| if e { &open } else { &off }),
            user_claims: Some(&uc),
        };
        assert!(issuer_still_trusted(&SessionIssuer::UNRECORDED).is_ok());
        assert!(issuer_still_trusted(&i(Some(IDP), Some(true))).is_ok());
        assert!(issuer_still_trusted(&i(Some(IDP), Some(false))).is_err());
        assert!(issuer_still_trusted(&i(Some(IDP), None)).is_err());
        assert!(issuer_still_trusted(&i(Some(OURS), None)).is_ok());
        // Exactly: a trailing slash is another issuer.
        assert!(issuer_still_trusted(&i(Some("https://idp.example/"), None)).is_err());
    }
}
