//! An administrator's calls: `oauth.create_client` (whose rules a registration passes too,
//! through [`admin_rules`]) and `oauth.update_client`. Every refusal is misuse (22023).

use crate::error::{bad_param, MisuseError};
use crate::model::{AuthMethod, GrantType};
use serde_json::{Map, Value};

use super::default_resources;
use super::field_rules::{
    auth_method_rule, check_grants, client_type, grant_types_rule, no_null_elements, optional_uri,
    post_logout_rule, redirect_uris_rule, scopes_rule, validate_name,
};
use super::key_rules::keys_rule;
use super::relying_party::{self, RelyingParty};
use super::ClientMetadata;

/// What `oauth.update_client` may change.
pub const CHANGEABLE: &[&str] = &[
    "name",
    "redirect_uris",
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

/// What `oauth.create_client` was given (or a registration made of its request), before its
/// rules.
#[derive(Default)]
pub(super) struct Draft {
    pub client_type: Option<String>,
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<Option<String>>>,
    pub scopes: Option<Vec<Option<String>>>,
    pub grant_types: Option<Vec<Option<String>>>,
    pub auth_method: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub dpop_bound_access_tokens: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    /// Already read (`relying_party::apply`) by the caller that has these fields.
    pub relying_party: Option<RelyingParty>,
    /// An administrator's only (the HTTP admin API's create); a registration never sets it.
    pub default_resources: Option<Vec<String>>,
}

/// `oauth.create_client`.
pub(super) fn create(metadata: &Value) -> Result<ClientMetadata, MisuseError> {
    let args = metadata
        .as_object()
        .ok_or_else(|| bad_param("the client's metadata must be a JSON object"))?;
    admin_rules(create_draft(args)?)
}

/// `oauth.create_client`'s arguments: text or NULL, arrays of text (elements may be NULL) or
/// NULL.
fn create_draft(args: &Map<String, Value>) -> Result<Draft, MisuseError> {
    let text = |k: &str| -> Result<Option<String>, MisuseError> {
        match args.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad_param(format!("{k} must be a string"))),
        }
    };
    let array = |k: &str| -> Result<Option<Vec<Option<String>>>, MisuseError> {
        let wrong = || bad_param(format!("{k} must be an array of strings"));
        match args.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::String(s) => Ok(Some(s.clone())),
                    _ => Err(wrong()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(wrong()),
        }
    };
    Ok(Draft {
        client_type: text("client_type")?,
        name: text("name")?,
        redirect_uris: array("redirect_uris")?,
        scopes: array("scopes")?,
        grant_types: array("grant_types")?,
        auth_method: text("token_endpoint_auth_method")?,
        client_uri: text("client_uri")?,
        logo_uri: text("logo_uri")?,
        post_logout_redirect_uris: array("post_logout_redirect_uris")?
            .map(|u| no_null_elements(u, "post_logout_redirect_uris"))
            .transpose()?,
        dpop_bound_access_tokens: flag(args, "dpop_bound_access_tokens")?,
        require_pushed_authorization_requests: flag(args, "require_pushed_authorization_requests")?,
        jwks: match args.get("jwks") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => return Err(bad_param("jwks must be a JSON object (a JWK Set)")),
        },
        jwks_uri: text("jwks_uri")?,
        // The HTTP admin API's create passes them; oauth.create_client's arguments do not.
        relying_party: Some(
            relying_party::apply(args, &RelyingParty::default()).map_err(bad_param)?,
        ),
        default_resources: default_resources::read(args)?,
    })
}

/// A boolean argument or change: true, false, or absent (null).
fn flag(args: &Map<String, Value>, k: &str) -> Result<Option<bool>, MisuseError> {
    match args.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad_param(format!("{k} must be true or false"))),
    }
}

/// The rules of `oauth.create_client`, which a registration passes too.
pub(super) fn admin_rules(d: Draft) -> Result<ClientMetadata, MisuseError> {
    let client_type = client_type(d.client_type.as_deref().unwrap_or("confidential"))?;
    let redirect_uris = d
        .redirect_uris
        .ok_or_else(|| bad_param("redirect_uris must not be NULL"))?;
    let name = match d.name.as_deref() {
        Some(n) if !n.trim().is_empty() => validate_name(n)?,
        _ => return Err(bad_param("name must not be NULL or empty")),
    };
    let redirect_uris = redirect_uris_rule(no_null_elements(redirect_uris, "redirect_uris")?)?;
    let scopes = d
        .scopes
        .map(|s| no_null_elements(s, "scopes").and_then(scopes_rule))
        .transpose()?;
    let grant_types = grant_types_rule(match d.grant_types {
        Some(g) => no_null_elements(g, "grant_types")?,
        None => GrantType::DEFAULT
            .iter()
            .map(|g| g.as_str().to_string())
            .collect(),
    })?;
    let auth_method = auth_method_rule(client_type, d.auth_method.as_deref())?;
    let md = ClientMetadata {
        client_type,
        name,
        redirect_uris,
        scopes,
        grant_types,
        auth_method,
        keys: keys_rule(auth_method, d.jwks, d.jwks_uri)?,
        client_uri: optional_uri(d.client_uri, "client_uri")?,
        logo_uri: optional_uri(d.logo_uri, "logo_uri")?,
        post_logout_redirect_uris: match d.post_logout_redirect_uris {
            Some(u) => post_logout_rule(u)?,
            None => vec![],
        },
        dpop_bound_access_tokens: d.dpop_bound_access_tokens.unwrap_or(false),
        require_pushed_authorization_requests: d
            .require_pushed_authorization_requests
            .unwrap_or(false),
        relying_party: d.relying_party.unwrap_or_default(),
        default_resources: match d.default_resources {
            Some(list) => default_resources::rule(list)?,
            None => Vec::new(),
        },
    };
    check_grants(&md)?;
    relying_party::check(&md.relying_party, &md.redirect_uris).map_err(bad_param)?;
    Ok(md)
}

/// `oauth.update_client`: each change is checked as `create_client` would, then the whole
/// client against the rules between fields. `scopes: null` means any known scope again;
/// `client_uri: null` / `logo_uri: null` remove them.
pub(super) fn update(
    metadata: &Value,
    current: &ClientMetadata,
) -> Result<ClientMetadata, MisuseError> {
    let changes = metadata
        .as_object()
        .ok_or_else(|| bad_param("changes must be a JSON object"))?;
    apply_changes(changes, current)
}

fn apply_changes(
    changes: &Map<String, Value>,
    current: &ClientMetadata,
) -> Result<ClientMetadata, MisuseError> {
    let text = |k: &str| -> Result<Option<String>, MisuseError> {
        match changes.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Null) if matches!(k, "client_uri" | "logo_uri") => Ok(Some(String::new())),
            Some(_) => Err(bad_param(format!("{k} must be a string"))),
        }
    };
    let list = |k: &str| -> Result<Option<Vec<String>>, MisuseError> {
        let wrong = || bad_param(format!("{k} must be an array of strings"));
        match changes.get(k) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(String::from).ok_or_else(wrong))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(wrong()),
        }
    };
    if let Some(k) = changes.keys().find(|k| !CHANGEABLE.contains(&k.as_str())) {
        return Err(bad_param(format!("{k:?} cannot be changed"))
            .hint(format!("changeable: {}", CHANGEABLE.join(", "))));
    }
    let scopes = match changes.get("scopes") {
        Some(Value::Null) => None,
        _ => match list("scopes")? {
            Some(s) => Some(scopes_rule(s)?),
            None => current.scopes.clone(),
        },
    };
    let auth_method = match text("token_endpoint_auth_method")? {
        Some(m) => auth_method_rule(current.client_type, Some(&m))?,
        None => current.auth_method,
    };
    if current.auth_method == AuthMethod::PrivateKeyJwt && auth_method.uses_secret() {
        return Err(
            bad_param("a private_key_jwt client has no secret to authenticate with")
                .hint("create a new client for client_secret_basic or client_secret_post"),
        );
    }
    let keys = if changes.contains_key("jwks") || changes.contains_key("jwks_uri") {
        let jwks = match changes.get("jwks") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => return Err(bad_param("jwks must be a JSON object (a JWK Set)")),
        };
        let jwks_uri = match changes.get("jwks_uri") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(bad_param("jwks_uri must be a string")),
        };
        keys_rule(auth_method, jwks, jwks_uri)?
    } else if auth_method == current.auth_method {
        current.keys.clone()
    } else {
        keys_rule(auth_method, None, None)?
    };
    let md = ClientMetadata {
        client_type: current.client_type,
        keys,
        name: match text("name")? {
            Some(n) => validate_name(&n)?,
            None => current.name.clone(),
        },
        redirect_uris: match list("redirect_uris")? {
            Some(u) => redirect_uris_rule(u)?,
            None => current.redirect_uris.clone(),
        },
        scopes,
        grant_types: match list("grant_types")? {
            Some(g) => grant_types_rule(g)?,
            None => current.grant_types.clone(),
        },
        auth_method,
        client_uri: match text("client_uri")? {
            Some(u) => optional_uri(Some(u), "client_uri")?,
            None => current.client_uri.clone(),
        },
        logo_uri: match text("logo_uri")? {
            Some(u) => optional_uri(Some(u), "logo_uri")?,
            None => current.logo_uri.clone(),
        },
        post_logout_redirect_uris: match list("post_logout_redirect_uris")? {
            Some(u) => post_logout_rule(u)?,
            None => current.post_logout_redirect_uris.clone(),
        },
        dpop_bound_access_tokens: match flag(changes, "dpop_bound_access_tokens")? {
            Some(b) => b,
            None => current.dpop_bound_access_tokens,
        },
        require_pushed_authorization_requests: match flag(
            changes,
            "require_pushed_authorization_requests",
        )? {
            Some(b) => b,
            None => current.require_pushed_authorization_requests,
        },
        relying_party: relying_party::apply(changes, &current.relying_party).map_err(bad_param)?,
        default_resources: match default_resources::read(changes)? {
            Some(list) => default_resources::rule(list)?,
            None => current.default_resources.clone(),
        },
    };
    check_grants(&md)?;
    relying_party::check(&md.relying_party, &md.redirect_uris).map_err(bad_param)?;
    Ok(md)
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;
