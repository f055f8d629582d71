//! The rules every caller applies to a field, and between fields, as an administrator's errors
//! (22023 with a hint): a registration or a document turns them into its RFC 7591 error, so
//! the same URI or grant type is refused the same way whoever asks.

use crate::error::{bad_param, MisuseError};
use crate::model::{AuthMethod, ClientType, GrantType};
use crate::protocol::{redirect_uri, scope};

use super::ClientMetadata;

pub(super) fn client_type(s: &str) -> Result<ClientType, MisuseError> {
    ClientType::parse(s).ok_or_else(|| {
        bad_param(format!(
            "client_type must be 'confidential' or 'public', not {s:?}"
        ))
    })
}

/// SQL arrays may hold NULL: an administrator's list must not.
pub(super) fn no_null_elements(
    values: Vec<Option<String>>,
    what: &str,
) -> Result<Vec<String>, MisuseError> {
    values
        .into_iter()
        .map(|v| v.ok_or_else(|| bad_param(format!("{what} must not contain NULL"))))
        .collect()
}

/// The first of each, in the order given.
fn distinct<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

pub(super) fn validate_name(name: &str) -> Result<String, MisuseError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(bad_param("client name must be 1 to 200 characters"));
    }
    Ok(name.to_string())
}

/// Redirect URIs; an empty list is allowed here and refused by [`check_grants`] for clients
/// that use the authorization code grant.
pub(super) fn redirect_uris_rule(uris: Vec<String>) -> Result<Vec<String>, MisuseError> {
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

/// Post-logout redirect URIs follow the redirect URI rules (exact, no fragment), and may be
/// empty.
pub(super) fn post_logout_rule(uris: Vec<String>) -> Result<Vec<String>, MisuseError> {
    if uris.is_empty() {
        return Ok(uris);
    }
    redirect_uris_rule(uris)
        .map_err(|e| bad_param(format!("post_logout_redirect_uris: {}", e.message)))
}

pub(super) fn scopes_rule(scopes: Vec<String>) -> Result<Vec<String>, MisuseError> {
    if let Some(s) = scopes.iter().find(|s| !scope::is_valid_token(s)) {
        return Err(bad_param(format!("malformed scope {s:?}"))
            .hint("scope tokens are printable ASCII without spaces, quotes or backslashes"));
    }
    Ok(distinct(scopes))
}

pub(super) fn grant_types_rule(names: Vec<String>) -> Result<Vec<GrantType>, MisuseError> {
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
            "grant_types must include a grant that starts a session: authorization_code, client_credentials, the device code grant or token exchange",
        ));
    }
    Ok(distinct(grants))
}

pub(super) fn auth_method_rule(
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
        (
            true,
            Some(
                m @ (AuthMethod::ClientSecretBasic
                | AuthMethod::ClientSecretPost
                | AuthMethod::PrivateKeyJwt),
            ),
        )
        | (false, Some(m @ AuthMethod::None)) => Ok(m),
        (true, Some(AuthMethod::None)) => Err(bad_param("a confidential client must authenticate")
            .hint("use client_secret_basic, client_secret_post or private_key_jwt, or make the client public")),
        (false, _) => Err(bad_param(
            "a public client has no secret; its token_endpoint_auth_method is none",
        )),
        (true, None) => Err(bad_param(format!(
            "unsupported token_endpoint_auth_method {method:?}"
        ))),
    }
}

/// client_uri / logo_uri: empty is none, anything else an absolute http(s) URL.
pub(super) fn optional_uri(
    value: Option<String>,
    what: &str,
) -> Result<Option<String>, MisuseError> {
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
pub(super) fn check_grants(md: &ClientMetadata) -> Result<(), MisuseError> {
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
    // An exchange hands a user's authority on to the client presenting the token: it must
    // prove who it is (RFC 8693 §2.1 leaves this to the server; every peer requires it).
    if has(GrantType::TokenExchange) && md.client_type != ClientType::Confidential {
        return Err(bad_param(
            "only a confidential client may use token exchange",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::Invalid;
    use crate::error::OAuthError;
    use serde_json::{json, Value};

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

    #[test]
    fn every_caller_applies_the_redirect_uri_rules_to_post_logout_uris() {
        let bye = "https://app.example/bye";
        let with = |uris: Value| {
            json!({"client_id": DOC_URL, "name": "x", "redirect_uris": [CB],
            "post_logout_redirect_uris": uris})
        };
        // Accepted by each caller, distinct.
        for md in [
            create(with(json!([bye, bye]))),
            update(json!({"post_logout_redirect_uris": [bye, bye]})),
            register(with(json!([bye, bye]))),
            document(with(json!([bye, bye]))),
        ] {
            assert_eq!(md.unwrap().post_logout_redirect_uris, strings(&[bye]));
        }
        // None given, or an empty list: none.
        let none = json!({"client_id": DOC_URL, "name": "x", "redirect_uris": [CB]});
        for md in [
            create(none.clone()),
            create(with(Value::Null)),
            create(with(json!([]))),
            update(json!({"post_logout_redirect_uris": []})),
            register(none.clone()),
            register(with(json!([]))),
            document(none),
            document(with(json!([]))),
        ] {
            assert_eq!(md.unwrap().post_logout_redirect_uris, Vec::<String>::new());
        }
        // Refused with the redirect URI rule's words, in each caller's channel.
        let bad = "https://app.example/bye#f";
        let message =
            format!("post_logout_redirect_uris: redirect URI {bad:?} must not contain a fragment");
        assert_eq!(misuse(create(with(json!([bad])))).message, message);
        assert_eq!(
            misuse(update(json!({"post_logout_redirect_uris": [bad]}))).message,
            message
        );
        let refused = OAuthError::InvalidClientMetadata(message);
        assert_eq!(oauth(register(with(json!([bad])))), refused);
        assert_eq!(oauth(document(with(json!([bad])))), refused);
        // create_client's SQL array may hold NULL: refused as in its other arrays.
        assert_eq!(
            misuse(create(with(json!([bye, null])))).message,
            "post_logout_redirect_uris must not contain NULL"
        );
    }
}
