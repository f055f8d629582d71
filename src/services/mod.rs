//! Services shared by the endpoint modules, below them: client authentication, token issuance
//! (sign + hook), sessions (credentials verified by kind), user claims, signing keys and
//! upstream sign-in. A service imports `store`, `oauth_core`, `crate::error` and
//! `crate::response`, never `api`; an `api` module imports these, never another `api` module
//! (`crates/repo-checks/tests/layering.rs` fails on either).

pub mod admin_access;
pub mod authorization_requests;
pub mod client_auth;
pub mod client_keys;
pub mod clients;
pub mod db_login;
pub mod dpop;
pub mod grounds;
pub mod issuance;
pub mod keys;
pub mod logout_tokens;
pub mod pairwise;
pub mod requests;
pub mod resources;
pub mod sessions;
pub mod sign_in;
pub mod sign_in_callback;
pub mod sign_in_linking;
pub mod sign_in_metadata;
pub mod sign_in_providers;
pub mod token_exchange;
pub mod trusted_sessions;
pub mod user_claims;
