//! SPI helpers. Queries return one jsonb (or scalar) column so that rows map onto serde
//! structs; arguments are always bound, never spliced into query text.

use crate::error::{internal, Misuse, MisuseError};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn spi_failure(e: pgrx::spi::SpiError) -> MisuseError {
    internal(format!("SPI failure: {e}"))
}

/// First column of the first row as JSON, if there is a row (and it is not NULL).
pub fn query_json(sql: &str, args: &[DatumWithOid]) -> Result<Option<Value>, MisuseError> {
    Spi::connect_mut(|client| {
        let table = client.update(sql, Some(1), args)?;
        if table.is_empty() {
            return Ok(None);
        }
        Ok(table.first().get_one::<JsonB>()?.map(|j| j.0))
    })
    .map_err(spi_failure)
}

/// First row deserialized into `T`.
pub fn query_row<T: DeserializeOwned>(
    sql: &str,
    args: &[DatumWithOid],
) -> Result<Option<T>, MisuseError> {
    match query_json(sql, args)? {
        None => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| internal(format!("row shape: {e}"))),
    }
}

/// A statement whose result is not needed; returns the number of rows it processed.
pub fn execute(sql: &str, args: &[DatumWithOid]) -> Result<usize, MisuseError> {
    Spi::connect_mut(|client| client.update(sql, None, args).map(|t| t.len())).map_err(spi_failure)
}

/// Seconds since the epoch of the transaction's `now()`, so every timestamp of one call agrees
/// with what the SQL side writes.
pub fn now_epoch() -> Result<i64, MisuseError> {
    Spi::get_one::<i64>("SELECT floor(extract(epoch FROM now()))::bigint")
        .map_err(spi_failure)?
        .ok_or_else(|| internal("now() returned NULL"))
}

/// Decodes the `\x…` / hex form of a bytea that came through JSON.
pub fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("\\x").unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Calls the function named by a setting, `name(jsonb) returns jsonb`, by OID through fmgr: no
/// function name is ever spliced into query text. NULL results and non-functions are
/// configuration errors (55000) naming the setting.
pub fn call_jsonb_function(name: &str, setting: &str, arg: Value) -> Result<Value, MisuseError> {
    let oid: Option<Value> = query_json(
        "SELECT to_jsonb(to_regprocedure($1 || '(jsonb)')::oid::bigint)",
        &[name.into()],
    )?;
    let misconfigured = |what: String| {
        MisuseError::new(Misuse::Misconfigured, what).hint(format!(
            "set {setting} to the name of a function taking one jsonb argument and returning jsonb"
        ))
    };
    let oid = oid
        .and_then(|v| v.as_u64())
        .ok_or_else(|| misconfigured(format!("{setting}: {name:?} is not a function (jsonb)")))?;
    let arg = JsonB(arg)
        .into_datum()
        .ok_or_else(|| internal("function argument did not convert"))?;
    let result = unsafe {
        let datum =
            pg_sys::OidFunctionCall1Coll(pg_sys::Oid::from(oid as u32), pg_sys::InvalidOid, arg);
        JsonB::from_datum(datum, false)
    };
    result
        .map(|j| j.0)
        .ok_or_else(|| misconfigured(format!("{setting}: {name:?} returned NULL")))
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
