//! What the database login validator (PostgreSQL 18's OAuth validator, issue 34) knows, since
//! it runs before any database is connected and cannot ask: a snapshot the extension's
//! background worker publishes and refreshes (the public signing keys, the token families that
//! may still log in with what each holds today, when it was made), and the whole check of a
//! login against it: the signature by one of its keys, our issuer, the expiry, the kind, then
//! `decisions::db_login`. A snapshot that cannot be read refuses every login.

use crate::decisions::db_login::{self, Family, Grounds, Policy, Refusal};
use crate::protocol::{jws, token_kind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// A live family as published (see [`db_login::Family`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedFamily {
    pub user: String,
    pub client: String,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    /// The trusted issuer whose session approved it; `None` for ours (or none recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

impl PublishedFamily {
    /// What a connection signed in with this family authenticates as (`pg_ident.conf` maps
    /// it): the local `sub` of our own users; `issuer#sub` for a trusted issuer's, so that two
    /// issuers' users with the same `sub`, or one of ours, are never the same identity.
    pub fn authn_id(&self) -> String {
        match &self.issuer {
            None => self.user.clone(),
            Some(iss) => format!("{iss}#{}", self.user),
        }
    }
}

/// The published snapshot (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Epoch milliseconds: when the transaction that read it started.
    pub made_at_ms: i64,
    /// This server's issuer when it was made.
    pub issuer: String,
    /// The public signing keys (current, next, previous), as the JWKS lists them.
    pub keys: Vec<Value>,
    /// The live families of the clients allowed to log in, by id (`session_id`).
    pub families: HashMap<String, PublishedFamily>,
}

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Not a token of ours that verifies now (signature, key, issuer, expiry).
    Invalid(String),
    /// Refused by the decision (`db_login::Refusal`).
    Refused(Refusal),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Invalid(m) => write!(f, "the token does not verify: {m}"),
            Failure::Refused(r) => write!(f, "{r}"),
        }
    }
}

/// A login the snapshot accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// What the connection authenticates as ([`PublishedFamily::authn_id`]).
    pub authn_id: String,
    /// The token's verified claims (what `oauth.jwt()` and the RLS helpers read in the session).
    pub claims: Value,
}

impl Failure {
    /// A family the snapshot does not hold, of a token issued so recently that the snapshot may
    /// predate its family (`iat` has whole seconds, and the family commits a moment after it):
    /// worth one wait for a newer snapshot.
    pub fn may_be_newer_than(&self, made_at_ms: i64) -> bool {
        matches!(self, Failure::Refused(Refusal::FamilyNotLive { issued_ms })
                 if issued_ms + NEWER_MARGIN_MS >= made_at_ms)
    }

    /// The snapshot that settles it: one made after this (epoch ms).
    pub fn settled_after(&self) -> i64 {
        match self {
            Failure::Refused(Refusal::FamilyNotLive { issued_ms }) => issued_ms + NEWER_MARGIN_MS,
            _ => 0,
        }
    }
}

/// `iat` truncated to the second (up to 1 s) plus the commit of the family after it.
const NEWER_MARGIN_MS: i64 = 1500;

impl Snapshot {
    pub fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("the login snapshot is unreadable: {e}"))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Checks a login by `token` under `policy` at `now_ms`; `max_age_ms` bounds the
    /// snapshot's age, `leeway` (seconds) the clock skew on `exp`.
    pub fn check(
        &self,
        token: &str,
        policy: &Policy,
        now_ms: i64,
        max_age_ms: i64,
        leeway: u64,
    ) -> Result<Login, Failure> {
        let (kid, _) = jws::peek_header(token).map_err(Failure::Invalid)?;
        let jwk = self
            .keys
            .iter()
            .find(|k| k["kid"].as_str() == Some(kid.as_str()))
            .ok_or_else(|| Failure::Invalid(format!("key {kid:?} is not one of ours")))?;
        let claims = jws::verify(token, jwk, &self.issuer, leeway).map_err(Failure::Invalid)?;
        let typ = jws::peek_typ(token).map_err(Failure::Invalid)?;
        let access = token_kind::of_ours(typ.as_deref(), &claims) == token_kind::TokenKind::Access;
        let family = |id: &str| {
            self.families.get(id).map(|f| Family {
                user: &f.user,
                client: &f.client,
                scopes: &f.scopes,
                audiences: &f.audiences,
            })
        };
        db_login::decide(
            &claims,
            access,
            policy,
            &Grounds {
                made_at_ms: self.made_at_ms,
                max_age_ms,
                family: &family,
            },
            now_ms,
        )
        .map_err(Failure::Refused)?;
        // The decision found the family (it refuses without one).
        let authn_id = self
            .families
            .get(claims["session_id"].as_str().unwrap_or_default())
            .map(PublishedFamily::authn_id)
            .unwrap_or_default();
        Ok(Login { authn_id, claims })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::jws::Alg;
    use crate::protocol::test_keys::TestKey;
    use serde_json::json;

    const ISS: &str = "https://as.example";
    const DB: &str = "postgres://db.example/app";

    fn now_ms() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    }

    fn snapshot(key: &TestKey) -> Snapshot {
        let family = PublishedFamily {
            user: "alice".into(),
            client: "psql".into(),
            scopes: vec!["openid".into(), "db:login".into()],
            audiences: vec![DB.into()],
            issuer: None,
        };
        Snapshot {
            made_at_ms: now_ms(),
            issuer: ISS.into(),
            keys: vec![key.jwk.clone()],
            families: [("f1".to_string(), family)].into_iter().collect(),
        }
    }

    fn token(key: &TestKey, typ: &str, claims: Value) -> String {
        let t = now_ms() / 1000 - 30;
        key.sign(
            json!({"alg": key.signer.alg.as_str(), "typ": typ, "kid": key.jwk["kid"]}),
            json!({}),
            json!({"iss": ISS, "sub": "alice", "client_id": "psql", "aud": DB,
                   "scope": "openid db:login", "session_id": "f1", "iat": t, "exp": t + 300}),
            claims,
        )
    }

    fn check(s: &Snapshot, token: &str) -> Result<Login, Failure> {
        let scopes = vec!["db:login".to_string()];
        let clients = vec!["psql".to_string()];
        s.check(
            token,
            &Policy {
                audience: DB,
                required_scopes: &scopes,
                allowed_clients: &clients,
            },
            now_ms(),
            10_000,
            0,
        )
    }

    #[test]
    fn a_live_users_token_logs_in_and_the_snapshot_round_trips() {
        let key = TestKey::new(Alg::ES256);
        let s = Snapshot::parse(&snapshot(&key).to_bytes()).unwrap();
        assert_eq!(s.families, snapshot(&key).families);
        let login = check(&s, &token(&key, token_kind::ACCESS_TYP, json!({}))).unwrap();
        assert_eq!(login.authn_id, "alice");
        assert_eq!(login.claims["client_id"], "psql");
        assert!(Snapshot::parse(b"{}").is_err());
        assert!(Snapshot::parse(b"not json").is_err());
    }

    #[test]
    fn a_trusted_issuers_user_signs_in_as_issuer_hash_sub_never_as_a_bare_sub() {
        let key = TestKey::new(Alg::ES256);
        let mut s = snapshot(&key);
        s.families.get_mut("f1").unwrap().issuer = Some("https://idp.example".into());
        let login = check(&s, &token(&key, token_kind::ACCESS_TYP, json!({}))).unwrap();
        assert_eq!(login.authn_id, "https://idp.example#alice");
    }

    #[test]
    fn a_token_that_is_not_ours_now_or_not_an_access_token_is_refused() {
        let key = TestKey::new(Alg::ES256);
        let s = snapshot(&key);
        let other = TestKey::new(Alg::ES256);
        let invalid = |r: Result<Login, Failure>| matches!(r, Err(Failure::Invalid(_)));
        // Another key, another issuer, expired, not a JWS.
        assert!(invalid(check(
            &s,
            &token(&other, token_kind::ACCESS_TYP, json!({}))
        )));
        assert!(invalid(check(
            &s,
            &token(
                &key,
                token_kind::ACCESS_TYP,
                json!({"iss": "https://evil.example"})
            )
        )));
        assert!(invalid(check(
            &s,
            &token(
                &key,
                token_kind::ACCESS_TYP,
                json!({"exp": now_ms() / 1000 - 60})
            )
        )));
        assert!(invalid(check(&s, "garbage")));
        // Our ID token, session or logout token: no access token.
        for (typ, extra) in [
            (
                token_kind::JWT_TYP,
                json!({"client_id": null, "token_use": "id", "azp": "psql"}),
            ),
            (
                token_kind::JWT_TYP,
                json!({"client_id": null, "token_use": "session"}),
            ),
            (
                token_kind::LOGOUT_TYP,
                json!({"client_id": null, "events": {"e": {}}}),
            ),
        ] {
            assert_eq!(
                check(&s, &token(&key, typ, extra)),
                Err(Failure::Refused(Refusal::NotAnAccessToken)),
                "{typ}"
            );
        }
    }

    #[test]
    fn an_unknown_family_is_worth_a_wait_only_when_the_token_is_newer_than_the_snapshot() {
        let key = TestKey::new(Alg::ES256);
        let s = snapshot(&key);
        let old = check(
            &s,
            &token(&key, token_kind::ACCESS_TYP, json!({"session_id": "f2"})),
        )
        .unwrap_err();
        assert!(matches!(
            old,
            Failure::Refused(Refusal::FamilyNotLive { .. })
        ));
        assert!(!old.may_be_newer_than(s.made_at_ms));
        let t = s.made_at_ms / 1000;
        let fresh = check(
            &s,
            &token(
                &key,
                token_kind::ACCESS_TYP,
                json!({"session_id": "f2", "iat": t, "exp": t + 300}),
            ),
        )
        .unwrap_err();
        assert!(fresh.may_be_newer_than(s.made_at_ms));
        assert!(fresh.settled_after() > s.made_at_ms);
        let mut stale = s.clone();
        stale.made_at_ms -= 60_000;
        assert!(matches!(
            check(&stale, &token(&key, token_kind::ACCESS_TYP, json!({}))),
            Err(Failure::Refused(Refusal::StaleGrounds { .. }))
        ));
    }
}
