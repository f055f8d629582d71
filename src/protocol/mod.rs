//! Protocol logic in plain Rust: no pgrx types, unit-tested with `cargo test` without Postgres.

pub mod claims;
pub mod client_auth;
pub mod jws;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod scope;
pub mod secret;
pub mod user_claims;
