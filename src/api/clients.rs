//! Client administration: `oauth.create_client`, `oauth.update_client`, `oauth.delete_client`,
//! `oauth.regenerate_client_secret`, `oauth.clients()`, `oauth.client(client_id)`,
//! `oauth.set_scope`. Not executable by PUBLIC: the DBA
//! grants them to the roles that administer clients.

use super::{or_raise, required};
use crate::error::{bad_param, Misuse, MisuseError};
use crate::protocol::client_metadata::{self, Caller, Invalid};
use crate::protocol::{scope, secret};
use crate::services;
use crate::store::{self, clients};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn client_json(client_id: &str) -> Result<Value, MisuseError> {
    clients::view(client_id)?.ok_or_else(|| not_found(client_id))
}

fn not_found(client_id: &str) -> MisuseError {
    MisuseError::new(
        Misuse::NotFound,
        format!("no client with client_id {client_id:?}"),
    )
}

/// An administrator's call fails only with misuse (the validator's OAuth errors are for
/// registrants).
fn misuse(e: Invalid) -> MisuseError {
    match e {
        Invalid::Misuse(e) => e,
        Invalid::OAuth(e) => bad_param(e.description()),
    }
}

/// Creates a client. The secret of a confidential client is returned once and stored only as
/// its hash.
#[allow(clippy::too_many_arguments)]
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn create_client(
    name: Option<&str>,
    redirect_uris: Option<Vec<Option<String>>>,
    client_type: default!(Option<&str>, "'confidential'"),
    scopes: default!(Option<Vec<Option<String>>>, "NULL"),
    grant_types: default!(Option<Vec<Option<String>>>, "NULL"),
    token_endpoint_auth_method: default!(Option<&str>, "NULL"),
    client_uri: default!(Option<&str>, "NULL"),
    logo_uri: default!(Option<&str>, "NULL"),
) -> JsonB {
    let args = json!({
        "name": name, "redirect_uris": redirect_uris, "client_type": client_type,
        "scopes": scopes, "grant_types": grant_types,
        "token_endpoint_auth_method": token_endpoint_auth_method,
        "client_uri": client_uri, "logo_uri": logo_uri,
    });
    JsonB(or_raise(create(&args)))
}

fn create(args: &Value) -> Result<Value, MisuseError> {
    let md = client_metadata::validate(args, Caller::Create).map_err(misuse)?;
    let created = services::clients::create(&md)?;
    let client_id = created.client.client_id.as_str();
    let mut out = client_json(client_id)?;
    out["post_logout_redirect_uris"] = json!(md.post_logout_redirect_uris);
    crate::store::audit::record(
        "client_created",
        Some(client_id),
        None,
        services::clients::created_event(&created.client),
    )?;
    if let Some(s) = created.secret {
        out["client_secret"] = json!(s);
    }
    Ok(out)
}

/// Changes a client's metadata. `changes` may hold name, redirect_uris, scopes, grant_types,
/// token_endpoint_auth_method, client_uri, logo_uri; anything else is refused.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn update_client(client_id: Option<&str>, changes: Option<JsonB>) -> JsonB {
    JsonB(or_raise(update(client_id, changes.map(|c| c.0))))
}

fn update(client_id: Option<&str>, changes: Option<Value>) -> Result<Value, MisuseError> {
    let client_id = required(client_id, "client_id")?;
    let changes = changes.ok_or_else(|| bad_param("changes must not be NULL"))?;
    // Before looking the client up, as the validator would: a call that cannot be right is
    // 22023 whether or not the client exists.
    if !changes.is_object() {
        return Err(bad_param("changes must be a JSON object"));
    }
    let current = clients::find(client_id)?.ok_or_else(|| not_found(client_id))?;
    let stored = current.metadata(clients::post_logout_uris(client_id)?);
    let md = client_metadata::validate(&changes, Caller::Update(&stored)).map_err(misuse)?;
    clients::update_metadata(client_id, &md)?;
    clients::set_post_logout_uris(client_id, &md.post_logout_redirect_uris, false)?;
    let changed: Vec<&String> = changes
        .as_object()
        .into_iter()
        .flat_map(|c| c.keys())
        .collect();
    crate::store::audit::record(
        "client_updated",
        Some(client_id),
        None,
        json!({"changed": changed}),
    )?;
    let mut out = client_json(client_id)?;
    out["post_logout_redirect_uris"] = json!(md.post_logout_redirect_uris);
    Ok(out)
}

/// Deletes a client and, by cascade, its pending authorizations, consents, grants and refresh
/// tokens.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn delete_client(client_id: Option<&str>) -> bool {
    let client_id = or_raise(required(client_id, "client_id"));
    if !or_raise(clients::delete(client_id)) {
        super::raise(not_found(client_id));
    }
    or_raise(crate::store::audit::record(
        "client_deleted",
        Some(client_id),
        None,
        json!({}),
    ));
    true
}

/// Issues a new secret for a confidential client; the old one stops working at once.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn regenerate_client_secret(client_id: Option<&str>) -> JsonB {
    let client_id = or_raise(required(client_id, "client_id"));
    let client =
        or_raise(clients::find(client_id)).unwrap_or_else(|| super::raise(not_found(client_id)));
    if !client.is_confidential() {
        super::raise(bad_param("a public client has no secret"));
    }
    let s = secret::random_token(secret::TOKEN_BYTES);
    or_raise(clients::rotate_secret(client_id, secret::hash(&s).to_vec()));
    or_raise(crate::store::audit::record(
        "client_secret_rotated",
        Some(client_id),
        None,
        json!({}),
    ));
    JsonB(json!({"client_id": client_id, "client_secret": s}))
}

/// Adds a scope, or changes the text the consent page shows for it.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn set_scope(name: Option<&str>, description: default!(Option<&str>, "''")) -> bool {
    let name = or_raise(required(name, "name"));
    if !scope::is_valid_token(name) {
        super::raise(bad_param(format!("malformed scope {name:?}")));
    }
    or_raise(store::scopes::set(name, description.unwrap_or("")));
    true
}

/// Most clients one page of `oauth.clients()` holds.
const MAX_PER_PAGE: i32 = 1000;

/// One page of the clients, oldest first: `{clients, total, page, per_page}`. Never a secret.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn clients(page: default!(Option<i32>, 1), per_page: default!(Option<i32>, 50)) -> JsonB {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(50);
    if page < 1 || !(1..=MAX_PER_PAGE).contains(&per_page) {
        super::raise(bad_param(format!(
            "page must be at least 1 and per_page between 1 and {MAX_PER_PAGE}"
        )));
    }
    JsonB(or_raise(clients::list(page.into(), per_page.into())))
}

/// One client's metadata, never its secret; P0002 for an unknown one.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn client(client_id: Option<&str>) -> JsonB {
    let client_id = or_raise(required(client_id, "client_id"));
    JsonB(or_raise(
        clients::describe(client_id).and_then(|c| c.ok_or_else(|| not_found(client_id))),
    ))
}
