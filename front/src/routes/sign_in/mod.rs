//! Sign-in with an upstream identity provider (docs/sign-in-contract.md, steps 3–5). The
//! database decides every URL, parameter and outcome; the front moves bytes: it keeps the
//! browser-binding cookie (`cookie`), has the token request and profile fetches the database
//! describes performed (`fetch::sign_in_exchange`), fetches the provider's metadata when the
//! database finds it missing (`fetch::provider_metadata`), and hands the answers back. Errors
//! are small HTML pages: a browser is on these routes.
//!
//! A provider whose metadata or keys cannot be fetched is answered with the cause: 502
//! `server_error` when no retry can cure it (the fence refused its address or scheme, its
//! certificate is not trusted, it answered 404 or not JSON…), 503 `temporarily_unavailable`
//! with `Retry-After` (until the next fetch may be made) when it may pass (a timeout, a
//! refused connection, a 5xx). See `fetch::failure` for the rule.

mod cookie;
mod params;
mod redirect;

use crate::app::state::{AppState, St};
use crate::fetch::failure::Failure;
use crate::fetch::on_demand::Refreshed;
use crate::http::extract::body_params;
use crate::http::pages::ErrorPage;
use crate::sql::{self, SqlResponse};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use oauth_core::form;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;

type Page = Result<Response, ErrorPage>;

/// Calls `call`; when it answers 503 naming a provider under `marker` (metadata or keys
/// missing), refreshes that provider (at most once a minute) and calls once more, or says why
/// the provider could not be fetched.
async fn call_with_refresh(
    s: &AppState,
    marker: &str,
    call: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<SqlResponse, ErrorPage> {
    let since = Instant::now();
    let res = sql::call(&s.pool, call, args).await?;
    if res.status == StatusCode::SERVICE_UNAVAILABLE {
        if let Some(provider) = res.body[marker].as_str() {
            match s.providers.refresh_after(provider, since).await {
                Refreshed::Retry => return Ok(sql::call(&s.pool, call, args).await?),
                Refreshed::NotNow => {}
                Refreshed::Failed { cause, retry_in } => {
                    return Err(not_fetched(provider, &cause, retry_in))
                }
            }
        }
    }
    Ok(res)
}

/// The page for a provider whose metadata or keys could not be fetched, logged with the same
/// cause: 502 when no retry can cure it, else 503 with `Retry-After`.
fn not_fetched(provider: &str, failure: &Failure, retry_in: Duration) -> ErrorPage {
    let permanent = failure.permanent();
    tracing::warn!(provider, error = %failure, permanent, "sign-in refused: the provider's metadata or keys could not be fetched");
    if permanent {
        return ErrorPage::new(
            StatusCode::BAD_GATEWAY,
            "server_error",
            format!(
                "Signing in with {provider} is not possible: its discovery document or keys \
                 could not be fetched: {failure}."
            ),
        );
    }
    let mut page = ErrorPage::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        format!(
            "Signing in with {provider} is not possible right now: its discovery document or \
             keys could not be fetched: {failure}. Try again in a minute."
        ),
    );
    page.retry_after = Some(retry_in.as_secs().max(1));
    page
}

/// The page for a failed token request or profile fetch, logged with the same cause: 502,
/// `server_error` when no retry can cure it, else `temporarily_unavailable`.
fn exchange_failed(provider: &str, failure: &Failure) -> ErrorPage {
    let permanent = failure.permanent();
    tracing::warn!(provider, error = %failure, permanent, "upstream sign-in request failed");
    let (error, next) = if permanent {
        ("server_error", "")
    } else {
        (
            "temporarily_unavailable",
            " Go back to the application and try again later.",
        )
    };
    ErrorPage::new(
        StatusCode::BAD_GATEWAY,
        error,
        format!(
            "Signing in with {provider} failed at its {}: {}.{next}",
            failure.what, failure.cause
        ),
    )
}

/// `GET /signin/{name}?authorization_id=…`: to the provider, with the binding cookie set.
pub async fn begin(
    State(s): St,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Page {
    params::no_such_provider(&name)?;
    let query = form::to_json(q.unwrap_or_default().as_bytes());
    let authorization_id = params::single(&query, "authorization_id")?
        .ok_or_else(|| params::bad_request("authorization_id is required"))?;
    let https = s.public_url.https(&s.pool).await?;
    let binding = cookie::cookie_value(&headers, cookie::cookie_name(https));
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
    let cookie = cookie::binding_cookie(https, value, max_age).ok_or_else(|| {
        ErrorPage::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the database answered an invalid browser binding",
        )
    })?;
    let mut res = redirect::see_other(to)?;
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(res)
}

/// `GET /signin/{name}/callback?code&state…`.
pub async fn callback_get(
    State(s): St,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Page {
    let query = form::to_json(q.unwrap_or_default().as_bytes());
    callback(&s, &name, &headers, &query).await
}

/// `POST /signin/{name}/callback`: `response_mode=form_post` (Apple).
pub async fn callback_post(
    State(s): St,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Page {
    let form = body_params(&headers, &body)?;
    callback(&s, &name, &headers, &form).await
}

async fn callback(s: &AppState, name: &str, headers: &HeaderMap, answer: &Value) -> Page {
    params::no_such_provider(name)?;
    let cb = params::parse_callback(answer)?;
    let https = s.public_url.https(&s.pool).await?;
    let binding = cookie::cookie_value(headers, cookie::cookie_name(https));
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
            return redirect::see_other(to);
        }
        return Err(ErrorPage::from_answer(&plan));
    }
    let mut responses = s
        .sign_in_exchange
        .exchange(&plan.body)
        .await
        .map_err(|failure| exchange_failed(name, &failure))?;
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
            redirect::see_other(&redirect::with_session_fragment(to, token))
        }
        _ => Err(ErrorPage::from_answer(&res)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::failure::Cause;
    use axum::response::IntoResponse;

    #[test]
    fn a_provider_that_cannot_be_fetched_for_good_is_a_502_naming_why_without_retry_after() {
        let refused = Failure::new(
            "http://127.0.0.1:5/.well-known/openid-configuration",
            Cause::LoopbackHttp,
        );
        let page = not_fetched("op", &refused, Duration::from_secs(60));
        assert_eq!(page.status, StatusCode::BAD_GATEWAY);
        assert_eq!(page.error, "server_error");
        assert!(
            page.description.contains("--allow-private-fetch"),
            "{}",
            page.description
        );
        assert!(
            page.description.contains("http://127.0.0.1:5/"),
            "{}",
            page.description
        );
        let res = page.into_response();
        assert!(res.headers().get(header::RETRY_AFTER).is_none());
        let untrusted = Cause::Tls {
            detail: "invalid peer certificate: UnknownIssuer".into(),
            untrusted: true,
        };
        let page = not_fetched(
            "op",
            &Failure::new("https://idp/", untrusted),
            Duration::ZERO,
        );
        assert_eq!(page.status, StatusCode::BAD_GATEWAY);
        assert!(
            page.description.contains("--fetch-ca-file"),
            "{}",
            page.description
        );
    }

    #[test]
    fn a_provider_that_may_come_back_is_a_503_with_retry_after_until_the_next_fetch() {
        let slow = Failure::new("https://idp/jwks", Cause::Timeout(Duration::from_secs(5)));
        let page = not_fetched("op", &slow, Duration::from_secs(42));
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(page.error, "temporarily_unavailable");
        assert!(
            page.description.contains("did not answer within 5 s"),
            "{}",
            page.description
        );
        let res = page.into_response();
        assert_eq!(res.headers()[header::RETRY_AFTER], "42");
    }

    #[test]
    fn a_failed_exchange_says_where_and_why() {
        let private = Failure::new("token endpoint", Cause::PrivateAddress);
        let page = exchange_failed("op", &private);
        assert_eq!(
            (page.status, page.error.as_str()),
            (StatusCode::BAD_GATEWAY, "server_error")
        );
        assert!(
            page.description.contains("failed at its token endpoint"),
            "{}",
            page.description
        );
        assert!(
            page.description.contains("--allow-private-fetch"),
            "{}",
            page.description
        );
        let reset = Failure::new(
            "userinfo endpoint",
            Cause::Unreachable("connection reset".into()),
        );
        let page = exchange_failed("op", &reset);
        assert_eq!(page.status, StatusCode::BAD_GATEWAY);
        assert_eq!(page.error, "temporarily_unavailable");
        assert!(
            page.description.contains("try again later"),
            "{}",
            page.description
        );
    }
}
