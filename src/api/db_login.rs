//! `oauth.db_login_snapshot()`: what the database login validator (PostgreSQL 18) checks logins
//! against, as the background worker publishes it (docs/db-login.md). For the worker, and for
//! an operator asking why a login is refused.

use super::or_raise;
use crate::services::db_login;
use pgrx::prelude::*;
use pgrx::JsonB;

/// The snapshot: `made_at_ms`, `issuer`, `keys` (the public JWKS), and `families`, the live
/// token families of the clients in `oauth_server.db_login_clients` by id, each with its
/// `user`, `client`, today's `scopes` and `audiences`.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn db_login_snapshot() -> JsonB {
    let snapshot = or_raise(db_login::snapshot());
    JsonB(serde_json::to_value(snapshot).unwrap_or_default())
}
