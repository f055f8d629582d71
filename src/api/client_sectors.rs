//! What the front calls to prove pairwise clients' sectors (OIDC Core §8.1; the database cannot
//! fetch URLs): where a client's sector identifier document is, and storing what it answered,
//! or why it could not be read. `services::pairwise::ensure_sector` asks for it
//! (`refresh_sector`) before a token is issued to such a client.

use super::{or_raise, raise, required};
use crate::error::{Misuse, MisuseError};
use crate::protocol::client_metadata::SubjectType;
use crate::protocol::pairwise;
use crate::store::clients::{self, Client};
use crate::store::subjects;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn no_sector(client_id: &str) -> MisuseError {
    MisuseError::new(
        Misuse::NotFound,
        format!("client {client_id:?} is not a pairwise client with a sector_identifier_uri"),
    )
}

/// The sector identifier URI of the pairwise client `client_id`: `{client_id,
/// sector_identifier_uri}`; P0002 when it has none.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn client_sector_fetch(client_id: Option<&str>) -> JsonB {
    let client_id = or_raise(required(client_id, "client_id"));
    let (_, uri) = with_sector_uri(client_id).unwrap_or_else(|| raise(no_sector(client_id)));
    JsonB(json!({"client_id": client_id, "sector_identifier_uri": uri}))
}

/// The pairwise client `client_id`, and its sector identifier URI; `None` when it has none.
fn with_sector_uri(client_id: &str) -> Option<(Client, String)> {
    let client = or_raise(clients::find_stored(client_id))?;
    let rp = or_raise(client.relying_party());
    let uri = rp
        .sector_identifier_uri
        .filter(|_| rp.subject_type == SubjectType::Pairwise)?;
    Some((client, uri))
}

/// Stores what a fetch of `client_id`'s `sector_identifier_uri` found: `document` (a JSON
/// array of redirect URIs), or, when it is NULL, `error` saying why it could not be read.
/// Returns `{client_id, sector_identifier_uri, lists_every_redirect_uri, error}` (a document
/// that is not an array of strings is recorded as the error, so that the token endpoint says
/// why). P0002 when the URI is no longer the client's.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn set_client_sector_document(
    client_id: Option<&str>,
    sector_identifier_uri: Option<&str>,
    document: Option<JsonB>,
    error: default!(Option<&str>, "NULL"),
) -> JsonB {
    let client_id = or_raise(required(client_id, "client_id"));
    let uri = or_raise(required(sector_identifier_uri, "sector_identifier_uri"));
    let client = match with_sector_uri(client_id) {
        Some((client, stored)) if stored == uri => client,
        _ => raise(no_sector(client_id)),
    };
    let (listed, error) = match document.map(|d| d.0) {
        Some(doc) => match pairwise::document_lists(&doc, &[]) {
            Ok(()) => (
                Some(
                    doc.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect::<Vec<_>>(),
                ),
                None,
            ),
            Err(why) => (None, Some(why)),
        },
        None => (
            None,
            Some(error.unwrap_or("it could not be fetched").to_string()),
        ),
    };
    or_raise(subjects::set_sector_document(
        client_id,
        uri,
        listed.clone(),
        error.as_deref(),
    ));
    let covers = listed
        .as_ref()
        .is_some_and(|l| client.redirect_uris.iter().all(|u| l.contains(u)));
    JsonB(json!({"client_id": client_id, "sector_identifier_uri": uri,
                 "lists_every_redirect_uri": covers, "error": error}))
}
