//! Storage of the extension's own accounts, `oauth.users` and `oauth.identities`: the users of
//! installs without a login of their own, and the upstream identities they sign in with.
//! (Supabase's `auth.users`, which the extension only reads, is `store::supabase_users`.)

use super::{all, execute, one, scalar};
use crate::error::MisuseError;
use crate::{query, row_type};
use pgrx::JsonB;
use serde_json::Value;

row_type! {
    /// Whose an identity is.
    pub struct Owner {
        pub user_id: String,
        pub disabled: bool,
    }
}

row_type! {
    struct Id {
        pub id: String,
    }
}

row_type! {
    /// A user after a sign-in: what the session carries.
    pub struct SignedIn {
        pub id: String,
        pub email: Option<String>,
        pub email_verified: bool,
        pub profile: Value,
        pub disabled: bool,
    }
}

/// The identity's user, with the identity row locked until the transaction ends.
pub fn find_identity(
    provider: &str,
    issuer: &str,
    subject: &str,
) -> Result<Option<Owner>, MisuseError> {
    one(
        query!("accounts/find_identity"),
        &[provider.into(), issuer.into(), subject.into()],
    )
}

/// The users whose verified email is `email` (case-insensitively), at most two.
pub fn users_with_verified_email(email: &str) -> Result<Vec<String>, MisuseError> {
    let rows: Vec<Id> = all(
        query!("accounts/users_with_verified_email"),
        &[email.into()],
    )?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Whether user `id` exists and is disabled: asked at every check a user's decision passes
/// (`services::grounds`, access-token verification, userinfo, introspection, sessions).
pub fn is_disabled(id: &str) -> Result<bool, MisuseError> {
    if !users_exist()? {
        return Ok(false);
    }
    Ok(scalar::<bool>(query!("accounts/is_disabled"), &[id.into()])?.unwrap_or(false))
}

row_type! {
    /// What a user's sessions are checked against (`accounts/standing.sql`).
    pub struct Standing {
        pub disabled: bool,
        /// When the user was last deleted (epoch seconds).
        pub deleted_at: Option<f64>,
    }
}

/// Whether user `id` is disabled and when they were last deleted, in one statement: what a
/// session of theirs must be checked against (`services::sessions`). Neither in a 0.1.0
/// schema.
pub fn standing(id: &str) -> Result<Standing, MisuseError> {
    let none = Standing {
        disabled: false,
        deleted_at: None,
    };
    if !users_exist()? {
        return Ok(none);
    }
    Ok(one(query!("accounts/standing"), &[id.into()])?.unwrap_or(none))
}

thread_local! {
    static USERS_EXIST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether `oauth.users` exists: not in a 0.1.0 schema, which this library serves until
/// `ALTER EXTENSION oauth_server UPDATE` (no user can be disabled there). Once it exists it
/// stays, so only that answer is remembered for the backend's life.
fn users_exist() -> Result<bool, MisuseError> {
    if USERS_EXIST.get() {
        return Ok(true);
    }
    let exists = scalar::<bool>(query!("accounts/users_exist"), &[])?.unwrap_or(false);
    USERS_EXIST.set(exists);
    Ok(exists)
}

/// The user `id` (new when `None`), created with these claims if it does not exist.
pub fn ensure_user(
    id: Option<&str>,
    email: Option<&str>,
    email_verified: bool,
    profile: &Value,
) -> Result<String, MisuseError> {
    let row: Option<Id> = one(
        query!("accounts/ensure_user"),
        &[
            id.into(),
            email.into(),
            email_verified.into(),
            JsonB(profile.clone()).into(),
        ],
    )?;
    row.map(|r| r.id)
        .ok_or_else(|| crate::error::internal("INSERT … RETURNING returned no row"))
}

/// Records a sign-in of user `id` with an identity's email and profile.
pub fn sign_in_user(
    id: &str,
    email: Option<&str>,
    email_verified: bool,
    profile: &Value,
) -> Result<Option<SignedIn>, MisuseError> {
    one(
        query!("accounts/sign_in_user"),
        &[
            id.into(),
            email.into(),
            email_verified.into(),
            JsonB(profile.clone()).into(),
        ],
    )
}

/// An identity as it signs in.
pub struct IdentityRow<'a> {
    pub provider: &'a str,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub user_id: &'a str,
    pub email: Option<&'a str>,
    pub email_verified: bool,
    pub profile: Value,
    pub details: Value,
}

/// Creates or refreshes an identity; returns its merged profile.
pub fn upsert_identity(i: IdentityRow<'_>) -> Result<Value, MisuseError> {
    Ok(scalar_profile(one::<Profile>(
        query!("accounts/upsert_identity"),
        &[
            i.provider.into(),
            i.issuer.into(),
            i.subject.into(),
            i.user_id.into(),
            i.email.into(),
            i.email_verified.into(),
            JsonB(i.profile).into(),
            JsonB(i.details).into(),
        ],
    )?))
}

row_type! {
    struct Profile {
        pub profile: Value,
    }
}

fn scalar_profile(p: Option<Profile>) -> Value {
    p.map(|p| p.profile).unwrap_or(Value::Null)
}

/// The identities of user `id`, as a JSON array.
pub fn identities_of(id: &str) -> Result<Value, MisuseError> {
    Ok(scalar(query!("accounts/identities_of"), &[id.into()])?.unwrap_or(Value::Array(vec![])))
}

row_type! {
    struct Unlinked {
        pub unlinked: i64,
        pub sessions_ended: i64,
    }
}

/// Unlinks an identity unless it is the user's last, and ends the sessions signed in through
/// it: `None` when nothing was removed, else how many sessions ended.
pub fn unlink(user_id: &str, provider: &str, subject: &str) -> Result<Option<i64>, MisuseError> {
    execute(query!("accounts/lock_user"), &[user_id.into()])?;
    let r: Option<Unlinked> = one(
        query!("accounts/unlink"),
        &[user_id.into(), provider.into(), subject.into()],
    )?;
    Ok(r.filter(|r| r.unlinked > 0).map(|r| r.sessions_ended))
}

/// User `id` of `oauth.users` as OpenID Connect claims, if there is such a user.
pub fn user_claims(id: &str) -> Result<Option<Value>, MisuseError> {
    scalar(query!("accounts/user_claims"), &[id.into()])
}

/// Disables (`true`) or enables user `sub`, making an `oauth.users` row for a user of another
/// login or issuer so that the flag has somewhere to live; whether the state changed. The
/// trigger on `oauth.users` ends the sessions and writes the audit row.
pub fn set_disabled(sub: &str, disabled: bool) -> Result<bool, MisuseError> {
    if disabled {
        execute(query!("accounts/ensure_row"), &[sub.into()])?;
    }
    Ok(execute(
        query!("accounts/set_disabled"),
        &[sub.into(), disabled.into()],
    )? > 0)
}

/// Deletes user `sub` and everything they left behind (consents, token families, requests,
/// sessions; identities by cascade); whether `oauth.users` had the user. A user of another
/// login gets a row first, so that the one trigger on `oauth.users` forgets them the same way.
pub fn delete_user(sub: &str) -> Result<bool, MisuseError> {
    let made = execute(query!("accounts/ensure_row"), &[sub.into()])? > 0;
    execute(query!("accounts/delete_user"), &[sub.into()])?;
    Ok(!made)
}
