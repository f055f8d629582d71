//! Back-channel logout's outbox (OpenID Connect Back-Channel Logout 1.0): what the front
//! calls to deliver logout tokens (`oauth.claim_logout_deliveries`,
//! `oauth.report_logout_delivery`) and what an operator reads (`oauth.logout_deliveries()`).
//! The rows are written by triggers, in the transaction that ends the session or the user.

use super::{or_raise, raise, required};
use crate::error::bad_param;
use crate::services::logout_tokens;
use crate::store::{db, logout_deliveries as store};
use pgrx::prelude::*;
use pgrx::JsonB;

/// Claims up to `max_rows` due deliveries for a minute and signs their logout tokens:
/// `[{id, client_id, uri, attempt, logout_token}]` (one whose client no longer has a URI, or
/// whose token cannot be made, is given up instead, saying why). Each claim counts as an attempt; the caller POSTs
/// `logout_token` (form-encoded) to `uri` and reports the outcome.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn claim_logout_deliveries(max_rows: default!(i32, 20)) -> JsonB {
    JsonB(or_raise(logout_tokens::claim(max_rows)))
}

/// What an attempt got: `status` the HTTP status (NULL when no answer came), `error` why not
/// 2xx. A 2xx delivers it for good; otherwise it is tried again with backoff (5 s doubling to an
/// hour) and given up after 12 attempts, a day, or a 4xx other than 408 and 429. Returns
/// `{id, state, attempts, next_attempt_at}`, or NULL when it was already delivered or given up,
/// or `attempt` (the claim's, when given) is no longer its latest: a front whose claim ran out
/// never overwrites a newer attempt.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn report_logout_delivery(
    id: Option<&str>,
    status: Option<i32>,
    error: default!(Option<&str>, "NULL"),
    attempt: default!(Option<i32>, "NULL"),
) -> Option<JsonB> {
    let id = or_raise(required(id, "id"));
    if !db::is_uuid(id) {
        raise(bad_param(format!("{id:?} is not a delivery id")));
    }
    if status.is_some_and(|s| !(100..=599).contains(&s)) {
        raise(bad_param(
            "status must be an HTTP status (100 to 599) or NULL",
        ));
    }
    or_raise(store::report(id, status, error, attempt)).map(JsonB)
}

/// The deliveries, newest first (of one client, when given; at most `max_rows`): each with its
/// `state` (`pending`, `delivered`, `given_up`), attempts, last status and error.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn logout_deliveries(
    client_id: default!(Option<&str>, "NULL"),
    max_rows: default!(i32, 100),
) -> JsonB {
    let max_rows = max_rows.clamp(1, 10_000);
    JsonB(or_raise(store::list(client_id, max_rows)))
}
