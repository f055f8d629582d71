//! A trusted issuer's sessions, judged one way whichever path they arrive by: a token given to
//! `oauth.verify_session` (or to the `session_token` variants), claims PostgREST verified and
//! set as `request.jwt.claims`, and what the front sets there, which is what
//! `oauth.verify_session` returned in the same transaction.
//!
//! The judgement is the issuer's whole policy (`session_jwt::judge`: `enabled` first, then
//! required claims, audience, `azp`, roles, the kinds that are not sessions), then the
//! revocations of its users (`oauth.revoke_user`). What the claims say of themselves,
//! `token_use: session` included, changes nothing: only a session whose `iss` is exactly ours
//! and whose `sid` is active is ours, and that is decided in `sessions`.
//!
//! The front's claims are already normalised, and normalising is not repeatable (a Cognito
//! session's `client_id` is dropped, an upstream `token_use` renamed), so judging them again
//! would refuse good sessions. Instead `oauth.verify_session` remembers, for the rest of the
//! transaction, the claims it returned; claims equal to those were judged here a moment ago by
//! the same rule, and are taken as they are. Anything else — PostgREST's raw claims, or claims
//! set by hand — is judged in full.

use crate::audit_events::AuditEvent;
use crate::error::{bad_param, ApiResult, Misuse, MisuseError, OAuthError};
use crate::protocol::issuer;
use crate::protocol::issuer_policy::IssuerPolicy;
use crate::protocol::session_jwt;
use crate::settings;
use crate::store::{accounts, audit, issuers, revoked_users};
use serde_json::{json, Value};
use std::cell::RefCell;

/// The validated policy of trusted issuer `iss` from its stored `options`. A trusted issuer
/// that is another spelling of ours (the issuer setting changed after it was added) is refused
/// rather than obeyed: our sessions are judged by our keys and `sid`, never by a policy.
pub fn policy(iss: &str, options: &Value) -> Result<IssuerPolicy, MisuseError> {
    let ours = settings::issuer();
    if issuer::respells(iss, &ours) {
        return Err(MisuseError::new(
            Misuse::Misconfigured,
            format!("trusted issuer {iss} is another spelling of this server's issuer {ours}"),
        )
        .hint("remove it with oauth.remove_issuer"));
    }
    IssuerPolicy::from_options(iss, options)
        .map_err(|e| MisuseError::new(Misuse::Misconfigured, format!("issuer {iss}: {e}")))
}

/// Claims of issuer `iss` (not ours) that PostgREST verified, judged: the normalised session,
/// or 403 `access_denied` (not a trusted issuer, disabled, or refused by its policy) or 401
/// `login_required` (its user was revoked after this session was issued).
pub fn judge_claims(iss: &str, claims: &Value) -> ApiResult<Value> {
    let options = issuers::options(iss)?.ok_or_else(|| {
        OAuthError::AccessDenied(format!(
            "the session's issuer {iss} is neither this server nor a trusted issuer"
        ))
    })?;
    let policy = policy(iss, &options)?;
    let session = session_jwt::judge(claims.clone(), &policy).map_err(OAuthError::AccessDenied)?;
    ensure_not_revoked(&policy, &session).map_err(|e| OAuthError::LoginRequired(e.message))?;
    Ok(session)
}

/// Refuses (28000) a session of a user of `policy`'s issuer revoked at or after the session's
/// `iat` (`issuer::issued_before_revocation`, with the issuer's leeway).
/// Likewise a session of a user deleted here (`oauth.deleted_users`) at or after its `iat`,
/// whichever issuer: user ids share one namespace, and deleting is never weaker than disabling.
pub fn ensure_not_revoked(policy: &IssuerPolicy, session: &Value) -> Result<(), MisuseError> {
    let Some(sub) = session.get("sub").and_then(Value::as_str) else {
        return Ok(());
    };
    let iat = session.get("iat").and_then(Value::as_f64);
    let leeway = policy.leeway.unwrap_or_else(settings::clock_skew);
    if let Some(deleted_at) = accounts::standing(sub)?.deleted_at {
        if issuer::issued_before_revocation(iat, deleted_at, leeway) {
            return Err(MisuseError::new(
                Misuse::InvalidToken,
                format!("user {sub} was deleted after this session was issued; sign in again"),
            ));
        }
    }
    let Some(revoked_at) = revoked_users::revoked_at(&policy.issuer, sub)? else {
        return Ok(());
    };
    if issuer::issued_before_revocation(iat, revoked_at, leeway) {
        return Err(MisuseError::new(
            Misuse::InvalidToken,
            format!(
                "user {sub} of issuer {} was revoked after this session was issued; sign in again",
                policy.issuer
            ),
        ));
    }
    Ok(())
}

thread_local! {
    /// The claims `oauth.verify_session` returned in this backend's current transaction (by
    /// its local transaction id): a backend runs one transaction at a time.
    static VERIFIED: RefCell<(u32, Vec<Value>)> = const { RefCell::new((0, Vec::new())) };
}

/// How many verified sessions one transaction remembers (the front verifies one).
const REMEMBERED: usize = 4;

/// This backend's local transaction id; 0 outside a backend's transaction.
fn local_xid() -> u32 {
    // SAFETY: MyProc is this backend's PGPROC, set before any function runs; read only.
    unsafe {
        let proc_ = pgrx::pg_sys::MyProc;
        if proc_.is_null() {
            0
        } else {
            // PostgreSQL 17 moved it into the virtual transaction id (PGPROC.vxid).
            #[cfg(feature = "pg15")]
            let lxid = (*proc_).lxid;
            #[cfg(any(feature = "pg17", feature = "pg18"))]
            let lxid = (*proc_).vxid.lxid;
            lxid
        }
    }
}

/// Remembers, until the transaction ends, that `session` is what verifying a trusted issuer's
/// token returned.
pub fn remember(session: &Value) {
    let xid = local_xid();
    if xid == 0 {
        return;
    }
    VERIFIED.with(|v| {
        let mut v = v.borrow_mut();
        if v.0 != xid {
            *v = (xid, Vec::new());
        }
        if v.1.len() >= REMEMBERED {
            v.1.remove(0);
        }
        v.1.push(session.clone());
    });
}

/// Whether `claims` are exactly what `oauth.verify_session` returned for a trusted issuer's
/// token earlier in this transaction (the front's path).
pub fn verified_here(claims: &Value) -> bool {
    let xid = local_xid();
    xid != 0
        && VERIFIED.with(|v| {
            let v = v.borrow();
            v.0 == xid && v.1.iter().any(|c| c == claims)
        })
}

/// `oauth.revoke_user`: refuses from now on the sessions of `sub` of trusted issuer `iss`
/// issued before now, revokes the user's token families and approved requests, withdraws the
/// user's consents; tells their clients (back-channel logout); audited as `user_revoked`.
pub fn revoke_user(sub: &str, iss: &str) -> Result<Value, MisuseError> {
    let ours = settings::issuer();
    if issuer::respells(iss, &ours) {
        return Err(bad_param(format!(
            "{iss} is this server's own issuer: its sessions end server-side"
        ))
        .hint("end our own sessions with oauth.revoke_sessions(sub)"));
    }
    if !issuers::exists(iss)? {
        return Err(MisuseError::new(
            Misuse::NotFound,
            format!("issuer {iss:?} is not a trusted issuer"),
        )
        .hint("issuers compare exactly; list them with SELECT oauth.issuers()"));
    }
    if sub.is_empty() || sub.len() > 255 {
        return Err(bad_param("sub must be 1 to 255 bytes"));
    }
    // Told before the families are revoked (they say which clients), in this transaction.
    crate::store::logout_deliveries::queue_for_issuer(sub, iss)?;
    let r = revoked_users::revoke(iss, sub)?;
    let details = json!({
        "issuer": iss,
        "grants_revoked": r.grants,
        "requests_ended": r.requests,
        "consents_withdrawn": r.consents,
    });
    audit::record(AuditEvent::UserRevoked, None, Some(sub), details.clone())?;
    let mut out = details;
    out["sub"] = json!(sub);
    out["revoked_at"] = json!(r.revoked_at);
    Ok(out)
}
