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

/// What the validator knows of today's grounds, from the last snapshot published for it.
#[derive(Clone, Copy)]
pub struct Grounds<'a> {
    /// When it was made (epoch seconds).
    pub made_at: i64,
    /// How old it may be before no login is honoured (seconds).
    pub max_age: i64,
    /// Whether the token's family (its `session_id`) may log in now: not revoked, its user not
    /// disabled, its approving session not ended, its client still allowed.
    pub family_live: &'a dyn Fn(&str) -> bool,
}

/// Why a login is refused: said in the server log (never to the client, which gets only the
/// SASL failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The snapshot is older than allowed: nothing is honoured until a newer one comes.
    StaleGrounds {
        age: i64,
    },
    NotAnAccessToken,
    WrongAudience,
    MissingScope(String),
    ClientNotAllowed(String),
    /// A machine's token (client_credentials) names no user to log in as.
    NoUser,
    /// Revoked, its session ended, its user disabled, or unknown to the snapshot.
    FamilyNotLive,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::StaleGrounds { age } => write!(
                f,
                "the revocation snapshot is {age} s old: no token is honoured until it is refreshed"
            ),
            Refusal::NotAnAccessToken => write!(f, "not an access token of this server"),
            Refusal::WrongAudience => write!(f, "the token is not for this database (aud)"),
            Refusal::MissingScope(s) => write!(f, "the token lacks the scope {s:?}"),
            Refusal::ClientNotAllowed(c) => write!(
                f,
                "client {c:?} may not log in to the database (oauth_server.db_login_clients)"
            ),
            Refusal::NoUser => write!(f, "a client's own token names no user to log in as"),
            Refusal::FamilyNotLive => write!(
                f,
                "the token's family is revoked, its session ended or its user disabled"
            ),
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
/// and claims), at `now`. The identity it authenticates as (`authn_id`, which `pg_ident.conf`
/// maps to a role) is the user's local `sub`.
pub fn decide(
    claims: &Value,
    is_access_token: bool,
    policy: &Policy,
    grounds: &Grounds,
    now: i64,
) -> Result<String, Refusal> {
    let age = now - grounds.made_at;
    if age > grounds.max_age || age < -grounds.max_age {
        return Err(Refusal::StaleGrounds { age });
    }
    if !is_access_token {
        return Err(Refusal::NotAnAccessToken);
    }
    if !strings(claims.get("aud")).contains(&policy.audience) {
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
    let family = claims["session_id"].as_str().unwrap_or_default();
    if !(grounds.family_live)(family) {
        return Err(Refusal::FamilyNotLive);
    }
    Ok(sub.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_900_000_000;
    const DB: &str = "postgres://db.example/app";

    fn claims() -> Value {
        json!({"sub": "alice", "client_id": "psql", "aud": DB, "scope": "openid db:login",
               "session_id": "f1"})
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn check(c: &Value, live: &dyn Fn(&str) -> bool, made_at: i64) -> Result<String, Refusal> {
        let scopes = strings(&["db:login"]);
        let clients = strings(&["psql"]);
        decide(
            c,
            true,
            &Policy {
                audience: DB,
                required_scopes: &scopes,
                allowed_clients: &clients,
            },
            &Grounds {
                made_at,
                max_age: 5,
                family_live: live,
            },
            NOW,
        )
    }

    #[test]
    fn a_users_token_for_this_database_logs_in_as_its_local_user() {
        let live = |f: &str| f == "f1";
        assert_eq!(check(&claims(), &live, NOW - 1).unwrap(), "alice");
        let mut several = claims();
        several["aud"] = json!(["https://api.example", DB]);
        assert!(check(&several, &live, NOW).is_ok());
    }

    #[test]
    fn each_ground_refuses_by_name() {
        let live = |f: &str| f == "f1";
        let with = |k: &str, v: Value| {
            let mut c = claims();
            c[k] = v;
            c
        };
        assert_eq!(
            check(
                &with("aud", json!("postgres://db.example/other")),
                &live,
                NOW
            ),
            Err(Refusal::WrongAudience)
        );
        assert_eq!(
            check(&with("scope", json!("openid")), &live, NOW),
            Err(Refusal::MissingScope("db:login".into()))
        );
        // Another spelling of the scope is not the scope.
        assert!(check(&with("scope", json!("openid db:login2")), &live, NOW).is_err());
        assert_eq!(
            check(&with("client_id", json!("other")), &live, NOW),
            Err(Refusal::ClientNotAllowed("other".into()))
        );
        assert_eq!(
            check(&with("sub", json!("psql")), &live, NOW),
            Err(Refusal::NoUser)
        );
        assert_eq!(
            check(&with("session_id", json!("revoked")), &live, NOW),
            Err(Refusal::FamilyNotLive)
        );
        // A snapshot too old (or from the future) honours nothing.
        assert_eq!(
            check(&claims(), &live, NOW - 6),
            Err(Refusal::StaleGrounds { age: 6 })
        );
        assert!(check(&claims(), &live, NOW + 60).is_err());
        // Another kind of token, whatever its claims say.
        let scopes = strings(&["db:login"]);
        let clients = strings(&["psql"]);
        let refused = decide(
            &claims(),
            false,
            &Policy {
                audience: DB,
                required_scopes: &scopes,
                allowed_clients: &clients,
            },
            &Grounds {
                made_at: NOW,
                max_age: 5,
                family_live: &live,
            },
            NOW,
        );
        assert_eq!(refused, Err(Refusal::NotAnAccessToken));
        // Default deny: no client named, none logs in.
        let none: Vec<String> = Vec::new();
        let refused = decide(
            &claims(),
            true,
            &Policy {
                audience: DB,
                required_scopes: &scopes,
                allowed_clients: &none,
            },
            &Grounds {
                made_at: NOW,
                max_age: 5,
                family_live: &live,
            },
            NOW,
        );
        assert!(matches!(refused, Err(Refusal::ClientNotAllowed(_))));
    }
}
