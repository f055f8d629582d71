//! The audit log (`oauth.audit_log`): `oauth.audit_events(…)` reads it for administrators.
//! Events are written with `store::audit::record`; `oauth.purge_expired()` drops rows older
//! than `oauth_server.audit_retention`.

use super::or_raise;
use crate::store::audit;
use pgrx::prelude::*;
use pgrx::JsonB;

/// Audit events, newest first: since `since`, optionally of one `event` kind and one client.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn audit_events(
    since: default!(
        Option<pgrx::datum::TimestampWithTimeZone>,
        "now() - interval '1 day'"
    ),
    event: default!(Option<&str>, "NULL"),
    client_id: default!(Option<&str>, "NULL"),
    max_rows: default!(Option<i32>, "1000"),
) -> JsonB {
    JsonB(or_raise(audit::events(since, event, client_id, max_rows)))
}
