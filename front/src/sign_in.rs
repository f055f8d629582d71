//! Sign-in with an upstream identity provider (docs/sign-in-contract.md, steps 3–5). The
//! database decides every URL, parameter and outcome; the front moves bytes: it keeps the
//! browser-binding cookie, performs the token request and profile fetches the database
//! describes (through the fetch fence: https, public addresses, no redirects, 512 KiB, 5 s),
//! and hands the answers back. Errors are small HTML pages: a browser is on these routes.

use crate::fetch;
use crate::pages::ErrorPage;
use crate::routes::{body_params, AppState};
use crate::sql::{self, CallError, SqlResponse};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use oauth_core::form;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;
use url::Url;

const MAX_UPSTREAM: usize = 512 * 1024;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);

type Page = Result<Response, ErrorPage>;

pub struct SignIn {
    /// Never follows redirects: the token request carries the client secret, the fetches the
    /// access token, and neither may go anywhere the database did not name.
    http: reqwest::Client,
    allow_private: bool,
    public_url: Option<String>,
    /// Whether the issuer is https, read once from the database when no public URL is set.
    issuer_https: tokio::sync::OnceCell<bool>,
}

impl SignIn {
    pub fn new(
        extra_roots: &[reqwest::Certificate],
        allow_private: bool,
        public_url: Option<String>,
    ) -> Result<SignIn, reqwest::Error> {
        Ok(SignIn {
            http: fetch::fenced_client(extra_roots, allow_private)
                .timeout(UPSTREAM_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            allow_private,
            public_url,
            issuer_https: tokio::sync::OnceCell::new(),
        })
    }

    /// Whether the callback is served over https, which decides the cookie's form.
    async fn https(&self, pool: &deadpool_postgres::Pool) -> Result<bool, CallError> {
        if let Some(url) = &self.public_url {
            return Ok(is_https(url));
        }
        if let Some(known) = self.issuer_https.get() {
            return Ok(*known);
        }
        let res = sql::call(
            pool,
            "to_jsonb(current_setting('oauth_server.issuer', true))",
            &[],
        )
        .await?;
        // Not set yet: the strict cookie, and ask again next time.
        let Some(issuer) = res.body.as_str() else {
            return Ok(true);
        };
        Ok(*self
            .issuer_https
            .get_or_init(|| async { is_https(issuer) })
            .await)
    }
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

/// `__Host-` binds the cookie to this exact origin (Secure, Path=/, no Domain), so a sibling
/// subdomain cannot plant one; plain http (development) cannot have it.
fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-oauth_sign_in"
    } else {
        "oauth_sign_in"
    }
}

/// The binding cookie. SameSite=None over https because Apple posts the callback from its
/// own site; over http browsers refuse None without Secure, so Lax (GET callbacks only).
fn binding_cookie(https: bool, value: &str, max_age: u64) -> Option<HeaderValue> {
    let octets_ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'));
    if !octets_ok {
        return None;
    }
    let attributes = if https {
        "Secure; SameSite=None"
    } else {
        "SameSite=Lax"
    };
    let name = cookie_name(https);
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; {attributes}"
    ))
    .ok()
}

/// The first cookie called `name` the browser sent.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// `redirect_to` with the session token in the fragment, which the browser keeps across the
/// redirect and never sends to a server.
fn with_session_fragment(redirect_to: &str, token: &str) -> String {
    let base = redirect_to.split('#').next().unwrap_or_default();
    let fragment = form_urlencoded::Serializer::new(String::new())
        .append_pair("session_token", token)
        .finish();
    format!("{base}#{fragment}")
}

/// Provider names as `oauth.add_sign_in_provider` accepts them: anything else is no provider,
/// answered without asking the database.
fn is_provider_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn no_such_provider(name: &str) -> Result<(), ErrorPage> {
    if is_provider_name(name) {
        Ok(())
    } else {
        Err(ErrorPage::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is no such sign-in provider",
        ))
    }
}

fn bad_request(description: &str) -> ErrorPage {
    ErrorPage::new(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// One parameter: absent, or given once (a repeated one is refused, as everywhere).
fn single(params: &Value, name: &str) -> Result<Option<String>, ErrorPage> {
    match &params[name] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(bad_request(&format!("{name} was given more than once"))),
    }
}

/// What the provider sent back to the callback (query, or Apple's form_post body).
#[derive(Debug, Default, PartialEq)]
struct Callback {
    state: String,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// Apple's `user` (a JSON string with the name, on the first sign-in only).
    user: Option<String>,
    /// RFC 9207: who sent the response; the database checks it before the code is used.
    iss: Option<String>,
}

fn parse_callback(params: &Value) -> Result<Callback, ErrorPage> {
    let state = single(params, "state")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad_request("the provider's answer carries no state"))?;
    Ok(Callback {
        state,
        code: single(params, "code")?,
        error: single(params, "error")?,
        error_description: single(params, "error_description")?,
        user: single(params, "user")?,
        iss: single(params, "iss")?,
    })
}

fn see_other(to: &str) -> Page {
    let location = HeaderValue::from_str(to).map_err(|_| {
        ErrorPage::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the database answered an invalid redirect",
        )
    })?;
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The URLs here carry authorization ids, codes and states: no Referer with them.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

/// Calls `call`; when it answers 503 naming a provider under `marker` (metadata or keys
/// missing), refreshes that provider (at most once a minute) and calls once more.
async fn call_with_refresh(
    s: &AppState,
    marker: &str,
    call: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<SqlResponse, CallError> {
    let since = Instant::now();
    let res = sql::call(&s.pool, call, args).await?;
    if res.status == StatusCode::SERVICE_UNAVAILABLE {
        if let Some(provider) = res.body[marker].as_str() {
            if s.providers.refresh_after(provider, since).await {
                return sql::call(&s.pool, call, args).await;
            }
        }
    }
    Ok(res)
}

/// `GET /signin/{name}?authorization_id=…`: to the provider, with the binding cookie set.
pub async fn begin(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Page {
    no_such_provider(&name)?;
    let params = form::to_json(q.unwrap_or_default().as_bytes());
    let authorization_id = single(&params, "authorization_id")?
        .ok_or_else(|| bad_request("authorization_id is required"))?;
    let https = s.sign_in.https(&s.pool).await?;
    let binding = cookie_value(&headers, cookie_name(https));
    let res = call_with_refresh(
        &s,
        "refresh_metadata",
        "oauth.begin_sign_in($1, $2, $3)",
        &[&name, &authorization_id, &binding],
    )
    .await?;
    let (Some(to), Some(value)) = (
        res.body["redirect_to"]
            .as_str()
            .filter(|_| res.status.is_success()),
        res.body["browser_binding"].as_str(),
    ) else {
        return Err(ErrorPage::from_answer(&res));
    };
    let max_age = res.body["max_age"].as_u64().unwrap_or(600);
    let cookie = binding_cookie(https, value, max_age).ok_or_else(|| {
        ErrorPage::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the database answered an invalid browser binding",
        )
    })?;
    let mut res = see_other(to)?;
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(res)
}

/// `GET /signin/{name}/callback?code&state…`.
pub async fn callback_get(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Page {
    let params = form::to_json(q.unwrap_or_default().as_bytes());
    callback(&s, &name, &headers, &params).await
}

/// `POST /signin/{name}/callback`: `response_mode=form_post` (Apple).
pub async fn callback_post(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Page {
    let params = body_params(&headers, &body)?;
    callback(&s, &name, &headers, &params).await
}

async fn callback(s: &AppState, name: &str, headers: &HeaderMap, params: &Value) -> Page {
    no_such_provider(name)?;
    let cb = parse_callback(params)?;
    let https = s.sign_in.https(&s.pool).await?;
    let binding = cookie_value(headers, cookie_name(https));
    let plan = sql::call(
        &s.pool,
        "oauth.sign_in_token_request($1, $2, $3, $4, $5, $6, $7)",
        &[
            &name,
            &cb.state,
            &binding,
            &cb.code,
            &cb.error,
            &cb.error_description,
            &cb.iss,
        ],
    )
    .await?;
    if !plan.status.is_success() {
        // The user cancelled at the provider: back to the consent page.
        if let Some(to) = plan.body["redirect_to"].as_str() {
            return see_other(to);
        }
        return Err(ErrorPage::from_answer(&plan));
    }
    let mut responses = s.sign_in.exchange(name, &plan.body).await?;
    responses["apple_user"] = cb.user.map_or(Value::Null, Value::String);
    let res = call_with_refresh(
        s,
        "refresh_keys",
        "oauth.finish_sign_in($1, $2, $3, $4)",
        &[&name, &cb.state, &binding, &responses],
    )
    .await?;
    match (
        res.body["session_token"].as_str(),
        res.body["redirect_to"].as_str(),
    ) {
        (Some(token), Some(to)) if res.status.is_success() => {
            see_other(&with_session_fragment(to, token))
        }
        _ => Err(ErrorPage::from_answer(&res)),
    }
}

/// A request the database described: `{"url", "headers"}`, the URL within the fence.
fn described(what: &Value, allow_private: bool) -> Result<(Url, HeaderMap), String> {
    let url = what["url"]
        .as_str()
        .and_then(|u| Url::parse(u).ok())
        .ok_or("the database described no valid URL")?;
    if !fetch::fetchable(&url, allow_private) {
        return Err(format!(
            "{} is not an https URL on a public address",
            url.host_str().unwrap_or("the URL")
        ));
    }
    let mut headers = HeaderMap::new();
    if let Some(given) = what["headers"].as_object() {
        for (k, v) in given {
            let value = v
                .as_str()
                .and_then(|v| HeaderValue::from_str(v).ok())
                .zip(HeaderName::from_bytes(k.as_bytes()).ok());
            let Some((value, name)) = value else {
                return Err(format!("the database described an invalid header {k:?}"));
            };
            headers.insert(name, value);
        }
    }
    Ok((url, headers))
}

/// The token request's `form`, form-urlencoded.
fn form_body(form: &Value) -> Result<String, String> {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form.as_object().into_iter().flatten() {
        match v {
            Value::String(s) => out.append_pair(k, s),
            Value::Number(_) | Value::Bool(_) => out.append_pair(k, &v.to_string()),
            Value::Null => &mut out,
            _ => return Err(format!("the token request's {k} is not a single value")),
        };
    }
    Ok(out.finish())
}

/// An upstream answer as `finish_sign_in` takes it: the body as JSON, or as a string.
fn body_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// Why a request failed, without its URL (fetch URLs may carry values) but with the cause.
fn reason(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("did not answer within {} s", UPSTREAM_TIMEOUT.as_secs());
    }
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        out = format!("{out}: {cause}");
        source = cause.source();
    }
    out
}

impl SignIn {
    /// The token request, then (with its access token) the fetches: `finish_sign_in`'s
    /// `responses`. An upstream that cannot be reached, or answers too much, is a 502 page;
    /// an upstream error answer is passed on for the database to judge.
    async fn exchange(&self, provider: &str, plan: &Value) -> Result<Value, ErrorPage> {
        let failed = |what: &str, why: String| {
            tracing::warn!(provider, what, error = %why, "upstream sign-in request failed");
            ErrorPage::new(
                StatusCode::BAD_GATEWAY,
                "temporarily_unavailable",
                format!(
                    "Signing in with {provider} failed: its {what} {why}. \
                     Go back to the application and try again later."
                ),
            )
        };
        let request = &plan["token_request"];
        let (url, headers) =
            described(request, self.allow_private).map_err(|e| failed("token endpoint", e))?;
        let form = form_body(&request["form"]).map_err(|e| failed("token endpoint", e))?;
        let post = self
            .http
            .post(url)
            .headers(headers)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form);
        let token = self
            .send(post)
            .await
            .map_err(|e| failed("token endpoint", e))?;
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
            .map_err(|_| failed("token endpoint", "answered an unusable access token".into()))?;
        bearer.set_sensitive(true);
        for fetch in plan["fetch"].as_array().into_iter().flatten() {
            let name = fetch["name"].as_str().unwrap_or_default().to_string();
            let what = format!("{name} endpoint");
            if name.is_empty() {
                return Err(failed(
                    &what,
                    "has no name in the database's description".into(),
                ));
            }
            let (url, mut headers) =
                described(fetch, self.allow_private).map_err(|e| failed(&what, e))?;
            headers.insert(header::AUTHORIZATION, bearer.clone());
            let (status, body) = self
                .send(self.http.get(url).headers(headers))
                .await
                .map_err(|e| failed(&what, e))?;
            responses[name] = json!({"status": status, "body": body});
        }
        Ok(responses)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), String> {
        let res = request.send().await.map_err(reason)?;
        let status = res.status().as_u16();
        let bytes = fetch::read_capped(res, MAX_UPSTREAM)
            .await
            .map_err(|e| format!("answered a body {e}"))?;
        Ok((status, body_value(&bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_host_bound_and_cross_site_over_https_and_lax_over_http() {
        let https = binding_cookie(true, "b1nd-ing_", 600).unwrap();
        assert_eq!(
            https,
            "__Host-oauth_sign_in=b1nd-ing_; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=None"
        );
        let http = binding_cookie(false, "abc", 60).unwrap();
        assert_eq!(
            http,
            "oauth_sign_in=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        for bad in ["", "a;b", "a b", "a,b", "\"a\"", "é"] {
            assert!(binding_cookie(true, bad, 600).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_issuer_scheme_picks_the_cookie() {
        assert!(is_https("https://auth.example.com"));
        assert!(is_https("HTTPS://auth.example.com/"));
        assert!(!is_https("http://127.0.0.1:8080"));
        assert!(!is_https("https:/x"));
        assert_eq!(cookie_name(true), "__Host-oauth_sign_in");
        assert_eq!(cookie_name(false), "oauth_sign_in");
    }

    #[test]
    fn the_binding_is_read_from_the_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; oauth_sign_in_x=no; oauth_sign_in=yes"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("oauth_sign_in=later"),
        );
        assert_eq!(cookie_value(&h, "oauth_sign_in"), Some("yes"));
        assert_eq!(cookie_value(&h, "__Host-oauth_sign_in"), None);
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("oauth_sign_in="));
        assert_eq!(cookie_value(&h, "oauth_sign_in"), None);
    }

    #[test]
    fn the_session_token_goes_in_the_fragment() {
        assert_eq!(
            with_session_fragment("https://app/consent?authorization_id=abc", "h.p.s"),
            "https://app/consent?authorization_id=abc#session_token=h.p.s"
        );
        // An existing fragment is replaced; odd characters are encoded.
        assert_eq!(
            with_session_fragment("/consent?x=1#old", "a b&c"),
            "/consent?x=1#session_token=a+b%26c"
        );
    }

    #[test]
    fn callbacks_are_parsed_from_query_or_form() {
        let cb = parse_callback(&form::to_json(b"code=c1&state=s1&iss=x")).unwrap();
        assert_eq!(
            cb,
            Callback {
                state: "s1".into(),
                code: Some("c1".into()),
                iss: Some("x".into()),
                ..Callback::default()
            }
        );
        let cb = parse_callback(&form::to_json(
            b"state=s&error=access_denied&error_description=no+thanks&user=%7B%22name%22%3A%7B%7D%7D",
        ))
        .unwrap();
        assert_eq!(cb.error.as_deref(), Some("access_denied"));
        assert_eq!(cb.error_description.as_deref(), Some("no thanks"));
        assert_eq!(cb.user.as_deref(), Some(r#"{"name":{}}"#));
        assert_eq!(cb.code, None);
        for bad in [
            &b"code=c"[..],
            b"state=",
            b"state=a&state=b",
            b"state=a&code=1&code=2",
        ] {
            let e = parse_callback(&form::to_json(bad)).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[test]
    fn provider_names_are_checked_before_the_database_is_asked() {
        for ok in ["google", "a", "ms-work_2", &"x".repeat(32)] {
            assert!(is_provider_name(ok), "{ok}");
        }
        for bad in ["", "Google", "a.b", "a/b", "%2e", &"x".repeat(33), "é"] {
            assert!(!is_provider_name(bad), "{bad}");
        }
    }

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
