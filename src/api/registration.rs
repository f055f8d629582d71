//! `oauth.register_client(metadata)`: OpenID Connect / OAuth dynamic client registration
//! (RFC 7591). Off unless `oauth_server.dynamic_registration` is on; the front rate-limits it
//! per IP. Registered clients get no broader rights than DBA-created ones: the scopes they may
//! request are the installation's known scopes, and every authorization still needs consent.

use super::clients::{self, known_scopes};
use super::{respond, set_no_store, set_response_status, ApiResult, Failure};
use crate::error::{MisuseError, OAuthError};
use crate::protocol::scope;
use crate::settings;
use crate::store::db;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Map, Value};

pub(crate) fn metadata_error(m: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClientMetadata(m.into())
}

pub(crate) fn text(md: &Map<String, Value>, key: &str) -> Result<Option<String>, OAuthError> {
    match md.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(metadata_error(format!("{key} must be a string"))),
    }
}

pub(crate) fn list(md: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match md.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| metadata_error(format!("{key} must be an array of strings"))),
        Some(_) => Err(metadata_error(format!("{key} must be an array of strings"))),
    }
}

/// Any misuse-shaped validation failure of the shared client checks is a metadata error here.
fn as_metadata_error(e: MisuseError) -> Failure {
    match e.kind {
        crate::error::Misuse::InvalidParameter => metadata_error(e.message).into(),
        _ => e.into(),
    }
}

fn register(metadata: &Value) -> ApiResult<Value> {
    if !settings::dynamic_registration() {
        return Err(OAuthError::AccessDenied(
            "dynamic client registration is disabled on this server".into(),
        )
        .into());
    }
    let md = metadata
        .as_object()
        .ok_or_else(|| metadata_error("the registration request must be a JSON object"))?;
    let redirect_uris = list(md, "redirect_uris")
        .map_err(|e| OAuthError::InvalidRedirectUri(e.description().into()))?
        .ok_or_else(|| OAuthError::InvalidRedirectUri("redirect_uris is required".into()))?;
    if redirect_uris.is_empty() {
        return Err(
            OAuthError::InvalidRedirectUri("redirect_uris must not be empty".into()).into(),
        );
    }
    clients::validate_redirect_uris(redirect_uris.clone())
        .map_err(|e| OAuthError::InvalidRedirectUri(e.message))?;
    if let Some(types) = list(md, "response_types")? {
        if types.iter().any(|t| t != "code") {
            return Err(metadata_error("only the response type \"code\" is supported").into());
        }
    }
    let auth_method =
        text(md, "token_endpoint_auth_method")?.unwrap_or_else(|| "client_secret_basic".into());
    let client_type = if auth_method == "none" {
        "public"
    } else {
        "confidential"
    };
    let grant_types = list(md, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".into()]);
    // An anonymous registrant gets only what a user's consent stands behind, unless the DBA
    // allows more: client_credentials or the device grant would mint tokens no user approved
    // in a browser of their own.
    let allowed = settings::registration_grant_types();
    if let Some(g) = grant_types.iter().find(|g| !allowed.contains(g)) {
        return Err(metadata_error(format!(
            "grant type {g:?} cannot be registered dynamically here (allowed: {})",
            allowed.join(", ")
        ))
        .into());
    }
    let scopes = match text(md, "scope")? {
        Some(s) if !s.trim().is_empty() => {
            let requested = scope::parse(&s).map_err(|e| metadata_error(e.description()))?;
            scope::ensure_subset(&requested, &known_scopes()?, "known to this server")
                .map_err(|e| metadata_error(e.description()))?;
            Some(requested.into_iter().map(Some).collect())
        }
        _ => None,
    };
    let name = text(md, "client_name")?.filter(|n| !n.trim().is_empty());
    let created = clients::create(
        Some(name.as_deref().unwrap_or("Unnamed client")),
        Some(redirect_uris.into_iter().map(Some).collect()),
        Some(client_type),
        scopes,
        Some(grant_types.into_iter().map(Some).collect()),
        Some(&auth_method),
        text(md, "client_uri")?.as_deref(),
        text(md, "logo_uri")?.as_deref(),
    )
    .map_err(as_metadata_error)?;
    let mut out = json!({
        "client_id": created["client_id"],
        "client_id_issued_at": db::now_epoch()?,
        "client_name": created["name"],
        "redirect_uris": created["redirect_uris"],
        "grant_types": created["grant_types"],
        "response_types": ["code"],
        "token_endpoint_auth_method": created["token_endpoint_auth_method"],
    });
    for key in ["client_uri", "logo_uri"] {
        if !created[key].is_null() {
            out[key] = created[key].clone();
        }
    }
    if let Some(s) = created["scopes"].as_array() {
        let names: Vec<&str> = s.iter().filter_map(Value::as_str).collect();
        out["scope"] = json!(names.join(" "));
    }
    if let Some(secret) = created.get("client_secret") {
        out["client_secret"] = secret.clone();
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
