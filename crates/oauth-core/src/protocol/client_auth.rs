//! Which client is calling the token, revocation or introspection endpoint, and how it
//! authenticates (RFC 6749 §2.3): HTTP Basic, the secret in the form body, or no secret at all
//! (a public client). Exactly one method per request.

use crate::error::{invalid_client, invalid_request, OAuthResult};
use base64::Engine;

/// The authentication method a request used, named as in `token_endpoint_auth_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::ClientSecretBasic => "client_secret_basic",
            Method::ClientSecretPost => "client_secret_post",
            Method::None => "none",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: Method,
}

/// Reads the credentials from the `Authorization` header and the form's `client_id` /
/// `client_secret`.
pub fn credentials(
    authorization: Option<&str>,
    form_client_id: Option<&str>,
    form_secret: Option<&str>,
) -> OAuthResult<Credentials> {
    let authorization = authorization.map(str::trim).filter(|a| !a.is_empty());
    if let Some(header) = authorization {
        let (id, secret) = parse_basic(header)?;
        if form_secret.is_some() {
            return Err(invalid_request(
                "the client used more than one authentication method (Basic and client_secret)",
            ));
        }
        if form_client_id.is_some_and(|f| f != id) {
            return Err(invalid_request(
                "client_id in the body differs from the one in the Authorization header",
            ));
        }
        return Ok(Credentials {
            client_id: id,
            secret: Some(secret),
            method: Method::ClientSecretBasic,
        });
    }
    let client_id =
        form_client_id.ok_or_else(|| invalid_client("client authentication is required"))?;
    Ok(Credentials {
        client_id: client_id.to_string(),
        secret: form_secret.map(String::from),
        method: if form_secret.is_some() {
            Method::ClientSecretPost
        } else {
            Method::None
        },
    })
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`. RFC 6749 §2.3.1 form-URL-encodes both
/// parts before base64, which many clients forget for plain ids; decoding is harmless for them.
pub fn parse_basic(header: &str) -> OAuthResult<(String, String)> {
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid_client(
            "the Authorization header must use the Basic scheme",
        ));
    }
    let malformed = || invalid_client("malformed Basic credentials");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| malformed())?;
    let raw = String::from_utf8(raw).map_err(|_| malformed())?;
    let (id, secret) = raw.split_once(':').ok_or_else(malformed)?;
    let id = form_url_decode(id).ok_or_else(malformed)?;
    let secret = form_url_decode(secret).ok_or_else(malformed)?;
    if id.is_empty() {
        return Err(malformed());
    }
    Ok((id, secret))
}

/// `application/x-www-form-urlencoded` decoding of one component: `+` is a space, `%XX` a byte;
/// the result must be UTF-8 and a lone or non-hex `%` is an error.
pub fn form_url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn basic_is_form_url_decoded() {
        let (id, secret) = parse_basic(&basic("my%20app:s%3Acr%2Bt+x")).unwrap();
        assert_eq!(id, "my app");
        assert_eq!(secret, "s:cr+t x");
        // The first colon separates: a secret may contain (encoded or not) colons.
        assert_eq!(parse_basic(&basic("a:b:c")).unwrap().1, "b:c");
        assert_eq!(parse_basic(&basic("a:")).unwrap().1, "");
    }

    #[test]
    fn malformed_basic_is_invalid_client() {
        for h in [
            "Bearer abc".to_string(),
            "Basic !!!".to_string(),
            basic("no-colon"),
            basic(":secret"),
            basic("a%zz:b"),
            basic("a%:b"),
            basic("a%ff:b"),
        ] {
            assert_eq!(parse_basic(&h).unwrap_err().code(), "invalid_client", "{h}");
        }
    }

    #[test]
    fn one_method_per_request() {
        let h = basic("id:secret");
        let c = credentials(Some(&h), None, None).unwrap();
        assert_eq!(c.method, Method::ClientSecretBasic);
        assert_eq!(c.secret.as_deref(), Some("secret"));
        assert_eq!(
            credentials(Some(&h), Some("id"), None).unwrap().client_id,
            "id"
        );
        assert_eq!(
            credentials(Some(&h), None, Some("x")).unwrap_err().code(),
            "invalid_request"
        );
        assert_eq!(
            credentials(Some(&h), Some("other"), None)
                .unwrap_err()
                .code(),
            "invalid_request"
        );
        let post = credentials(None, Some("id"), Some("s")).unwrap();
        assert_eq!(post.method, Method::ClientSecretPost);
        let public = credentials(None, Some("id"), None).unwrap();
        assert_eq!(public.method, Method::None);
        assert_eq!(
            credentials(None, None, None).unwrap_err().code(),
            "invalid_client"
        );
    }
}
