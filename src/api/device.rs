//! The device authorization grant (RFC 8628) for devices without a browser (CLIs, TVs,
//! agents on a server): `oauth.device_authorization(form, authorization)` starts it; the user
//! enters the user code on the consent page, which resolves it like an authorization id; the
//! device polls the token endpoint with its device code (see [`redeem`]).

use super::token::{self, Approved};
use super::{respond, set_no_store, ApiResult};
use crate::error::{invalid_grant, OAuthError};
use crate::model::GrantType;
use crate::protocol::params::Params;
use crate::protocol::{redirect_uri, secret, user_code};
use crate::settings;
use crate::store::clients::Client;
use crate::store::db;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::Deserialize;
use serde_json::{json, Value};

pub const GRANT_TYPE: &str = GrantType::DeviceCode.as_str();
/// Seconds a device waits between polls, and what `slow_down` adds (RFC 8628 §3.5).
const INTERVAL: i32 = 5;
const SLOW_DOWN_STEP: i32 = 5;

fn start(form: &Value, authorization: Option<&str>) -> ApiResult<Value> {
    let form = Params::new(form)?;
    let client = token::authenticate_request(&form, authorization)?;
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the device authorization grant".into(),
        )
        .into());
    }
    let scopes = super::authorize::requested_scopes(&client, form.get("scope")?)?;
    let resources = crate::services::resources::requested(&form.get_all("resource")?)?;
    let consent_url = settings::consent_url().ok_or_else(|| {
        crate::error::MisuseError::new(
            crate::error::Misuse::Misconfigured,
            "oauth_server.consent_url is not set: it is the device flow's verification_uri",
        )
    })?;
    super::keys::current_signer()?;
    let device_code = secret::random_token(secret::TOKEN_BYTES);
    let lifetime = settings::code_lifetime();
    // A user code is short: on the (rare) collision with a live one, draw another.
    for _ in 0..5 {
        let code = user_code::generate();
        let inserted = db::execute(
            &format!(
                "INSERT INTO oauth.authorizations (id, kind, client_id, scopes, resources, device_code_hash,
                                                   user_code, poll_interval, expires_at, failures_at_start)
                 VALUES ($1, 'device', $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8), {})
                 ON CONFLICT (user_code) DO NOTHING",
                super::user_codes::FAILURES_SO_FAR
            ),
            &[
                secret::random_token(secret::TOKEN_BYTES).into(),
                client.client_id.as_str().into(),
                scopes.clone().into(),
                resources.clone().into(),
                secret::hash(&device_code).to_vec().into(),
                code.as_str().into(),
                INTERVAL.into(),
                (lifetime as f64).into(),
            ],
        )?;
        if inserted == 1 {
            let shown = user_code::display(&code);
            set_no_store();
            return Ok(json!({
                "device_code": device_code,
                "user_code": shown,
                "verification_uri": consent_url,
                "verification_uri_complete":
                    redirect_uri::with_query(&consent_url, &[("user_code", &shown)]),
                "expires_in": lifetime,
                "interval": INTERVAL,
            }));
        }
    }
    Err(crate::error::internal("could not draw a free user code").into())
}

#[derive(Deserialize)]
struct DeviceRow {
    id: String,
    client_id: String,
    scopes: Vec<String>,
    resources: Vec<String>,
    status: String,
    user_id: Option<String>,
    auth_time: Option<i64>,
    user_claims: Option<Value>,
    grant_id: Option<String>,
    expired: bool,
    too_fast: bool,
}

/// The device code grant at the token endpoint. Polling outcomes are returned, not raised, so
/// that the poll time (and a slower interval after `slow_down`) is recorded.
pub fn redeem(client: Client, device_code: Option<&str>, resources: &[String]) -> ApiResult<Value> {
    let device_code =
        device_code.ok_or_else(|| crate::error::invalid_request("device_code is required"))?;
    let row: DeviceRow = db::query_row(
        "SELECT to_jsonb(a) - 'code_hash' - 'device_code_hash' || jsonb_build_object(
                'expired', expires_at <= now(),
                'auth_time', floor(extract(epoch FROM auth_time))::bigint,
                'too_fast', coalesce(last_polled_at > now() - make_interval(secs => poll_interval), false))
         FROM oauth.authorizations a WHERE device_code_hash = $1 FOR UPDATE",
        &[secret::hash(device_code).to_vec().into()],
    )?
    .ok_or_else(|| invalid_grant("device code is invalid"))?;
    if row.client_id != client.client_id {
        return Err(invalid_grant("device code was issued to another client").into());
    }
    if row.expired && row.status != "redeemed" {
        return Err(
            OAuthError::ExpiredToken("the device code has expired; start again".into()).into(),
        );
    }
    match row.status.as_str() {
        "pending" => {
            let slow = row.too_fast;
            db::execute(
                "UPDATE oauth.authorizations SET last_polled_at = now(),
                        poll_interval = poll_interval + CASE WHEN $2 THEN $3 ELSE 0 END
                 WHERE id = $1",
                &[row.id.as_str().into(), slow.into(), SLOW_DOWN_STEP.into()],
            )?;
            Err(if slow {
                OAuthError::SlowDown(format!(
                    "polling too fast: wait {SLOW_DOWN_STEP} seconds more between requests"
                ))
            } else {
                OAuthError::AuthorizationPending("the user has not decided yet".into())
            }
            .into())
        }
        "denied" => {
            Err(OAuthError::DeviceAccessDenied("the user denied the request".into()).into())
        }
        "redeemed" => {
            if let Some(g) = &row.grant_id {
                token::revoke_grant(g, "device_code_replayed", "device code replayed")?;
            }
            Err(invalid_grant(
                "device code has already been used; the tokens it issued are revoked",
            )
            .into())
        }
        _ => token::redeem_approved(
            &client,
            Approved {
                id: &row.id,
                user_id: row.user_id.as_deref(),
                scopes: &row.scopes,
                resources: &row.resources,
                auth_time: row.auth_time,
                user_claims: row.user_claims.clone(),
                nonce: None,
                what: "device code",
            },
            resources,
        ),
    }
}

/// RFC 8628 §3.1 device authorization endpoint: client authentication as at the token
/// endpoint, then `scope` and `resource`; returns the device code, the user code and where
/// the user enters it.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn device_authorization(
    form: Option<JsonB>,
    authorization: default!(Option<&str>, "NULL"),
) -> JsonB {
    let form = form.map(|f| f.0).unwrap_or(Value::Null);
    respond(start(&form, authorization))
}
