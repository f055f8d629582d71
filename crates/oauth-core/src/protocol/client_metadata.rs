//! Client metadata: the one validator behind `oauth.create_client`, `oauth.update_client`,
//! dynamic registration (`oauth.register_client`, RFC 7591) and client ID metadata documents
//! (`oauth.register_metadata_document`).
//!
//! Every caller hands over JSON and says who is asking ([`Caller`]); the answer is the
//! normalised metadata to store ([`ClientMetadata`]) or the error that caller reports
//! ([`Invalid`]): an administrator's mistake is misuse (SQLSTATE 22023, with a hint), a
//! registrant's or a document's is RFC 7591 JSON (`invalid_redirect_uri`,
//! `invalid_client_metadata`; `invalid_client` for a metadata document's URL).
//!
//! The rules are shared: a registrant passes the same checks as an administrator (after its
//! own, stricter ones), so a registered client can never be something a DBA could not create.
//! A metadata document's client is always public, and its optional fields are dropped rather
//! than refused (the document is someone else's page, fetched on their behalf).

use crate::error::{bad_param, MisuseError, OAuthError};
use crate::model::{AuthMethod, ClientType, GrantType};
use crate::protocol::{issuer_policy, redirect_uri, scope};
use serde_json::{Map, Value};

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// `oauth.create_client`: its arguments as one JSON object, SQL NULL as JSON null (keys
    /// `name`, `redirect_uris`, `client_type`, `scopes`, `grant_types`,
    /// `token_endpoint_auth_method`, `client_uri`, `logo_uri`).
    Create,
    /// `oauth.update_client`: the changes, applied onto the client as stored.
    Update(&'a ClientMetadata),
    /// `oauth.register_client`: an anonymous registrant, limited to the grant types the DBA
    /// allows (`oauth_server.registration_grant_types`) and the scopes the server knows.
    Registration {
        allowed_grant_types: &'a [String],
        known_scopes: &'a [String],
    },
    /// `oauth.register_metadata_document`: the document fetched from `client_id`.
    MetadataDocument { client_id: &'a str },
}

/// Validated, normalised client metadata: what `oauth.clients` stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    pub client_type: ClientType,
    pub name: String,
    /// Distinct, in the order given.
    pub redirect_uris: Vec<String>,
    /// `None`: any scope the server knows.
    pub scopes: Option<Vec<String>>,
    /// Distinct, in the order given.
    pub grant_types: Vec<GrantType>,
    pub auth_method: AuthMethod,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    /// OIDC RP-Initiated Logout: where `end_session` may send the browser back, exactly.
    pub post_logout_redirect_uris: Vec<String>,
}

/// Why metadata was refused, in the channel of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// An administrator's call (`Caller::Create`, `Caller::Update`): raised as 22023.
    Misuse(MisuseError),
    /// A registration or a metadata document: returned as RFC 7591 JSON.
    OAuth(OAuthError),
}

impl From<MisuseError> for Invalid {
    fn from(e: MisuseError) -> Self {
        Invalid::Misuse(e)
    }
}
impl From<OAuthError> for Invalid {
    fn from(e: OAuthError) -> Self {
        Invalid::OAuth(e)
    }
}

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
];

/// The grant types a metadata document may name: it describes a public client, and only a
/// user's consent in a browser stands behind its tokens.
const DOCUMENT_GRANTS: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];

/// A metadata document's client_uri / logo_uri longer than this is dropped.
const MAX_DOCUMENT_URI_LEN: usize = 2048;

/// Validates `metadata` for `caller`.
pub fn validate(metadata: &Value, caller: Caller) -> Result<ClientMetadata, Invalid> {
    match caller {
        Caller::Create => {
            let args = metadata
                .as_object()
                .ok_or_else(|| bad_param("the client's metadata must be a JSON object"))?;
            Ok(admin_rules(create_draft(args)?)?)
        }
        Caller::Update(current) => {
            let changes = metadata
                .as_object()
                .ok_or_else(|| bad_param("changes must be a JSON object"))?;
            Ok(update(changes, current)?)
        }
        Caller::Registration {
            allowed_grant_types,
            known_scopes,
        } => registration(metadata, allowed_grant_types, known_scopes),
        Caller::MetadataDocument { client_id } => metadata_document(metadata, client_id),
    }
}

fn metadata_error(m: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClientMetadata(m.into())
}

/// What `oauth.create_client` was given, before its rules.
#[derive(Default)]
struct Draft {
    client_type: Option<String>,
    name: Option<String>,
    redirect_uris: Option<Vec<Option<String>>>,
    scopes: Option<Vec<Option<String>>>,
    grant_types: Option<Vec<Option<String>>>,
    auth_method: Option<String>,
    client_uri: Option<String>,
    logo_uri: Option<String>,
    post_logout_redirect_uris: Option<Vec<String>>,
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
        post_logout_redirect_uris: None,
    })
}

/// The rules of `oauth.create_client`, which a registration passes too.
fn admin_rules(d: Draft) -> Result<ClientMetadata, MisuseError> {
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
    let md = ClientMetadata {
        client_type,
        name,
        redirect_uris,
        scopes,
        grant_types,
        auth_method: auth_method_rule(client_type, d.auth_method.as_deref())?,
        client_uri: optional_uri(d.client_uri, "client_uri")?,
        logo_uri: optional_uri(d.logo_uri, "logo_uri")?,
        post_logout_redirect_uris: match d.post_logout_redirect_uris {
            Some(u) => post_logout_rule(u)?,
            None => vec![],
        },
    };
    check_grants(&md)?;
    Ok(md)
}

/// `oauth.update_client`: each change is checked as `create_client` would, then the whole
/// client against the rules between fields. `scopes: null` means any known scope again;
/// `client_uri: null` / `logo_uri: null` remove them.
fn update(
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
    let md = ClientMetadata {
        client_type: current.client_type,
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
        auth_method: match text("token_endpoint_auth_method")? {
            Some(m) => auth_method_rule(current.client_type, Some(&m))?,
            None => current.auth_method,
        },
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
    };
    check_grants(&md)?;
    Ok(md)
}

/// A registration's or a document's text field: absent and null are the same.
fn text(md: &Map<String, Value>, key: &str) -> Result<Option<String>, OAuthError> {
    match md.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(metadata_error(format!("{key} must be a string"))),
    }
}

/// A registration's or a document's array of strings: absent and null are the same.
fn list(md: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, OAuthError> {
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

/// RFC 7591 registration: the registrant's own checks (redirect URIs required, only the code
/// response type, only the grant types and scopes this server allows anonymous registrants),
/// then `create_client`'s rules, whose failures are `invalid_client_metadata` here.
fn registration(
    metadata: &Value,
    allowed: &[String],
    known_scopes: &[String],
) -> Result<ClientMetadata, Invalid> {
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
    redirect_uris_rule(redirect_uris.clone())
        .map_err(|e| OAuthError::InvalidRedirectUri(e.message))?;
    if let Some(types) = list(md, "response_types")? {
        if types.iter().any(|t| t != "code") {
            return Err(metadata_error("only the response type \"code\" is supported").into());
        }
    }
    let auth_method = text(md, "token_endpoint_auth_method")?
        .unwrap_or_else(|| AuthMethod::ClientSecretBasic.as_str().into());
    let client_type = if auth_method == AuthMethod::None.as_str() {
        ClientType::Public
    } else {
        ClientType::Confidential
    };
    let grant_types = list(md, "grant_types")?
        .unwrap_or_else(|| vec![GrantType::AuthorizationCode.as_str().into()]);
    // An anonymous registrant gets only what a user's consent stands behind, unless the DBA
    // allows more: client_credentials or the device grant would mint tokens no user approved
    // in a browser of their own.
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
            scope::ensure_subset(&requested, known_scopes, "known to this server")
                .map_err(|e| metadata_error(e.description()))?;
            Some(requested.into_iter().map(Some).collect())
        }
        _ => None,
    };
    let name = text(md, "client_name")?.filter(|n| !n.trim().is_empty());
    let draft = Draft {
        client_type: Some(client_type.as_str().into()),
        name: Some(name.unwrap_or_else(|| "Unnamed client".into())),
        redirect_uris: Some(redirect_uris.into_iter().map(Some).collect()),
        scopes,
        grant_types: Some(grant_types.into_iter().map(Some).collect()),
        auth_method: Some(auth_method),
        client_uri: text(md, "client_uri")?,
        logo_uri: text(md, "logo_uri")?,
        post_logout_redirect_uris: list(md, "post_logout_redirect_uris")?,
    };
    admin_rules(draft).map_err(|e| metadata_error(e.message).into())
}

/// A client ID metadata document: `client_id` is the https URL it was fetched from, with a
/// path; the document must name that URL, and describes a public client of the code grant.
fn metadata_document(document: &Value, url: &str) -> Result<ClientMetadata, Invalid> {
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
    let redirect_uris =
        redirect_uris_rule(redirect_uris).map_err(|e| OAuthError::InvalidRedirectUri(e.message))?;
    let names = list(md, "grant_types")?
        .unwrap_or_else(|| vec![GrantType::AuthorizationCode.as_str().into()]);
    let mut grant_types: Vec<GrantType> = Vec::new();
    for g in &names {
        match GrantType::parse(g).filter(|g| DOCUMENT_GRANTS.contains(g)) {
            Some(g) if !grant_types.contains(&g) => grant_types.push(g),
            Some(_) => {}
            None => {
                return Err(metadata_error(format!(
                    "grant type {g:?} is not available to a public client"
                ))
                .into())
            }
        }
    }
    if !grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(metadata_error("grant_types must include authorization_code").into());
    }
    let name = text(md, "client_name")?
        .map(|n| n.chars().take(200).collect::<String>())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| parsed.host_str().unwrap_or(url).to_string());
    // Someone else's page: a link that is not plain https is left out, not refused.
    let uri = |key: &str| -> Result<Option<String>, OAuthError> {
        Ok(text(md, key)?.filter(|u| {
            u.len() <= MAX_DOCUMENT_URI_LEN
                && u.starts_with("https://")
                && url::Url::parse(u).is_ok()
        }))
    };
    Ok(ClientMetadata {
        client_type: ClientType::Public,
        name,
        redirect_uris,
        scopes: None,
        grant_types,
        auth_method: AuthMethod::None,
        client_uri: uri("client_uri")?,
        logo_uri: uri("logo_uri")?,
        post_logout_redirect_uris: match list(md, "post_logout_redirect_uris")? {
            Some(u) => post_logout_rule(u).map_err(|e| metadata_error(e.message))?,
            None => vec![],
        },
    })
}

/// Post-logout redirect URIs follow the redirect URI rules (exact, no fragment), and may be
/// empty.
fn post_logout_rule(uris: Vec<String>) -> Result<Vec<String>, MisuseError> {
    if uris.is_empty() {
        return Ok(uris);
    }
    redirect_uris_rule(uris)
        .map_err(|e| bad_param(format!("post_logout_redirect_uris: {}", e.message)))
}

fn client_type(s: &str) -> Result<ClientType, MisuseError> {
    ClientType::parse(s).ok_or_else(|| {
        bad_param(format!(
            "client_type must be 'confidential' or 'public', not {s:?}"
        ))
    })
}

fn no_null_elements(values: Vec<Option<String>>, what: &str) -> Result<Vec<String>, MisuseError> {
    values
        .into_iter()
        .map(|v| v.ok_or_else(|| bad_param(format!("{what} must not contain NULL"))))
        .collect()
}

fn distinct<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn validate_name(name: &str) -> Result<String, MisuseError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(bad_param("client name must be 1 to 200 characters"));
    }
    Ok(name.to_string())
}

/// Redirect URIs; an empty list is allowed here and refused by [`check_grants`] for clients
/// that use the authorization code grant.
fn redirect_uris_rule(uris: Vec<String>) -> Result<Vec<String>, MisuseError> {
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
    Ok(distinct(uris))
}

fn scopes_rule(scopes: Vec<String>) -> Result<Vec<String>, MisuseError> {
    if let Some(s) = scopes.iter().find(|s| !scope::is_valid_token(s)) {
        return Err(bad_param(format!("malformed scope {s:?}"))
            .hint("scope tokens are printable ASCII without spaces, quotes or backslashes"));
    }
    Ok(distinct(scopes))
}

fn grant_types_rule(names: Vec<String>) -> Result<Vec<GrantType>, MisuseError> {
    let mut grants = Vec::with_capacity(names.len());
    for g in &names {
        match GrantType::parse(g) {
            Some(g) => grants.push(g),
            None => {
                return Err(bad_param(format!("unsupported grant type {g:?}"))
                    .hint(format!("supported: {}", GrantType::names().join(", "))))
            }
        }
    }
    if !grants.iter().any(|g| *g != GrantType::RefreshToken) {
        return Err(bad_param(
            "grant_types must include a grant that starts a session: authorization_code, client_credentials or the device code grant",
        ));
    }
    Ok(distinct(grants))
}

fn auth_method_rule(
    client_type: ClientType,
    method: Option<&str>,
) -> Result<AuthMethod, MisuseError> {
    let confidential = client_type == ClientType::Confidential;
    let Some(method) = method else {
        return Ok(if confidential {
            AuthMethod::ClientSecretBasic
        } else {
            AuthMethod::None
        });
    };
    match (confidential, AuthMethod::parse(method)) {
        (true, Some(m @ (AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)))
        | (false, Some(m @ AuthMethod::None)) => Ok(m),
        (true, Some(AuthMethod::None)) => Err(bad_param("a confidential client must authenticate")
            .hint("use client_secret_basic or client_secret_post, or make the client public")),
        (false, _) => Err(bad_param(
            "a public client has no secret; its token_endpoint_auth_method is none",
        )),
        (true, None) => Err(bad_param(format!(
            "unsupported token_endpoint_auth_method {method:?}"
        ))),
    }
}

/// client_uri / logo_uri: empty is none, anything else an absolute http(s) URL.
fn optional_uri(value: Option<String>, what: &str) -> Result<Option<String>, MisuseError> {
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

/// Rules between grant types and the rest of a client: the authorization code grant needs a
/// redirect URI; client_credentials needs a secret (a public client could be anyone).
fn check_grants(md: &ClientMetadata) -> Result<(), MisuseError> {
    let has = |g: GrantType| md.grant_types.contains(&g);
    if has(GrantType::AuthorizationCode) && md.redirect_uris.is_empty() {
        return Err(bad_param(
            "a client of the authorization code grant needs at least one redirect URI",
        ));
    }
    if has(GrantType::ClientCredentials) && md.client_type != ClientType::Confidential {
        return Err(bad_param(
            "only a confidential client may use client_credentials",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Misuse;
    use serde_json::json;

    const CB: &str = "https://app.example/cb";

    fn create(args: Value) -> Result<ClientMetadata, Invalid> {
        validate(&args, Caller::Create)
    }

    /// The message of an administrator's error, which must be 22023 (InvalidParameter).
    fn misuse(r: Result<ClientMetadata, Invalid>) -> MisuseError {
        match r {
            Err(Invalid::Misuse(e)) => {
                assert_eq!(e.kind, Misuse::InvalidParameter, "{e:?}");
                e
            }
            other => panic!("expected misuse, got {other:?}"),
        }
    }

    fn oauth(r: Result<ClientMetadata, Invalid>) -> OAuthError {
        match r {
            Err(Invalid::OAuth(e)) => e,
            other => panic!("expected an OAuth error, got {other:?}"),
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn create_defaults_to_a_confidential_code_client() {
        let md = create(json!({"name": "  App  ", "redirect_uris": [CB, CB]})).unwrap();
        assert_eq!(
            md,
            ClientMetadata {
                client_type: ClientType::Confidential,
                name: "App".into(),
                redirect_uris: strings(&[CB]),
                scopes: None,
                grant_types: GrantType::DEFAULT.to_vec(),
                auth_method: AuthMethod::ClientSecretBasic,
                client_uri: None,
                logo_uri: None,
                post_logout_redirect_uris: vec![],
            }
        );
        let md = create(json!({"name": "App", "redirect_uris": [CB], "client_type": "public",
            "scopes": ["openid", "openid", "api:read"], "client_uri": "", "logo_uri": "http://a.example/l.png"}))
        .unwrap();
        assert_eq!(md.client_type, ClientType::Public);
        assert_eq!(md.auth_method, AuthMethod::None);
        assert_eq!(md.scopes, Some(strings(&["openid", "api:read"])));
        assert_eq!(md.client_uri, None);
        assert_eq!(md.logo_uri.as_deref(), Some("http://a.example/l.png"));
    }

    #[test]
    fn create_refuses_each_bad_argument_with_its_message() {
        let base = || json!({"name": "x", "redirect_uris": [CB]});
        let with = |k: &str, v: Value| {
            let mut a = base();
            a[k] = v;
            a
        };
        for (args, message) in [
            (
                with("client_type", json!("weird")),
                "client_type must be 'confidential' or 'public', not \"weird\"",
            ),
            (
                with("redirect_uris", Value::Null),
                "redirect_uris must not be NULL",
            ),
            (with("name", Value::Null), "name must not be NULL or empty"),
            (with("name", json!("   ")), "name must not be NULL or empty"),
            (
                with("name", json!("n".repeat(201))),
                "client name must be 1 to 200 characters",
            ),
            (
                with("redirect_uris", json!([null])),
                "redirect_uris must not contain NULL",
            ),
            (
                with("redirect_uris", json!([])),
                "a client of the authorization code grant needs at least one redirect URI",
            ),
            (with("scopes", json!(["a", null])), "scopes must not contain NULL"),
            (with("scopes", json!(["a b"])), "malformed scope \"a b\""),
            (
                with("grant_types", json!([null])),
                "grant_types must not contain NULL",
            ),
            (
                with("grant_types", json!(["implicit"])),
                "unsupported grant type \"implicit\"",
            ),
            (
                with("grant_types", json!(["refresh_token"])),
                "grant_types must include a grant that starts a session: authorization_code, client_credentials or the device code grant",
            ),
            (
                with("token_endpoint_auth_method", json!("none")),
                "a confidential client must authenticate",
            ),
            (
                with("token_endpoint_auth_method", json!("private_key_jwt")),
                "unsupported token_endpoint_auth_method \"private_key_jwt\"",
            ),
            (
                with("client_uri", json!("ftp://x")),
                "client_uri \"ftp://x\" must be an absolute http(s) URL",
            ),
            (
                with("logo_uri", json!("https://")),
                "logo_uri \"https://\" must be an absolute http(s) URL",
            ),
        ] {
            assert_eq!(misuse(create(args.clone())).message, message, "{args}");
        }
        let mut public = with("client_type", json!("public"));
        public["token_endpoint_auth_method"] = json!("client_secret_basic");
        assert_eq!(
            misuse(create(public)).message,
            "a public client has no secret; its token_endpoint_auth_method is none"
        );
        let mut machine = with("client_type", json!("public"));
        machine["grant_types"] = json!(["client_credentials"]);
        assert_eq!(
            misuse(create(machine)).message,
            "only a confidential client may use client_credentials"
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("{CB}{i}")).collect();
        let e = misuse(create(with("redirect_uris", json!(eleven))));
        assert_eq!(e.message, "at most 10 redirect URIs per client");
        assert_eq!(e.hint, None);
        // Hints say what would be accepted.
        let e = misuse(create(with(
            "redirect_uris",
            json!(["http://app.example/cb"]),
        )));
        assert!(e.hint.unwrap().contains("loopback"));
        let e = misuse(create(with("grant_types", json!(["password"]))));
        assert_eq!(
            e.hint.as_deref(),
            Some("supported: authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code")
        );
    }

    #[test]
    fn create_checks_in_the_order_of_the_arguments() {
        // Two faults: the first one checked is reported.
        let e = misuse(create(
            json!({"name": null, "redirect_uris": ["javascript:x"], "client_type": "x"}),
        ));
        assert!(e.message.starts_with("client_type"), "{e:?}");
        let e = misuse(create(
            json!({"name": null, "redirect_uris": ["javascript:x"]}),
        ));
        assert_eq!(e.message, "name must not be NULL or empty");
        let e = misuse(create(
            json!({"name": "x", "redirect_uris": ["javascript:x"], "scopes": ["a b"]}),
        ));
        assert!(e.message.contains("javascript"), "{e:?}");
    }

    #[test]
    fn machine_clients_need_no_redirect_uri() {
        let md = create(json!({"name": "job", "redirect_uris": [],
            "grant_types": ["client_credentials", "client_credentials"]}))
        .unwrap();
        assert_eq!(md.grant_types, vec![GrantType::ClientCredentials]);
        let md = create(
            json!({"name": "tv", "redirect_uris": [], "client_type": "public",
            "grant_types": [GrantType::DeviceCode.as_str(), "refresh_token"]}),
        )
        .unwrap();
        assert_eq!(
            md.grant_types,
            vec![GrantType::DeviceCode, GrantType::RefreshToken]
        );
    }

    fn stored() -> ClientMetadata {
        create(
            json!({"name": "App", "redirect_uris": [CB], "scopes": ["openid"],
            "client_uri": "https://app.example/", "logo_uri": "https://app.example/l.png"}),
        )
        .unwrap()
    }

    fn update(changes: Value) -> Result<ClientMetadata, Invalid> {
        validate(&changes, Caller::Update(&stored()))
    }

    #[test]
    fn update_applies_changes_onto_the_stored_client() {
        assert_eq!(update(json!({})).unwrap(), stored());
        let md = update(json!({"name": " Renamed ", "redirect_uris": ["https://new.example/cb"],
            "token_endpoint_auth_method": "client_secret_post", "logo_uri": null, "client_uri": ""}))
        .unwrap();
        assert_eq!(md.name, "Renamed");
        assert_eq!(md.redirect_uris, strings(&["https://new.example/cb"]));
        assert_eq!(md.auth_method, AuthMethod::ClientSecretPost);
        assert_eq!((md.client_uri, md.logo_uri), (None, None));
        assert_eq!(md.scopes, Some(strings(&["openid"])));
        // scopes: null means every known scope again.
        assert_eq!(update(json!({"scopes": null})).unwrap().scopes, None);
        assert_eq!(
            update(json!({"scopes": ["a", "a"]})).unwrap().scopes,
            Some(strings(&["a"]))
        );
        assert_eq!(
            update(json!({"grant_types": ["authorization_code"]}))
                .unwrap()
                .grant_types,
            vec![GrantType::AuthorizationCode]
        );
    }

    #[test]
    fn update_refuses_what_create_would_and_unknown_keys() {
        for (changes, message) in [
            (json!([]), "changes must be a JSON object"),
            (json!(null), "changes must be a JSON object"),
            (json!({"client_type": "public"}), "\"client_type\" cannot be changed"),
            (json!({"name": 5}), "name must be a string"),
            (json!({"name": null}), "name must be a string"),
            (json!({"name": ""}), "client name must be 1 to 200 characters"),
            (
                json!({"redirect_uris": "https://a.example/cb"}),
                "redirect_uris must be an array of strings",
            ),
            (
                json!({"redirect_uris": [1]}),
                "redirect_uris must be an array of strings",
            ),
            (
                json!({"redirect_uris": []}),
                "a client of the authorization code grant needs at least one redirect URI",
            ),
            (json!({"scopes": "openid"}), "scopes must be an array of strings"),
            (json!({"scopes": ["a\"b"]}), "malformed scope \"a\\\"b\""),
            (
                json!({"grant_types": ["client_credentials", "authorization_code"], "token_endpoint_auth_method": "none"}),
                "a confidential client must authenticate",
            ),
            (
                json!({"token_endpoint_auth_method": null}),
                "token_endpoint_auth_method must be a string",
            ),
            (
                json!({"logo_uri": "javascript:x"}),
                "logo_uri \"javascript:x\" must be an absolute http(s) URL",
            ),
            (
                json!({"grant_types": []}),
                "grant_types must include a grant that starts a session: authorization_code, client_credentials or the device code grant",
            ),
        ] {
            assert_eq!(misuse(update(changes.clone())).message, message, "{changes}");
        }
        let e = misuse(update(json!({"secret": "x"})));
        assert_eq!(e.hint.as_deref(), Some("changeable: name, redirect_uris, scopes, grant_types, token_endpoint_auth_method, client_uri, logo_uri, post_logout_redirect_uris"));
        // The client's type stays what it was: a public client cannot become a machine.
        let public =
            create(json!({"name": "p", "redirect_uris": [CB], "client_type": "public"})).unwrap();
        let r = validate(
            &json!({"grant_types": ["client_credentials"]}),
            Caller::Update(&public),
        );
        assert_eq!(
            misuse(r).message,
            "only a confidential client may use client_credentials"
        );
    }

    fn default_allowed() -> Vec<String> {
        strings(&["authorization_code", "refresh_token"])
    }

    fn known() -> Vec<String> {
        strings(&["openid", "profile", "offline_access", "api:read"])
    }

    fn register(md: Value) -> Result<ClientMetadata, Invalid> {
        let allowed = default_allowed();
        let known = known();
        validate(
            &md,
            Caller::Registration {
                allowed_grant_types: &allowed,
                known_scopes: &known,
            },
        )
    }

    #[test]
    fn registration_defaults() {
        let md = register(json!({"redirect_uris": [CB]})).unwrap();
        assert_eq!(md.client_type, ClientType::Confidential);
        assert_eq!(md.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(md.grant_types, vec![GrantType::AuthorizationCode]);
        assert_eq!(md.name, "Unnamed client");
        assert_eq!(md.scopes, None);
        let md = register(json!({"redirect_uris": [CB, CB], "client_name": " Mine ",
            "token_endpoint_auth_method": "none", "scope": "openid api:read openid",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "client_uri": null, "logo_uri": "https://app.example/logo.png", "extra": 1}))
        .unwrap();
        assert_eq!(md.client_type, ClientType::Public);
        assert_eq!(md.auth_method, AuthMethod::None);
        assert_eq!(md.name, "Mine");
        assert_eq!(md.redirect_uris, strings(&[CB]));
        assert_eq!(md.scopes, Some(strings(&["openid", "api:read"])));
        assert_eq!(md.grant_types, GrantType::DEFAULT.to_vec());
        assert_eq!(md.logo_uri.as_deref(), Some("https://app.example/logo.png"));
        // A blank scope or name is no scope or name.
        let md =
            register(json!({"redirect_uris": [CB], "scope": "  ", "client_name": " "})).unwrap();
        assert_eq!((md.scopes, md.name.as_str()), (None, "Unnamed client"));
    }

    #[test]
    fn registration_errors_are_rfc7591() {
        let redirect = |d: &str| OAuthError::InvalidRedirectUri(d.into());
        let meta = |d: &str| OAuthError::InvalidClientMetadata(d.into());
        for (md, error) in [
            (json!("text"), meta("the registration request must be a JSON object")),
            (json!({}), redirect("redirect_uris is required")),
            (json!({"redirect_uris": null}), redirect("redirect_uris is required")),
            (json!({"redirect_uris": []}), redirect("redirect_uris must not be empty")),
            (
                json!({"redirect_uris": CB}),
                redirect("redirect_uris must be an array of strings"),
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb#frag"]}),
                redirect("redirect URI \"https://a.example/cb#frag\" must not contain a fragment"),
            ),
            (
                json!({"redirect_uris": [CB], "response_types": ["token"]}),
                meta("only the response type \"code\" is supported"),
            ),
            (
                json!({"redirect_uris": [CB], "response_types": "code"}),
                meta("response_types must be an array of strings"),
            ),
            (
                json!({"redirect_uris": [CB], "token_endpoint_auth_method": 1}),
                meta("token_endpoint_auth_method must be a string"),
            ),
            (
                json!({"redirect_uris": [CB], "token_endpoint_auth_method": "private_key_jwt"}),
                meta("unsupported token_endpoint_auth_method \"private_key_jwt\""),
            ),
            (
                json!({"redirect_uris": [CB], "grant_types": ["client_credentials"]}),
                meta("grant type \"client_credentials\" cannot be registered dynamically here (allowed: authorization_code, refresh_token)"),
            ),
            (
                json!({"redirect_uris": [CB], "grant_types": ["refresh_token"]}),
                meta("grant_types must include a grant that starts a session: authorization_code, client_credentials or the device code grant"),
            ),
            (
                json!({"redirect_uris": [CB], "scope": "openid nope"}),
                meta("scope \"nope\" is not known to this server"),
            ),
            (
                json!({"redirect_uris": [CB], "scope": "a\"b"}),
                meta("malformed scope \"a\\\"b\""),
            ),
            (
                json!({"redirect_uris": [CB], "client_name": "n".repeat(201)}),
                meta("client name must be 1 to 200 characters"),
            ),
            (
                json!({"redirect_uris": [CB], "logo_uri": "ftp://x"}),
                meta("logo_uri \"ftp://x\" must be an absolute http(s) URL"),
            ),
            (
                json!({"redirect_uris": [CB], "client_uri": []}),
                meta("client_uri must be a string"),
            ),
        ] {
            assert_eq!(oauth(register(md.clone())), error, "{md}");
        }
    }

    #[test]
    fn registration_grant_types_are_what_the_dba_allows() {
        let allowed = strings(&["authorization_code", "refresh_token", "client_credentials"]);
        let known = known();
        let caller = Caller::Registration {
            allowed_grant_types: &allowed,
            known_scopes: &known,
        };
        let md = validate(
            &json!({"redirect_uris": [CB], "grant_types": ["client_credentials"]}),
            caller,
        )
        .unwrap();
        assert_eq!(md.grant_types, vec![GrantType::ClientCredentials]);
        // Allowed, but still only for a client with a secret.
        let r = validate(
            &json!({"redirect_uris": [CB], "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            caller,
        );
        assert_eq!(
            oauth(r),
            OAuthError::InvalidClientMetadata(
                "only a confidential client may use client_credentials".into()
            )
        );
        // A setting naming an unknown grant does not make it supported.
        let allowed = strings(&["authorization_code", "password"]);
        let r = validate(
            &json!({"redirect_uris": [CB], "grant_types": ["password"]}),
            Caller::Registration {
                allowed_grant_types: &allowed,
                known_scopes: &known,
            },
        );
        assert_eq!(
            oauth(r),
            OAuthError::InvalidClientMetadata("unsupported grant type \"password\"".into())
        );
    }

    const DOC_URL: &str = "https://app.example/oauth/client.json";

    fn document(doc: Value) -> Result<ClientMetadata, Invalid> {
        document_at(DOC_URL, doc)
    }

    fn document_at(url: &str, doc: Value) -> Result<ClientMetadata, Invalid> {
        validate(&doc, Caller::MetadataDocument { client_id: url })
    }

    #[test]
    fn metadata_documents_describe_public_code_clients() {
        let md = document(
            json!({"client_id": DOC_URL, "client_name": "Example MCP client",
            "redirect_uris": ["http://127.0.0.1/callback", "http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token", "authorization_code"],
            "token_endpoint_auth_method": "none",
            "client_uri": "https://app.example/", "logo_uri": "http://app.example/logo.png"}),
        )
        .unwrap();
        assert_eq!(
            md,
            ClientMetadata {
                client_type: ClientType::Public,
                name: "Example MCP client".into(),
                redirect_uris: strings(&["http://127.0.0.1/callback"]),
                scopes: None,
                grant_types: GrantType::DEFAULT.to_vec(),
                auth_method: AuthMethod::None,
                client_uri: Some("https://app.example/".into()),
                // Not plain https: left out, not refused.
                logo_uri: None,
                post_logout_redirect_uris: vec![],
            }
        );
        // No name: the host; a long one is cut, not refused; grant types default to the code.
        let md = document(json!({"client_id": DOC_URL, "redirect_uris": [CB]})).unwrap();
        assert_eq!(md.name, "app.example");
        assert_eq!(md.grant_types, vec![GrantType::AuthorizationCode]);
        let md = document(
            json!({"client_id": DOC_URL, "redirect_uris": [CB], "client_name": "n".repeat(300),
                   "logo_uri": format!("https://app.example/{}", "l".repeat(2048))}),
        )
        .unwrap();
        assert_eq!(md.name.chars().count(), 200);
        assert_eq!(md.logo_uri, None);
    }

    #[test]
    fn metadata_document_errors() {
        let client = |d: &str| OAuthError::InvalidClient(d.into());
        let redirect = |d: &str| OAuthError::InvalidRedirectUri(d.into());
        let meta = |d: &str| OAuthError::InvalidClientMetadata(d.into());
        let ok = json!({"client_id": DOC_URL, "redirect_uris": [CB]});
        for (url, doc, error) in [
            (
                "https://app.example/",
                json!({"client_id": "https://app.example/"}),
                client("a client_id URL must have a path (the document's location)"),
            ),
            (
                "http://app.example/c.json",
                ok.clone(),
                client("client_id \"http://app.example/c.json\" must use https (http only on loopback)"),
            ),
            (
                "https://app.example/c.json?x=1",
                ok.clone(),
                client("client_id \"https://app.example/c.json?x=1\" must not have a query or fragment"),
            ),
            (
                DOC_URL,
                json!([1]),
                meta("the client metadata document must be a JSON object"),
            ),
            (
                "https://evil.example/c.json",
                ok.clone(),
                meta("the document's client_id is not the URL it was fetched from"),
            ),
            (
                DOC_URL,
                json!({"redirect_uris": [CB]}),
                meta("the document's client_id is not the URL it was fetched from"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": [CB], "token_endpoint_auth_method": "private_key_jwt"}),
                meta("token_endpoint_auth_method \"private_key_jwt\" is not supported for metadata document clients; use none"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL}),
                redirect("redirect_uris is required"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": []}),
                redirect("redirect_uris is required"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": CB}),
                meta("redirect_uris must be an array of strings"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": ["http://evil.example/cb"]}),
                redirect("plain http redirect URIs are allowed only for loopback hosts (127.0.0.1, [::1], localhost): \"http://evil.example/cb\""),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": [CB], "grant_types": ["client_credentials"]}),
                meta("grant type \"client_credentials\" is not available to a public client"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": [CB], "grant_types": [GrantType::DeviceCode.as_str()]}),
                meta("grant type \"urn:ietf:params:oauth:grant-type:device_code\" is not available to a public client"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": [CB], "grant_types": ["refresh_token"]}),
                meta("grant_types must include authorization_code"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": [CB], "client_name": 1}),
                meta("client_name must be a string"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": [CB], "logo_uri": 1}),
                meta("logo_uri must be a string"),
            ),
        ] {
            assert_eq!(oauth(document_at(url, doc.clone())), error, "{url} {doc}");
        }
    }

    #[test]
    fn every_caller_applies_the_same_redirect_uri_rules() {
        for bad in [
            "javascript:alert(1)",
            "http://app.example/cb",
            "relative",
            "",
        ] {
            assert!(
                matches!(
                    create(json!({"name": "x", "redirect_uris": [bad]})),
                    Err(Invalid::Misuse(_))
                ),
                "{bad}"
            );
            assert!(matches!(
                update(json!({"redirect_uris": [bad]})),
                Err(Invalid::Misuse(_))
            ));
            assert!(matches!(
                register(json!({"redirect_uris": [bad]})),
                Err(Invalid::OAuth(OAuthError::InvalidRedirectUri(_)))
            ));
            assert!(matches!(
                document(json!({"client_id": DOC_URL, "redirect_uris": [bad]})),
                Err(Invalid::OAuth(OAuthError::InvalidRedirectUri(_)))
            ));
        }
    }
}
