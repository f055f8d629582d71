//! `oauth.token_exchange_policies` (RFC 8693 exchange rules) and the token families derived by
//! exchange (`oauth.grants` rows with a `source_grant_id` and an `exchange` record).

use super::grants::{Grant, Redeemed};
use super::{all, one, scalar};
use crate::error::{internal, MisuseError};
use crate::model::GrantType;
use crate::{query, row_type};
use oauth_core::decisions::token_exchange::Policy;
use pgrx::JsonB;
use serde_json::Value;

row_type! {
    struct PolicyRow {
        pub client_id: String,
        pub from_audience: String,
        pub to_audience: String,
        pub scopes: Vec<String>,
        pub may_act: bool,
        pub refresh: bool,
    }
}

/// The rules of `client_id`; `locked` holds them until the transaction ends (an exchange).
pub fn policies_of(client_id: &str, locked: bool) -> Result<Vec<Policy>, MisuseError> {
    let sql = if locked {
        query!("token_exchange/policies_of_locked")
    } else {
        query!("token_exchange/policies_of")
    };
    let rows: Vec<PolicyRow> = all(sql, &[client_id.into()])?;
    Ok(rows
        .into_iter()
        .map(|r| Policy {
            client_id: r.client_id,
            from_audience: r.from_audience,
            to_audience: r.to_audience,
            scopes: r.scopes,
            may_act: r.may_act,
            refresh: r.refresh,
        })
        .collect())
}

/// Writes `p`, replacing the rule of the same client and audiences.
pub fn allow(p: &Policy) -> Result<(), MisuseError> {
    super::execute(
        query!("token_exchange/allow"),
        &[
            p.client_id.as_str().into(),
            p.from_audience.as_str().into(),
            p.to_audience.as_str().into(),
            p.scopes.clone().into(),
            p.may_act.into(),
            p.refresh.into(),
        ],
    )
    .map(|_| ())
}

/// Removes a rule; the families it could have made are ended by its trigger
/// (`oauth.exchange_policy_removed`). How many of the client's families this transaction ended
/// so, or `None` when there was no such rule.
pub fn disallow(
    client_id: &str,
    from_audience: &str,
    to_audience: &str,
) -> Result<Option<i64>, MisuseError> {
    let removed = super::execute(
        query!("token_exchange/disallow"),
        &[client_id.into(), from_audience.into(), to_audience.into()],
    )?;
    if removed == 0 {
        return Ok(None);
    }
    Ok(Some(
        scalar(query!("token_exchange/ended_now"), &[client_id.into()])?.unwrap_or(0),
    ))
}

/// Every rule (of one client, when given), as `oauth.token_exchange_policies()` returns them.
pub fn list(client_id: Option<&str>) -> Result<Value, MisuseError> {
    Ok(scalar(query!("token_exchange/list"), &[client_id.into()])?.unwrap_or(Value::Null))
}

row_type! {
    /// The family of a subject token, live.
    pub struct Source {
        pub client_id: String,
        pub user_id: String,
        pub grant_type: GrantType,
        pub scopes: Vec<String>,
        pub resources: Vec<String>,
        pub user_claims: Option<Value>,
        pub auth_time: i64,
        /// What its own exchange recorded, when it was itself derived.
        pub exchange: Option<Value>,
        /// The latest its tokens could reach (see `exchange_source.sql`).
        pub reach: Option<i64>,
    }
}

/// The live family `id` of a subject token.
pub fn source(id: &str) -> Result<Option<Source>, MisuseError> {
    one(query!("grants/exchange_source"), &[id.into()])
}

/// A family about to be derived.
pub struct Derived<'a> {
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub scopes: &'a [String],
    pub resources: &'a [String],
    pub auth_time: Option<i64>,
    pub user_claims: Option<Value>,
    /// The subject token's family; `None` for a trusted issuer's session.
    pub source_grant_id: Option<&'a str>,
    pub exchange: Value,
    /// The family's end (epoch seconds).
    pub expires_at: i64,
    /// The first refresh token (hash, lifetime), when the rules give one.
    pub first_refresh: Option<([u8; 32], i64)>,
}

/// Starts a derived family (see `start_exchanged.sql`); `None` when its source was revoked in
/// the meantime. Also returns the current signing key's id.
pub fn start(d: Derived) -> Result<Option<(Grant, Option<String>)>, MisuseError> {
    let (hash, lifetime) = match d.first_refresh {
        Some((h, l)) => (Some(h.to_vec()), Some(l as f64)),
        None => (None, None),
    };
    let started: Option<Redeemed> = one(
        query!("grants/start_exchanged"),
        &[
            d.client_id.into(),
            d.user_id.into(),
            d.scopes.to_vec().into(),
            d.resources.to_vec().into(),
            GrantType::TokenExchange.as_str().into(),
            d.auth_time.map(|t| t as f64).into(),
            None::<String>.into(),
            d.user_claims.map(JsonB).into(),
            d.source_grant_id.into(),
            JsonB(d.exchange).into(),
            (d.expires_at as f64).into(),
            hash.into(),
            lifetime.into(),
        ],
    )?;
    Ok(started.map(Redeemed::split))
}

row_type! {
    /// A derived family at its refresh, and its source as it is today.
    pub struct Exchanged {
        pub exchange: Value,
        pub expires_at: i64,
        pub has_source: bool,
        pub source_scopes: Option<Vec<String>>,
        pub source_resources: Option<Vec<String>>,
        pub source_revoked: Option<bool>,
    }
}

pub fn exchanged_family(id: &str) -> Result<Exchanged, MisuseError> {
    one(query!("grants/exchanged_family"), &[id.into()])?
        .ok_or_else(|| internal("the family of a locked refresh token vanished"))
}
