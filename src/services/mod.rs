//! Services shared by the endpoint modules, below them: client authentication, token issuance
//! (sign + hook), sessions (credentials verified by kind), user claims and signing keys. An
//! `api` module imports these, `store` and `oauth_core`, never another `api` module
//! (`pgrx-tests/tests/layering.rs` fails on a new cross-import).

pub mod admin_access;
pub mod client_auth;
pub mod clients;
pub mod grounds;
pub mod issuance;
pub mod keys;
pub mod requests;
pub mod resources;
pub mod sessions;
pub mod sign_in;
pub mod sign_in_answers;
pub mod sign_in_callback;
pub mod sign_in_linking;
pub mod sign_in_metadata;
pub mod sign_in_providers;
pub mod trusted_sessions;
pub mod user_claims;
