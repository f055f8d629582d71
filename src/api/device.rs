//! The device authorization grant (RFC 8628) for devices without a browser (CLIs, TVs,
//! agents on a server): `oauth.device_authorization(form, authorization)` starts it; the user
//! enters the user code on the consent page, which resolves it like an authorization id; the
//! device polls the token endpoint with its device code (`api::token`, deciding with
//! `decisions::poll_device`).

use super::{respond, set_no_store, ApiResult};
use crate::decisions::poll_device::INTERVAL;
use crate::error::OAuthError;
use crate::model::GrantType;
use crate::protocol::params::Params;
use crate::protocol::{redirect_uri, secret, user_code};
use crate::services::client_auth::authenticate_request;
use crate::services::requests::requested_scopes;
use crate::settings;
use crate::store::authorizations::{self, NewDeviceRequest};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn start(form: &Value, authorization: Option<&str>) -> ApiResult<Value> {
    let form = Params::new(form)?;
    let client = authenticate_request(&form, authorization)?;
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the device authorization grant".into(),
        )
        .into());
    }
    let scopes = requested_scopes(&client, form.get("scope")?)?;
    let resources = crate::services::resources::requested_by(&client, &form.get_all("resource")?)?;
    let consent_url = settings::consent_url().ok_or_else(|| {
        crate::error::MisuseError::new(
            crate::error::Misuse::Misconfigured,
            "oauth_server.consent_url is not set: it is the device flow's verification_uri",
        )
    })?;
    crate::services::keys::current_signer()?;
    let device_code = secret::random_token(secret::TOKEN_BYTES);
    let lifetime = settings::code_lifetime();
    // A user code is short: on the (rare) collision with a live one, draw another.
    for _ in 0..5 {
        let code = user_code::generate();
        let inserted = authorizations::create_device_request(&NewDeviceRequest {
            id: &secret::random_token(secret::TOKEN_BYTES),
            client_id: &client.client_id,
            scopes: &scopes,
            resources: &resources,
            device_code_hash: secret::hash(&device_code),
            user_code: &code,
            poll_interval: INTERVAL,
            lifetime_secs: lifetime,
        })?;
        if inserted {
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
