//! The token functions: `oauth.exchange_code(…)`, `oauth.refresh(…)` and `oauth.token(form)`,
//! the token endpoint as one call. Failures are returned as RFC 6749 JSON with
//! `response.status`, so that what must persist does: a replayed code revokes the tokens it
//! issued, a reused refresh token revokes its family. A failure after validation (signing, the
//! hook) raises instead, rolling back, so a code is never burned without an answer.
//!
//! Each grant loads its locked row (`store`), asks `decisions` what to do, and carries it out.

use super::{or_raise, required, respond, ApiResult};
use crate::audit_events::AuditEvent;
use crate::decisions::dpop_binding;
use crate::decisions::poll_device::{self, DeviceState, PollOutcome};
use crate::decisions::redeem_code::{self, CodeOutcome, CodeRequest, CodeState};
use crate::decisions::refresh::{self as refresh_decision, RefreshOutcome, RefreshState};
use crate::error::{bad_param, invalid_request, OAuthError};
use crate::model::GrantType;
use crate::protocol::params::Params;
use crate::protocol::{resource, scope, secret, token_kind};
use crate::services::client_auth::{
    authenticate_for_grant, authenticate_request_checked, ensure_grant_allowed,
};
use crate::services::issuance::{self, Approved};
use crate::services::{dpop, grounds, pairwise, token_exchange};
use crate::settings;
use crate::store::clients::{self, Client};
use crate::store::{audit, authorizations, grants};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// The token endpoint (RFC 6749 §3.2): client authentication, the DPoP proof if any (RFC 9449
/// §5), then the grant.
fn token_request(
    form: &Value,
    authorization: Option<&str>,
    dpop_proof: Option<&str>,
) -> ApiResult<Value> {
    let form = Params::new(form)?;
    let grant_type = form.require("grant_type")?;
    let Some(grant) = GrantType::parse(grant_type) else {
        return Err(OAuthError::UnsupportedGrantType(format!(
            "grant_type {grant_type:?} is not supported"
        ))
        .into());
    };
    // A pairwise client's sector proved before anything is written (OIDC Core §8.1), even the
    // jti of its assertion: the front fetches the document and sends the same request again.
    let client = authenticate_request_checked(&form, authorization, pairwise::ensure_sector)?;
    ensure_grant_allowed(&client, grant)?;
    let resources = resource::parse(&form.get_all("resource")?)?;
    let proven = dpop::check(
        dpop_proof,
        "POST",
        &dpop::endpoint_url("/oauth/token"),
        None,
        settings::dpop_nonce(),
    )?;
    let jkt = proven.as_ref().map(|p| p.jkt.as_str());
    dpop_binding::client_requirement(client.dpop_bound_access_tokens, jkt)?;
    match grant {
        GrantType::AuthorizationCode => exchange(
            client,
            form.get("code")?,
            form.get("code_verifier")?,
            form.get("redirect_uri")?,
            &resources,
            jkt,
        ),
        GrantType::ClientCredentials => {
            client_credentials(client, form.get("scope")?, &resources, jkt)
        }
        GrantType::DeviceCode => {
            redeem_device_code(client, form.get("device_code")?, &resources, jkt)
        }
        GrantType::RefreshToken => refresh_grant(
            client,
            form.get("refresh_token")?,
            form.get("scope")?,
            &resources,
            jkt,
        ),
        GrantType::TokenExchange => token_exchange::exchange(&client, &form, &resources, jkt),
    }
}

fn exchange(
    client: Client,
    code: Option<&str>,
    code_verifier: Option<&str>,
    redirect_uri: Option<&str>,
    requested_resources: &[String],
    jkt: Option<&str>,
) -> ApiResult<Value> {
    let code = code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| invalid_request("code is required"))?;
    let row = authorizations::lock_by_code(secret::hash(code))?;
    let state = row.as_ref().map(|r| CodeState {
        kind: r.kind,
        status: r.status,
        expired: r.expired,
        client_id: &r.client_id,
        redirect_uri: r.redirect_uri.as_deref(),
        redirect_uri_given: r.redirect_uri_given,
        code_challenge: r.code_challenge.as_deref(),
    });
    let request = CodeRequest {
        client_id: &client.client_id,
        redirect_uri,
        code_verifier,
    };
    match redeem_code::decide(state.as_ref(), &request) {
        CodeOutcome::Refuse(e) => Err(e.into()),
        CodeOutcome::Replayed => {
            if let Some(g) = row.as_ref().and_then(|r| r.grant_id.as_deref()) {
                issuance::revoke_family(
                    g,
                    AuditEvent::CodeReplayed,
                    "authorization code replayed",
                )?;
            }
            Err(redeem_code::replay_error().into())
        }
        CodeOutcome::Redeem => {
            let row = row.ok_or_else(|| crate::error::internal("redeemed a missing row"))?;
            // Refused before anything is written: the code stays good for its key's holder.
            dpop_binding::redeem(row.dpop_jkt.as_deref(), jkt, "authorization code")?;
            issuance::redeem_approved(
                &client,
                Approved {
                    id: &row.id,
                    user_id: row.user_id.as_deref(),
                    scopes: &row.scopes,
                    resources: &row.resources,
                    auth_time: row.auth_time,
                    user_claims: row.user_claims.clone(),
                    nonce: row.nonce.as_deref(),
                    redirect_uri: row.redirect_uri.as_deref(),
                    grant: GrantType::AuthorizationCode,
                    what: "authorization code",
                },
                requested_resources,
                jkt,
            )
        }
    }
}

/// The device code grant (RFC 8628 §3.4). Polling outcomes are returned, not raised, so that
/// the poll time (and a slower interval after `slow_down`) is recorded.
fn redeem_device_code(
    client: Client,
    device_code: Option<&str>,
    requested_resources: &[String],
    jkt: Option<&str>,
) -> ApiResult<Value> {
    let device_code = device_code.ok_or_else(|| invalid_request("device_code is required"))?;
    let row = authorizations::lock_by_device_code(secret::hash(device_code))?;
    let state = row.as_ref().map(|r| DeviceState {
        client_id: &r.client_id,
        status: r.status,
        expired: r.expired,
        too_fast: r.too_fast,
    });
    let outcome = poll_device::decide(state.as_ref(), &client.client_id);
    match (&outcome, row) {
        (PollOutcome::Wait { slow_down }, Some(row)) => {
            let step = if *slow_down {
                poll_device::SLOW_DOWN_STEP
            } else {
                0
            };
            authorizations::record_poll(&row.id, step)?;
        }
        (PollOutcome::Replayed, Some(row)) => {
            if let Some(g) = &row.grant_id {
                issuance::revoke_family(g, AuditEvent::DeviceCodeReplayed, "device code replayed")?;
            }
        }
        (PollOutcome::Redeem, Some(row)) => {
            return issuance::redeem_approved(
                &client,
                Approved {
                    id: &row.id,
                    user_id: row.user_id.as_deref(),
                    scopes: &row.scopes,
                    resources: &row.resources,
                    auth_time: row.auth_time,
                    user_claims: row.user_claims.clone(),
                    nonce: None,
                    redirect_uri: None,
                    grant: GrantType::DeviceCode,
                    what: "device code",
                },
                requested_resources,
                jkt,
            )
        }
        _ => {}
    }
    Err(outcome
        .error()
        .unwrap_or_else(|| crate::error::invalid_grant("device code is invalid"))
        .into())
}

/// The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself.
/// The token's `sub` is the client; no user scope (OpenID Connect), no refresh token.
fn client_credentials(
    client: Client,
    requested_scope: Option<&str>,
    resources: &[String],
    jkt: Option<&str>,
) -> ApiResult<Value> {
    if !client.is_confidential() {
        return Err(OAuthError::UnauthorizedClient(
            "only confidential clients may use client_credentials".into(),
        )
        .into());
    }
    let scopes = match requested_scope.filter(|s| !s.trim().is_empty()) {
        Some(s) => scope::parse(s)?,
        None => Vec::new(),
    };
    if let Some(s) = scopes
        .iter()
        .find(|s| scope::BUILT_IN.iter().any(|(b, _)| b == s))
    {
        return Err(crate::error::invalid_scope(format!(
            "scope {s:?} is about a user; client_credentials has none"
        ))
        .into());
    }
    scope::ensure_subset(
        &scopes,
        &clients::allowed_scopes(&client)?,
        "allowed for this client",
    )?;
    crate::services::resources::ensure_registered(resources)?;
    issuance::start_machine_family(&client, &scopes, resources, jkt)
}

fn refresh_grant(
    client: Client,
    refresh_token: Option<&str>,
    requested_scope: Option<&str>,
    requested_resources: &[String],
    jkt: Option<&str>,
) -> ApiResult<Value> {
    let token = refresh_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid_request("refresh_token is required"))?;
    let hash = secret::hash(token);
    let row = grants::lock_refresh_token(hash)?;
    let retry_grace = settings::refresh_retry_grace();
    // Read only once the family is locked, by a statement of its own (see retry_age.sql).
    let retry_age = match &row {
        Some(r) if r.used && retry_grace > 0.0 => grants::retry_age(hash)?,
        _ => None,
    };
    // Today's grounds of the family: what the client, the registries and the user allow now.
    let grounds = match &row {
        Some(r) => Some(grounds::load(
            &r.client_id,
            &r.user_id,
            grounds::issuer_of(r.user_claims.as_ref()),
            &r.scopes,
            &r.resources,
        )?),
        None => None,
    };
    let empty = grounds::empty();
    let current = grounds.as_ref().unwrap_or(&empty).current();
    let state = row.as_ref().map(|r| RefreshState {
        client_id: &r.client_id,
        scopes: &r.scopes,
        resources: &r.resources,
        used: r.used,
        expired: r.expired,
        revoked: r.revoked,
        retry_age,
    });
    let outcome = refresh_decision::decide(
        state.as_ref(),
        &client.client_id,
        requested_scope,
        requested_resources,
        retry_grace,
        &current,
    );
    let derived = row
        .as_ref()
        .is_some_and(|r| r.grant_type == GrantType::TokenExchange);
    let user_id = row.as_ref().map(|r| r.user_id.clone()).unwrap_or_default();
    let (grant_id, current_kid, bound) = row
        .map(|r| (r.grant_id, r.current_kid, r.dpop_jkt))
        .unwrap_or_default();
    // A valid token of a bound family, presented without its key: refused, nothing rotated
    // (a reused one is reuse whoever presents it, and revokes the family above).
    if matches!(
        outcome,
        RefreshOutcome::Rotate { .. } | RefreshOutcome::Retry { .. }
    ) {
        dpop_binding::redeem(bound.as_deref(), jkt, "refresh token")?;
        // A public client's family that was not bound is bound by its first proof: the refresh
        // token answered to it must need the key from then on (RFC 9449 §5).
        if bound.is_none() {
            if let Some(key) = dpop_binding::family_key(!client.is_confidential(), jkt) {
                grants::bind_dpop_key(&grant_id, &key)?;
            }
        }
    }
    // A family derived by token exchange is decided again: its rules, its source and its end.
    let mut exchange = None;
    let mut lifetime = settings::refresh_token_lifetime();
    if let (
        true,
        RefreshOutcome::Rotate {
            scopes, audience, ..
        }
        | RefreshOutcome::Retry {
            scopes, audience, ..
        },
    ) = (derived, &outcome)
    {
        let again = token_exchange::redecide(&grant_id, &client, &user_id, scopes, audience)?;
        lifetime = again.refresh_lifetime;
        exchange = Some(again.claims);
    }
    match outcome {
        RefreshOutcome::Refuse(e) => Err(e.into()),
        RefreshOutcome::Reused => {
            issuance::revoke_family(
                &grant_id,
                AuditEvent::RefreshTokenReused,
                "refresh token reused",
            )?;
            Err(refresh_decision::reuse_error().into())
        }
        RefreshOutcome::Rotate {
            scopes,
            audience,
            family,
        } => {
            // The rotation and the next token are one statement; the client may refresh (it
            // was authenticated for this grant) and the family is a user's (machines get none).
            // The key id was read by the lock statement: only two key rotations while this
            // transaction waited on the family's row could make it a deleted key, and then the
            // tokens fail verification (never the reverse).
            let next = secret::random_token(secret::TOKEN_BYTES);
            let grant = grants::rotate(&grant_id, hash, secret::hash(&next), lifetime, &family)?;
            let done = issuance::Done {
                current_kid,
                refresh_token: Some(next),
                exchange,
            };
            issuance::issue_tokens(&grant, &client, &scopes, None, &audience, jkt, done)
        }
        RefreshOutcome::Retry {
            scopes,
            audience,
            family,
        } => {
            let next = secret::random_token(secret::TOKEN_BYTES);
            let Some(grant) =
                grants::retry_rotate(&grant_id, hash, secret::hash(&next), lifetime, &family)?
            else {
                issuance::revoke_family(
                    &grant_id,
                    AuditEvent::RefreshTokenReused,
                    "refresh token reused",
                )?;
                return Err(refresh_decision::reuse_error().into());
            };
            audit::record(
                AuditEvent::RefreshTokenRetried,
                Some(&grant.client_id),
                Some(&grant.user_id),
                json!({"grant_id": grant_id}),
            )?;
            let done = issuance::Done {
                current_kid,
                refresh_token: Some(next),
                exchange,
            };
            issuance::issue_tokens(&grant, &client, &scopes, None, &audience, jkt, done)
        }
    }
}

/// The authorization code grant (RFC 6749 §4.1.3 with PKCE).
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn exchange_code(
    code: Option<&str>,
    code_verifier: Option<&str>,
    redirect_uri: Option<&str>,
    client_id: Option<&str>,
    client_secret: default!(Option<&str>, "NULL"),
    resource: default!(Option<&str>, "NULL"),
) -> JsonB {
    respond(
        authenticate_for_grant(client_id, client_secret, GrantType::AuthorizationCode).and_then(
            |client| {
                let resources = resource::parse(&resource.into_iter().collect::<Vec<_>>())?;
                // No proof can come this way: a client that must use DPoP uses oauth.token.
                dpop_binding::client_requirement(client.dpop_bound_access_tokens, None)?;
                pairwise::ensure_sector(&client)?;
                exchange(client, code, code_verifier, redirect_uri, &resources, None)
            },
        ),
    )
}

/// The refresh token grant (RFC 6749 §6), with rotation and reuse detection.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn refresh(
    refresh_token: Option<&str>,
    client_id: Option<&str>,
    client_secret: default!(Option<&str>, "NULL"),
    scope: default!(Option<&str>, "NULL"),
) -> JsonB {
    respond(
        authenticate_for_grant(client_id, client_secret, GrantType::RefreshToken).and_then(
            |client| {
                dpop_binding::client_requirement(client.dpop_bound_access_tokens, None)?;
                pairwise::ensure_sector(&client)?;
                refresh_grant(client, refresh_token, scope, &[], None)
            },
        ),
    )
}

/// The token endpoint as one call: `form` is the request body as a JSON object (repeated
/// parameters as arrays, which are refused), `authorization` the `Authorization` header.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn token(form: Option<JsonB>, authorization: default!(Option<&str>, "NULL")) -> JsonB {
    let form = form.map(|f| f.0).unwrap_or(Value::Null);
    respond(token_request(&form, authorization, None))
}

/// `oauth.token(form, authorization, dpop)`: the token endpoint with the request's `DPoP`
/// header (RFC 9449; NULL when it had none). Tokens are then bound to the proof's key
/// (`cnf.jkt`, `token_type: DPoP`). A function of its own beside the two-argument one, which
/// keeps its C symbol and its grants.
#[pg_extern(name = "token", volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn token_with_dpop(form: Option<JsonB>, authorization: Option<&str>, dpop: Option<&str>) -> JsonB {
    let form = form.map(|f| f.0).unwrap_or(Value::Null);
    let body = respond(token_request(&form, authorization, dpop));
    dpop::announce_nonce(dpop.is_some());
    body
}

/// Mints a first-party session token for `sub` (`token_use: session`, no `client_id`), signed
/// with our key: for apps without another login, the reference consent page, and tests.
/// Administrators only.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn issue_session_token(sub: Option<&str>, claims: default!(Option<JsonB>, "'{}'")) -> String {
    let sub = or_raise(required(sub, "sub"));
    let extra = claims.map(|c| c.0).unwrap_or(json!({}));
    let Some(extra) = extra.as_object() else {
        super::raise(bad_param("claims must be a JSON object"))
    };
    if let Some(k) = token_kind::KIND_CLAIMS
        .iter()
        .chain(&["scope", "session_id", "sid", "client_id"])
        .find(|k| extra.contains_key(**k))
    {
        super::raise(bad_param(format!(
            "a session token must not carry {k}: that claim belongs to access or ID tokens, or to the session itself"
        )));
    }
    or_raise(crate::services::sessions::start(
        sub,
        None,
        Value::Object(extra.clone()),
    ))
    .0
}
