//! RFC 8707 resource indicators: which resource servers a token is for. A request may name
//! several; each must be an absolute URI without a fragment. The token endpoint and a refresh
//! may narrow the authorized set but never widen it, and the set becomes the access token's
//! `aud` (a string for one resource, an array for several).

use crate::error::OAuthError;
use serde_json::{json, Value};

pub mod database;

/// Most resources one request may name.
pub const MAX_RESOURCES: usize = 10;

fn invalid_target(d: impl Into<String>) -> OAuthError {
    OAuthError::InvalidTarget(d.into())
}

/// Validates requested resource indicators; duplicates collapse.
pub fn parse(values: &[&str]) -> Result<Vec<String>, OAuthError> {
    if values.len() > MAX_RESOURCES {
        return Err(invalid_target(format!(
            "at most {MAX_RESOURCES} resource parameters"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for r in values {
        let ok = !r.contains('#') && url::Url::parse(r).is_ok_and(|u| !u.cannot_be_a_base());
        if !ok {
            return Err(invalid_target(format!(
                "resource {r:?} must be an absolute URI without a fragment"
            )));
        }
        if !out.iter().any(|o| o == r) {
            out.push(r.to_string());
        }
    }
    Ok(out)
}

/// Checks a resource server an administrator registers (`oauth.add_resource`): an https URL
/// (plain http only on loopback) without query, fragment or credentials, or a database
/// ([`database`]: `postgres://host[:port]/dbname`, in its one accepted spelling).
pub fn check_registrable(resource: &str) -> Result<(), String> {
    if database::is_database_uri(resource) {
        return database::check(resource);
    }
    crate::protocol::issuer_policy::check_url("resource", resource)?;
    // An audience compares as written: `HTTPS://` would be a second spelling of the same
    // server (and the table's CHECK would refuse it less clearly).
    let scheme = resource.split("://").next().unwrap_or_default();
    if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "resource {resource:?}: write the scheme in lower case ({})",
            scheme.to_ascii_lowercase()
        ));
    }
    Ok(())
}

/// The resources a token request may use: all authorized ones when it names none, else the
/// ones it names, each of which must have been authorized.
pub fn narrow(requested: &[String], authorized: &[String]) -> Result<Vec<String>, OAuthError> {
    if requested.is_empty() {
        return Ok(authorized.to_vec());
    }
    match requested.iter().find(|r| !authorized.contains(r)) {
        Some(r) => Err(invalid_target(format!(
            "resource {r:?} was not part of the authorization"
        ))),
        None => Ok(requested.to_vec()),
    }
}

/// The `aud` claim for `resources`, or `default` when there are none.
pub fn audience(resources: &[String], default: &str) -> Value {
    match resources {
        [] => json!(default),
        [one] => json!(one),
        many => json!(many),
    }
}

/// Where the RFC 9728 metadata of `resource` is: `/.well-known/oauth-protected-resource`
/// inserted between its origin and its path (§3.1). Not a URL: itself.
pub fn metadata_url(resource: &str) -> String {
    match url::Url::parse(resource) {
        Ok(u) => format!(
            "{}/.well-known/oauth-protected-resource{}",
            u.origin().ascii_serialization(),
            u.path().trim_end_matches('/')
        ),
        Err(_) => resource.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn resources_are_absolute_uris_without_fragments() {
        assert_eq!(
            parse(&["https://mcp.example/mcp", "https://mcp.example/mcp"]).unwrap(),
            ["https://mcp.example/mcp"]
        );
        for bad in ["mcp.example", "https://a.example/#x", "", "mailto:a@b"] {
            assert_eq!(parse(&[bad]).unwrap_err().code(), "invalid_target", "{bad}");
        }
        assert!(parse(&["https://a.example/"; 11]).is_err());
    }

    #[test]
    fn registrable_resources_are_https_urls_or_databases() {
        for ok in [
            "https://api.example.com",
            "https://mcp.example/mcp",
            "http://127.0.0.1:8080/api",
            "postgres://db.example.com/app",
            "postgresql://db.example.com:6432/app",
        ] {
            assert_eq!(check_registrable(ok), Ok(()), "{ok}");
            // What an administrator may register, a request may name.
            assert_eq!(parse(&[ok]).unwrap(), [ok]);
        }
        for bad in [
            "http://api.example.com",
            "ftp://files.example.com/x",
            "https://u:p@api.example.com",
            "https://api.example.com/?q=1",
            "POSTGRES://db.example.com/app",
            "HTTPS://api.example.com",
            "Https://api.example.com",
            "postgres://db.example.com",
            "postgres://u@db.example.com/app",
            "mailto:a@b.example",
        ] {
            assert!(check_registrable(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_requests_narrow_but_never_widen() {
        let authorized = v(&["https://a.example/", "https://b.example/"]);
        assert_eq!(narrow(&[], &authorized).unwrap(), authorized);
        assert_eq!(
            narrow(&v(&["https://b.example/"]), &authorized).unwrap(),
            ["https://b.example/"]
        );
        assert_eq!(
            narrow(&v(&["https://c.example/"]), &authorized)
                .unwrap_err()
                .code(),
            "invalid_target"
        );
        assert!(narrow(&v(&["https://a.example/"]), &[]).is_err());
    }

    #[test]
    fn audience_is_a_string_for_one_and_an_array_for_several() {
        assert_eq!(audience(&[], "authenticated"), json!("authenticated"));
        assert_eq!(audience(&v(&["https://a/"]), "x"), json!("https://a/"));
        assert_eq!(
            audience(&v(&["https://a/", "https://b/"]), "x"),
            json!(["https://a/", "https://b/"])
        );
    }

    #[test]
    fn metadata_is_at_the_well_known_path_before_the_resource_path() {
        assert_eq!(
            metadata_url("https://auth.example"),
            "https://auth.example/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            metadata_url("https://mcp.example:8443/mcp/"),
            "https://mcp.example:8443/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(metadata_url("not a url"), "not a url");
    }
}
