//! Storage of `oauth.audit_log` (placeholder until the keys branch lands).
pub use crate::api::audit::record;
