//! Client administration: `oauth.create_client`, `oauth.update_client`, `oauth.delete_client`,
//! `oauth.regenerate_client_secret`, `oauth.clients()`, `oauth.client(client_id)`,
//! `oauth.set_scope`, `oauth.remove_scope`. Not executable by PUBLIC: the DBA
//! grants them to the roles that administer clients. And `oauth.admin_clients`, the same
//! operations for the HTTP admin API: executable by all, authorised by the credential passed.

use super::{or_raise, required};
use crate::audit_events::AuditEvent;
use crate::error::{bad_param, Misuse, MisuseError};
use crate::protocol::client_metadata::{self, Caller, Invalid};
use crate::protocol::{scope, secret};
use crate::services;
use crate::services::admin_access::{self, Admin};
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
/// An audit event of client administration; through the HTTP admin API it names who.
fn audit(
    event: AuditEvent,
    client_id: &str,
    mut details: Value,
    by: Option<&Admin>,
) -> Result<(), MisuseError> {
    if let Some(admin) = by {
        details["by"] = json!(admin.describe());
    }
    store::audit::record(event, Some(client_id), None, details)
}

fn misuse(e: Invalid) -> MisuseError {
    match e {
        Invalid::Misuse(e) => e,
        Invalid::OAuth(e) => bad_param(e.description()),
    }
}

/// Creates a client. The secret of a confidential client is returned once and stored only as
/// its hash. `post_logout_redirect_uris` (OIDC RP-Initiated Logout) follow the rules of
/// `oauth.update_client`'s; NULL registers none. A `private_key_jwt` client (RFC 7523) has no
/// secret: its public keys are `jwks` (inline) or at `jwks_uri`.
///
/// Its C symbol is not `create_client_wrapper`: that one is 0.1.0's eight-argument
/// `oauth.create_client`, kept below for a database not yet updated.
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "create_client", security_definer)]
#[search_path(@extschema@, pg_temp)]
fn create_client_with_logout_uris(
    name: Option<&str>,
    redirect_uris: Option<Vec<Option<String>>>,
    client_type: default!(Option<&str>, "'confidential'"),
    scopes: default!(Option<Vec<Option<String>>>, "NULL"),
    grant_types: default!(Option<Vec<Option<String>>>, "NULL"),
    token_endpoint_auth_method: default!(Option<&str>, "NULL"),
    client_uri: default!(Option<&str>, "NULL"),
    logo_uri: default!(Option<&str>, "NULL"),
    post_logout_redirect_uris: default!(Option<Vec<Option<String>>>, "NULL"),
    jwks: default!(Option<JsonB>, "NULL"),
    jwks_uri: default!(Option<&str>, "NULL"),
) -> JsonB {
    let args = json!({
        "name": name, "redirect_uris": redirect_uris, "client_type": client_type,
        "scopes": scopes, "grant_types": grant_types,
        "token_endpoint_auth_method": token_endpoint_auth_method,
        "client_uri": client_uri, "logo_uri": logo_uri,
        "post_logout_redirect_uris": post_logout_redirect_uris,
        "jwks": jwks.map(|j| j.0), "jwks_uri": jwks_uri,
    });
    JsonB(or_raise(create(&args, None)))
}

/// 0.1.0's `oauth.create_client`, without `post_logout_redirect_uris`. A package upgrade
/// replaces the library before `ALTER EXTENSION oauth_server UPDATE` replaces the SQL
/// function, which until then calls this symbol with eight arguments (the nine-argument
/// wrapper would fail to read a ninth). No SQL of its own: the update drops that function.
#[allow(clippy::too_many_arguments)]
#[pg_extern(sql = false)]
fn create_client(
    name: Option<&str>,
    redirect_uris: Option<Vec<Option<String>>>,
    client_type: Option<&str>,
    scopes: Option<Vec<Option<String>>>,
    grant_types: Option<Vec<Option<String>>>,
    token_endpoint_auth_method: Option<&str>,
    client_uri: Option<&str>,
    logo_uri: Option<&str>,
) -> JsonB {
    create_client_with_logout_uris(
        name,
        redirect_uris,
        client_type,
        scopes,
        grant_types,
        token_endpoint_auth_method,
        client_uri,
        logo_uri,
        None,
        None,
        None,
    )
}

fn create(args: &Value, by: Option<&Admin>) -> Result<Value, MisuseError> {
    let md = client_metadata::validate(args, Caller::Create).map_err(misuse)?;
    let created = services::clients::create(&md)?;
    let client_id = created.client.client_id.as_str();
    let mut out = client_json(client_id)?;
    out["post_logout_redirect_uris"] = json!(md.post_logout_redirect_uris);
    let event = services::clients::created_event(&created.client, &md.post_logout_redirect_uris);
    audit(AuditEvent::ClientCreated, client_id, event, by)?;
    if let Some(s) = created.secret {
        out["client_secret"] = json!(s);
    }
    Ok(out)
}

/// Changes a client's metadata. `changes` may hold the keys of
/// `client_metadata::CHANGEABLE` (name, redirect_uris, scopes, …, default_resources: registered
/// resource servers a request naming none is for); anything else is refused.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn update_client(client_id: Option<&str>, changes: Option<JsonB>) -> JsonB {
    JsonB(or_raise(update(client_id, changes.map(|c| c.0), None)))
}

fn update(
    client_id: Option<&str>,
    changes: Option<Value>,
    by: Option<&Admin>,
) -> Result<Value, MisuseError> {
    let client_id = required(client_id, "client_id")?;
    let changes = changes.ok_or_else(|| bad_param("changes must not be NULL"))?;
    // Before looking the client up, as the validator would: a call that cannot be right is
    // 22023 whether or not the client exists.
    if !changes.is_object() {
        return Err(bad_param("changes must be a JSON object"));
    }
    let current = clients::find_stored(client_id)?.ok_or_else(|| not_found(client_id))?;
    let keys = if current.token_endpoint_auth_method == crate::model::AuthMethod::PrivateKeyJwt {
        crate::services::client_keys::registered(client_id)?
    } else {
        None
    };
    let stored = current.metadata(clients::post_logout_uris(client_id)?, keys);
    let md = client_metadata::validate(&changes, Caller::Update(&stored)).map_err(misuse)?;
    if md.default_resources != stored.default_resources {
        services::clients::ensure_default_resources_registered(&md.default_resources)?;
    }
    clients::update_metadata(client_id, &md)?;
    clients::set_flags(client_id, &md, Some(&current))?;
    clients::set_default_resources(client_id, &md, Some(&current))?;
    if md.keys != stored.keys {
        crate::store::client_jwks::register(client_id, md.keys.as_ref())?;
    }
    clients::set_post_logout_uris(client_id, &md.post_logout_redirect_uris, false)?;
    let changed: Vec<&String> = changes
        .as_object()
        .into_iter()
        .flat_map(|c| c.keys())
        .collect();
    audit(
        AuditEvent::ClientUpdated,
        client_id,
        json!({"changed": changed}),
        by,
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
    or_raise(delete(client_id, None));
    true
}

fn delete(client_id: Option<&str>, by: Option<&Admin>) -> Result<(), MisuseError> {
    let client_id = required(client_id, "client_id")?;
    if !clients::delete(client_id)? {
        return Err(not_found(client_id));
    }
    audit(AuditEvent::ClientDeleted, client_id, json!({}), by)
}

/// Issues a new secret for a confidential client; the old one stops working at once.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn regenerate_client_secret(client_id: Option<&str>) -> JsonB {
    JsonB(or_raise(regenerate_secret(client_id, None)))
}

fn regenerate_secret(client_id: Option<&str>, by: Option<&Admin>) -> Result<Value, MisuseError> {
    let client_id = required(client_id, "client_id")?;
    let client = clients::find_stored(client_id)?.ok_or_else(|| not_found(client_id))?;
    if !client.is_confidential() {
        return Err(bad_param("a public client has no secret"));
    }
    if !client.token_endpoint_auth_method.uses_secret() {
        return Err(bad_param(
            "a private_key_jwt client has no secret: it signs with its own keys",
        )
        .hint("change its keys with oauth.update_client(client_id, '{\"jwks_uri\": …}')"));
    }
    let s = secret::random_token(secret::TOKEN_BYTES);
    clients::rotate_secret(client_id, secret::hash(&s).to_vec())?;
    audit(AuditEvent::ClientSecretRotated, client_id, json!({}), by)?;
    Ok(json!({"client_id": client_id, "client_secret": s}))
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

/// Removes a scope from the registry and from every client's explicit list: no client may ask
/// for it any more, and every token family, request and consent that recorded it loses it at
/// once and for good, by trigger (docs/security.md#removals-are-for-good). The built-in OpenID
/// Connect scopes cannot be removed (narrow the clients instead). Audited.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn remove_scope(name: Option<&str>) -> bool {
    let name = or_raise(required(name, "name"));
    if scope::BUILT_IN.iter().any(|(b, _)| *b == name) {
        super::raise(
            bad_param(format!(
                "{name:?} is a built-in OpenID Connect scope and cannot be removed"
            ))
            .hint("take it out of the clients' scopes with oauth.update_client"),
        );
    }
    if !or_raise(store::scopes::remove(name)) {
        super::raise(MisuseError::new(
            Misuse::NotFound,
            format!("there is no scope {name:?}"),
        ));
    }
    or_raise(crate::store::audit::record(
        AuditEvent::ScopeRemoved,
        None,
        None,
        json!({"scope": name}),
    ));
    true
}

/// Most clients one page of `oauth.clients()` holds.
const MAX_PER_PAGE: i64 = 1000;

/// One page of the clients, oldest first: `{clients, total, page, per_page}`. Never a secret.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn clients(page: default!(Option<i32>, 1), per_page: default!(Option<i32>, 50)) -> JsonB {
    JsonB(or_raise(list(page.map(i64::from), per_page.map(i64::from))))
}

fn list(page: Option<i64>, per_page: Option<i64>) -> Result<Value, MisuseError> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(50);
    if !(1..=i64::from(i32::MAX)).contains(&page) || !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(bad_param(format!(
            "page must be at least 1 and per_page between 1 and {MAX_PER_PAGE}"
        )));
    }
    clients::list(page, per_page)
}

/// One client's metadata, never its secret; P0002 for an unknown one.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn client(client_id: Option<&str>) -> JsonB {
    JsonB(or_raise(get(client_id)))
}

fn get(client_id: Option<&str>) -> Result<Value, MisuseError> {
    let client_id = required(client_id, "client_id")?;
    clients::describe(client_id)?.ok_or_else(|| not_found(client_id))
}

/// The HTTP admin API (the front's `/auth/v1/admin/oauth/clients`): one client operation,
/// authorised by `credential`, an administrator key or a session with an administrator role
/// (see `services::admin_access`), never a user's session. `action` is `list` (params `page`,
/// `per_page`), `get`, `create` (params as `oauth.create_client`'s arguments), `update`
/// (params as `oauth.update_client`'s changes), `delete` or `regenerate_secret` (the client, as
/// `get` shows it, with its new secret).
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn admin_clients(
    credential: Option<&str>,
    action: Option<&str>,
    client_id: default!(Option<&str>, "NULL"),
    params: default!(Option<JsonB>, "'{}'"),
) -> JsonB {
    let admin = or_raise(admin_access::authenticate(credential));
    let params = params.map(|p| p.0).unwrap_or_else(|| json!({}));
    JsonB(or_raise(admin_action(&admin, action, client_id, params)))
}

fn admin_action(
    admin: &Admin,
    action: Option<&str>,
    client_id: Option<&str>,
    params: Value,
) -> Result<Value, MisuseError> {
    if !params.is_object() {
        return Err(bad_param("params must be a JSON object"));
    }
    let page_param = |name: &str| -> Result<Option<i64>, MisuseError> {
        match &params[name] {
            Value::Null => Ok(None),
            v => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| bad_param(format!("{name} must be an integer"))),
        }
    };
    match required(action, "action")? {
        "list" => list(page_param("page")?, page_param("per_page")?),
        "get" => get(client_id),
        "create" => {
            const ARGS: [&str; 18] = [
                "name",
                "redirect_uris",
                "client_type",
                "scopes",
                "grant_types",
                "token_endpoint_auth_method",
                "client_uri",
                "logo_uri",
                "post_logout_redirect_uris",
                "dpop_bound_access_tokens",
                "require_pushed_authorization_requests",
                "jwks",
                "jwks_uri",
                "subject_type",
                "sector_identifier_uri",
                "backchannel_logout_uri",
                "backchannel_logout_session_required",
                "default_resources",
            ];
            if let Some(k) = params
                .as_object()
                .into_iter()
                .flat_map(|o| o.keys())
                .find(|k| !ARGS.contains(&k.as_str()))
            {
                return Err(bad_param(format!("unknown client field {k:?}")));
            }
            create(&params, Some(admin))
        }
        "update" => update(client_id, Some(params), Some(admin)),
        "delete" => delete(client_id, Some(admin)).map(|()| json!({"deleted": true})),
        // The whole client with its new secret, as Supabase's admin API answers it.
        "regenerate_secret" => {
            let rotated = regenerate_secret(client_id, Some(admin))?;
            let mut client = get(client_id)?;
            client["client_secret"] = rotated["client_secret"].clone();
            Ok(client)
        }
        other => Err(bad_param(format!(
            "unknown action {other:?}: list, get, create, update, delete or regenerate_secret"
        ))),
    }
}
