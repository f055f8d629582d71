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
    /// issuers' users with the same `sub`, or one of ours, are never the same identity. An
    /// issuer has no `#` (no fragment), so none is ambiguous but a local `sub` holding one,
    /// which could be read as an issuer's user: `None`, it does not sign in.
    pub fn authn_id(&self) -> Option<String> {
        match &self.issuer {
            None if self.user.contains('#') => None,
            None => Some(self.user.clone()),
            Some(iss) => Some(format!("{iss}#{}", self.user)),
        }
    }
}

/// The published snapshot (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When it was made, our issuer, our public keys (the file's first line).
    #[serde(flatten)]
    pub header: Header,
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

/// The first line of the published file: everything but the families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Epoch milliseconds: when the transaction that read it started.
    pub made_at_ms: i64,
    /// This server's issuer when it was made.
    pub issuer: String,
    /// The public signing keys (current, next, previous), as the JWKS lists them.
    pub keys: Vec<Value>,
}

impl Snapshot {
    /// The published file: the header as one JSON line, then one line per family, its id, a
    /// space, and the family as JSON (sorted by id). The validator finds the one family a token
    /// names without parsing the others ([`Published`]): a sign-in costs the same with ten
    /// families or a hundred thousand.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(&self.header).unwrap_or_default();
        out.push(b'\n');
        let mut ids: Vec<&String> = self.families.keys().collect();
        ids.sort();
        for id in ids {
            // Ids are uuids; one that could break the line format is left out (never found).
            if !is_family_id(id) {
                continue;
            }
            out.extend_from_slice(id.as_bytes());
            out.push(b' ');
            out.extend_from_slice(&serde_json::to_vec(&self.families[id]).unwrap_or_default());
            out.push(b'\n');
        }
        out
    }

    /// The whole file, every family parsed.
    pub fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
        let published = Published::parse(bytes)?;
        let mut families = HashMap::new();
        for line in published.lines() {
            let (id, family) = parse_line(line)?;
            families.insert(id.to_string(), family);
        }
        Ok(Snapshot {
            header: published.header,
            families,
        })
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
        let find = |id: &str| self.families.get(id).cloned();
        check_against(
            &self.header,
            &find,
            token,
            policy,
            now_ms,
            max_age_ms,
            leeway,
        )
    }
}

/// A family's id as the file may hold it: a uuid's characters, nothing that ends a field.
fn is_family_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

fn parse_line(line: &[u8]) -> Result<(&str, PublishedFamily), String> {
    let bad = || "the login snapshot has a malformed family line".to_string();
    let space = line.iter().position(|&b| b == b' ').ok_or_else(bad)?;
    let id = std::str::from_utf8(&line[..space]).map_err(|_| bad())?;
    let family = serde_json::from_slice(&line[space + 1..]).map_err(|_| bad())?;
    Ok((id, family))
}

/// The published file as the validator reads it: the header parsed, the families left as
/// bytes until one is asked for.
pub struct Published<'a> {
    pub header: Header,
    /// From the header's closing newline on: every family line follows a newline.
    families: &'a [u8],
}

impl<'a> Published<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Published<'a>, String> {
        let end = bytes
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(bytes.len());
        let header = serde_json::from_slice(&bytes[..end])
            .map_err(|e| format!("the login snapshot is unreadable: {e}"))?;
        Ok(Published {
            header,
            families: bytes.get(end..).unwrap_or_default(),
        })
    }

    fn lines(&self) -> impl Iterator<Item = &'a [u8]> {
        self.families
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
    }

    /// The family `id`, if the snapshot holds it live: its line found by a substring search for
    /// "\n<id> " (an id holds no space or newline), the only line parsed.
    pub fn family(&self, id: &str) -> Option<PublishedFamily> {
        if !is_family_id(id) {
            return None;
        }
        let needle = format!("\n{id} ");
        let at = memchr::memmem::find(self.families, needle.as_bytes())? + 1;
        let rest = &self.families[at..];
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        parse_line(&rest[..end]).ok().map(|(_, f)| f)
    }

    /// [`Snapshot::check`], reading only the family the token names.
    pub fn check(
        &self,
        token: &str,
        policy: &Policy,
        now_ms: i64,
        max_age_ms: i64,
        leeway: u64,
    ) -> Result<Login, Failure> {
        let find = |id: &str| self.family(id);
        check_against(
            &self.header,
            &find,
            token,
            policy,
            now_ms,
            max_age_ms,
            leeway,
        )
    }
}

/// The whole check of a login: the signature by one of the snapshot's keys, our issuer, the
/// expiry, the kind, then the decision on the family `find` gives.
fn check_against(
    header: &Header,
    find: &dyn Fn(&str) -> Option<PublishedFamily>,
    token: &str,
    policy: &Policy,
    now_ms: i64,
    max_age_ms: i64,
    leeway: u64,
) -> Result<Login, Failure> {
    let (kid, _) = jws::peek_header(token).map_err(Failure::Invalid)?;
    let jwk = header
        .keys
        .iter()
        .find(|k| k["kid"].as_str() == Some(kid.as_str()))
        .ok_or_else(|| Failure::Invalid(format!("key {kid:?} is not one of ours")))?;
    let claims = jws::verify(token, jwk, &header.issuer, leeway).map_err(Failure::Invalid)?;
    let typ = jws::peek_typ(token).map_err(Failure::Invalid)?;
    let access = token_kind::of_ours(typ.as_deref(), &claims) == token_kind::TokenKind::Access;
    let found = find(claims["session_id"].as_str().unwrap_or_default());
    let family = |id: &str| {
        found
            .as_ref()
            .filter(|_| Some(id) == claims["session_id"].as_str())
            .map(|f| Family {
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
            made_at_ms: header.made_at_ms,
            max_age_ms,
            family: &family,
        },
        now_ms,
    )
    .map_err(Failure::Refused)?;
    // The decision found the family (it refuses without one).
    let authn_id = found.and_then(|f| f.authn_id()).ok_or_else(|| {
        Failure::Invalid(
            "the user's id holds '#', which would read as a trusted issuer's user: such a user cannot sign in to the database".into(),
        )
    })?;
    Ok(Login { authn_id, claims })
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
            header: Header {
                made_at_ms: now_ms(),
                issuer: ISS.into(),
                keys: vec![key.jwk.clone()],
            },
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
    fn the_validator_reads_only_the_family_the_token_names() {
        let key = TestKey::new(Alg::ES256);
        let mut s = snapshot(&key);
        let f1 = s.families["f1"].clone();
        // Uuid-shaped ids, as the families' are.
        s.families.clear();
        for i in 0..1000 {
            s.families
                .insert(format!("{i:08x}-0000-4000-8000-000000000000"), f1.clone());
        }
        let id = "000003e7-0000-4000-8000-000000000000"; // 999
        let bytes = s.to_bytes();
        let published = Published::parse(&bytes).unwrap();
        assert_eq!(published.family(id), Some(f1.clone()));
        assert_eq!(
            published.family("000003e8-0000-4000-8000-000000000000"),
            None
        );
        // A prefix of an id, or an id that would reach into the line, is no id.
        assert_eq!(published.family("000003e7"), None);
        assert_eq!(published.family(&format!("{id} {{")), None);
        assert_eq!(published.family(""), None);
        let t = token(&key, token_kind::ACCESS_TYP, json!({"session_id": id}));
        let scopes = vec!["db:login".to_string()];
        let clients = vec!["psql".to_string()];
        let policy = Policy {
            audience: DB,
            required_scopes: &scopes,
            allowed_clients: &clients,
        };
        assert_eq!(
            published
                .check(&t, &policy, now_ms(), 10_000, 0)
                .unwrap()
                .authn_id,
            "alice"
        );
        assert_eq!(Snapshot::parse(&bytes).unwrap(), s);
    }

    #[test]
    fn a_trusted_issuers_user_signs_in_as_issuer_hash_sub_never_as_a_bare_sub() {
        let key = TestKey::new(Alg::ES256);
        let mut s = snapshot(&key);
        s.families.get_mut("f1").unwrap().issuer = Some("https://idp.example".into());
        let login = check(&s, &token(&key, token_kind::ACCESS_TYP, json!({}))).unwrap();
        assert_eq!(login.authn_id, "https://idp.example#alice");
        // One of ours whose id would read as that: refused, never taken for the issuer's.
        let f = s.families.get_mut("f1").unwrap();
        f.issuer = None;
        f.user = "https://idp.example#alice".into();
        let t = token(
            &key,
            token_kind::ACCESS_TYP,
            json!({"sub": "https://idp.example#alice"}),
        );
        assert!(matches!(check(&s, &t), Err(Failure::Invalid(_))));
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
        assert!(!old.may_be_newer_than(s.header.made_at_ms));
        let t = s.header.made_at_ms / 1000;
        let fresh = check(
            &s,
            &token(
                &key,
                token_kind::ACCESS_TYP,
                json!({"session_id": "f2", "iat": t, "exp": t + 300}),
            ),
        )
        .unwrap_err();
        assert!(fresh.may_be_newer_than(s.header.made_at_ms));
        assert!(fresh.settled_after() > s.header.made_at_ms);
        let mut stale = s.clone();
        stale.header.made_at_ms -= 60_000;
        assert!(matches!(
            check(&stale, &token(&key, token_kind::ACCESS_TYP, json!({}))),
            Err(Failure::Refused(Refusal::StaleGrounds { .. }))
        ));
    }
}
