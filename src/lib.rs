//! oauth_server: an OAuth 2.1 and OpenID Connect authorization server inside PostgreSQL.
//!
//! `protocol` holds the protocol rules as plain Rust; `api` is the thin pgrx layer that
//! exposes them as SQL functions in schema `oauth`; `sql/` holds the schema.

use pgrx::prelude::*;

pub mod api;
pub mod error;
pub mod protocol;
pub mod settings;

::pgrx::pg_module_magic!(name, version);

// Tables, indexes and seed data, before any function.
extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
// Privileges and pg_dump registration, after every function exists.
extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::init();
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
