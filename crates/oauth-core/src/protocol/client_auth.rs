//! Which client is calling the token, revocation or introspection endpoint, and how it
//! authenticates (RFC 6749 §2.3): HTTP Basic, the secret in the form body, a JWT assertion
//! signed with its own key (RFC 7523 §2.2, `private_key_jwt`), or no secret at all (a public
//! client). Exactly one method per request.

use crate::error::{invalid_client, invalid_request, OAuthResult};
use base64::Engine;

/// The authentication method a request used, named as in `token_endpoint_auth_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    ClientSecretBasic,
    ClientSecretPost,
    None,
    PrivateKeyJwt,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::ClientSecretBasic => "client_secret_basic",
            Method::ClientSecretPost => "client_secret_post",
            Method::None => "none",
            Method::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: Method,
    /// The client assertion (`private_key_jwt`), to verify with the client's keys.
    pub assertion: Option<String>,
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
            assertion: None,
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
        assertion: None,
    })
}

/// The form's client assertion (RFC 7521 §4.2: `client_assertion_type` and `client_assertion`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Assertion<'a> {
    pub assertion_type: Option<&'a str>,
    pub assertion: Option<&'a str>,
}

/// [`credentials`], and a client assertion when the form has one: then it is the only method
/// (no Basic header, no secret), of the one type we take, and names the client itself — by
/// `client_id` when the form has one (which must be the assertion's `sub`, checked when it is
/// verified), else by its `sub`.
pub fn credentials_with_assertion(
    authorization: Option<&str>,
    form_client_id: Option<&str>,
    form_secret: Option<&str>,
    assertion: Assertion,
) -> OAuthResult<Credentials> {
    let (kind, jwt) = match (assertion.assertion_type, assertion.assertion) {
        (None, None) => return credentials(authorization, form_client_id, form_secret),
        (Some(kind), Some(jwt)) => (kind, jwt),
        _ => {
            return Err(invalid_request(
                "client_assertion and client_assertion_type go together",
            ))
        }
    };
    if kind != crate::protocol::client_assertion::ASSERTION_TYPE {
        return Err(invalid_client(format!(
            "client_assertion_type {kind:?} is not supported; use {}",
            crate::protocol::client_assertion::ASSERTION_TYPE
        )));
    }
    if authorization.map(str::trim).is_some_and(|a| !a.is_empty()) || form_secret.is_some() {
        return Err(invalid_request(
            "the client used more than one authentication method (a client assertion and a secret)",
        ));
    }
    let client_id = match form_client_id {
        Some(id) => id.to_string(),
        None => assertion_subject(jwt)
            .ok_or_else(|| invalid_client("the client assertion names no client (sub)"))?,
    };
    Ok(Credentials {
        client_id,
        secret: None,
        method: Method::PrivateKeyJwt,
        assertion: Some(jwt.to_string()),
    })
}

/// The `sub` of a client assertion, read without verifying it: only to know whose keys verify
/// it (and, at the front, whose failure budget an attempt counts against).
pub fn assertion_subject(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(String::from)
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

    fn jwt(claims: serde_json::Value) -> String {
        let b = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.sig",
            b(&serde_json::json!({"alg": "ES256"})),
            b(&claims)
        )
    }

    const TYPE: &str = crate::protocol::client_assertion::ASSERTION_TYPE;

    #[test]
    fn a_client_assertion_is_the_only_method_and_names_its_client() {
        let a = jwt(serde_json::json!({"iss": "app", "sub": "app"}));
        let with = |t: Option<&'static str>, j: Option<&str>| Assertion {
            assertion_type: t,
            assertion: j.map(|s| Box::leak(s.to_string().into_boxed_str()) as &str),
        };
        let c = credentials_with_assertion(None, None, None, with(Some(TYPE), Some(&a))).unwrap();
        assert_eq!(c.method, Method::PrivateKeyJwt);
        assert_eq!(c.client_id, "app");
        assert_eq!(c.assertion.as_deref(), Some(a.as_str()));
        // The form's client_id names the client; the assertion's sub must match it when verified.
        let c = credentials_with_assertion(None, Some("other"), None, with(Some(TYPE), Some(&a)));
        assert_eq!(c.unwrap().client_id, "other");
        // Not with a secret, nor with Basic.
        for (auth, secret) in [(Some(basic("app:s")), None), (None, Some("s"))] {
            let e = credentials_with_assertion(
                auth.as_deref(),
                None,
                secret,
                with(Some(TYPE), Some(&a)),
            );
            assert_eq!(e.unwrap_err().code(), "invalid_request");
        }
        // Another assertion type, or half of the pair.
        let e = credentials_with_assertion(None, None, None, with(Some("urn:x"), Some(&a)));
        assert_eq!(e.unwrap_err().code(), "invalid_client");
        let e = credentials_with_assertion(None, None, None, with(Some(TYPE), None));
        assert_eq!(e.unwrap_err().code(), "invalid_request");
        // No sub and no client_id: nobody to authenticate.
        let nobody = jwt(serde_json::json!({"iss": "app"}));
        let e = credentials_with_assertion(None, None, None, with(Some(TYPE), Some(&nobody)));
        assert_eq!(e.unwrap_err().code(), "invalid_client");
        // Without an assertion, the other methods as before.
        let c = credentials_with_assertion(None, Some("id"), Some("s"), Assertion::default());
        assert_eq!(c.unwrap().method, Method::ClientSecretPost);
    }
}
