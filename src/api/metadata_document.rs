//! Client ID Metadata Documents (the MCP 2025-11-25 way to identify a client): the client_id
//! is the https URL of a JSON document describing the client. The front fetches the document
//! (the database cannot) and hands it to `oauth.register_metadata_document`, which checks it
//! and stores the client as a public one, refreshed on every later fetch.

use super::clients;
use super::registration::{list, metadata_error, text};
use super::{or_raise, ApiResult};
use crate::error::OAuthError;
use crate::protocol::issuer_policy;
use crate::settings;
use crate::store::db;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

const ALLOWED_GRANTS: &[&str] = &["authorization_code", "refresh_token"];

fn check(url: &str, document: &Value) -> ApiResult<Value> {
    if !settings::client_metadata_documents() {
        return Err(OAuthError::InvalidClient(
            "client ID metadata documents are disabled on this server".into(),
        )
        .into());
    }
    let parsed = issuer_policy::check_url("client_id", url).map_err(OAuthError::InvalidClient)?;
    if parsed.path() == "/" || parsed.path().is_empty() {
        return Err(OAuthError::InvalidClient(
            "a client_id URL must have a path (the document's location)".into(),
        )
        .into());
    }
    let md = document
        .as_object()
        .ok_or_else(|| metadata_error("the client metadata document must be a JSON object"))?;
    // The document must claim exactly the URL it was fetched from, or any page could describe
    // itself as another client.
    if text(md, "client_id")?.as_deref() != Some(url) {
        return Err(
            metadata_error("the document's client_id is not the URL it was fetched from").into(),
        );
    }
    match text(md, "token_endpoint_auth_method")?.as_deref() {
        None | Some("none") => {}
        Some(m) => {
            return Err(metadata_error(format!(
                "token_endpoint_auth_method {m:?} is not supported for metadata document clients; use none"
            ))
            .into())
        }
    }
    let redirect_uris = list(md, "redirect_uris")?
        .filter(|u| !u.is_empty())
        .ok_or_else(|| OAuthError::InvalidRedirectUri("redirect_uris is required".into()))?;
    let redirect_uris = clients::validate_redirect_uris(redirect_uris)
        .map_err(|e| OAuthError::InvalidRedirectUri(e.message))?;
    let grants = list(md, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".into()]);
    if let Some(g) = grants
        .iter()
        .find(|g| !ALLOWED_GRANTS.contains(&g.as_str()))
    {
        return Err(metadata_error(format!(
            "grant type {g:?} is not available to a public client"
        ))
        .into());
    }
    if !grants.iter().any(|g| g == "authorization_code") {
        return Err(metadata_error("grant_types must include authorization_code").into());
    }
    let uri = |key: &str| -> ApiResult<Option<String>> {
        Ok(text(md, key)?
            .filter(|u| u.len() <= 2048 && u.starts_with("https://") && url::Url::parse(u).is_ok()))
    };
    let name = text(md, "client_name")?
        .map(|n| n.chars().take(200).collect::<String>())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| parsed.host_str().unwrap_or(url).to_string());
    let stored = db::execute(
        "INSERT INTO oauth.clients (client_id, client_type, name, redirect_uris, grant_types,
                                    token_endpoint_auth_method, client_uri, logo_uri,
                                    metadata_document_fetched_at)
         VALUES ($1, 'public', $2, $3, $4, 'none', $5, $6, now())
         ON CONFLICT (client_id) DO UPDATE SET name = excluded.name,
             redirect_uris = excluded.redirect_uris, grant_types = excluded.grant_types,
             client_uri = excluded.client_uri, logo_uri = excluded.logo_uri,
             metadata_document_fetched_at = now(), updated_at = now()
         WHERE clients.metadata_document_fetched_at IS NOT NULL",
        &[
            url.into(),
            name.as_str().into(),
            redirect_uris.clone().into(),
            grants.clone().into(),
            uri("client_uri")?.into(),
            uri("logo_uri")?.into(),
        ],
    )?;
    if stored == 0 {
        return Err(OAuthError::InvalidClient(
            "this client_id belongs to a client registered another way".into(),
        )
        .into());
    }
    super::audit::record(
        "client_metadata_document_stored",
        Some(url),
        None,
        json!({"name": name, "redirect_uris": redirect_uris}),
    )?;
    Ok(
        json!({ "client_id": url, "client_name": name, "redirect_uris": redirect_uris, "grant_types": grants }),
    )
}

/// Checks a fetched client metadata document for the client_id `url` and stores the client
/// (public, `none` authentication). Protocol errors are returned as `invalid_client` /
/// `invalid_client_metadata` / `invalid_redirect_uri` JSON with status 400.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn register_metadata_document(url: Option<&str>, document: Option<JsonB>) -> JsonB {
    let url = or_raise(super::required(url, "url"));
    let document = document.map(|d| d.0).unwrap_or(Value::Null);
    let result = check(url, &document).map_err(|e| match e {
        // invalid_client is 401 at the token endpoint; here it is a bad request.
        super::Failure::OAuth(OAuthError::InvalidClient(d)) => OAuthError::InvalidRequest(d).into(),
        other => other,
    });
    super::respond(result)
}
