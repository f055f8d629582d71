//! Administrator keys for the HTTP admin API: `oauth.create_admin_key`, `oauth.revoke_admin_key`
//! and `oauth.admin_keys()`. Not executable by PUBLIC: whoever may mint a key administers every
//! client. A key is shown once, when created; only its SHA-256 is stored.

use super::{or_raise, required};
use crate::audit_events::AuditEvent;
use crate::error::bad_param;
use crate::protocol::admin_access;
use crate::protocol::secret;
use crate::store::{admin_keys, audit};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

/// A new administrator key named `name`, returned once. Several may be live at once: rotate by
/// creating the next, deploying it, then revoking the old one.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn create_admin_key(name: Option<&str>) -> String {
    let name = or_raise(required(name, "name"));
    if !admin_access::is_valid_key_name(name) {
        super::raise(bad_param(
            "name must be 1 to 100 characters without control characters",
        ));
    }
    let key = admin_access::new_key();
    if !or_raise(admin_keys::create(name, secret::hash(&key).to_vec())) {
        super::raise(
            bad_param(format!("an administrator key named {name:?} exists"))
                .hint("revoke it first with oauth.revoke_admin_key, or choose another name"),
        );
    }
    or_raise(audit::record(
        AuditEvent::AdminKeyCreated,
        None,
        None,
        json!({"name": name}),
    ));
    key
}

/// Revokes key `name` at once; false when there is none.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn revoke_admin_key(name: Option<&str>) -> bool {
    let name = or_raise(required(name, "name"));
    let revoked = or_raise(admin_keys::revoke(name));
    if revoked {
        or_raise(audit::record(
            AuditEvent::AdminKeyRevoked,
            None,
            None,
            json!({"name": name}),
        ));
    }
    revoked
}

/// The keys: `[{name, created_at, last_used_at}]`, never a key or its hash.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn admin_keys() -> JsonB {
    JsonB(or_raise(admin_keys::list()))
}
