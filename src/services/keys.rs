//! Signing keys: the signer the token functions use, verification of the tokens we issued,
//! rotation, and encryption at rest of the private keys.
//!
//! Rotation moves keys next -> current -> previous and generates a new next, so the JWKS
//! announces every key one rotation before it signs, and keeps it one rotation after.
//!
//! Encryption at rest (see `protocol::key_wrap`): the KEK is read from the file named by
//! `oauth_server.key_encryption_key_file` (superuser-only setting; the file is readable by the
//! server's OS user only), never stored in the database. Rotation: point
//! `oauth_server.previous_key_encryption_key_file` at the old file and the main setting at the
//! new one, run `oauth.rekey_signing_keys()`, then drop the previous setting.

use crate::decisions::client_standing::{self, Origin, Switches};
use crate::decisions::grounds::{issuer_still_trusted, SessionIssuer};
use crate::error::{internal, Misuse, MisuseError};
use crate::model::{GrantType, KeyAlg, KeyStatus};
use crate::protocol::jws::{self, Signer};
use crate::protocol::key_wrap::{self, Kek};
use crate::protocol::token_kind::{self, TokenKind};
use crate::settings;
use crate::store::{accounts, db, grants, sign_in_providers, signing_keys};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    // Parsed private keys by kid. A kid names one key forever (it is the key's thumbprint),
    // so a cached entry never goes stale; rotation only changes which kid is current.
    static SIGNERS: RefCell<HashMap<String, Rc<Signer>>> = RefCell::new(HashMap::new());
}

fn insert_key(alg: KeyAlg, status: KeyStatus) -> Result<String, MisuseError> {
    let k = jws::generate(alg.into())?;
    let (stored, kek_id) = seal(&k.kid, &k.private_pkcs8)?;
    signing_keys::insert(&k.kid, alg, status, k.public_jwk, stored, kek_id)?;
    Ok(k.kid)
}

/// A fresh current key and a fresh next one.
fn insert_current_and_next(alg: KeyAlg) -> Result<(), MisuseError> {
    insert_key(alg, KeyStatus::Current)?;
    insert_key(alg, KeyStatus::Next)?;
    Ok(())
}

/// Creates the first current and next keys if there are none. Keys are made on first use, not
/// at CREATE EXTENSION, so that restoring a pg_dump does not end up with two current keys.
fn bootstrap(alg: KeyAlg) -> Result<(), MisuseError> {
    // A hot standby cannot make them: the caller (the front) asks the primary instead.
    if unsafe { pgrx::pg_sys::RecoveryInProgress() } {
        return Err(MisuseError::new(
            Misuse::Misconfigured,
            "no signing key yet, and a standby cannot make one",
        )
        .hint("the primary makes the first keys on first use: call oauth.metadata() there"));
    }
    signing_keys::lock()?;
    if signing_keys::current()?.is_none() {
        insert_current_and_next(alg)?;
    }
    Ok(())
}

/// The signer of the current key.
pub fn current_signer() -> Result<Rc<Signer>, MisuseError> {
    signer_of_current(None)
}

/// The signer of the current key, whose id a statement of the caller's has just read
/// (`None`: look it up, and make the first keys if there are none).
pub fn signer_of_current(current_kid: Option<String>) -> Result<Rc<Signer>, MisuseError> {
    let kid = match current_kid {
        Some(kid) => kid,
        None => {
            let mut current = signing_keys::current()?;
            if current.is_none() {
                bootstrap(KeyAlg::ES256)?;
                current = signing_keys::current()?;
            }
            current
                .ok_or_else(|| internal("no current signing key after bootstrap"))?
                .kid
        }
    };
    if let Some(s) = SIGNERS.with(|c| c.borrow().get(&kid).cloned()) {
        return Ok(s);
    }
    let row = signing_keys::find_private(&kid)?
        .ok_or_else(|| internal("current signing key vanished"))?;
    let der = open(&row.kid, &row.private_key, row.kek_id.as_deref())?;
    let signer = Rc::new(Signer::from_pkcs8(&row.kid, row.alg.into(), &der)?);
    SIGNERS.with(|c| c.borrow_mut().insert(kid, signer.clone()));
    Ok(signer)
}

/// Rotates the signing keys: previous is dropped, current becomes previous, next becomes
/// current, and a new next key of `alg` is generated. Without a current key, starts over
/// with a new current and next.
pub fn rotate(alg: KeyAlg) -> Result<(), MisuseError> {
    signing_keys::lock()?;
    if signing_keys::current()?.is_none() {
        signing_keys::delete_all()?;
        return insert_current_and_next(alg);
    }
    signing_keys::retire_previous()?;
    signing_keys::demote_current()?;
    if signing_keys::promote_next()? == 0 {
        insert_key(alg, KeyStatus::Current)?;
    }
    insert_key(alg, KeyStatus::Next)?;
    Ok(())
}

/// Verifies a token we issued and that it is of `kind`: signature with one of our keys,
/// `exp`/`nbf` with the configured clock skew, `iss`, the kind from header and claims, and, for
/// access tokens, that their family still stands: not revoked, its client one today's switches
/// let act (`decisions::client_standing::may_act`), its user not disabled, and the trusted
/// issuer whose session approved it still trusted, enabled, and admitting that session by its
/// policy of today (`decisions::grounds::issuer_still_trusted`). Invalid tokens are 28000; valid ones of
/// another kind 42501, naming both kinds.
fn verify_ours(token: &str, kind: TokenKind) -> Result<Value, MisuseError> {
    verify_ours_within(token, kind, settings::clock_skew())
}

/// How long after its expiry an ID token still names its session for RP-initiated logout
/// (OIDC RP-Initiated Logout §2: an expired `id_token_hint` is still a hint).
const ID_TOKEN_HINT_GRACE: u64 = 30 * 24 * 3600;

/// An ID token we issued, expired or not: the `id_token_hint` of a logout request.
pub fn verify_id_token_hint(token: &str) -> Result<Value, MisuseError> {
    verify_ours_within(token, TokenKind::Id, ID_TOKEN_HINT_GRACE)
}

fn verify_ours_within(token: &str, kind: TokenKind, leeway: u64) -> Result<Value, MisuseError> {
    let claims = verify_signed(token, kind, leeway)?;
    if kind == TokenKind::Access {
        ensure_family_stands(&claims)?;
    }
    Ok(claims)
}

/// An access token we signed, whether or not its family still stands: only for RFC 7009
/// revocation, which must find the family of a token to end it even when today's grounds
/// refuse it (a client the switches stop, a disabled user): ending a family only ever reduces
/// access.
pub fn verify_access_token_to_revoke(token: &str) -> Result<Value, MisuseError> {
    verify_signed(token, TokenKind::Access, settings::clock_skew())
}

/// Signature with one of our keys, `exp`/`nbf` within `leeway`, `iss`, and the kind.
fn verify_signed(token: &str, kind: TokenKind, leeway: u64) -> Result<Value, MisuseError> {
    let invalid = |m: String| MisuseError::new(Misuse::InvalidToken, m);
    let (kid, _) = jws::peek_header(token).map_err(invalid)?;
    let jwk = signing_keys::public_jwk(&kid)?
        .ok_or_else(|| invalid(format!("token key {kid:?} is not one of ours")))?;
    let ours = settings::issuer();
    let claims = jws::verify(token, &jwk, &ours, leeway).map_err(invalid)?;
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
    Ok(claims)
}

/// An access token's family still stands (see [`verify_ours`]).
fn ensure_family_stands(claims: &Value) -> Result<(), MisuseError> {
    let invalid = |m: String| MisuseError::new(Misuse::InvalidToken, m);
    let sid = claims["session_id"].as_str().unwrap_or_default();
    if !db::is_uuid(sid) {
        return Err(invalid("token has no valid session_id".into()));
    }
    // One statement: this runs for every request PostgREST verifies with our token.
    let family = grants::is_live(sid)?.ok_or_else(|| invalid("token has been revoked".into()))?;
    // A client the switches stop (a metadata-document client while they are off) has its
    // tokens refused too: a switch that is off is off for everything it governs.
    let origin = if family.metadata_document {
        Origin::MetadataDocument
    } else {
        Origin::Registered
    };
    let switches = Switches {
        metadata_documents: settings::client_metadata_documents(),
    };
    client_standing::may_act(origin, &switches)
        .map_err(|e| invalid(e.description().to_string()))?;
    issuer_still_trusted(&SessionIssuer {
        recorded: family.issuer.as_deref(),
        ours: &settings::issuer(),
        options: family.issuer_options.as_ref(),
        user_claims: family.user_claims.as_ref(),
    })
    .map_err(|e| invalid(e.description().to_string()))?;
    // A machine's family (client_credentials) has the client as its subject, no user: told by
    // the family's grant type, not by a sub that equals some client_id (a user may be called
    // that too, and is checked like any other).
    if family.grant_type != GrantType::ClientCredentials && accounts::is_disabled(&family.user_id)?
    {
        return Err(invalid("the user of this token has been disabled".into()));
    }
    Ok(())
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

fn misconfigured(m: String) -> MisuseError {
    MisuseError::new(Misuse::Misconfigured, m)
}

fn read_kek(setting: &str, path: Option<String>) -> Result<Option<Kek>, MisuseError> {
    let Some(path) = path else { return Ok(None) };
    let content = std::fs::read(&path)
        .map_err(|e| misconfigured(format!("{setting}: cannot read {path:?}: {e}")))?;
    key_wrap::parse(&content)
        .map(Some)
        .map_err(|e| misconfigured(format!("{setting}: {e}")))
}

/// The KEK new keys are sealed with, if one is configured.
pub fn current_kek() -> Result<Option<Kek>, MisuseError> {
    read_kek(
        "oauth_server.key_encryption_key_file",
        settings::key_encryption_key_file(),
    )
}

fn previous_kek() -> Result<Option<Kek>, MisuseError> {
    read_kek(
        "oauth_server.previous_key_encryption_key_file",
        settings::previous_key_encryption_key_file(),
    )
}

/// What to store for a new private key: the bytes and the id of the KEK that sealed them
/// (`None`: stored as is, when no KEK is configured).
fn seal(kid: &str, der: &[u8]) -> Result<(Vec<u8>, Option<String>), MisuseError> {
    match current_kek()? {
        Some(kek) => Ok((
            key_wrap::wrap(&kek, kid, der).map_err(internal)?,
            Some(kek.id),
        )),
        None => Ok((der.to_vec(), None)),
    }
}

/// The PKCS#8 DER of a stored private key.
fn open(kid: &str, stored: &[u8], kek_id: Option<&str>) -> Result<Vec<u8>, MisuseError> {
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

/// Seals a sign-in provider's secrets with the current KEK (as is when none is configured);
/// `aad` binds the ciphertext to its row.
pub fn seal_secret(aad: &str, plain: &[u8]) -> Result<(Vec<u8>, Option<String>), MisuseError> {
    seal(aad, plain)
}

/// What [`seal_secret`] sealed.
pub fn open_secret(aad: &str, stored: &[u8], kek_id: Option<&str>) -> Result<Vec<u8>, MisuseError> {
    open(aad, stored, kek_id)
}

/// The associated data of a provider's sealed secrets: its row.
pub fn secrets_aad(provider: &str) -> String {
    format!("sign_in_provider:{provider}")
}

/// What [`rekey`] did.
pub struct Rekeyed {
    /// How many keys there are.
    pub keys: usize,
    /// How many of them were re-encrypted (the others already were with `kek`).
    pub rekeyed: usize,
}

/// Re-encrypts every signing key with `kek` (opening each with the current or the previous
/// KEK, or reading it as stored when it was never encrypted). The KEK rotation step.
pub fn rekey(kek: &Kek) -> Result<Rekeyed, MisuseError> {
    signing_keys::lock()?;
    let rows = signing_keys::all_private()?;
    let mut rekeyed = 0;
    for row in &rows {
        if row.kek_id.as_deref() == Some(kek.id.as_str()) {
            continue;
        }
        let der = open(&row.kid, &row.private_key, row.kek_id.as_deref())?;
        let sealed = key_wrap::wrap(kek, &row.kid, &der).map_err(internal)?;
        signing_keys::rewrap(&row.kid, sealed, &kek.id)?;
        rekeyed += 1;
    }
    // Sign-in providers' secrets are sealed with the same KEK.
    for p in sign_in_providers::all_providers()? {
        if p.secrets_kek_id.as_deref() == Some(kek.id.as_str()) {
            continue;
        }
        let aad = secrets_aad(&p.name);
        let plain = open(&aad, &p.secrets, p.secrets_kek_id.as_deref())?;
        let sealed = key_wrap::wrap(kek, &aad, &plain).map_err(internal)?;
        sign_in_providers::rewrap(&p.name, sealed, &kek.id)?;
    }
    // So is the secret pairwise subject identifiers are keyed with.
    if let Some(stored) = crate::store::subjects::secret()? {
        if stored.kek_id.as_deref() != Some(kek.id.as_str()) {
            let aad = crate::store::subjects::SECRET_AAD;
            let plain = open(aad, &stored.secret, stored.kek_id.as_deref())?;
            let sealed = key_wrap::wrap(kek, aad, &plain).map_err(internal)?;
            crate::store::subjects::rewrap_secret(sealed, &kek.id)?;
        }
    }
    Ok(Rekeyed {
        keys: rows.len(),
        rekeyed,
    })
}
