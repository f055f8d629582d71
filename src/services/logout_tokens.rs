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
        // Deleted since it was queued: its deliveries went with it (cascade).
        let Some(client) = clients::find_stored(&r.client_id)? else {
            continue;
        };
        let sub = SubjectClient::of(&client)?.subject(&r.user_id)?;
        let Some(claims) = logout_token::claims(&LogoutInput {
            issuer: &issuer,
            client_id: &r.client_id,
            sub: Some(&sub),
            sid: r.sid.as_deref(),
            jti: &r.jti,
            now,
        }) else {
            continue;
        };
        let token = signer.sign(token_kind::LOGOUT_TYP, &claims)?;
        out.push(
            json!({"id": r.id, "client_id": r.client_id, "uri": r.uri, "logout_token": token}),
        );
    }
    Ok(Value::Array(out))
}
