//! Client ID metadata documents (`oauth.register_metadata_document`): `client_id` is the https
//! URL the front fetched the document from, with a path; the document must name that URL, and
//! describes a client of the code grant: public, or one that authenticates with JWTs signed by
//! the keys it publishes at `jwks_uri` (`private_key_jwt`, which MCP's client credentials
//! extension uses). Its optional fields are dropped rather than refused: the document is
//! someone else's page, fetched on their behalf.

use crate::error::OAuthError;
use crate::model::{AuthMethod, ClientType, GrantType};
use crate::protocol::issuer_policy;
use serde_json::Value;

use super::field_rules::{post_logout_rule, redirect_uris_rule};
use super::json_fields::{list, metadata_error, text};
use super::key_rules::keys_rule;
use super::{ClientMetadata, Invalid};

/// The grant types a metadata document may name: it describes a public client, and only a
/// user's consent in a browser stands behind its tokens.
const DOCUMENT_GRANTS: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];

/// A metadata document's client_uri / logo_uri longer than this is dropped.
const MAX_DOCUMENT_URI_LEN: usize = 2048;

/// The document fetched from `url`.
pub(super) fn validate(document: &Value, url: &str) -> Result<ClientMetadata, Invalid> {
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
    let (client_type, auth_method, keys) = match text(md, "token_endpoint_auth_method")?.as_deref() {
        None | Some("none") => (ClientType::Public, AuthMethod::None, None),
        Some("private_key_jwt") => {
            let uri = text(md, "jwks_uri")?.ok_or_else(|| {
                metadata_error("a private_key_jwt metadata document client needs a jwks_uri")
            })?;
            let keys = keys_rule(AuthMethod::PrivateKeyJwt, None, Some(uri))
                .map_err(|e| metadata_error(e.message))?;
            (ClientType::Confidential, AuthMethod::PrivateKeyJwt, keys)
        }
        Some(m) => {
            return Err(metadata_error(format!(
                "token_endpoint_auth_method {m:?} is not supported for metadata document clients; use none or private_key_jwt"
            ))
            .into())
        }
    };
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
        client_type,
        name,
        redirect_uris,
        scopes: None,
        grant_types,
        auth_method,
        keys,
        client_uri: uri("client_uri")?,
        logo_uri: uri("logo_uri")?,
        post_logout_redirect_uris: match list(md, "post_logout_redirect_uris")? {
            Some(u) => post_logout_rule(u).map_err(|e| metadata_error(e.message))?,
            None => vec![],
        },
        // A document may ask for its tokens to be bound; anything but true asks for nothing.
        dpop_bound_access_tokens: md.get("dpop_bound_access_tokens") == Some(&Value::Bool(true)),
        require_pushed_authorization_requests: md.get("require_pushed_authorization_requests")
            == Some(&Value::Bool(true)),
        relying_party: super::relying_party::from_document(md),
        // An administrator's choice of audience, never a document's (`default_resources`).
        default_resources: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::ClientMetadata;
    use crate::error::OAuthError;
    use crate::model::{AuthMethod, ClientType, GrantType};
    use serde_json::json;

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
                dpop_bound_access_tokens: false,
                require_pushed_authorization_requests: false,
                keys: None,
                relying_party: Default::default(),
                default_resources: vec![],
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
                json!({"client_id": DOC_URL, "redirect_uris": [CB], "token_endpoint_auth_method": "client_secret_basic"}),
                meta("token_endpoint_auth_method \"client_secret_basic\" is not supported for metadata document clients; use none or private_key_jwt"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": [CB], "token_endpoint_auth_method": "private_key_jwt"}),
                meta("a private_key_jwt metadata document client needs a jwks_uri"),
            ),
            (
                DOC_URL,
                json!({"client_id": DOC_URL, "redirect_uris": [CB], "token_endpoint_auth_method": "private_key_jwt",
                       "jwks_uri": "http://app.example/jwks"}),
                meta("jwks_uri \"http://app.example/jwks\" must use https (http only on loopback)"),
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
}
