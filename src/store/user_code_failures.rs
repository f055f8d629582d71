//! `oauth.user_code_failures` and the sequence `oauth.user_code_failure_count`: wrong device
//! user codes entered on the consent page (RFC 8628 §5.1), counted where the code is checked
//! so that every path (the front, PostgREST, plain SQL) and every spelling of a code counts:
//! - a user may enter `user_code_failures_per_user` wrong codes in 10 minutes;
//! - everyone together `user_code_failures_per_minute` a minute;
//! - a device request during whose life more than `user_code_max_failures` wrong codes were
//!   entered is refused even with the right code, which bounds the chance of guessing any one
//!   live code to that number / 20^8 whatever the rates.

use super::{execute, one, scalar};
use crate::error::MisuseError;
use crate::query;
use crate::row_type;
use crate::settings;

row_type! {
    struct Recent {
        pub by_user: i64,
        pub by_everyone: i64,
    }
}

/// Whether `user_id` may try another user code now. A user's tries are serialised (an
/// advisory lock until the transaction ends), so parallel guesses cannot all read the count
/// before any of them adds to it.
pub fn within_budget(user_id: &str) -> Result<bool, MisuseError> {
    execute(query!("user_code_failures/lock_user"), &[user_id.into()])?;
    let n =
        one::<Recent>(query!("user_code_failures/recent"), &[user_id.into()])?.unwrap_or(Recent {
            by_user: 0,
            by_everyone: 0,
        });
    Ok(n.by_user < settings::user_code_failures_per_user()
        && n.by_everyone < settings::user_code_failures_per_minute())
}

/// Counts a wrong code twice: a row for the rate limits (transactional: they bind callers
/// that commit, as the front and PostgREST do), and the non-transactional counter that the
/// lockout reads, which no rollback undoes.
pub fn record(user_id: &str) -> Result<(), MisuseError> {
    execute(query!("user_code_failures/record"), &[user_id.into()]).map(|_| ())
}

/// Whether too many wrong codes were entered during the life of a device request (which
/// recorded the counter as `failures_at_start`) for its code still to be trusted.
pub fn locked_out(failures_at_start: i64) -> Result<bool, MisuseError> {
    let now = scalar::<i64>(query!("user_code_failures/count_so_far"), &[])?.unwrap_or(0);
    Ok(now - failures_at_start >= settings::user_code_max_failures())
}
