//! oauth_server's protocol logic in plain Rust: no pgrx, no I/O, unit-tested with `cargo test
//! -p oauth-core`. The extension, the HTTP front and the fuzz targets all depend on it, so a
//! rule they share (the form parser, the shape of an authorization id, the unknown-key marker,
//! loopback hosts) is written once.
//!
//! - `protocol`: the rules (PKCE, redirect URIs, scopes, resources, claims, JWS, sessions, …);
//! - `decisions`: what to do with a stored request or token, as pure functions (state in,
//!   outcome out) that the extension's API layer carries out;
//! - `model`: the enums the schema's CHECK constraints list;
//! - `wire`: constants the extension and the front must agree on;
//! - `error`: protocol errors (RFC 6749 JSON) and misuse (SQLSTATE classes).

pub mod decisions;
pub mod error;
pub mod form;
pub mod model;
pub mod protocol;
pub mod wire;
