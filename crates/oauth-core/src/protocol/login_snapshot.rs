//! What the database login validator (PostgreSQL 18's OAuth validator, issue 34) knows, since
//! it runs before any database is connected and cannot ask: a snapshot the extension publishes
//! and refreshes (the public signing keys, the token families that may still log in, the
//! settings that decide a login, when it was made), and the whole check of a login against it:
//! the signature by one of its keys, our issuer, the expiry, the kind, then
//! `decisions::db_login`. A snapshot that cannot be read refuses every login.

use crate::decisions::db_login::{self, Grounds, Policy, Refusal};
use crate::protocol::{jws, token_kind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// The published snapshot (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Epoch seconds.
    pub made_at: i64,
    /// This server's issuer when it was made.
    pub issuer: String,
    /// The public signing keys (current, next, previous), as the JWKS lists them.
    pub keys: Vec<Value>,
    /// The database audience, the required scopes and the clients allowed to log in.
    pub audience: String,
    pub required_scopes: Vec<String>,
    pub allowed_clients: Vec<String>,
    /// The families (`session_id`) of allowed clients' tokens for the audience that may log in
    /// now: not revoked, their user not disabled, their approving session not ended.
    pub live_families: HashSet<String>,
}

/// Why a login failed before the decision proper: the token itself.
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

impl Snapshot {
    pub fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("the login snapshot is unreadable: {e}"))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Checks a login by `token` at `now`; `max_age` bounds the snapshot's age, `leeway` the
    /// clock skew on `exp`. The identity the connection authenticates as, or why not.
    pub fn check(
        &self,
        token: &str,
        now: i64,
        max_age: i64,
        leeway: u64,
    ) -> Result<String, Failure> {
        let (kid, _) = jws::peek_header(token).map_err(Failure::Invalid)?;
        let jwk = self
            .keys
            .iter()
            .find(|k| k["kid"].as_str() == Some(kid.as_str()))
            .ok_or_else(|| Failure::Invalid(format!("key {kid:?} is not one of ours")))?;
        let claims = jws::verify(token, jwk, &self.issuer, leeway).map_err(Failure::Invalid)?;
        let typ = jws::peek_typ(token).map_err(Failure::Invalid)?;
        let access = token_kind::of_ours(typ.as_deref(), &claims) == token_kind::TokenKind::Access;
        let live = |f: &str| self.live_families.contains(f);
        db_login::decide(
            &claims,
            access,
            &Policy {
                audience: &self.audience,
                required_scopes: &self.required_scopes,
                allowed_clients: &self.allowed_clients,
            },
            &Grounds {
                made_at: self.made_at,
                max_age,
                family_live: &live,
            },
            now,
        )
        .map_err(Failure::Refused)
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

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn snapshot(key: &TestKey) -> Snapshot {
        Snapshot {
            made_at: now(),
            issuer: ISS.into(),
            keys: vec![key.jwk.clone()],
            audience: DB.into(),
            required_scopes: vec!["db:login".into()],
            allowed_clients: vec!["psql".into()],
            live_families: ["f1".to_string()].into_iter().collect(),
        }
    }

    fn token(key: &TestKey, typ: &str, claims: Value) -> String {
        let t = now();
        key.sign(
            json!({"alg": key.signer.alg.as_str(), "typ": typ, "kid": key.jwk["kid"]}),
            json!({}),
            json!({"iss": ISS, "sub": "alice", "client_id": "psql", "aud": DB,
                   "scope": "openid db:login", "session_id": "f1", "iat": t, "exp": t + 300}),
            claims,
        )
    }

    #[test]
    fn a_live_users_token_logs_in_and_the_snapshot_round_trips() {
        let key = TestKey::new(Alg::ES256);
        let s = Snapshot::parse(&snapshot(&key).to_bytes()).unwrap();
        assert_eq!(s, snapshot(&key).clone_with_time(s.made_at));
        let t = token(&key, token_kind::ACCESS_TYP, json!({}));
        assert_eq!(s.check(&t, now(), 10, 0).unwrap(), "alice");
    }

    #[test]
    fn a_token_that_is_not_ours_now_or_not_an_access_token_is_refused() {
        let key = TestKey::new(Alg::ES256);
        let s = snapshot(&key);
        let other = TestKey::new(Alg::ES256);
        let invalid = |r: Result<String, Failure>| matches!(r, Err(Failure::Invalid(_)));
        // Another key, another issuer, expired.
        assert!(invalid(s.check(
            &token(&other, token_kind::ACCESS_TYP, json!({})),
            now(),
            10,
            0
        )));
        assert!(invalid(s.check(
            &token(
                &key,
                token_kind::ACCESS_TYP,
                json!({"iss": "https://evil.example"})
            ),
            now(),
            10,
            0
        )));
        assert!(invalid(s.check(
            &token(&key, token_kind::ACCESS_TYP, json!({"exp": now() - 60})),
            now(),
            10,
            0
        )));
        assert!(invalid(s.check("garbage", now(), 10, 0)));
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
                s.check(&token(&key, typ, extra), now(), 10, 0),
                Err(Failure::Refused(Refusal::NotAnAccessToken)),
                "{typ}"
            );
        }
        // A family the snapshot does not hold live; a snapshot too old.
        assert_eq!(
            s.check(
                &token(&key, token_kind::ACCESS_TYP, json!({"session_id": "f2"})),
                now(),
                10,
                0
            ),
            Err(Failure::Refused(Refusal::FamilyNotLive))
        );
        let mut old = s.clone();
        old.made_at -= 60;
        assert!(matches!(
            old.check(
                &token(&key, token_kind::ACCESS_TYP, json!({})),
                now(),
                10,
                0
            ),
            Err(Failure::Refused(Refusal::StaleGrounds { .. }))
        ));
        assert!(Snapshot::parse(b"{}").is_err());
    }

    impl Snapshot {
        fn clone_with_time(mut self, t: i64) -> Snapshot {
            self.made_at = t;
            self
        }
    }
}
