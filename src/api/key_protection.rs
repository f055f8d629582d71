//! Encryption at rest of the private signing keys, for administrators:
//! `oauth.rekey_signing_keys()` and `oauth.signing_keys()`. The sealing and opening are
//! `services::keys` (which documents the KEK settings and the rotation steps).

use super::{or_raise, raise};
use crate::audit_events::AuditEvent;
use crate::error::{Misuse, MisuseError};
use crate::services::keys;
use crate::store::{audit, signing_keys};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

/// Re-encrypts every signing key with the current KEK (opening each with the current or the
/// previous one, or reading it as stored when it was never encrypted). The KEK rotation step.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn rekey_signing_keys() -> JsonB {
    let Some(kek) = or_raise(keys::current_kek()) else {
        raise(MisuseError::new(
            Misuse::Misconfigured,
            "oauth_server.key_encryption_key_file is not set: there is no key to encrypt with",
        ))
    };
    let done = or_raise(keys::rekey(&kek));
    or_raise(audit::record(
        AuditEvent::SigningKeysRekeyed,
        None,
        None,
        json!({"kek_id": kek.id, "rekeyed": done.rekeyed}),
    ));
    JsonB(json!({"kek_id": kek.id, "keys": done.keys, "rekeyed": done.rekeyed}))
}

/// Every signing key's public facts and how it is protected: for administrators.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn signing_keys() -> JsonB {
    JsonB(or_raise(signing_keys::describe_all()))
}
