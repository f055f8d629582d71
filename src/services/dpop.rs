//! DPoP (RFC 9449) where the extension meets it: a proof checked against the request it came
//! with (oauth-core's `dpop::check`), its `jti` taken in `oauth.used_jtis` in the same
//! transaction as what it authorises (a replay is refused where the write is), and the
//! server's nonce when `oauth_server.dpop_nonce` is on.

use crate::audit_events::AuditEvent;
use crate::error::{ApiResult, OAuthError};
use crate::protocol::dpop::{self, Expected, Proven, Refusal};
use crate::protocol::secret;
use crate::response::add_response_headers;
use crate::settings;
use crate::store::used_jtis::{self, JtiKind};
use crate::store::{audit, db, dpop_nonces};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// The URL of one of our endpoints, as discovery names it (proofs' `htu` must name it).
pub fn endpoint_url(path: &str) -> String {
    format!("{}{path}", settings::issuer())
}

/// A request's proof, checked: `proof` is the `DPoP` header (`None` when there was none;
/// `Some("")` is a header without a value, refused), `access_token` the token presented with
/// it at a resource. `nonce`: whether the server's nonce is required.
pub fn check(
    proof: Option<&str>,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    nonce: bool,
) -> ApiResult<Option<Proven>> {
    let Some(proof) = proof else {
        return Ok(None);
    };
    let proven = judge(proof, method, url, access_token, nonce)?;
    // Until it is too old under any max age the setting may be given (a proof dated ahead, by
    // the clock skew, is too): raising the setting must not revive a forgotten proof.
    let until = proven
        .iat
        .saturating_add(dpop::MAX_PROOF_AGE_SECS)
        .saturating_add(1);
    if !used_jtis::take(JtiKind::Dpop, &proven.jkt, &proven.jti, until)? {
        audit::record(
            AuditEvent::DpopProofReplayed,
            None,
            None,
            json!({"jkt": proven.jkt, "htm": method, "htu": url}),
        )?;
        return Err(OAuthError::InvalidDpopProof(
            "this DPoP proof was used before (its jti): make a new proof for each request".into(),
        )
        .into());
    }
    Ok(Some(proven))
}

/// [`check`] without taking the `jti`: for a caller that cannot write (`oauth.dpop_jkt()`, in
/// a policy of a read-only transaction), which then accepts a replay within the proof's age.
pub fn judge(
    proof: &str,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    nonce: bool,
) -> ApiResult<Proven> {
    let required_nonce = if nonce {
        Some(nonce_to_require(proof)?)
    } else {
        None
    };
    let expected = Expected {
        method,
        url,
        now: db::now_epoch()?,
        max_age_secs: settings::dpop_proof_max_age(),
        skew_secs: settings::clock_skew() as i64,
        access_token,
        nonce: required_nonce.as_deref(),
    };
    match dpop::check(proof, &expected) {
        Ok(p) => Ok(p),
        Err(Refusal::Invalid(why)) => Err(OAuthError::InvalidDpopProof(why).into()),
        Err(Refusal::UseNonce) => Err(OAuthError::UseDpopNonce(
            "this server requires a DPoP nonce: make the proof again with the one in the DPoP-Nonce header".into(),
        )
        .into()),
    }
}

/// The nonce the proof must carry: its own when that is one of ours and still accepted, else
/// the current one (which it then does not carry: `use_dpop_nonce`). The proof is read here
/// unverified, only to look its nonce up; `dpop::check` verifies it.
fn nonce_to_require(proof: &str) -> ApiResult<String> {
    let claimed = proof
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
        .and_then(|claims| claims["nonce"].as_str().map(String::from))
        .filter(|n| n.len() <= 64);
    if let Some(n) = claimed {
        if dpop_nonces::is_current(&n, dpop::NONCE_ACCEPT_SECS)? {
            return Ok(n);
        }
    }
    Ok(current_nonce()?)
}

fn current_nonce() -> Result<String, crate::error::MisuseError> {
    dpop_nonces::current(dpop::NONCE_ROTATE_SECS, &secret::random_token(16))
}

/// When `oauth_server.dpop_nonce` is on and the request carried a proof: the `DPoP-Nonce`
/// header with the current nonce, added to the answer's (success or error) headers, so that
/// the client's next proof can carry it (RFC 9449 §8, §8.2).
pub fn announce_nonce(proof_sent: bool) {
    if !proof_sent || !settings::dpop_nonce() {
        return;
    }
    if let Ok(nonce) = current_nonce() {
        add_response_headers(&[("DPoP-Nonce", &nonce)]);
    }
}
