//! Client ID Metadata Documents (the MCP 2025-11-25 way to identify a client): the client_id
//! is the https URL of a JSON document describing the client. The front fetches the document
//! (the database cannot) and hands it to `oauth.register_metadata_document`, which checks it
//! and stores the client as a public one, refreshed on every later fetch.

use super::{or_raise, ApiResult, Failure};
use crate::audit_events::AuditEvent;
use crate::decisions::client_standing::METADATA_DOCUMENTS_SETTING;
use crate::error::OAuthError;
use crate::protocol::client_metadata::{self, Caller, Invalid};
use crate::settings;
use crate::store::clients;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn check(url: &str, document: &Value) -> ApiResult<Value> {
    if !settings::client_metadata_documents() {
        return Err(OAuthError::InvalidClient(format!(
            "client ID metadata documents are off on this server ({METADATA_DOCUMENTS_SETTING})"
        ))
        .into());
    }
    let md = client_metadata::validate(document, Caller::MetadataDocument { client_id: url })
        .map_err(|e| match e {
            Invalid::OAuth(e) => Failure::OAuth(e),
            Invalid::Misuse(e) => Failure::Misuse(e),
        })?;
    // As stored before this document: its flags and keys are what the new ones replace.
    let stored = clients::find_stored(url)?;
    if !clients::store_metadata_document(url, &md)? {
        return Err(OAuthError::InvalidClient(
            "this client_id belongs to a client registered another way".into(),
        )
        .into());
    }
    clients::set_post_logout_uris(url, &md.post_logout_redirect_uris, false)?;
    clients::set_flags(url, &md, stored.as_ref())?;
    let had_keys = stored
        .as_ref()
        .is_some_and(|c| c.token_endpoint_auth_method == crate::model::AuthMethod::PrivateKeyJwt);
    if md.keys.is_some() || had_keys {
        crate::store::client_jwks::register(url, md.keys.as_ref())?;
    }
    crate::store::audit::record(
        AuditEvent::ClientMetadataDocumentStored,
        Some(url),
        None,
        json!({"name": md.name, "redirect_uris": md.redirect_uris}),
    )?;
    Ok(
        json!({ "client_id": url, "client_name": md.name, "redirect_uris": md.redirect_uris,
               "grant_types": md.grant_types }),
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
        Failure::OAuth(OAuthError::InvalidClient(d)) => OAuthError::InvalidRequest(d).into(),
        other => other,
    });
    super::respond(result)
}
