//! The snapshot the database login validator checks logins against (PostgreSQL 18; see
//! `crate::db_login` and docs/db-login.md): made by the background worker in the database
//! named by `oauth_server.db_login_database`, read by the validator before any database is
//! connected. A family is in it when access-token verification would let its tokens stand
//! (`keys::verify_access_token`'s family checks: not revoked, the issuer of its session still
//! trusted, its client not switched off, its user not disabled) and, beyond that, the session
//! of ours that approved it has not ended: a database login is a new sign-in, not an API call.

use crate::decisions::client_standing::{self, Origin, Switches};
use crate::decisions::grounds::{issuer_still_trusted, SessionIssuer};
use crate::error::MisuseError;
use crate::protocol::login_snapshot::{Header, PublishedFamily, Snapshot};
use crate::settings;
use crate::store::{db_login as store, signing_keys};

/// Epoch milliseconds now.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Today's snapshot.
pub fn snapshot() -> Result<Snapshot, MisuseError> {
    // Before reading: the snapshot then claims to be no newer than what it read (each statement
    // reads what committed before it started), so its age is never understated.
    // A standby whose replay is paused publishes a snapshot dated long ago, which the
    // validator refuses as stale: it would otherwise honour what the primary revoked since.
    let made_at_ms = if store::replay_paused()? { 0 } else { now_ms() };
    let clients = settings::db_login_clients();
    let ours = settings::issuer();
    let switches = Switches {
        metadata_documents: settings::client_metadata_documents(),
    };
    let default_audience = settings::default_audience();
    let rows = if clients.is_empty() {
        Vec::new()
    } else {
        store::families(&clients)?
    };
    let families = rows
        .into_iter()
        .filter(|f| {
            let origin = if f.metadata_document {
                Origin::MetadataDocument
            } else {
                Origin::Registered
            };
            client_standing::may_act(origin, &switches).is_ok()
                && issuer_still_trusted(&SessionIssuer {
                    recorded: f.issuer.as_deref(),
                    ours: &ours,
                    options: f.issuer_options.as_ref(),
                    user_claims: f.user_claims.as_ref(),
                })
                .is_ok()
        })
        .map(|f| {
            let audiences = if f.resources.is_empty() {
                vec![default_audience.clone()]
            } else {
                f.resources
            };
            // A trusted issuer's users are that issuer's: their identity names it.
            let issuer = f
                .issuer
                .filter(|iss| !crate::protocol::issuer::same(iss, &ours));
            let family = PublishedFamily {
                user: f.user_id,
                client: f.client_id,
                scopes: f.scopes,
                audiences,
                issuer,
            };
            (f.id, family)
        })
        .collect();
    let keys = signing_keys::jwks()?
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(Snapshot {
        header: Header {
            made_at_ms,
            issuer: ours,
            keys,
        },
        families,
    })
}
