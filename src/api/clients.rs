//! Client administration: `oauth.create_client`, `oauth.update_client`, `oauth.delete_client`,
//! `oauth.regenerate_client_secret`, `oauth.set_scope`; and loading a client for the protocol.
//! Not executable by PUBLIC: the DBA grants them to the roles that administer clients.

use super::{or_raise, required};
use crate::error::{bad_param, Misuse, MisuseError};
use crate::protocol::{redirect_uri, scope, secret};
use crate::store::db::{self, hex_bytes};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    crate::model::GrantType::DeviceCode.as_str(),
];
const DEFAULT_GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token"];

/// A client as the protocol functions need it.
#[derive(Deserialize, Debug)]
pub struct Client {
    pub client_id: String,
    pub client_type: String,
    pub client_secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Option<Vec<String>>,
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
}

impl Client {
    pub fn is_confidential(&self) -> bool {
        self.client_type == "confidential"
    }
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
    /// Constant-time check of a presented secret against the stored hash.
    pub fn secret_matches(&self, presented: &str) -> bool {
        let stored = self
            .client_secret_hash
            .as_deref()
            .and_then(hex_bytes)
            .unwrap_or_default();
        secret::verify(presented, &stored)
    }
}

pub fn load(client_id: &str) -> Result<Option<Client>, MisuseError> {
    db::query_row(
        "SELECT to_jsonb(c) FROM oauth.clients c WHERE client_id = $1",
        &[client_id.into()],
    )
}

/// Every scope this installation knows: the built-in OIDC ones and the rows of oauth.scopes.
pub fn known_scopes() -> Result<Vec<String>, MisuseError> {
    let mut all: Vec<String> = scope::BUILT_IN.iter().map(|(n, _)| n.to_string()).collect();
    let rows: Vec<String> = db::query_row(
        "SELECT coalesce(jsonb_agg(name), '[]') FROM oauth.scopes",
        &[],
    )?
    .unwrap_or_default();
    for r in rows {
        if !all.contains(&r) {
            all.push(r);
        }
    }
    Ok(all)
}

/// The scopes a client may request: an explicit list always includes `offline_access`, which
/// grants nothing the client's grant types do not (OIDC clients ask for it unprompted).
pub fn allowed_scopes(client: &Client) -> Result<Vec<String>, MisuseError> {
    match &client.scopes {
        Some(s) => {
            let mut s = s.clone();
            if !s.iter().any(|x| x == scope::OFFLINE_ACCESS) {
                s.push(scope::OFFLINE_ACCESS.into());
            }
            Ok(s)
        }
        None => known_scopes(),
    }
}

/// The public view of a client (never the secret hash).
const CLIENT_JSON: &str = "SELECT jsonb_build_object(
        'client_id', client_id, 'client_type', client_type, 'name', name,
        'redirect_uris', redirect_uris, 'scopes', scopes, 'grant_types', grant_types,
        'token_endpoint_auth_method', token_endpoint_auth_method,
        'client_uri', client_uri, 'logo_uri', logo_uri,
        'created_at', created_at, 'updated_at', updated_at)
    FROM oauth.clients WHERE client_id = $1";

fn client_json(client_id: &str) -> Result<Value, MisuseError> {
    db::query_json(CLIENT_JSON, &[client_id.into()])?.ok_or_else(|| not_found(client_id))
}

fn not_found(client_id: &str) -> MisuseError {
    MisuseError::new(
        Misuse::NotFound,
        format!("no client with client_id {client_id:?}"),
    )
}

/// The validated, normalised metadata of a client.
struct Metadata {
    name: String,
    redirect_uris: Vec<String>,
    scopes: Option<Vec<String>>,
    grant_types: Vec<String>,
    auth_method: String,
    client_uri: Option<String>,
    logo_uri: Option<String>,
}

impl Metadata {
    /// The columns name, redirect_uris, scopes, grant_types, token_endpoint_auth_method,
    /// client_uri, logo_uri, in that order, as query parameters.
    fn into_params<'a>(self) -> Vec<DatumWithOid<'a>> {
        vec![
            self.name.into(),
            self.redirect_uris.into(),
            self.scopes.into(),
            self.grant_types.into(),
            self.auth_method.into(),
            self.client_uri.into(),
            self.logo_uri.into(),
        ]
    }
}

/// `leading` parameters followed by the metadata's.
fn with_metadata<'a>(mut leading: Vec<DatumWithOid<'a>>, md: Metadata) -> Vec<DatumWithOid<'a>> {
    leading.extend(md.into_params());
    leading
}

fn no_null_elements(values: Vec<Option<String>>, what: &str) -> Result<Vec<String>, MisuseError> {
    values
        .into_iter()
        .map(|v| v.ok_or_else(|| bad_param(format!("{what} must not contain NULL"))))
        .collect()
}

fn validate_name(name: &str) -> Result<String, MisuseError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(bad_param("client name must be 1 to 200 characters"));
    }
    Ok(name.to_string())
}

/// Validates redirect URIs; an empty list is allowed here and refused by [`check_grants`] for
/// clients that use the authorization code grant.
pub(crate) fn validate_redirect_uris(uris: Vec<String>) -> Result<Vec<String>, MisuseError> {
    if uris.len() > redirect_uri::MAX_REDIRECT_URIS {
        return Err(bad_param(format!(
            "at most {} redirect URIs per client",
            redirect_uri::MAX_REDIRECT_URIS
        )));
    }
    for u in &uris {
        redirect_uri::validate_registered(u).map_err(|e| {
            bad_param(e).hint("use https, a loopback http URI (127.0.0.1, [::1], localhost) or an app's private-use scheme")
        })?;
    }
    let mut out: Vec<String> = Vec::new();
    for u in uris {
        if !out.contains(&u) {
            out.push(u);
        }
    }
    Ok(out)
}

fn validate_scopes(scopes: Vec<String>) -> Result<Vec<String>, MisuseError> {
    let mut out: Vec<String> = Vec::new();
    for s in scopes {
        if !scope::is_valid_token(&s) {
            return Err(bad_param(format!("malformed scope {s:?}"))
                .hint("scope tokens are printable ASCII without spaces, quotes or backslashes"));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

fn validate_grant_types(grants: Vec<String>) -> Result<Vec<String>, MisuseError> {
    if let Some(g) = grants.iter().find(|g| !GRANT_TYPES.contains(&g.as_str())) {
        return Err(bad_param(format!("unsupported grant type {g:?}"))
            .hint(format!("supported: {}", GRANT_TYPES.join(", "))));
    }
    if !grants.iter().any(|g| g != "refresh_token") {
        return Err(bad_param(
            "grant_types must include a grant that starts a session: authorization_code, client_credentials or the device code grant",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for g in grants {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

/// Rules between grant types and the rest of a client: the authorization code grant needs a
/// redirect URI; client_credentials needs a secret (a public client could be anyone).
fn check_grants(md: &Metadata, client_type: &str) -> Result<(), MisuseError> {
    let has = |g: &str| md.grant_types.iter().any(|x| x == g);
    if has("authorization_code") && md.redirect_uris.is_empty() {
        return Err(bad_param(
            "a client of the authorization code grant needs at least one redirect URI",
        ));
    }
    if has("client_credentials") && client_type != "confidential" {
        return Err(bad_param(
            "only a confidential client may use client_credentials",
        ));
    }
    Ok(())
}

fn validate_auth_method(client_type: &str, method: Option<&str>) -> Result<String, MisuseError> {
    let confidential = client_type == "confidential";
    let method = method.unwrap_or(if confidential {
        "client_secret_basic"
    } else {
        "none"
    });
    match (confidential, method) {
        (true, "client_secret_basic" | "client_secret_post") | (false, "none") => {
            Ok(method.to_string())
        }
        (true, "none") => Err(bad_param("a confidential client must authenticate")
            .hint("use client_secret_basic or client_secret_post, or make the client public")),
        (false, _) => Err(bad_param(
            "a public client has no secret; its token_endpoint_auth_method is none",
        )),
        _ => Err(bad_param(format!(
            "unsupported token_endpoint_auth_method {method:?}"
        ))),
    }
}

fn validate_optional_uri(value: Option<String>, what: &str) -> Result<Option<String>, MisuseError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v)
            if v.len() <= redirect_uri::MAX_URI_LEN
                && (v.starts_with("https://") || v.starts_with("http://"))
                && url::Url::parse(&v).is_ok() =>
        {
            Ok(Some(v))
        }
        Some(v) => Err(bad_param(format!(
            "{what} {v:?} must be an absolute http(s) URL"
        ))),
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
    JsonB(or_raise(create(
        name,
        redirect_uris,
        client_type,
        scopes,
        grant_types,
        token_endpoint_auth_method,
        client_uri,
        logo_uri,
    )))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn create(
    name: Option<&str>,
    redirect_uris: Option<Vec<Option<String>>>,
    client_type: Option<&str>,
    scopes: Option<Vec<Option<String>>>,
    grant_types: Option<Vec<Option<String>>>,
    auth_method: Option<&str>,
    client_uri: Option<&str>,
    logo_uri: Option<&str>,
) -> Result<Value, MisuseError> {
    let client_type = client_type.unwrap_or("confidential");
    if !matches!(client_type, "confidential" | "public") {
        return Err(bad_param(format!(
            "client_type must be 'confidential' or 'public', not {client_type:?}"
        )));
    }
    let redirect_uris = redirect_uris.ok_or_else(|| bad_param("redirect_uris must not be NULL"))?;
    let md = Metadata {
        name: validate_name(required(name, "name")?)?,
        redirect_uris: validate_redirect_uris(no_null_elements(redirect_uris, "redirect_uris")?)?,
        scopes: scopes
            .map(|s| no_null_elements(s, "scopes").and_then(validate_scopes))
            .transpose()?,
        grant_types: validate_grant_types(match grant_types {
            Some(g) => no_null_elements(g, "grant_types")?,
            None => DEFAULT_GRANT_TYPES.iter().map(|s| s.to_string()).collect(),
        })?,
        auth_method: validate_auth_method(client_type, auth_method)?,
        client_uri: validate_optional_uri(client_uri.map(String::from), "client_uri")?,
        logo_uri: validate_optional_uri(logo_uri.map(String::from), "logo_uri")?,
    };
    check_grants(&md, client_type)?;
    let client_id = secret::random_token(16);
    let client_secret =
        (client_type == "confidential").then(|| secret::random_token(secret::TOKEN_BYTES));
    let secret_hash = client_secret.as_deref().map(|s| secret::hash(s).to_vec());
    db::execute(
        "INSERT INTO oauth.clients (client_id, client_secret_hash, client_type, name, redirect_uris, scopes,
                                    grant_types, token_endpoint_auth_method, client_uri, logo_uri)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &with_metadata(vec![client_id.as_str().into(), secret_hash.into(), client_type.into()], md),
    )?;
    let mut out = client_json(&client_id)?;
    super::audit::record(
        "client_created",
        Some(&client_id),
        None,
        json!({"name": out["name"], "client_type": client_type, "grant_types": out["grant_types"],
               "redirect_uris": out["redirect_uris"]}),
    )?;
    if let Some(s) = client_secret {
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
    let changes: &Map<String, Value> = changes
        .as_object()
        .ok_or_else(|| bad_param("changes must be a JSON object"))?;
    let current = load(client_id)?.ok_or_else(|| not_found(client_id))?;
    let text = |k: &str| -> Result<Option<String>, MisuseError> {
        match changes.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Null) if matches!(k, "client_uri" | "logo_uri") => Ok(Some(String::new())),
            Some(_) => Err(bad_param(format!("{k} must be a string"))),
        }
    };
    let list = |k: &str| -> Result<Option<Vec<String>>, MisuseError> {
        match changes.get(k) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .ok_or_else(|| bad_param(format!("{k} must be an array of strings")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(bad_param(format!("{k} must be an array of strings"))),
        }
    };
    const ALLOWED: &[&str] = &[
        "name",
        "redirect_uris",
        "scopes",
        "grant_types",
        "token_endpoint_auth_method",
        "client_uri",
        "logo_uri",
    ];
    if let Some(k) = changes.keys().find(|k| !ALLOWED.contains(&k.as_str())) {
        return Err(bad_param(format!("{k:?} cannot be changed"))
            .hint(format!("changeable: {}", ALLOWED.join(", "))));
    }
    let scopes = match changes.get("scopes") {
        Some(Value::Null) => None,
        _ => match list("scopes")? {
            Some(s) => Some(validate_scopes(s)?),
            None => current.scopes.clone(),
        },
    };
    let md = Metadata {
        name: match text("name")? {
            Some(n) => validate_name(&n)?,
            None => current.name.clone(),
        },
        redirect_uris: match list("redirect_uris")? {
            Some(u) => validate_redirect_uris(u)?,
            None => current.redirect_uris.clone(),
        },
        scopes,
        grant_types: match list("grant_types")? {
            Some(g) => validate_grant_types(g)?,
            None => current.grant_types.clone(),
        },
        auth_method: match text("token_endpoint_auth_method")? {
            Some(m) => validate_auth_method(&current.client_type, Some(&m))?,
            None => current.token_endpoint_auth_method.clone(),
        },
        client_uri: match text("client_uri")? {
            Some(u) => validate_optional_uri(Some(u), "client_uri")?,
            None => current.client_uri.clone(),
        },
        logo_uri: match text("logo_uri")? {
            Some(u) => validate_optional_uri(Some(u), "logo_uri")?,
            None => current.logo_uri.clone(),
        },
    };
    check_grants(&md, &current.client_type)?;
    db::execute(
        "UPDATE oauth.clients SET name = $2, redirect_uris = $3, scopes = $4, grant_types = $5,
                token_endpoint_auth_method = $6, client_uri = $7, logo_uri = $8, updated_at = now()
         WHERE client_id = $1",
        &with_metadata(vec![client_id.into()], md),
    )?;
    let changed: Vec<&String> = changes.keys().collect();
    super::audit::record(
        "client_updated",
        Some(client_id),
        None,
        json!({"changed": changed}),
    )?;
    client_json(client_id)
}

/// Deletes a client and, by cascade, its pending authorizations, consents, grants and refresh
/// tokens.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn delete_client(client_id: Option<&str>) -> bool {
    let client_id = or_raise(required(client_id, "client_id"));
    let n = or_raise(db::execute(
        "DELETE FROM oauth.clients WHERE client_id = $1",
        &[client_id.into()],
    ));
    if n == 0 {
        super::raise(not_found(client_id));
    }
    or_raise(super::audit::record(
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
    let client = or_raise(load(client_id)).unwrap_or_else(|| super::raise(not_found(client_id)));
    if !client.is_confidential() {
        super::raise(bad_param("a public client has no secret"));
    }
    let s = secret::random_token(secret::TOKEN_BYTES);
    or_raise(db::execute(
        "UPDATE oauth.clients SET client_secret_hash = $2, updated_at = now() WHERE client_id = $1",
        &[client_id.into(), secret::hash(&s).to_vec().into()],
    ));
    or_raise(super::audit::record(
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
    or_raise(db::execute(
        "INSERT INTO oauth.scopes (name, description) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET description = excluded.description",
        &[name.into(), description.unwrap_or("").into()],
    ));
    true
}
