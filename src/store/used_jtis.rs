//! Storage of `oauth.used_jtis`: the `jti`s of DPoP proofs and client assertions already
//! taken, each until it could no longer be taken anyway, so that a replay is refused in the
//! transaction that would act on it.

use crate::error::MisuseError;
use crate::protocol::secret;
use crate::query;

/// What a `jti` was the id of; each kind keeps its own ids, per key or per client.
#[derive(Debug, Clone, Copy)]
pub enum JtiKind {
    /// A DPoP proof's, per key thumbprint.
    Dpop,
    /// A client assertion's (`private_key_jwt`), per client.
    ClientAssertion,
}

impl JtiKind {
    fn as_str(self) -> &'static str {
        match self {
            JtiKind::Dpop => "dpop",
            JtiKind::ClientAssertion => "client_assertion",
        }
    }
}

/// Takes `jti` of `issuer` until `until` (seconds since the epoch): `true` the first time,
/// `false` when it was taken before (a replay).
pub fn take(kind: JtiKind, issuer: &str, jti: &str, until: i64) -> Result<bool, MisuseError> {
    // Unique by a hash of the three, each ended by a newline (which a jti cannot hold, and a
    // thumbprint or client_id does not): no two triples share a key.
    let key = secret::hash(&format!("{}\n{issuer}\n{jti}", kind.as_str()));
    Ok(super::scalar::<bool>(
        query!("dpop/take_jti"),
        &[
            key.to_vec().into(),
            kind.as_str().into(),
            issuer.into(),
            jti.into(),
            (until as f64).into(),
        ],
    )?
    .unwrap_or(false))
}
