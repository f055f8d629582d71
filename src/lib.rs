//! oauth_server: an OAuth 2.1 and OpenID Connect authorization server inside PostgreSQL.
//!
//! `oauth_core` (crates/oauth-core) holds the protocol rules and decisions as plain Rust; `api`
//! is the thin pgrx layer that exposes them as SQL functions in schema `oauth`, over `services`
//! and `store` (the only modules that use SPI); `error` and `response` are every layer's error
//! channel and answer helpers; `sql/` holds the schema.

use pgrx::prelude::*;

pub mod api;
pub mod audit_events;
pub mod db_login;
pub mod error;
pub mod response;
pub mod services;
pub mod settings;
pub mod store;

// The pgrx-free rules, shared with the front and the fuzz targets.
pub use oauth_core::{decisions, model, protocol};

::pgrx::pg_module_magic!(name, version);

// Tables, indexes and seed data, before any function.
extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
// Privileges and pg_dump registration, after every function exists.
extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::init();
    db_login::init();
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
