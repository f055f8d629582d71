//! The consent API, called by the app's consent page with the signed-in user's session:
//! `oauth.authorization(id)` returns what to show (or a redirect when an earlier consent
//! already covers the request), `oauth.consent(id, approve)` records the decision and returns
//! where to send the browser. Each has a variant that takes the session token itself and
//! verifies it, for callers outside the `request.jwt.claims` trust boundary.

use super::{respond, ApiResult};
use crate::audit_events::AuditEvent;
use crate::decisions::auto_approve::{self, ConsentStep};
use crate::decisions::grounds::{recheck, redirect_still_registered, Recorded};
use crate::error::{invalid_request, OAuthError};
use crate::model::{AuthorizationKind, GrantType};
use crate::protocol::{consent, prompt, redirect_uri, secret, user_code};
use crate::services::authorization_requests as requests;
use crate::services::grounds;
use crate::services::sessions::{self as session, Caller};
use crate::settings;
use crate::store::authorizations::{self, Pending};
use crate::store::{audit, consents, db, user_code_failures};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn not_found() -> OAuthError {
    OAuthError::NotFound("no pending authorization with this id (unknown, expired, already decided, or another user's)".into())
}

/// The pending request, unless another user holds it: another user's request is
/// indistinguishable from a missing one.
fn visible_to(row: Option<Pending>, caller: &Caller) -> Option<Pending> {
    row.filter(|r| r.user_id.as_ref().is_none_or(|u| *u == caller.user_id))
}

/// The device request of a user code as the user typed it, within the limits on guessing:
/// past the user's or everyone's budget nothing is looked up (429); a wrong code is counted;
/// a right one whose request saw too many wrong codes during its life is locked (403).
fn find_by_user_code(typed: &str, caller: &Caller) -> ApiResult<Option<Pending>> {
    if !user_code_failures::within_budget(&caller.user_id)? {
        return Err(OAuthError::TooManyUserCodes(
            "too many wrong codes were entered; wait a few minutes and try again".into(),
        )
        .into());
    }
    let found = match user_code::normalize(typed) {
        Some(code) => visible_to(authorizations::lock_pending_by_user_code(&code)?, caller),
        None => None,
    };
    let Some(row) = found else {
        user_code_failures::record(&caller.user_id)?;
        return Ok(None);
    };
    if user_code_failures::locked_out(row.failures_at_start.unwrap_or(0))? {
        deny(
            &row,
            OAuthError::AccessDenied(
                "too many wrong codes were tried while this one was pending".into(),
            ),
        )?;
        return Err(OAuthError::AccessDenied(
            "this code was locked because too many wrong codes were tried; start again on your device".into(),
        )
        .into());
    }
    Ok(Some(row))
}

/// Locks the pending request and binds it to the caller on first sight.
///
/// `authorization_id` is either an authorization id (exactly the shape of one) or a device
/// flow's user code as the user typed it; never both, so that no padding of a user code
/// passes as an id and every spelling of a code is counted as one (`find_by_user_code`).
fn claim_pending(authorization_id: Option<&str>, caller: &Caller) -> ApiResult<Claimed> {
    let given = authorization_id.unwrap_or_default();
    let row = if secret::is_authorization_id(given) {
        visible_to(authorizations::lock_pending_by_id(given)?, caller)
    } else {
        find_by_user_code(given, caller)?
    };
    let row = row.ok_or_else(not_found)?;
    // The client as today's switches allow (a refusal names the setting; the request stays
    // pending and goes on if the setting is turned back on).
    let client = crate::store::clients::find(&row.client_id)?;
    // The hint's sub is the user as the client sees them (pairwise, OIDC Core §8.1).
    let seen_as = match &client {
        Some(c) => crate::services::pairwise::SubjectClient::of(c)?.subject(&caller.user_id)?,
        None => caller.user_id.clone(),
    };
    if row.hint_sub.as_ref().is_some_and(|h| *h != seen_as) {
        return another_user(&row).map(Claimed::Ended);
    }
    if !fresh_enough(&row, caller)? {
        return stale_session(&row).map(Claimed::Ended);
    }
    if row.user_id.is_some() {
        return Ok(Claimed::Open(Box::new(row)));
    }
    authorizations::claim(&row.id, &caller.user_id, caller.auth_time)?;
    let user_id = Some(caller.user_id.clone());
    Ok(Claimed::Open(Box::new(Pending { user_id, ..row })))
}

/// A claimed request: open for the caller, or already ended (a `prompt=none` request whose
/// session was too old), with where the browser goes.
enum Claimed {
    Open(Box<Pending>),
    Ended(Value),
}

/// `prompt=login` and `max_age` against when the session authenticated.
fn fresh_enough(row: &Pending, caller: &Caller) -> ApiResult<bool> {
    let need = prompt::Freshness {
        login: prompt::has(row.prompt.as_deref(), "login"),
        max_age: row.max_age,
        requested_at: row.requested_at,
    };
    if !need.login && need.max_age.is_none() {
        return Ok(true);
    }
    // The clock skew allowance is for other issuers' clocks; ours wrote our sessions' times.
    let clock = if caller.ours {
        prompt::SessionClock::Ours
    } else {
        prompt::SessionClock::Theirs {
            skew: settings::clock_skew() as i64,
        }
    };
    Ok(prompt::session_is_fresh(
        &need,
        caller.auth_time,
        db::now_epoch()?,
        clock,
    ))
}

/// A session too old for the request: with `prompt=none` the client is told
/// (`login_required`: the request ends and the page gets the redirect), otherwise the consent
/// page is (401), and signs the user in again.
fn stale_session(row: &Pending) -> ApiResult<Value> {
    let e = OAuthError::LoginRequired(
        "this request needs a fresh sign-in (prompt=login or max_age): sign the user in again"
            .into(),
    );
    if prompt_has(row, "none") {
        return deny(row, e);
    }
    Err(e.into())
}

/// A session of another user than the request's `id_token_hint` names (OIDC Core §3.1.2.1):
/// never silently that user's code. With `prompt=none` the client is told
/// (`login_required`); otherwise the consent page is (401), and signs the named user in.
/// The request stays unclaimed, so the right user's session can still take it.
fn another_user(row: &Pending) -> ApiResult<Value> {
    let e = OAuthError::LoginRequired(
        "this request is for another user (id_token_hint): sign in as that user".into(),
    );
    if prompt_has(row, "none") {
        return deny(row, e);
    }
    Err(e.into())
}

fn prompt_has(row: &Pending, value: &str) -> bool {
    prompt::has(row.prompt.as_deref(), value)
}

/// Where the browser goes after a decision: back to the client, or, for a device
/// authorization, nowhere (the device learns the outcome by polling).
fn decided_redirect(row: &Pending, e: &OAuthError) -> Value {
    let Some(redirect) = row.redirect_uri.as_deref() else {
        return json!({ "device": true, "approved": false });
    };
    let params = e.redirect_params(row.state.as_deref(), &settings::issuer());
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    json!({ "redirect_to": redirect_uri::with_query(redirect, &params) })
}

/// Ends the request with `e`, sent to the client's redirect URI — unless the client no longer
/// owns that URI (removed since the request began): then nothing is sent there, not even the
/// error, and the page is told instead (400), whichever path ends the request (the user's
/// denial, `prompt=none`, a stale session, a changed ground).
fn deny(row: &Pending, e: OAuthError) -> ApiResult<Value> {
    authorizations::deny(&row.id)?;
    if !redirect_still_owned(row)? {
        audit::record(
            AuditEvent::ConsentDenied,
            Some(&row.client_id),
            row.user_id.as_deref(),
            json!({"authorization_id": row.id, "reason": "redirect_uri_removed"}),
        )?;
        return Err(redirect_uri_removed().into());
    }
    audit::record(
        AuditEvent::ConsentDenied,
        Some(&row.client_id),
        row.user_id.as_deref(),
        json!({"authorization_id": row.id, "reason": e.code()}),
    )?;
    Ok(decided_redirect(row, &e))
}

/// Whether the request's redirect URI (a device authorization has none) is still one of its
/// client's, as authorize matches it.
fn redirect_still_owned(row: &Pending) -> ApiResult<bool> {
    let Some(uri) = row.redirect_uri.as_deref() else {
        return Ok(true);
    };
    Ok(crate::store::clients::find(&row.client_id)?
        .is_some_and(|c| redirect_uri::find_match(&c.redirect_uris, uri).is_some()))
}

fn redirect_uri_removed() -> OAuthError {
    invalid_request(
        "the redirect URI of this request is no longer registered for the client: start again from the app",
    )
}

/// Records the consent (scopes and resources accumulate), issues the code, and returns the
/// redirect. `automatic`: an earlier consent covered the request, so the user was not asked.
/// The request's `auth_time` becomes the approving session's: the ID token's says when the
/// user who approved signed in.
fn approve(row: &Pending, caller: &Caller, automatic: bool) -> ApiResult<Value> {
    audit::record(
        AuditEvent::ConsentGranted,
        Some(&row.client_id),
        Some(&caller.user_id),
        json!({"authorization_id": row.id, "scopes": row.scopes, "resources": row.resources,
               "device": row.kind == AuthorizationKind::Device, "automatic": automatic}),
    )?;
    record_consent(row, caller)?;
    let Some(redirect) = row.redirect_uri.as_deref() else {
        // A device authorization: the device redeems it with its device code.
        authorizations::approve_device(
            &row.id,
            &caller.user_claims,
            caller.auth_time,
            &row.scopes,
            &row.resources,
        )?;
        return Ok(json!({ "device": true, "approved": true }));
    };
    let code = secret::random_token(secret::TOKEN_BYTES);
    authorizations::approve_code(
        &row.id,
        secret::hash(&code),
        &caller.user_claims,
        caller.auth_time,
        &row.scopes,
        &row.resources,
    )?;
    let issuer = settings::issuer();
    let mut params: Vec<(&str, &str)> = vec![("code", &code)];
    if let Some(s) = &row.state {
        params.push(("state", s));
    }
    params.push(("iss", &issuer));
    Ok(json!({ "redirect_to": redirect_uri::with_query(redirect, &params) }))
}

/// The request re-checked against today's client, registries and user
/// (`decisions::grounds`): what may still be shown and approved — its scopes and resources
/// narrowed — or, when nothing may, the request ends. A redirect URI the client no longer
/// owns is never sent anything, not even the error: the page is told instead.
fn under_todays_grounds(row: Pending, caller: &Caller) -> ApiResult<Claimed> {
    let recorded = Recorded {
        scopes: &row.scopes,
        resources: &row.resources,
        redirect_uri: row.redirect_uri.as_deref(),
        resources_named: false,
        grant: match row.kind {
            AuthorizationKind::Code => GrantType::AuthorizationCode,
            AuthorizationKind::Device => GrantType::DeviceCode,
        },
    };
    let loaded = grounds::load(
        &row.client_id,
        &caller.user_id,
        grounds::issuer_of(Some(&caller.user_claims)),
        &row.scopes,
        &row.resources,
    )?;
    let current = loaded.current();
    if !redirect_still_registered(&recorded, &current) {
        authorizations::deny(&row.id)?;
        audit::record(
            AuditEvent::ConsentDenied,
            Some(&row.client_id),
            Some(&caller.user_id),
            json!({"authorization_id": row.id, "reason": "redirect_uri_removed"}),
        )?;
        return Err(redirect_uri_removed().into());
    }
    // A request sent in the query before pushing became required (RFC 9126 §5) ends here, as
    // one sent after it would have been refused.
    if row.kind == AuthorizationKind::Code && !row.pushed {
        if let Some(why) = requests::pushing_required(loaded.client_requires_pushing()) {
            return deny(&row, requests::must_be_pushed(why)).map(Claimed::Ended);
        }
    }
    match recheck(&recorded, &current) {
        Ok(now) => {
            if now.scopes != row.scopes || now.resources != row.resources {
                authorizations::narrow(&row.id, &now.scopes, &now.resources)?;
            }
            Ok(Claimed::Open(Box::new(Pending {
                scopes: now.scopes,
                resources: now.resources,
                ..row
            })))
        }
        Err(e) => deny(&row, e).map(Claimed::Ended),
    }
}

/// Adds the request's scopes for each of its audiences to the user's consent (a withdrawn one
/// starts afresh; two approvals at once both count).
fn record_consent(row: &Pending, caller: &Caller) -> ApiResult<()> {
    let audiences = audiences(row);
    consents::update(&caller.user_id, &row.client_id, |approved| {
        consent::record(approved, &audiences, &row.scopes)
    })?;
    Ok(())
}

/// What the request's tokens will be for: its resources, or, when it names none, the default
/// audience (a PostgREST API, say), which a consent to some resource does not cover either.
fn audiences(row: &Pending) -> Vec<String> {
    if row.resources.is_empty() {
        vec![settings::default_audience()]
    } else {
        row.resources.clone()
    }
}

fn authorization_details(
    authorization_id: Option<&str>,
    caller: ApiResult<Caller>,
) -> ApiResult<Value> {
    let caller = caller?;
    let row = match claim_pending(authorization_id, &caller)? {
        Claimed::Open(row) => under_todays_grounds(*row, &caller)?,
        ended => ended,
    };
    let row = match row {
        Claimed::Open(row) => row,
        Claimed::Ended(redirect) => return Ok(redirect),
    };
    // Whether an earlier consent covers the request (never for a device request, nor with
    // prompt=consent): the consent is read only when it may be used.
    let consented = if auto_approve::may_skip_asking(row.kind, row.prompt.as_deref()) {
        Some(consents::find(&caller.user_id, &row.client_id)?)
    } else {
        None
    };
    match auto_approve::decide(
        row.kind,
        row.prompt.as_deref(),
        consented.as_ref(),
        &audiences(&row),
        &row.scopes,
    ) {
        ConsentStep::Approve => return approve(&row, &caller, true),
        ConsentStep::Refuse(e) => return deny(&row, e),
        ConsentStep::Ask => {}
    }
    let client = consents::client_display(&row.client_id)?;
    Ok(json!({
        "authorization_id": row.id,
        "device": row.kind == AuthorizationKind::Device,
        "client": client,
        "redirect_uri": row.redirect_uri,
        "scopes": crate::services::requests::describe_scopes(&row.scopes)?,
        "resources": row.resources,
        "prompt": row.prompt,
        "max_age": row.max_age,
        // The address the session carries, for the page to say who is signing in.
        "user": { "id": caller.user_id, "email": caller.user_claims.get("email") },
        "expires_at": row.expires_at,
    }))
}

/// Ends a `prompt=none` request that cannot go on without showing the user something: the
/// consent page calls this when it has no session (`login_required`) or needs the user for
/// something else. Needs no session: the request asked never to be shown, and the only
/// outcome is the error the client asked for instead.
fn end_prompt_none(authorization_id: Option<&str>, error: Option<&str>) -> ApiResult<Value> {
    let id = authorization_id
        .filter(|i| secret::is_authorization_id(i))
        .ok_or_else(not_found)?;
    let description = "prompt=none, and the request cannot be completed without the user";
    let e = match error.unwrap_or("login_required") {
        "login_required" => OAuthError::LoginRequired(description.into()),
        "consent_required" => OAuthError::ConsentRequired(description.into()),
        "interaction_required" => OAuthError::InteractionRequired(description.into()),
        "account_selection_required" => OAuthError::AccountSelectionRequired(description.into()),
        _ => {
            return Err(invalid_request(
                "error must be login_required, consent_required, interaction_required or account_selection_required",
            )
            .into())
        }
    };
    let row = authorizations::lock_pending_by_id(id)?
        .filter(|r| prompt_has(r, "none"))
        .ok_or_else(not_found)?;
    // Never redirected to a client today's switches stop.
    crate::store::clients::find(&row.client_id)?;
    deny(&row, e)
}

fn record_decision(
    authorization_id: Option<&str>,
    approve_it: Option<bool>,
    caller: ApiResult<Caller>,
) -> ApiResult<Value> {
    let caller = caller?;
    let approve_it = approve_it.ok_or_else(|| invalid_request("approve must be true or false"))?;
    let row = match claim_pending(authorization_id, &caller)? {
        Claimed::Open(row) if approve_it => under_todays_grounds(*row, &caller)?,
        claimed => claimed,
    };
    let row = match row {
        Claimed::Open(row) => row,
        Claimed::Ended(redirect) => return Ok(redirect),
    };
    if approve_it {
        approve(&row, &caller, false)
    } else {
        deny(
            &row,
            OAuthError::AccessDenied("the user denied the request".into()),
        )
    }
}

/// Ends a `prompt=none` request with the error the consent page names, without a session.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn prompt_none_failed(
    authorization_id: Option<&str>,
    error: default!(Option<&str>, "NULL"),
) -> JsonB {
    respond(end_prompt_none(authorization_id, error))
}

/// What the consent page shows, for the user in `request.jwt.claims`.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn authorization(authorization_id: Option<&str>) -> JsonB {
    respond(authorization_details(
        authorization_id,
        session::from_request(),
    ))
}

/// The same, for the user of a session token verified here.
#[pg_extern(volatile, security_definer, name = "authorization")]
#[search_path(@extschema@, pg_temp)]
fn authorization_with_session(
    authorization_id: Option<&str>,
    session_token: Option<&str>,
) -> JsonB {
    respond(authorization_details(
        authorization_id,
        session::from_token(session_token),
    ))
}

/// The user's decision, for the user in `request.jwt.claims`.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn consent(authorization_id: Option<&str>, approve: Option<bool>) -> JsonB {
    respond(record_decision(
        authorization_id,
        approve,
        session::from_request(),
    ))
}

/// The same, for the user of a session token verified here.
#[pg_extern(volatile, security_definer, name = "consent")]
#[search_path(@extschema@, pg_temp)]
fn consent_with_session(
    authorization_id: Option<&str>,
    approve: Option<bool>,
    session_token: Option<&str>,
) -> JsonB {
    respond(record_decision(
        authorization_id,
        approve,
        session::from_token(session_token),
    ))
}
