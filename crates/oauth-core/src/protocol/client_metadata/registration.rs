//! RFC 7591 dynamic registration (`oauth.register_client`): an anonymous registrant's own
//! checks, then `create_client`'s rules, whose failures are `invalid_client_metadata` here.

use crate::error::OAuthError;
use crate::model::{AuthMethod, ClientType, GrantType};
use crate::protocol::scope;
use serde_json::Value;

use super::admin::{admin_rules, Draft};
use super::field_rules::redirect_uris_rule;
use super::json_fields::{flag, list, metadata_error, text};
use super::relying_party;
use super::{ClientMetadata, Invalid};

/// The registrant's own checks: redirect URIs required, only the code response type, only the
/// grant types (`allowed`, the DBA's setting) and scopes (`known_scopes`) this server allows
/// anonymous registrants.
pub(super) fn validate(
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
        dpop_bound_access_tokens: flag(md, "dpop_bound_access_tokens")?,
        require_pushed_authorization_requests: flag(md, "require_pushed_authorization_requests")?,
        jwks: match md.get("jwks") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => return Err(metadata_error("jwks must be a JSON object (a JWK Set)").into()),
        },
        jwks_uri: text(md, "jwks_uri")?,
        relying_party: Some(relying_party::apply(md, &Default::default()).map_err(metadata_error)?),
        // An administrator's choice of audience (`default_resources`): ignored here, as any
        // metadata a registration does not take.
        default_resources: None,
    };
    admin_rules(draft).map_err(|e| metadata_error(e.message).into())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{validate, Caller};
    use crate::error::OAuthError;
    use crate::model::{AuthMethod, ClientType, GrantType};
    use serde_json::json;

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
                json!({"redirect_uris": [CB], "token_endpoint_auth_method": "tls_client_auth"}),
                meta("unsupported token_endpoint_auth_method \"tls_client_auth\""),
            ),
            (
                json!({"redirect_uris": [CB], "grant_types": ["client_credentials"]}),
                meta("grant type \"client_credentials\" cannot be registered dynamically here (allowed: authorization_code, refresh_token)"),
            ),
            (
                json!({"redirect_uris": [CB], "grant_types": ["refresh_token"]}),
                meta("grant_types must include a grant that starts a session: authorization_code, client_credentials, the device code grant or token exchange"),
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
}
