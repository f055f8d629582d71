//! Storage of `oauth.signing_keys`: see `store`.
//!
//! Keys move next -> current -> previous ([`promote_next`], [`demote_current`],
//! [`retire_previous`]); at most one key is next and one current (unique partial indexes).
//! Callers hold [`lock`] around any change of status.

use super::{all, execute, one, scalar};
use crate::error::MisuseError;
use crate::model::{KeyAlg, KeyStatus};
use crate::query;
use crate::row_type;
use pgrx::JsonB;
use serde_json::Value;

row_type! {
    /// The key that signs now.
    pub struct CurrentKey {
        pub kid: String,
        pub alg: KeyAlg,
    }
}

row_type! {
    /// A key's private half as stored: PKCS#8 DER, or sealed with the KEK `kek_id`.
    pub struct PrivateKey {
        pub kid: String,
        pub alg: KeyAlg,
        pub private_key: Vec<u8>,
        pub kek_id: Option<String>,
    }
}

/// Takes the lock that serialises key changes across sessions, until the transaction ends.
pub fn lock() -> Result<(), MisuseError> {
    execute(query!("signing_keys/lock"), &[]).map(|_| ())
}

/// A new key of `status`; a current one is activated now.
pub fn insert(
    kid: &str,
    alg: KeyAlg,
    status: KeyStatus,
    public_jwk: Value,
    private_key: Vec<u8>,
    kek_id: Option<String>,
) -> Result<(), MisuseError> {
    execute(
        query!("signing_keys/insert"),
        &[
            kid.into(),
            alg.as_str().into(),
            status.as_str().into(),
            JsonB(public_jwk).into(),
            private_key.into(),
            kek_id.into(),
        ],
    )
    .map(|_| ())
}

/// The current key, if there is one.
pub fn current() -> Result<Option<CurrentKey>, MisuseError> {
    one(query!("signing_keys/current"), &[])
}

/// The private half of key `kid`.
pub fn find_private(kid: &str) -> Result<Option<PrivateKey>, MisuseError> {
    one(query!("signing_keys/find_private"), &[kid.into()])
}

/// The private half of every key (for re-encryption).
pub fn all_private() -> Result<Vec<PrivateKey>, MisuseError> {
    all(query!("signing_keys/all_private"), &[])
}

/// The public JWK of key `kid`, whatever its status.
pub fn public_jwk(kid: &str) -> Result<Option<Value>, MisuseError> {
    scalar(query!("signing_keys/public_jwk"), &[kid.into()])
}

/// Every public JWK, current first, then next, then previous.
pub fn jwks() -> Result<Value, MisuseError> {
    Ok(scalar(query!("signing_keys/jwks"), &[])?.unwrap_or(Value::Array(vec![])))
}

/// The algorithms of the current and next keys, sorted.
pub fn signing_algs() -> Result<Vec<String>, MisuseError> {
    Ok(scalar(query!("signing_keys/signing_algs"), &[])?.unwrap_or_default())
}

/// `{status: kid}` of every key; `None` when there are none.
pub fn kids_by_status() -> Result<Option<Value>, MisuseError> {
    scalar(query!("signing_keys/kids_by_status"), &[])
}

/// Drops every key (a rotation that finds no current key starts over).
pub fn delete_all() -> Result<usize, MisuseError> {
    execute(query!("signing_keys/delete_all"), &[])
}

/// Drops the previous key: tokens it signed no longer verify.
pub fn retire_previous() -> Result<usize, MisuseError> {
    execute(query!("signing_keys/retire_previous"), &[])
}

/// The current key becomes previous: it verifies but no longer signs.
pub fn demote_current() -> Result<usize, MisuseError> {
    execute(query!("signing_keys/demote_current"), &[])
}

/// The next key becomes current and is activated now; how many were promoted (0 or 1).
pub fn promote_next() -> Result<usize, MisuseError> {
    execute(query!("signing_keys/promote_next"), &[])
}

/// Stores key `kid`'s private half re-sealed with the KEK `kek_id`.
pub fn rewrap(kid: &str, sealed: Vec<u8>, kek_id: &str) -> Result<(), MisuseError> {
    execute(
        query!("signing_keys/rewrap"),
        &[kid.into(), sealed.into(), kek_id.into()],
    )
    .map(|_| ())
}

/// Every key's public facts and protection, oldest first, as the JSON handed to
/// administrators.
pub fn describe_all() -> Result<Value, MisuseError> {
    Ok(scalar(query!("signing_keys/describe_all"), &[])?.unwrap_or(Value::Array(vec![])))
}
