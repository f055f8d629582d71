//! Signing in to the database itself with this server's access tokens (PostgreSQL 18's OAuth
//! validator, docs/db-login.md). Two processes meet through one file:
//! - the background worker (`worker`), started by the postmaster when the library is in
//!   `shared_preload_libraries` and `oauth_server.db_login_database` is set, connects to that
//!   database and republishes the login snapshot (`services::db_login`: the public keys and the
//!   token families that may still sign in) every `oauth_server.db_login_refresh_interval`;
//! - the validator (`validator`), which PostgreSQL calls while a connection authenticates,
//!   before any database is connected (no SPI), reads the last snapshot (`snapshot_file`) and
//!   decides with `oauth_core`'s `login_snapshot` and `decisions::db_login`; a snapshot older
//!   than `oauth_server.db_login_max_age` refuses every login.
//!
//! A session it let in keeps the token's claims (`oauth_server.db_login_claims`, superuser-only):
//! `oauth.uid()` and the other RLS helpers read those, never `request.jwt.claims`, which the
//! session could set itself; the consent API refuses such a session as a user's. It is
//! registered (`open_sessions`), and the worker ends it once its family is no longer live.

pub mod open_sessions;
pub mod snapshot_file;
#[cfg(feature = "pg18")]
mod validator;
#[cfg(feature = "pg18")]
mod worker;

/// Registers the background worker (`_PG_init`), when the library is preloaded and a database
/// is named. Without it no snapshot is made, and the validator refuses every login saying so.
pub fn init() {
    #[cfg(feature = "pg18")]
    worker::register();
    // Before 18 there is no validator to serve: said once, at server start, rather than left
    // for a DBA to wonder why nothing signs in.
    #[cfg(not(feature = "pg18"))]
    if unsafe { pgrx::pg_sys::process_shared_preload_libraries_in_progress }
        && crate::settings::db_login_database().is_some()
    {
        pgrx::warning!(
            "oauth_server.db_login_database is set, but signing in to the database with OAuth tokens needs PostgreSQL 18: ignored"
        );
    }
}
