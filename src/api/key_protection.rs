//! Encryption at rest of the private signing keys (see `protocol::key_wrap`). The KEK is read
//! from the file named by `oauth_server.key_encryption_key_file` (superuser-only setting; the
//! file is readable by the server's OS user only), never stored in the database. Rotation:
//! point `oauth_server.previous_key_encryption_key_file` at the old file and the main setting
//! at the new one, run `oauth.rekey_signing_keys()`, then drop the previous setting.

use super::{or_raise, raise};
use crate::error::{internal, Misuse, MisuseError};
use crate::protocol::key_wrap::{self, Kek};
use crate::settings;
use crate::store::db::{self, hex_bytes};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::Deserialize;
use serde_json::{json, Value};

fn misconfigured(m: String) -> MisuseError {
    MisuseError::new(Misuse::Misconfigured, m)
}

fn read(setting: &str, path: Option<String>) -> Result<Option<Kek>, MisuseError> {
    let Some(path) = path else { return Ok(None) };
    let content = std::fs::read(&path)
        .map_err(|e| misconfigured(format!("{setting}: cannot read {path:?}: {e}")))?;
    key_wrap::parse(&content)
        .map(Some)
        .map_err(|e| misconfigured(format!("{setting}: {e}")))
}

/// The KEK new keys are sealed with, if one is configured.
pub fn current_kek() -> Result<Option<Kek>, MisuseError> {
    read(
        "oauth_server.key_encryption_key_file",
        settings::key_encryption_key_file(),
    )
}

fn previous_kek() -> Result<Option<Kek>, MisuseError> {
    read(
        "oauth_server.previous_key_encryption_key_file",
        settings::previous_key_encryption_key_file(),
    )
}

/// What to store for a new private key: the bytes and the id of the KEK that sealed them
/// (`None`: stored as is, when no KEK is configured).
pub fn seal(kid: &str, der: &[u8]) -> Result<(Vec<u8>, Option<String>), MisuseError> {
    match current_kek()? {
        Some(kek) => Ok((
            key_wrap::wrap(&kek, kid, der).map_err(internal)?,
            Some(kek.id),
        )),
        None => Ok((der.to_vec(), None)),
    }
}

/// The PKCS#8 DER of a stored private key.
pub fn open(kid: &str, stored: &[u8], kek_id: Option<&str>) -> Result<Vec<u8>, MisuseError> {
    let Some(wanted) = kek_id else {
        return Ok(stored.to_vec());
    };
    for kek in [current_kek()?, previous_kek()?].into_iter().flatten() {
        if kek.id == wanted {
            return key_wrap::unwrap(&kek, kid, stored).map_err(misconfigured);
        }
    }
    Err(misconfigured(format!(
        "signing key {kid} is encrypted with key-encryption key {wanted}, which is not configured"
    ))
    .hint("set oauth_server.key_encryption_key_file (or, during a rotation, oauth_server.previous_key_encryption_key_file) to the file holding it"))
}

#[derive(Deserialize)]
struct Stored {
    kid: String,
    private_key: String,
    kek_id: Option<String>,
}

/// Re-encrypts every signing key with the current KEK (opening each with the current or the
/// previous one, or reading it as stored when it was never encrypted). The KEK rotation step.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn rekey_signing_keys() -> JsonB {
    let Some(kek) = or_raise(current_kek()) else {
        raise(misconfigured(
            "oauth_server.key_encryption_key_file is not set: there is no key to encrypt with"
                .into(),
        ))
    };
    or_raise(db::execute(
        "LOCK TABLE oauth.signing_keys IN SHARE ROW EXCLUSIVE MODE",
        &[],
    ));
    let rows: Vec<Stored> = or_raise(db::query_row(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('kid', kid, 'private_key', private_key,
                'kek_id', kek_id)), '[]') FROM oauth.signing_keys",
        &[],
    ))
    .unwrap_or_default();
    let mut rekeyed = 0;
    for row in &rows {
        if row.kek_id.as_deref() == Some(kek.id.as_str()) {
            continue;
        }
        let stored = hex_bytes(&row.private_key)
            .unwrap_or_else(|| raise(internal("stored private key is not bytea")));
        let der = or_raise(open(&row.kid, &stored, row.kek_id.as_deref()));
        let sealed = or_raise(key_wrap::wrap(&kek, &row.kid, &der).map_err(internal));
        or_raise(db::execute(
            "UPDATE oauth.signing_keys SET private_key = $2, kek_id = $3 WHERE kid = $1",
            &[
                row.kid.as_str().into(),
                sealed.into(),
                kek.id.as_str().into(),
            ],
        ));
        rekeyed += 1;
    }
    or_raise(super::audit::record(
        "signing_keys_rekeyed",
        None,
        None,
        json!({"kek_id": kek.id, "rekeyed": rekeyed}),
    ));
    JsonB(json!({"kek_id": kek.id, "keys": rows.len(), "rekeyed": rekeyed}))
}

/// Every signing key's public facts and how it is protected: for administrators.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn signing_keys() -> JsonB {
    JsonB(
        or_raise(db::query_json(
            "SELECT coalesce(jsonb_agg(jsonb_build_object('kid', kid, 'alg', alg, 'status', status,
                    'encrypted', kek_id IS NOT NULL, 'kek_id', kek_id, 'created_at', created_at,
                    'activated_at', activated_at) ORDER BY created_at), '[]')
             FROM oauth.signing_keys",
            &[],
        ))
        .unwrap_or(Value::Array(vec![])),
    )
}
