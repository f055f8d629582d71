//! Reading Supabase's `auth.users` (users the extension does not own; ours are
//! `oauth.users`, in `store::accounts`), for OpenID Connect claims, and only when a trusted role
//! owns the table (a table of that name made by anyone else could claim any email is verified).

use super::db::{is_uuid, relation_is_trusted};
use super::scalar;
use crate::error::MisuseError;
use crate::query;
use serde_json::Value;

/// The `auth.users` row of `sub`, when that table exists, is owned by a trusted role, and
/// `sub` is a UUID.
pub fn find(sub: &str) -> Result<Option<Value>, MisuseError> {
    if !is_uuid(sub) || !relation_is_trusted("auth.users")? {
        return Ok(None);
    }
    scalar::<Value>(query!("supabase_users/find"), &[sub.into()])
}
