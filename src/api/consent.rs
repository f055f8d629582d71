//! The consent API, called by the app's consent page with the signed-in user's session:
//! `oauth.authorization(id)` returns what to show (or a redirect when an earlier consent
//! already covers the request), `oauth.consent(id, approve)` records the decision and returns
//! where to send the browser. Each has a variant that takes the session token itself and
//! verifies it, for callers outside the `request.jwt.claims` trust boundary.

use super::authorize::error_params;
use super::session::{self, Caller};
use super::{audit, respond, user_codes, ApiResult};
use crate::error::{invalid_request, OAuthError};
use crate::protocol::consent::{self, ScopesByAudience};
use crate::protocol::{prompt, redirect_uri, scope, secret, user_code};
use crate::settings;
use crate::store::db;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Pending {
    id: String,
    kind: String,
    client_id: String,
    redirect_uri: Option<String>,
    scopes: Vec<String>,
    state: Option<String>,
    prompt: Option<String>,
    max_age: Option<i64>,
    resources: Vec<String>,
    user_id: Option<String>,
    expires_at: String,
    requested_at: i64,
    failures_at_start: Option<i64>,
}

fn not_found() -> OAuthError {
    OAuthError::NotFound("no pending authorization with this id (unknown, expired, already decided, or another user's)".into())
}

const PENDING: &str = "SELECT to_jsonb(a) - 'code_hash' - 'device_code_hash'
        || jsonb_build_object('requested_at', floor(extract(epoch FROM a.created_at))::bigint)
    FROM oauth.authorizations a WHERE status = 'pending' AND expires_at > now()";

/// The pending request matching `condition` (on `$1 = value`), locked, unless another user
/// holds it: another user's request is indistinguishable from a missing one.
fn pending_where(condition: &str, value: &str, caller: &Caller) -> ApiResult<Option<Pending>> {
    Ok(db::query_row(
        &format!("{PENDING} AND {condition} FOR UPDATE"),
        &[value.into()],
    )?
    .filter(|r: &Pending| r.user_id.as_ref().is_none_or(|u| *u == caller.user_id)))
}

/// The device request of a user code as the user typed it, within the limits on guessing:
/// past the user's or everyone's budget nothing is looked up (429); a wrong code is counted;
/// a right one whose request saw too many wrong codes during its life is locked (403).
fn find_by_user_code(typed: &str, caller: &Caller) -> ApiResult<Option<Pending>> {
    if !user_codes::within_budget(&caller.user_id)? {
        return Err(OAuthError::TooManyUserCodes(
            "too many wrong codes were entered; wait a few minutes and try again".into(),
        )
        .into());
    }
    let found = match user_code::normalize(typed) {
        Some(code) => pending_where("kind = 'device' AND user_code = $1", &code, caller)?,
        None => None,
    };
    let Some(row) = found else {
        user_codes::record_failure(&caller.user_id)?;
        return Ok(None);
    };
    if user_codes::locked_out(row.failures_at_start.unwrap_or(0))? {
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
        pending_where("id = $1", given, caller)?
    } else {
        find_by_user_code(given, caller)?
    };
    let row = row.ok_or_else(not_found)?;
    if !fresh_enough(&row, caller)? {
        return stale_session(&row).map(Claimed::Ended);
    }
    if row.user_id.is_some() {
        return Ok(Claimed::Open(Box::new(row)));
    }
    db::execute(
        "UPDATE oauth.authorizations SET user_id = $2,
                auth_time = coalesce(to_timestamp($3::float8), now()) WHERE id = $1",
        &[
            row.id.as_str().into(),
            caller.user_id.as_str().into(),
            caller.auth_time.map(|t| t as f64).into(),
        ],
    )?;
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
    Ok(prompt::session_is_fresh(
        &need,
        caller.auth_time,
        db::now_epoch()?,
        settings::clock_skew() as i64,
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

fn prompt_has(row: &Pending, value: &str) -> bool {
    prompt::has(row.prompt.as_deref(), value)
}

/// Where the browser goes after a decision: back to the client, or, for a device
/// authorization, nowhere (the device learns the outcome by polling).
fn decided_redirect(row: &Pending, e: &OAuthError) -> Value {
    let Some(redirect) = row.redirect_uri.as_deref() else {
        return json!({ "device": true, "approved": false });
    };
    let params = error_params(e, row.state.as_deref());
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    json!({ "redirect_to": redirect_uri::with_query(redirect, &params) })
}

fn deny(row: &Pending, e: OAuthError) -> ApiResult<Value> {
    db::execute(
        "UPDATE oauth.authorizations SET status = 'denied' WHERE id = $1",
        &[row.id.as_str().into()],
    )?;
    audit::record(
        "consent_denied",
        Some(&row.client_id),
        row.user_id.as_deref(),
        json!({"authorization_id": row.id, "reason": e.code()}),
    )?;
    Ok(decided_redirect(row, &e))
}

/// Records the consent (scopes and resources accumulate), issues the code, and returns the
/// redirect. `automatic`: an earlier consent covered the request, so the user was not asked.
/// The request's `auth_time` becomes the approving session's: the ID token's says when the
/// user who approved signed in.
fn approve(row: &Pending, caller: &Caller, automatic: bool) -> ApiResult<Value> {
    audit::record(
        "consent_granted",
        Some(&row.client_id),
        Some(&caller.user_id),
        json!({"authorization_id": row.id, "scopes": row.scopes, "resources": row.resources,
               "device": row.kind == "device", "automatic": automatic}),
    )?;
    record_consent(row, caller)?;
    let auth_time = caller.auth_time.map(|t| t as f64);
    let Some(redirect) = row.redirect_uri.as_deref() else {
        // A device authorization: the device redeems it with its device code.
        db::execute(
            "UPDATE oauth.authorizations SET status = 'approved', user_claims = $2,
                    auth_time = coalesce(to_timestamp($3::float8), auth_time) WHERE id = $1",
            &[
                row.id.as_str().into(),
                JsonB(caller.user_claims.clone()).into(),
                auth_time.into(),
            ],
        )?;
        return Ok(json!({ "device": true, "approved": true }));
    };
    let code = secret::random_token(secret::TOKEN_BYTES);
    db::execute(
        "UPDATE oauth.authorizations SET status = 'approved', code_hash = $2, user_claims = $3,
                auth_time = coalesce(to_timestamp($4::float8), auth_time)
         WHERE id = $1",
        &[
            row.id.as_str().into(),
            secret::hash(&code).to_vec().into(),
            JsonB(caller.user_claims.clone()).into(),
            auth_time.into(),
        ],
    )?;
    let issuer = settings::issuer();
    let mut params: Vec<(&str, &str)> = vec![("code", &code)];
    if let Some(s) = &row.state {
        params.push(("state", s));
    }
    params.push(("iss", &issuer));
    Ok(json!({ "redirect_to": redirect_uri::with_query(redirect, &params) }))
}

/// Scope names with the description the consent page shows.
fn describe_scopes(scopes: &[String]) -> ApiResult<Value> {
    let custom: Value = db::query_json(
        "SELECT coalesce(jsonb_object_agg(name, description), '{}') FROM oauth.scopes WHERE name = ANY($1)",
        &[scopes.to_vec().into()],
    )?
    .unwrap_or(json!({}));
    Ok(scopes
        .iter()
        .map(|s| {
            let builtin = scope::BUILT_IN
                .iter()
                .find(|(n, _)| n == s)
                .map(|(_, d)| *d);
            let description = custom
                .get(s)
                .and_then(Value::as_str)
                .or(builtin)
                .unwrap_or("");
            json!({ "name": s, "description": description })
        })
        .collect())
}

/// The user's live consent to the row's client, per audience (empty when none or withdrawn).
fn consented(row: &Pending, caller: &Caller, lock: bool) -> ApiResult<ScopesByAudience> {
    let sql = format!(
        "SELECT CASE WHEN revoked_at IS NULL THEN scopes_by_audience ELSE '{{}}' END
         FROM oauth.consents WHERE user_id = $1 AND client_id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    Ok(db::query_row::<ScopesByAudience>(
        &sql,
        &[
            caller.user_id.as_str().into(),
            row.client_id.as_str().into(),
        ],
    )?
    .unwrap_or_default())
}

/// Whether what the user already allowed this client covers the request: every scope for
/// every audience (a consent to one API is not a consent to another, nor "read" on one and
/// "write" on another a consent to "write" on both).
fn covered_by_consent(row: &Pending, caller: &Caller) -> ApiResult<bool> {
    Ok(consent::covers(
        &consented(row, caller, false)?,
        &audiences(row),
        &row.scopes,
    ))
}

/// Adds the request's scopes for each of its audiences to the user's consent (a withdrawn one
/// starts afresh). The row is created first and then locked, so two approvals at once both
/// count.
fn record_consent(row: &Pending, caller: &Caller) -> ApiResult<()> {
    let who = || -> Vec<pgrx::datum::DatumWithOid> {
        vec![
            caller.user_id.as_str().into(),
            row.client_id.as_str().into(),
        ]
    };
    db::execute(
        "INSERT INTO oauth.consents (user_id, client_id, revoked_at) VALUES ($1, $2, now())
         ON CONFLICT (user_id, client_id) DO NOTHING",
        &who(),
    )?;
    let mut approved = consented(row, caller, true)?;
    consent::record(&mut approved, &audiences(row), &row.scopes);
    let mut args = who();
    args.push(JsonB(serde_json::to_value(&approved).unwrap_or_default()).into());
    db::execute(
        "UPDATE oauth.consents SET scopes_by_audience = $3, updated_at = now(), revoked_at = NULL,
                granted_at = CASE WHEN revoked_at IS NULL THEN granted_at ELSE now() END
         WHERE user_id = $1 AND client_id = $2",
        &args,
    )?;
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
        Claimed::Open(row) => row,
        Claimed::Ended(redirect) => return Ok(redirect),
    };
    // A device request always asks: the user must confirm the code on their own device (RFC
    // 8628 §5.4), or a code phished from them would be approved silently.
    let automatic =
        row.kind == "code" && !prompt_has(&row, "consent") && covered_by_consent(&row, &caller)?;
    if automatic {
        return approve(&row, &caller, true);
    }
    if prompt_has(&row, "none") {
        return deny(
            &row,
            OAuthError::ConsentRequired(
                "prompt=none, but the user has not consented to these scopes and resources".into(),
            ),
        );
    }
    let client = db::query_json(
        "SELECT jsonb_build_object('client_id', client_id, 'name', name, 'client_uri', client_uri, 'logo_uri', logo_uri)
         FROM oauth.clients WHERE client_id = $1",
        &[row.client_id.as_str().into()],
    )?;
    Ok(json!({
        "authorization_id": row.id,
        "device": row.kind == "device",
        "client": client,
        "redirect_uri": row.redirect_uri,
        "scopes": describe_scopes(&row.scopes)?,
        "resources": row.resources,
        "prompt": row.prompt,
        "max_age": row.max_age,
        "user": { "id": caller.user_id },
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
    let row: Pending = db::query_row(&format!("{PENDING} AND id = $1 FOR UPDATE"), &[id.into()])?
        .filter(|r: &Pending| prompt_has(r, "none"))
        .ok_or_else(not_found)?;
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
