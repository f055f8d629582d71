//! The upstream sign-in's exchange (docs/sign-in-contract.md, step 4): the token request and
//! the profile fetches the database describes, performed through the fetch fence (https,
//! public addresses, no redirects, 512 KiB, 5 s), their answers handed back for the database
//! to judge. Never follows redirects: the token request carries the client secret, the
//! fetches the access token, and neither may go anywhere the database did not name.

use crate::fetch::failure::{Cause, Failure};
use crate::fetch::fence;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};
use std::time::Duration;
use url::Url;

const MAX_UPSTREAM: usize = 512 * 1024;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SignInExchange {
    http: reqwest::Client,
    allow_private: bool,
}

impl SignInExchange {
    pub fn new(
        extra_roots: &[reqwest::Certificate],
        allow_private: bool,
    ) -> Result<SignInExchange, reqwest::Error> {
        Ok(SignInExchange {
            http: fence::fenced_client(extra_roots, allow_private)
                .timeout(UPSTREAM_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            allow_private,
        })
    }

    /// The token request, then (with its access token) the fetches: `finish_sign_in`'s
    /// `responses`. An upstream that cannot be reached, or answers too much, is a failure
    /// naming the endpoint (`what`); an upstream error answer is passed on for the database
    /// to judge.
    pub async fn exchange(&self, plan: &Value) -> Result<Value, Failure> {
        let at_token = |cause: Cause| Failure::new("token endpoint", cause);
        let request = &plan["token_request"];
        let (url, headers) = described(request, self.allow_private).map_err(at_token)?;
        let form = form_body(&request["form"]).map_err(at_token)?;
        let post = self
            .http
            .post(url)
            .headers(headers)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form);
        let token = self.send(post).await.map_err(at_token)?;
        let access_token = (token.0 / 100 == 2)
            .then(|| token.1["access_token"].as_str())
            .flatten()
            .map(String::from);
        let mut responses = json!({"token": {"status": token.0, "body": token.1}});
        // Without an access token there is nothing to fetch: the database judges the answer.
        let Some(access_token) = access_token else {
            return Ok(responses);
        };
        let mut bearer = HeaderValue::from_str(&format!("Bearer {access_token}"))
            .map_err(|_| at_token(Cause::Unusable("answered an unusable access token".into())))?;
        bearer.set_sensitive(true);
        for fetch in plan["fetch"].as_array().into_iter().flatten() {
            let name = fetch["name"].as_str().unwrap_or_default().to_string();
            let at = |cause: Cause| Failure::new(format!("{name} endpoint"), cause);
            if name.is_empty() {
                let why = "has no name in the database's description";
                return Err(at(Cause::Unusable(why.into())));
            }
            let (url, mut headers) = described(fetch, self.allow_private).map_err(at)?;
            headers.insert(header::AUTHORIZATION, bearer.clone());
            let (status, body) = self
                .send(self.http.get(url).headers(headers))
                .await
                .map_err(at)?;
            responses[name] = json!({"status": status, "body": body});
        }
        Ok(responses)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), Cause> {
        let res = request
            .send()
            .await
            .map_err(|e| Cause::of_request(e, UPSTREAM_TIMEOUT))?;
        let status = res.status().as_u16();
        let bytes = fence::read_capped(res, MAX_UPSTREAM, UPSTREAM_TIMEOUT).await?;
        Ok((status, body_value(&bytes)))
    }
}

/// A request the database described: `{"url", "headers"}`, the URL within the fence.
fn described(what: &Value, allow_private: bool) -> Result<(Url, HeaderMap), Cause> {
    let url = what["url"]
        .as_str()
        .and_then(|u| Url::parse(u).ok())
        .ok_or_else(|| Cause::Unusable("the database described no valid URL".into()))?;
    if let Some(refused) = fence::refusal(&url, allow_private) {
        return Err(refused);
    }
    let mut headers = HeaderMap::new();
    if let Some(given) = what["headers"].as_object() {
        for (k, v) in given {
            let value = v
                .as_str()
                .and_then(|v| HeaderValue::from_str(v).ok())
                .zip(HeaderName::from_bytes(k.as_bytes()).ok());
            let Some((value, name)) = value else {
                let why = format!("the database described an invalid header {k:?}");
                return Err(Cause::Unusable(why));
            };
            headers.insert(name, value);
        }
    }
    Ok((url, headers))
}

/// The token request's `form`, form-urlencoded.
fn form_body(form: &Value) -> Result<String, Cause> {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form.as_object().into_iter().flatten() {
        match v {
            Value::String(s) => out.append_pair(k, s),
            Value::Number(_) | Value::Bool(_) => out.append_pair(k, &v.to_string()),
            Value::Null => &mut out,
            _ => {
                let why = format!("the token request's {k} is not a single value");
                return Err(Cause::Unusable(why));
            }
        };
    }
    Ok(out.finish())
}

/// An upstream answer as `finish_sign_in` takes it: the body as JSON, or as a string.
fn body_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth_core::form;

    #[test]
    fn described_requests_stay_within_the_fence() {
        let req = json!({"url": "https://idp.example/token",
                         "headers": {"accept": "application/json", "x-extra": "1"}});
        let (url, headers) = described(&req, false).unwrap();
        assert_eq!(url.as_str(), "https://idp.example/token");
        assert_eq!(headers["accept"], "application/json");
        assert_eq!(headers.len(), 2);
        for bad in [
            json!({"url": "http://idp.example/token"}),
            json!({"url": "https://127.0.0.1/token"}),
            json!({"url": "https://169.254.169.254/"}),
            json!({"url": "file:///etc/passwd"}),
            json!({}),
            json!({"url": "https://idp.example/", "headers": {"bad header": "x"}}),
            json!({"url": "https://idp.example/", "headers": {"a": 1}}),
        ] {
            assert!(described(&bad, false).is_err(), "{bad}");
        }
        // Refusals say what would lift them.
        let http_loopback = json!({"url": "http://127.0.0.1:9/token"});
        assert_eq!(
            described(&http_loopback, false).unwrap_err(),
            Cause::LoopbackHttp
        );
        let private = json!({"url": "https://127.0.0.1/token"});
        assert_eq!(
            described(&private, false).unwrap_err(),
            Cause::PrivateAddress
        );
        // Local stand-ins: http on loopback with --allow-private-fetch only.
        assert!(described(&json!({"url": "http://127.0.0.1:9/token"}), true).is_ok());
    }

    #[test]
    fn the_token_form_is_urlencoded() {
        let form = json!({"grant_type": "authorization_code", "code": "a&b=c",
                          "redirect_uri": "https://as/cb", "n": 1, "skip": null});
        let body = form_body(&form).unwrap();
        let back = form::to_json(body.as_bytes());
        assert_eq!(
            back,
            json!({"grant_type": "authorization_code", "code": "a&b=c",
                   "redirect_uri": "https://as/cb", "n": "1"})
        );
        assert!(form_body(&json!({"a": ["1", "2"]})).is_err());
    }

    #[test]
    fn upstream_bodies_are_json_or_text() {
        assert_eq!(body_value(br#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(
            body_value(b"access_token=x&scope=y"),
            json!("access_token=x&scope=y")
        );
        assert_eq!(body_value(b""), json!(""));
        assert_eq!(body_value(b"\xff"), json!("\u{fffd}"));
    }
}
