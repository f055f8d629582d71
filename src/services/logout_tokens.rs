//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0) carried out: the deliveries
//! the triggers queued are claimed for the front, each with its logout token signed now
//! (`protocol::logout_token`: the user as the client sees them, pairwise or not; the same `jti`
//! on every attempt), and the front reports each outcome.

use crate::error::MisuseError;
use crate::protocol::logout_token::{self, LogoutInput};
use crate::protocol::token_kind;
use crate::services::keys::signer_of_current;
use crate::services::pairwise::SubjectClient;
use crate::settings;
use crate::store::{clients, db, logout_deliveries as store};
use serde_json::{json, Value};

/// How long a claim holds a delivery: longer than the front's delivery timeout (10 s), so that
/// a delivery in flight is never claimed again by another front.
const LEASE_SECS: f64 = 60.0;

/// Up to `max_rows` due deliveries, each `{id, uri, logout_token}`.
pub fn claim(max_rows: i32) -> Result<Value, MisuseError> {
    let rows = store::claim(max_rows.clamp(1, 500), LEASE_SECS)?;
    if rows.is_empty() {
        return Ok(json!([]));
    }
    let signer = signer_of_current(None)?;
    let issuer = settings::issuer();
    let now = db::now_epoch()?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(uri) = r.uri.clone() else {
            store::give_up(&r.id, "the client no longer has a backchannel_logout_uri")?;
            continue;
        };
        // One row that cannot be signed (a client's stored metadata this server did not write)
        // is given up, saying why; it holds up no other.
        match token_for(&r, &issuer, now, &signer) {
            Ok(Some(token)) => out.push(json!({"id": r.id, "client_id": r.client_id, "uri": uri,
                                               "attempt": r.attempts, "logout_token": token})),
            Ok(None) => store::give_up(&r.id, "the client is gone")?,
            Err(e) => store::give_up(
                &r.id,
                &format!("no logout token could be made: {}", e.message),
            )?,
        }
    }
    Ok(Value::Array(out))
}

/// The logout token of a claimed delivery; `None` when its client is gone.
fn token_for(
    r: &store::Claimed,
    issuer: &str,
    now: i64,
    signer: &crate::protocol::jws::Signer,
) -> Result<Option<String>, MisuseError> {
    // Deleted since it was queued: its deliveries went with it (cascade).
    let Some(client) = clients::find_stored(&r.client_id)? else {
        return Ok(None);
    };
    let seen_by = SubjectClient::of(&client)?;
    let sub = seen_by.subject(&r.user_id)?;
    let sid = r
        .sid
        .as_deref()
        .map(|s| seen_by.session_id(s))
        .transpose()?;
    let Some(claims) = logout_token::claims(&LogoutInput {
        issuer,
        client_id: &r.client_id,
        sub: Some(&sub),
        sid: sid.as_deref(),
        jti: &r.jti,
        now,
    }) else {
        return Ok(None);
    };
    Ok(Some(signer.sign(token_kind::LOGOUT_TYP, &claims)?))
}
