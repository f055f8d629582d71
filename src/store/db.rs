//! What the store's modules share beyond reading rows (`store::one`, `all`, `scalar` and
//! `execute`, over the generic plans of `store::plans`): the transaction's clock, calling a
//! function a setting names (as its owner, by OID), whether a relation is owned by a trusted
//! role, and the shape of a UUID.

use super::{one, scalar};
use crate::error::{internal, Misuse, MisuseError};
use crate::{query, row_type};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

/// Seconds since the epoch of the transaction's `now()`, so every timestamp of one call agrees
/// with what the SQL side writes. Read from the backend directly: a query for it cost as much
/// as a table lookup.
pub fn now_epoch() -> Result<i64, MisuseError> {
    // TimestampTz: microseconds since 2000-01-01 UTC, the Unix epoch plus 946,684,800 s.
    let micros = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    Ok(micros.div_euclid(1_000_000) + 946_684_800)
}

row_type! {
    /// The function a setting names, looked up (every field but `temp_objects` NULL when there
    /// is no such function).
    struct ConfiguredFunction {
        pub oid: Option<i64>,
        pub owner_oid: Option<i64>,
        pub owner: Option<String>,
        pub trusted: Option<bool>,
        /// A plain function returning one jsonb: anything else would be read as jsonb all the
        /// same.
        pub returns_jsonb: Option<bool>,
        /// Whether the calling session has temporary tables or types, which Postgres searches
        /// before every schema of a search_path that does not name pg_temp.
        pub temp_objects: bool,
    }
}

/// Calls the function named by a setting, `name(jsonb) returns jsonb`, by OID through fmgr: no
/// function name is ever spliced into query text. It runs as its owner, and only when that
/// owner is trusted (a superuser, or named in `oauth_server.trusted_owners`): otherwise whoever
/// could `CREATE OR REPLACE` it would run code as the extension's owner. Nor is it run in a
/// session with temporary objects, which could stand in for its tables. NULL results,
/// non-functions, untrusted owners and such sessions are configuration errors (55000) naming
/// the setting.
pub fn call_jsonb_function(name: &str, setting: &str, arg: Value) -> Result<Value, MisuseError> {
    let f: ConfiguredFunction = one(
        query!("db/configured_function"),
        &[name.into(), crate::settings::trusted_owners().into()],
    )?
    .ok_or_else(|| internal("function lookup returned nothing"))?;
    let misconfigured = |what: String| {
        MisuseError::new(Misuse::Misconfigured, what).hint(format!(
            "set {setting} to the name of a function taking one jsonb argument and returning jsonb"
        ))
    };
    let (Some(oid), Some(owner_oid)) = (f.oid, f.owner_oid) else {
        return Err(misconfigured(format!(
            "{setting}: {name:?} is not a function (jsonb)"
        )));
    };
    if f.returns_jsonb != Some(true) {
        return Err(misconfigured(format!(
            "{setting}: {name:?} is not a plain function returning one jsonb"
        )));
    }
    if f.trusted != Some(true) {
        return Err(MisuseError::new(
            Misuse::Misconfigured,
            format!(
                "{setting}: {name:?} is owned by {}, which is not trusted to run as the authorization server",
                f.owner.unwrap_or_default()
            ),
        )
        .hint("have a dedicated role own the function and add it to oauth_server.trusted_owners"));
    }
    // The caller's temporary tables would shadow the ones the function reads by unqualified
    // name, with the function's owner's privileges: the caller could choose its claims.
    if f.temp_objects {
        return Err(MisuseError::new(
            Misuse::Misconfigured,
            format!(
                "{setting}: {name:?} is not run in a session that has temporary tables or types"
            ),
        )
        .hint("drop them (DISCARD TEMP) or call from a session without them"));
    }
    let arg = JsonB(arg)
        .into_datum()
        .ok_or_else(|| internal("function argument did not convert"))?;
    let (Ok(owner_oid), Ok(oid)) = (u32::try_from(owner_oid), u32::try_from(oid)) else {
        return Err(internal("function lookup returned an OID out of range"));
    };
    let result = unsafe { call_as(pg_sys::Oid::from(owner_oid), pg_sys::Oid::from(oid), arg) };
    result
        .map(|j| j.0)
        .ok_or_else(|| misconfigured(format!("{setting}: {name:?} returned NULL")))
}

/// Calls `function(arg)` with the privileges of `owner`, as a SECURITY DEFINER function would,
/// and as a security-restricted operation (what Postgres uses to run table owners' code during
/// maintenance): the caller's session cannot lend it temporary objects, nor can it change role.
/// If the call raises, transaction (or subtransaction) abort restores the caller's identity.
unsafe fn call_as(owner: pg_sys::Oid, function: pg_sys::Oid, arg: pg_sys::Datum) -> Option<JsonB> {
    let mut saved_user = pg_sys::InvalidOid;
    let mut saved_context = 0;
    pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
    pg_sys::SetUserIdAndSecContext(
        owner,
        saved_context
            | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32
            | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
    );
    let datum = pg_sys::OidFunctionCall1Coll(function, pg_sys::InvalidOid, arg);
    pg_sys::SetUserIdAndSecContext(saved_user, saved_context);
    JsonB::from_datum(datum, false)
}

/// Whether a relation exists and is owned by a trusted role (a superuser, or one named in
/// `oauth_server.trusted_owners`): tables read as a source of truth (Supabase's `auth.users`)
/// must not be ones any role with CREATE could have made.
pub fn relation_is_trusted(name: &str) -> Result<bool, MisuseError> {
    Ok(scalar::<bool>(
        query!("db/relation_is_trusted"),
        &[name.into(), crate::settings::trusted_owners().into()],
    )? == Some(true))
}

/// Whether `s` has the canonical text shape of a UUID, so that `$1::uuid` cannot raise and an
/// index on a uuid column is used (a `id::text = $1` comparison would scan).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}
