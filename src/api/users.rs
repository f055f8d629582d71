//! Users' state, for administrators: `oauth.disable_user`, `oauth.enable_user` and
//! `oauth.delete_user`. Whatever holds the user — `oauth.users` (upstream sign-in), an app's
//! own login, our session tokens — the change takes effect at every check at once, not when a
//! token expires (docs/security.md#decisions-that-outlive-their-grounds). The triggers on
//! `oauth.users` do the work and the audit, so a direct UPDATE or DELETE has the same effect.

use super::{or_raise, required};
use crate::store::accounts;
use pgrx::prelude::*;

/// Disables user `sub`: their sessions end, and their token families, sessions and pending
/// requests are refused at every check (refresh, code and device redemption, consent, session
/// verification, userinfo; introspection answers `active: false`) until `oauth.enable_user`.
/// Whether the user was enabled before.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn disable_user(sub: Option<&str>) -> bool {
    let sub = or_raise(required(sub, "sub"));
    or_raise(accounts::set_disabled(sub, true))
}

/// Enables user `sub` again: their token families work again; ended sessions stay ended.
/// Whether the user was disabled before.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn enable_user(sub: Option<&str>) -> bool {
    let sub = or_raise(required(sub, "sub"));
    or_raise(accounts::set_disabled(sub, false))
}

/// Deletes user `sub` with everything they left behind: identities, consents, token families
/// (their access tokens stop verifying), requests and sessions. Whether `oauth.users` held the
/// user (for another login's user the rest is deleted all the same).
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn delete_user(sub: Option<&str>) -> bool {
    let sub = or_raise(required(sub, "sub"));
    or_raise(accounts::delete_user(sub))
}
