//! Storage: the only modules that talk to SPI. One module per table or aggregate, each with
//! typed rows and named state changes (`approve`, `start_redeemed`, `rotate`, …); the query
//! text lives in `sql/queries/<module>/<name>.sql`, loaded with [`query!`]. Arguments are
//! always bound, never spliced into the text.

pub mod accounts;
pub mod admin_keys;
pub mod audit;
pub mod authorizations;
pub mod client_jwks;
pub mod clients;
pub mod consents;
pub mod db;
pub mod db_login;
pub mod dpop_nonces;
pub mod grants;
pub mod grounds;
pub mod issuers;
pub mod logout_deliveries;
mod plans;
pub mod purge;
pub mod pushed_requests;
pub mod resources;
pub mod revoked_users;
pub mod scopes;
pub mod sessions;
pub mod sign_in_providers;
pub mod sign_in_states;
pub mod signing_keys;
pub mod subjects;
pub mod supabase_users;
pub mod token_exchange;
pub mod used_jtis;
pub mod user_code_failures;

use crate::error::{internal, MisuseError};
use crate::model;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiHeapTupleData, SpiResult};
use pgrx::JsonB;
use serde_json::Value;

/// The text of `sql/queries/<name>.sql`, compiled into the library.
#[macro_export]
macro_rules! query {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/sql/queries/",
            $name,
            ".sql"
        ))
    };
}

fn spi_failure(e: pgrx::spi::SpiError) -> MisuseError {
    internal(format!("SPI failure: {e}"))
}

/// One column of a result row, read by name. `Option<T>` reads NULL as `None`; any other type
/// treats NULL as a broken row.
pub trait Column: Sized {
    fn read(row: &SpiHeapTupleData, name: &str) -> SpiResult<Option<Self>>;
}

macro_rules! datum_columns {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn read(row: &SpiHeapTupleData, name: &str) -> SpiResult<Option<Self>> {
                row.get_by_name::<$t, _>(name)
            }
        }
    )*};
}
datum_columns!(String, i64, i32, bool, f64, Vec<u8>, Vec<String>);

impl Column for Value {
    fn read(row: &SpiHeapTupleData, name: &str) -> SpiResult<Option<Self>> {
        Ok(row.get_by_name::<JsonB, _>(name)?.map(|j| j.0))
    }
}

impl<T: Column> Column for Option<T> {
    fn read(row: &SpiHeapTupleData, name: &str) -> SpiResult<Option<Self>> {
        Ok(Some(T::read(row, name)?))
    }
}

/// A column of stored text that must be one of an enum's values: an unknown value is a broken
/// row (the CHECK constraints make it impossible), read as an error rather than a guess.
macro_rules! enum_columns {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn read(row: &SpiHeapTupleData, name: &str) -> SpiResult<Option<Self>> {
                Ok(row.get_by_name::<String, _>(name)?.and_then(|s| <$t>::parse(&s)))
            }
        }
        impl Column for Vec<$t> {
            fn read(row: &SpiHeapTupleData, name: &str) -> SpiResult<Option<Self>> {
                Ok(row
                    .get_by_name::<Vec<String>, _>(name)?
                    .and_then(|v| v.iter().map(|s| <$t>::parse(s)).collect()))
            }
        }
    )*};
}
enum_columns!(
    model::ClientType,
    model::AuthMethod,
    model::GrantType,
    model::AuthorizationKind,
    model::AuthorizationStatus,
    model::KeyStatus,
    model::KeyAlg
);

/// A typed result row.
pub trait FromRow: Sized {
    fn from_row(row: &SpiHeapTupleData) -> Result<Self, MisuseError>;
}

/// Reads a required column for [`row_type!`]: NULL or a wrong type is an internal error naming
/// the column.
pub fn column<T: Column>(row: &SpiHeapTupleData, name: &str) -> Result<T, MisuseError> {
    match T::read(row, name) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(internal(format!("column {name} is NULL or out of range"))),
        Err(e) => Err(internal(format!("column {name}: {e}"))),
    }
}

/// A struct whose fields are read from the result columns of the same names.
#[macro_export]
macro_rules! row_type {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl $crate::store::FromRow for $name {
            fn from_row(
                row: &pgrx::spi::SpiHeapTupleData,
            ) -> Result<Self, $crate::error::MisuseError> {
                Ok($name { $($field: $crate::store::column(row, stringify!($field))?),* })
            }
        }
    };
}

/// The first row of a statement (which may change rows: `UPDATE … RETURNING`), if any.
pub fn one<T: FromRow>(sql: &'static str, args: &[DatumWithOid]) -> Result<Option<T>, MisuseError> {
    Spi::connect_mut(|client| {
        let ran = plans::run(client, sql, Some(1), args)?;
        match ran.rows.first() {
            Some(row) => T::from_row(row).map(Some),
            None => Ok(None),
        }
    })
}

/// Every row of a statement.
pub fn all<T: FromRow>(sql: &'static str, args: &[DatumWithOid]) -> Result<Vec<T>, MisuseError> {
    Spi::connect_mut(|client| {
        let ran = plans::run(client, sql, None, args)?;
        ran.rows.iter().map(T::from_row).collect()
    })
}

/// The column named `value` of the first row, if there is a row and the value is not NULL.
pub fn scalar<T: Column>(
    sql: &'static str,
    args: &[DatumWithOid],
) -> Result<Option<T>, MisuseError> {
    Spi::connect_mut(|client| {
        let ran = plans::run(client, sql, Some(1), args)?;
        match ran.rows.first() {
            Some(row) => T::read(row, "value").map_err(spi_failure),
            None => Ok(None),
        }
    })
}

/// A statement whose rows are not needed; the number of rows it processed.
pub fn execute(sql: &'static str, args: &[DatumWithOid]) -> Result<usize, MisuseError> {
    Spi::connect_mut(|client| plans::run(client, sql, None, args).map(|ran| ran.processed))
}
