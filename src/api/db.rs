//! SPI helpers. Queries return one jsonb (or scalar) column so that rows map onto serde
//! structs; arguments are always bound, never spliced into query text.

use crate::error::{internal, MisuseError};
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
    Spi::get_one::<i64>("SELECT extract(epoch FROM now())::bigint")
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
