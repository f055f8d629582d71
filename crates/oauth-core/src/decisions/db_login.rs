//! Signing in to the database itself with one of our access tokens (PostgreSQL 18's OAuth
//! validator, issue 34), as a pure decision. The validator runs while a connection is being
//! authenticated, before any database is connected, so it cannot ask the database anything:
//! what it knows of revocations comes from a snapshot published for it (`Grounds`: the token
//! families that may still log in, the keys, when it was made), and a snapshot too old to
//! trust refuses every login rather than honour what may have been revoked since.
//!
//! The token's signature, issuer and expiry are checked by the caller (with the snapshot's
//! keys); this decides the rest: the kind, the database's audience, the scope, the client, the
//! family, and the identity the connection authenticates as.

use serde_json::Value;

/// The DBA's settings for logins (`oauth_server.db_login_*`).
#[derive(Debug, Clone)]
pub struct Policy<'a> {
    /// The resource a token must be issued for (e.g. `postgres://db.example/app`).
    pub audience: &'a str,
    /// Scopes the token must all carry (the `pg_hba.conf` line's `scope`).
    pub required_scopes: &'a [String],
    /// Clients whose tokens may log in; none unless named (default deny).
    pub allowed_clients: &'a [String],
}

/// A token family as the last snapshot saw it: live (not revoked, not a machine's, its user not
/// disabled, the session of ours that approved it not ended) and what it holds today.
#[derive(Debug, Clone, Copy)]
pub struct Family<'a> {
    pub user: &'a str,
    pub client: &'a str,
    /// The scopes the family holds today (what its client may still have).
    pub scopes: &'a [String],
    /// The audiences it holds today: its resources, or the default audience when none.
    pub audiences: &'a [String],
}

/// What the validator knows of today's grounds, from the last snapshot published for it.
#[derive(Clone, Copy)]
pub struct Grounds<'a> {
    /// When it was made (epoch milliseconds: the worker's transaction start).
    pub made_at_ms: i64,
    /// How old it may be before no login is honoured (milliseconds).
    pub max_age_ms: i64,
    /// The family (`session_id`) if the snapshot holds it live.
    pub family: &'a dyn Fn(&str) -> Option<Family<'a>>,
}

/// Why a login is refused: said in the server log (never to the client, which gets only the
/// SASL failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The snapshot is older than allowed: nothing is honoured until a newer one comes.
    StaleGrounds {
        age_ms: i64,
    },
    NotAnAccessToken,
    /// Bound to a key (DPoP's `cnf`): SASL OAUTHBEARER carries no proof of possession, so a
    /// thief of the token would sign in with it.
    SenderConstrained,
    WrongAudience,
    MissingScope(String),
    ClientNotAllowed(String),
    /// A machine's token (client_credentials) names no user to log in as.
    NoUser,
    /// Not in the snapshot: revoked, its session ended, its user disabled or deleted, or newer
    /// than the snapshot (`issued_ms` says when, for the caller to wait for a newer one).
    FamilyNotLive {
        issued_ms: i64,
    },
    /// Live, but it no longer holds what the token says (a resource or scope taken since).
    FamilyNarrowed(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::StaleGrounds { age_ms } => write!(
                f,
                "the login snapshot is {age_ms} ms old (oauth_server.db_login_max_age): no token is honoured until the worker refreshes it"
            ),
            Refusal::NotAnAccessToken => write!(f, "not an access token of this server"),
            Refusal::SenderConstrained => write!(
                f,
                "the token is bound to a key (cnf), which sign-in cannot prove"
            ),
            Refusal::WrongAudience => write!(
                f,
                "the token is not for this database (its aud lacks oauth_server.db_login_audience)"
            ),
            Refusal::MissingScope(s) => write!(f, "the token lacks the scope {s:?}"),
            Refusal::ClientNotAllowed(c) => write!(
                f,
                "client {c:?} may not sign in to the database (oauth_server.db_login_clients)"
            ),
            Refusal::NoUser => write!(f, "a client's own token names no user to log in as"),
            Refusal::FamilyNotLive { .. } => write!(
                f,
                "the token's family is revoked, its session ended or its user disabled"
            ),
            Refusal::FamilyNarrowed(what) => write!(f, "the token's family no longer holds {what}"),
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Decides a login by verified `claims` (kind `access`, checked by the caller from the header
/// and claims), at `now_ms`. The identity it authenticates as (`authn_id`, which
/// `pg_ident.conf` maps to a role) is the user's local `sub`.
pub fn decide(
    claims: &Value,
    is_access_token: bool,
    policy: &Policy,
    grounds: &Grounds,
    now_ms: i64,
) -> Result<String, Refusal> {
    let age_ms = now_ms - grounds.made_at_ms;
    if age_ms > grounds.max_age_ms || age_ms < -grounds.max_age_ms {
        return Err(Refusal::StaleGrounds { age_ms });
    }
    if !is_access_token {
        return Err(Refusal::NotAnAccessToken);
    }
    if claims.get("cnf").is_some() {
        return Err(Refusal::SenderConstrained);
    }
    if policy.audience.is_empty() || !strings(claims.get("aud")).contains(&policy.audience) {
        return Err(Refusal::WrongAudience);
    }
    let scopes: Vec<&str> = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(s) = policy
        .required_scopes
        .iter()
        .find(|s| !scopes.contains(&s.as_str()))
    {
        return Err(Refusal::MissingScope(s.clone()));
    }
    let client = claims["client_id"].as_str().unwrap_or_default();
    if !policy.allowed_clients.iter().any(|c| c == client) {
        return Err(Refusal::ClientNotAllowed(client.to_string()));
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    if sub.is_empty() || sub == client {
        return Err(Refusal::NoUser);
    }
    let id = claims["session_id"].as_str().unwrap_or_default();
    let Some(family) = (grounds.family)(id) else {
        let issued_ms = claims["iat"].as_i64().unwrap_or(0).saturating_mul(1000);
        return Err(Refusal::FamilyNotLive { issued_ms });
    };
    // The family is the token's (a signed token names its own; this guards a snapshot that
    // would say otherwise), and still holds the database and the scopes today.
    if family.user != sub || family.client != client {
        return Err(Refusal::FamilyNarrowed("this user and client".into()));
    }
    if !family.audiences.iter().any(|a| a == policy.audience) {
        return Err(Refusal::FamilyNarrowed(format!(
            "the audience {:?}",
            policy.audience
        )));
    }
    if let Some(s) = policy
        .required_scopes
        .iter()
        .find(|s| !family.scopes.contains(s))
    {
        return Err(Refusal::FamilyNarrowed(format!("the scope {s:?}")));
    }
    Ok(sub.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_900_000_000_000;
    const DB: &str = "postgres://db.example/app";

    fn claims() -> Value {
        json!({"sub": "alice", "client_id": "psql", "aud": DB, "scope": "openid db:login",
               "session_id": "f1", "iat": NOW / 1000 - 10})
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    struct World {
        scopes: Vec<String>,
        audiences: Vec<String>,
        allowed: Vec<String>,
        required: Vec<String>,
    }

    fn world() -> World {
        World {
            scopes: strings(&["openid", "db:login"]),
            audiences: strings(&[DB]),
            allowed: strings(&["psql"]),
            required: strings(&["db:login"]),
        }
    }

    fn check_in(w: &World, c: &Value, made_at_ms: i64, access: bool) -> Result<String, Refusal> {
        let family = |id: &str| {
            (id == "f1").then_some(Family {
                user: "alice",
                client: "psql",
                scopes: &w.scopes,
                audiences: &w.audiences,
            })
        };
        decide(
            c,
            access,
            &Policy {
                audience: DB,
                required_scopes: &w.required,
                allowed_clients: &w.allowed,
            },
            &Grounds {
                made_at_ms,
                max_age_ms: 5000,
                family: &family,
            },
            NOW,
        )
    }

    fn check(c: &Value) -> Result<String, Refusal> {
        check_in(&world(), c, NOW - 100, true)
    }

    fn with(k: &str, v: Value) -> Value {
        let mut c = claims();
        c[k] = v;
        c
    }

    #[test]
    fn a_users_token_for_this_database_logs_in_as_its_local_user() {
        assert_eq!(check(&claims()).unwrap(), "alice");
        assert!(check(&with("aud", json!(["https://api.example", DB]))).is_ok());
    }

    #[test]
    fn each_ground_of_the_token_refuses_by_name() {
        assert_eq!(
            check(&with("aud", json!("postgres://db.example/other"))),
            Err(Refusal::WrongAudience)
        );
        // Another spelling of the audience or the scope is not it.
        assert!(check(&with("aud", json!("postgres://db.example/app/"))).is_err());
        assert_eq!(
            check(&with("scope", json!("openid"))),
            Err(Refusal::MissingScope("db:login".into()))
        );
        assert!(check(&with("scope", json!("openid db:login2"))).is_err());
        assert!(check(&with("scope", json!(["db:login"]))).is_err());
        assert_eq!(
            check(&with("client_id", json!("other"))),
            Err(Refusal::ClientNotAllowed("other".into()))
        );
        assert_eq!(check(&with("sub", json!("psql"))), Err(Refusal::NoUser));
        assert_eq!(
            check(&with("session_id", json!("revoked"))),
            Err(Refusal::FamilyNotLive {
                issued_ms: (NOW / 1000 - 10) * 1000
            })
        );
        assert_eq!(
            check_in(&world(), &claims(), NOW, false),
            Err(Refusal::NotAnAccessToken)
        );
        assert_eq!(
            check(&with("cnf", json!({"jkt": "x"}))),
            Err(Refusal::SenderConstrained)
        );
    }

    #[test]
    fn a_snapshot_too_old_or_from_the_future_honours_nothing() {
        assert_eq!(
            check_in(&world(), &claims(), NOW - 5001, true),
            Err(Refusal::StaleGrounds { age_ms: 5001 })
        );
        assert!(check_in(&world(), &claims(), NOW + 60_000, true).is_err());
    }

    #[test]
    fn what_the_family_holds_today_decides_not_what_the_token_says() {
        // A resource or a scope taken from the family since the token was issued.
        let mut w = world();
        w.audiences = strings(&["authenticated"]);
        assert!(matches!(
            check_in(&w, &claims(), NOW, true),
            Err(Refusal::FamilyNarrowed(_))
        ));
        let mut w = world();
        w.scopes = strings(&["openid"]);
        assert!(matches!(
            check_in(&w, &claims(), NOW, true),
            Err(Refusal::FamilyNarrowed(_))
        ));
        // The family is another user's (a snapshot that disagrees with the token).
        assert!(matches!(
            check(&with("sub", json!("bob"))),
            Err(Refusal::FamilyNarrowed(_))
        ));
        // Default deny: no client named, none logs in.
        let mut w = world();
        w.allowed.clear();
        assert!(matches!(
            check_in(&w, &claims(), NOW, true),
            Err(Refusal::ClientNotAllowed(_))
        ));
        // No audience configured: nothing is for this database.
        let w = world();
        let family = |_: &str| None;
        let refused = decide(
            &with("aud", json!("")),
            true,
            &Policy {
                audience: "",
                required_scopes: &w.required,
                allowed_clients: &w.allowed,
            },
            &Grounds {
                made_at_ms: NOW,
                max_age_ms: 5000,
                family: &family,
            },
            NOW,
        );
        assert_eq!(refused, Err(Refusal::WrongAudience));
    }
}
