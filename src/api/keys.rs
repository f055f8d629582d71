//! Signing keys: `oauth.jwks()`, `oauth.rotate_signing_key(alg)`, `oauth.verify(token)`, and
//! the signer the token functions use.
//!
//! Rotation moves keys next -> current -> previous and generates a new next, so the JWKS
//! announces every key one rotation before it signs, and keeps it one rotation after.

use super::key_protection;
use super::{or_raise, raise};
use crate::error::{internal, Misuse, MisuseError};
use crate::protocol::jws::{self, Alg, Signer};
use crate::protocol::token_kind::{self, TokenKind};
use crate::settings;
use crate::store::db::{self, hex_bytes};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::Deserialize;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    // Parsed private keys by kid. A kid names one key forever (it is the key's thumbprint),
    // so a cached entry never goes stale; rotation only changes which kid is current.
    static SIGNERS: RefCell<HashMap<String, Rc<Signer>>> = RefCell::new(HashMap::new());
}

#[derive(Deserialize)]
struct KeyRow {
    kid: String,
    alg: String,
    private_key: String,
    kek_id: Option<String>,
}

fn insert_key(alg: Alg, status: &str) -> Result<String, MisuseError> {
    let k = jws::generate(alg)?;
    let (stored, kek_id) = key_protection::seal(&k.kid, &k.private_pkcs8)?;
    db::execute(
        "INSERT INTO oauth.signing_keys (kid, alg, status, public_jwk, private_key, kek_id, activated_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $3 = 'current' THEN now() END)",
        &[
            k.kid.as_str().into(),
            alg.as_str().into(),
            status.into(),
            JsonB(k.public_jwk).into(),
            stored.into(),
            kek_id.into(),
        ],
    )?;
    Ok(k.kid)
}

/// Serialises key changes (rotation, first-use bootstrap) across sessions.
fn lock_keys() -> Result<(), MisuseError> {
    db::execute(
        "LOCK TABLE oauth.signing_keys IN SHARE ROW EXCLUSIVE MODE",
        &[],
    )
    .map(|_| ())
}

/// Creates the first current and next keys if there are none. Keys are made on first use, not
/// at CREATE EXTENSION, so that restoring a pg_dump does not end up with two current keys.
fn bootstrap(alg: Alg) -> Result<(), MisuseError> {
    lock_keys()?;
    let exists = db::query_json(
        "SELECT to_jsonb(kid) FROM oauth.signing_keys WHERE status = 'current'",
        &[],
    )?;
    if exists.is_none() {
        insert_key(alg, "current")?;
        insert_key(alg, "next")?;
    }
    Ok(())
}

/// The signer of the current key.
pub fn current_signer() -> Result<Rc<Signer>, MisuseError> {
    const CURRENT: &str = "SELECT jsonb_build_object('kid', kid, 'alg', alg) FROM oauth.signing_keys WHERE status = 'current'";
    let mut current = db::query_json(CURRENT, &[])?;
    if current.is_none() {
        bootstrap(Alg::ES256)?;
        current = db::query_json(CURRENT, &[])?;
    }
    let current = current.ok_or_else(|| internal("no current signing key after bootstrap"))?;
    let kid = current["kid"].as_str().unwrap_or_default().to_string();
    if let Some(s) = SIGNERS.with(|c| c.borrow().get(&kid).cloned()) {
        return Ok(s);
    }
    let row: KeyRow = db::query_row(
        "SELECT jsonb_build_object('kid', kid, 'alg', alg, 'private_key', private_key, 'kek_id', kek_id)
         FROM oauth.signing_keys WHERE kid = $1",
        &[kid.as_str().into()],
    )?
    .ok_or_else(|| internal("current signing key vanished"))?;
    let alg = Alg::parse(&row.alg).ok_or_else(|| internal("stored key has an unknown alg"))?;
    let stored =
        hex_bytes(&row.private_key).ok_or_else(|| internal("stored private key is not bytea"))?;
    let der = key_protection::open(&row.kid, &stored, row.kek_id.as_deref())?;
    let signer = Rc::new(Signer::from_pkcs8(&row.kid, alg, &der)?);
    SIGNERS.with(|c| c.borrow_mut().insert(kid, signer.clone()));
    Ok(signer)
}

/// The public JWK of a key that may verify tokens (next, current or previous).
fn verification_key(kid: &str) -> Result<Option<Value>, MisuseError> {
    db::query_json(
        "SELECT public_jwk FROM oauth.signing_keys WHERE kid = $1",
        &[kid.into()],
    )
}

/// Verifies a token we issued and that it is of `kind`: signature with one of our keys,
/// `exp`/`nbf` with the configured clock skew, `iss`, the kind from header and claims, and, for
/// access tokens, that their grant is not revoked. Invalid tokens are 28000; valid ones of
/// another kind 42501, naming both kinds.
fn verify_ours(token: &str, kind: TokenKind) -> Result<Value, MisuseError> {
    let invalid = |m: String| MisuseError::new(Misuse::InvalidToken, m);
    let (kid, _) = jws::peek_header(token).map_err(invalid)?;
    let jwk = verification_key(&kid)?
        .ok_or_else(|| invalid(format!("token key {kid:?} is not one of ours")))?;
    let claims =
        jws::verify(token, &jwk, &settings::issuer(), settings::clock_skew()).map_err(invalid)?;
    let typ = jws::peek_typ(token).map_err(invalid)?;
    let found = token_kind::of_ours(typ.as_deref(), &claims);
    // A genuine token of the wrong kind is a privilege failure (42501, 403), not a bad
    // credential: the caller holds something real, just not what this check accepts.
    if found != kind {
        return Err(MisuseError::new(
            Misuse::Privilege,
            format!("{} is not {}", capitalised(found.name()), kind.name()),
        ));
    }
    if kind == TokenKind::Access {
        let sid = claims["session_id"].as_str().unwrap_or_default();
        if !db::is_uuid(sid) {
            return Err(invalid("token has no valid session_id".into()));
        }
        let revoked = db::query_json(
            "SELECT to_jsonb(revoked_at IS NOT NULL) FROM oauth.grants WHERE id = $1::uuid",
            &[sid.into()],
        )?;
        if revoked != Some(Value::Bool(false)) {
            return Err(invalid("token has been revoked".into()));
        }
    }
    Ok(claims)
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// An access token we issued whose grant is live: for `verify`, `userinfo`, `introspect`.
pub fn verify_access_token(token: &str) -> Result<Value, MisuseError> {
    verify_ours(token, TokenKind::Access)
}

/// A first-party user session we issued (`oauth.issue_session_token`).
pub fn verify_our_session(token: &str) -> Result<Value, MisuseError> {
    verify_ours(token, TokenKind::Session)
}

/// The JSON Web Key Set: every key that may sign now or soon, or did until recently.
#[pg_extern(stable, parallel_safe, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn jwks() -> JsonB {
    let keys = or_raise(db::query_json(
        "SELECT coalesce(jsonb_agg(public_jwk ORDER BY CASE status WHEN 'current' THEN 0 WHEN 'next' THEN 1 ELSE 2 END), '[]')
         FROM oauth.signing_keys",
        &[],
    ));
    JsonB(json!({ "keys": keys.unwrap_or(json!([])) }))
}

/// Rotates the signing keys: previous is dropped, current becomes previous, next becomes
/// current, and a new next key of `alg` is generated. Returns the kids by status.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn rotate_signing_key(alg: default!(Option<&str>, "'ES256'")) -> JsonB {
    let alg_name = or_raise(super::required(alg, "alg"));
    let Some(alg) = Alg::parse(alg_name) else {
        raise(
            crate::error::bad_param(format!("unsupported signing algorithm {alg_name:?}"))
                .hint("use ES256, RS256 or EdDSA; symmetric algorithms are not offered"),
        )
    };
    or_raise(rotate(alg));
    let kids = or_raise(db::query_json(
        "SELECT jsonb_object_agg(status, kid) FROM oauth.signing_keys",
        &[],
    ))
    .unwrap_or(json!({}));
    or_raise(super::audit::record(
        "signing_key_rotated",
        None,
        None,
        json!({"alg": alg.as_str(), "kids": kids}),
    ));
    JsonB(kids)
}

fn rotate(alg: Alg) -> Result<(), MisuseError> {
    lock_keys()?;
    let has_current = db::query_json(
        "SELECT to_jsonb(kid) FROM oauth.signing_keys WHERE status = 'current'",
        &[],
    )?;
    if has_current.is_none() {
        db::execute("DELETE FROM oauth.signing_keys", &[])?;
        insert_key(alg, "current")?;
        insert_key(alg, "next")?;
        return Ok(());
    }
    db::execute(
        "DELETE FROM oauth.signing_keys WHERE status = 'previous'",
        &[],
    )?;
    db::execute(
        "UPDATE oauth.signing_keys SET status = 'previous' WHERE status = 'current'",
        &[],
    )?;
    let promoted = db::execute(
        "UPDATE oauth.signing_keys SET status = 'current', activated_at = now() WHERE status = 'next'",
        &[],
    )?;
    if promoted == 0 {
        insert_key(alg, "current")?;
    }
    insert_key(alg, "next")?;
    Ok(())
}

/// The claims of a valid, unrevoked access token issued by this server; raises SQLSTATE 28000
/// otherwise, or 42501 for our ID tokens and sessions.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn verify(token: Option<&str>) -> JsonB {
    let token = or_raise(super::required(token, "token"));
    JsonB(or_raise(verify_access_token(token)))
}
