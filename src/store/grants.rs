//! `oauth.grants` (token families: one code exchange and every refresh after it) and
//! `oauth.refresh_tokens` (rotated on every use).

use super::{execute, one, scalar};
use crate::error::{internal, MisuseError};
use crate::model::GrantType;
use crate::query;
use crate::row_type;
use pgrx::datum::DatumWithOid;
use pgrx::JsonB;
use serde_json::Value;

row_type! {
    /// A token family as issuing needs it.
    pub struct Grant {
        pub id: String,
        pub client_id: String,
        pub user_id: String,
        pub resources: Vec<String>,
        pub grant_type: GrantType,
        pub auth_time: i64,
        pub user_claims: Option<Value>,
    }
}

/// What a new token family starts from.
pub struct NewFamily<'a> {
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub scopes: &'a [String],
    pub resources: &'a [String],
    pub grant_type: GrantType,
    /// When the user signed in; now when `None`.
    pub auth_time: Option<i64>,
    pub authorization_id: Option<&'a str>,
    pub user_claims: Option<Value>,
}

row_type! {
    /// A family just started by a redemption, and the current signing key's id.
    pub struct Redeemed {
        pub id: String,
        pub client_id: String,
        pub user_id: String,
        pub resources: Vec<String>,
        pub grant_type: GrantType,
        pub auth_time: i64,
        pub user_claims: Option<Value>,
        pub current_kid: Option<String>,
    }
}

/// Starts the family of a redeemed authorization (`f.authorization_id`), marks it redeemed by
/// it and stores its first refresh token (hash, lifetime) if given, in one statement.
pub fn start_redeemed(
    f: NewFamily,
    first_refresh: Option<([u8; 32], i64)>,
) -> Result<(Grant, Option<String>), MisuseError> {
    let (hash, lifetime) = match first_refresh {
        Some((h, l)) => (Some(h.to_vec()), Some(l as f64)),
        None => (None, None),
    };
    let mut args = family_args(f);
    args.extend([hash.into(), lifetime.into()]);
    let r: Redeemed = one(query!("grants/start_redeemed"), &args)?
        .ok_or_else(|| internal("grant insert returned nothing"))?;
    Ok(r.split())
}

impl Redeemed {
    /// The family as issuing needs it, and the current signing key's id.
    pub fn split(self) -> (Grant, Option<String>) {
        let grant = Grant {
            id: self.id,
            client_id: self.client_id,
            user_id: self.user_id,
            resources: self.resources,
            grant_type: self.grant_type,
            auth_time: self.auth_time,
            user_claims: self.user_claims,
        };
        (grant, self.current_kid)
    }
}

pub fn start(f: NewFamily) -> Result<Grant, MisuseError> {
    one(query!("grants/start"), &family_args(f))?
        .ok_or_else(|| internal("grant insert returned nothing"))
}

/// The arguments $1–$8 of both family inserts (`start` and `start_redeemed`).
fn family_args(f: NewFamily) -> Vec<DatumWithOid<'static>> {
    vec![
        f.client_id.into(),
        f.user_id.into(),
        f.scopes.to_vec().into(),
        f.resources.to_vec().into(),
        f.grant_type.as_str().into(),
        f.auth_time.map(|t| t as f64).into(),
        f.authorization_id.into(),
        f.user_claims.map(JsonB).into(),
    ]
}

row_type! {
    /// Whose a live family is, for userinfo, and what its client's identifiers need.
    pub struct LiveGrant {
        pub user_id: String,
        pub user_claims: Option<Value>,
        pub client_id: String,
        pub redirect_uris: Vec<String>,
        pub grant_types: Vec<GrantType>,
        pub metadata_document: bool,
        pub relying_party: Option<Value>,
    }
}

/// The family `id` (a uuid) if it is not revoked.
pub fn find_live(id: &str) -> Result<Option<LiveGrant>, MisuseError> {
    one(query!("grants/find_live"), &[id.into()])
}

row_type! {
    /// A family that is not revoked, as access-token verification sees it.
    pub struct LiveFamily {
        pub grant_type: GrantType,
        pub user_id: String,
        /// The issuer of the session that approved it (`user_claims->>'iss'`).
        pub issuer: Option<String>,
        /// That issuer's row in `oauth.issuers`: `None` when there is none, else its options
        /// (its policy today).
        pub issuer_options: Option<Value>,
        /// The user claims recorded with the family, loaded only when `issuer_options` is
        /// (what the issuer's policy judged is re-judged from them).
        pub user_claims: Option<Value>,
        /// Whether the family's client is identified by the URL of its metadata document
        /// (governed by `oauth_server.client_id_metadata_documents`).
        pub metadata_document: bool,
    }
}

/// The family `id` (a uuid) if it exists and is not revoked.
pub fn is_live(id: &str) -> Result<Option<LiveFamily>, MisuseError> {
    one(query!("grants/is_live"), &[id.into()])
}

row_type! {
    pub struct Revoked {
        pub client_id: String,
        pub user_id: String,
    }
}

/// Revokes a family: its refresh tokens stop working and `verify` rejects its access tokens.
/// `None` if it was already revoked (or does not exist).
pub fn revoke(id: &str, reason: &str) -> Result<Option<Revoked>, MisuseError> {
    one(query!("grants/revoke"), &[id.into(), reason.into()])
}

/// Revokes every live family of a client for a user; how many.
pub fn revoke_for(user_id: &str, client_id: &str) -> Result<usize, MisuseError> {
    execute(
        query!("grants/revoke_for_user_client"),
        &[user_id.into(), client_id.into()],
    )
}

/// Stores a new refresh token of the family, valid for `lifetime_secs`.
pub fn add_refresh_token(
    grant_id: &str,
    token_hash: [u8; 32],
    lifetime_secs: i64,
) -> Result<(), MisuseError> {
    execute(
        query!("grants/add_refresh_token"),
        &[
            token_hash.to_vec().into(),
            grant_id.into(),
            (lifetime_secs as f64).into(),
        ],
    )
    .map(|_| ())
}

row_type! {
    /// A presented refresh token with its family, locked.
    pub struct LockedRefreshToken {
        pub grant_id: String,
        pub client_id: String,
        pub user_id: String,
        pub scopes: Vec<String>,
        pub resources: Vec<String>,
        /// A family derived by token exchange is decided again at each refresh.
        pub grant_type: GrantType,
        pub used: bool,
        pub expired: bool,
        pub revoked: bool,
        /// The user claims recorded with the family: the issuer of the session that approved
        /// it (`iss`) and what that issuer's policy judged (`services::grounds::issuer_of`).
        pub user_claims: Option<Value>,
        /// The current signing key's id, when there is one.
        pub current_kid: Option<String>,
        /// RFC 9449 §5: the key the family's refresh tokens are bound to.
        pub dpop_jkt: Option<String>,
    }
}

/// Binds a family's refresh tokens to a DPoP key (RFC 9449 §5: a public client's).
pub fn bind_dpop_key(grant_id: &str, jkt: &str) -> Result<(), MisuseError> {
    super::execute(
        query!("grants/bind_dpop_key"),
        &[grant_id.into(), jkt.into()],
    )
    .map(|_| ())
}

pub fn lock_refresh_token(token_hash: [u8; 32]) -> Result<Option<LockedRefreshToken>, MisuseError> {
    one(
        query!("grants/lock_refresh_token"),
        &[token_hash.to_vec().into()],
    )
}

/// Rotates a family's refresh token: the presented one (`used_hash`) is used, presenting it
/// again is reuse; `next_hash` is stored, valid for `lifetime_secs`; the family is touched.
pub fn rotate(
    grant_id: &str,
    used_hash: [u8; 32],
    next_hash: [u8; 32],
    lifetime_secs: i64,
    family: &Narrowed,
) -> Result<Grant, MisuseError> {
    one(
        query!("grants/rotate"),
        &[
            used_hash.to_vec().into(),
            grant_id.into(),
            next_hash.to_vec().into(),
            (lifetime_secs as f64).into(),
            family.scopes.clone().into(),
            family.resources.clone().into(),
        ],
    )?
    .ok_or_else(|| internal("the family of a locked refresh token vanished"))
}

/// For a used token of a family locked by [`lock_refresh_token`]: see
/// `oauth_core::decisions::refresh::RefreshState::retry_age`.
pub fn retry_age(token_hash: [u8; 32]) -> Result<Option<f64>, MisuseError> {
    scalar(query!("grants/retry_age"), &[token_hash.to_vec().into()])
}

/// A retried refresh (see `retry_rotate.sql`): the family's open tokens superseded, the next
/// one stored. `None` when nothing was open any more: the family moved on, which is reuse.
pub fn retry_rotate(
    grant_id: &str,
    used_hash: [u8; 32],
    next_hash: [u8; 32],
    lifetime_secs: i64,
    family: &Narrowed,
) -> Result<Option<Grant>, MisuseError> {
    one(
        query!("grants/retry_rotate"),
        &[
            used_hash.to_vec().into(),
            grant_id.into(),
            next_hash.to_vec().into(),
            (lifetime_secs as f64).into(),
            family.scopes.clone().into(),
            family.resources.clone().into(),
        ],
    )
}

/// A family's scopes and resources as its grounds still allow them
/// (`decisions::grounds::Effective`).
pub use oauth_core::decisions::grounds::Effective as Narrowed;

row_type! {
    /// A refresh token as introspection and revocation see it.
    pub struct RefreshTokenInfo {
        pub grant_id: String,
        pub client_id: String,
        pub user_id: String,
        pub scopes: Vec<String>,
        pub resources: Vec<String>,
        /// A family derived by token exchange is also decided again by its exchange.
        pub grant_type: GrantType,
        /// The user claims recorded with the family: the issuer of the session that approved
        /// it (`iss`) and what that issuer's policy judged (`services::grounds::issuer_of`).
        pub user_claims: Option<Value>,
        pub active: bool,
        pub iat: i64,
        pub exp: i64,
    }
}

pub fn find_refresh_token(token_hash: [u8; 32]) -> Result<Option<RefreshTokenInfo>, MisuseError> {
    one(
        query!("grants/find_refresh_token"),
        &[token_hash.to_vec().into()],
    )
}
