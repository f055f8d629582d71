//! `oauth.register_client(metadata)`: OpenID Connect / OAuth dynamic client registration
//! (RFC 7591). Off unless `oauth_server.dynamic_registration` is on; the front rate-limits it
//! per IP. Registered clients get no broader rights than DBA-created ones: the scopes they may
//! request are the installation's known scopes, and every authorization still needs consent.

use super::{respond, set_no_store, set_response_status, ApiResult, Failure};
use crate::audit_events::AuditEvent;
use crate::error::OAuthError;
use crate::protocol::client_metadata::{self, Caller, ClientKeys, Invalid};
use crate::services;
use crate::settings;
use crate::store::{self, db};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn register(metadata: &Value) -> ApiResult<Value> {
    if !settings::dynamic_registration() {
        return Err(OAuthError::AccessDenied(
            "dynamic client registration is disabled on this server (oauth_server.dynamic_registration is off)".into(),
        )
        .into());
    }
    let allowed = settings::registration_grant_types();
    let known = store::scopes::known()?;
    let md = client_metadata::validate(
        metadata,
        Caller::Registration {
            allowed_grant_types: &allowed,
            known_scopes: &known,
        },
    )
    .map_err(|e| match e {
        Invalid::OAuth(e) => Failure::OAuth(e),
        Invalid::Misuse(e) => Failure::Misuse(e),
    })?;
    let created = services::clients::create(&md)?;
    let client = &created.client;
    store::clients::mark_dynamic(&client.client_id)?;
    crate::store::audit::record(
        AuditEvent::ClientCreated,
        Some(&client.client_id),
        None,
        services::clients::created_event(client, &md.post_logout_redirect_uris),
    )?;
    let mut out = json!({
        "client_id": client.client_id,
        "client_id_issued_at": db::now_epoch()?,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
    });
    if let Some(u) = &client.client_uri {
        out["client_uri"] = json!(u);
    }
    if let Some(u) = &client.logo_uri {
        out["logo_uri"] = json!(u);
    }
    if !md.post_logout_redirect_uris.is_empty() {
        out["post_logout_redirect_uris"] = json!(md.post_logout_redirect_uris);
    }
    if let Some(s) = &client.scopes {
        out["scope"] = json!(s.join(" "));
    }
    if client.dpop_bound_access_tokens {
        out["dpop_bound_access_tokens"] = json!(true);
    }
    if client.require_pushed_authorization_requests {
        out["require_pushed_authorization_requests"] = json!(true);
    }
    // Pairwise subjects and back-channel logout, as registered.
    if let Some(Value::Object(rp)) = md.relying_party.to_stored() {
        for (k, v) in rp {
            out[k] = v;
        }
    }
    // RFC 7591 §3.2.1: the metadata as registered, keys included (public ones only).
    match &md.keys {
        Some(ClientKeys::Jwks(jwks)) => out["jwks"] = jwks.clone(),
        Some(ClientKeys::JwksUri(uri)) => out["jwks_uri"] = json!(uri),
        None => {}
    }
    if let Some(secret) = created.secret {
        out["client_secret"] = json!(secret);
        out["client_secret_expires_at"] = json!(0);
    }
    set_response_status(201);
    set_no_store();
    Ok(out)
}

/// RFC 7591 dynamic client registration.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn register_client(metadata: Option<JsonB>) -> JsonB {
    let metadata = metadata.map(|m| m.0).unwrap_or(Value::Null);
    respond(register(&metadata))
}
