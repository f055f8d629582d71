//! Protocol logic in plain Rust: no pgrx types, unit-tested with `cargo test` without Postgres.

pub mod admin_access;
#[cfg(test)]
mod attack_review;
pub mod ban_duration;
pub mod claims;
pub mod client_assertion;
pub mod client_auth;
pub mod client_metadata;
pub mod consent;
pub mod dpop;
pub mod issuer;
pub mod issuer_policy;
pub mod jose_rules;
pub mod jws;
pub mod key_wrap;
pub mod login_snapshot;
pub mod logout_token;
pub mod pairwise;
pub mod params;
pub mod pkce;
pub mod prompt;
pub mod redirect_uri;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod session_jwt;
#[cfg(test)]
pub mod test_keys;
pub mod token_kind;
pub mod upstream;
pub mod user_claims;
pub mod user_code;
