//! The few HTML pages the front renders itself, for routes a browser navigates to (sign-in,
//! logout) where a JSON error would be a dead end. Every value shown is escaped.

use crate::sql::{CallError, SqlResponse};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// Text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An error shown to the user, with the status the database (or the front) chose.
#[derive(Debug)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub error: String,
    pub description: String,
    /// Where the user may go back to (the consent page), when known.
    pub back: Option<String>,
    /// Seconds for `Retry-After` on a 503 (1 when not said).
    pub retry_after: Option<u64>,
}

impl ErrorPage {
    pub fn new(status: StatusCode, error: &str, description: impl Into<String>) -> ErrorPage {
        ErrorPage {
            status,
            error: error.to_string(),
            description: description.into(),
            back: None,
            retry_after: None,
        }
    }

    /// A function's error answer (`{"error", "error_description", "redirect_to"?}`).
    pub fn from_answer(res: &SqlResponse) -> ErrorPage {
        let body = &res.body;
        let status = if res.status.is_success() || res.status.is_redirection() {
            // A success without the fields the caller needed: the database misbehaved.
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            res.status
        };
        ErrorPage {
            status,
            error: body["error"].as_str().unwrap_or("server_error").to_string(),
            description: body["error_description"]
                .as_str()
                .unwrap_or("the request could not be completed")
                .to_string(),
            back: body["redirect_to"]
                .as_str()
                .filter(|u| is_link(u))
                .map(String::from),
            retry_after: None,
        }
    }
}

/// Only http(s) and same-origin links: never `javascript:` or `data:`.
fn is_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || (url.starts_with('/') && !url.starts_with("//"))
}

impl From<CallError> for ErrorPage {
    fn from(e: CallError) -> ErrorPage {
        ErrorPage::new(e.status, e.error, e.description)
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let back = self
            .back
            .map(|u| format!("<p><a href=\"{}\">Back</a></p>", escape(&u)))
            .unwrap_or_default();
        let body = format!(
            "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
             <title>Something went wrong</title><h1>That did not work</h1><p>{}</p>\
             <p><small>Error: <code>{}</code></small></p>{back}",
            escape(&self.description),
            escape(&self.error),
        );
        let mut res = page(self.status, body);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            let wait = HeaderValue::from(self.retry_after.unwrap_or(1));
            res.headers_mut().insert(header::RETRY_AFTER, wait);
        }
        res
    }
}

/// What `GET /oauth/logout` shows when there is nowhere to send the browser.
pub fn signed_out() -> Response {
    page(
        StatusCode::OK,
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>Signed out</title><h1>You are signed out</h1><p>You can close this window.</p>"
            .to_string(),
    )
}

/// No caching (the pages answer one request), and no Referer to wherever the user goes next.
fn page(status: StatusCode, body: String) -> Response {
    let mut res = (status, Html(body)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn only_web_links_are_offered_back() {
        let answer = |to: &str| SqlResponse {
            status: StatusCode::BAD_REQUEST,
            headers: Vec::new(),
            body: json!({"error": "invalid_request", "redirect_to": to}),
        };
        for ok in [
            "https://app.example/consent?x=1",
            "HTTP://127.0.0.1/c",
            "/consent",
        ] {
            assert_eq!(
                ErrorPage::from_answer(&answer(ok)).back.as_deref(),
                Some(ok)
            );
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "//evil.example/",
            " https://x",
        ] {
            assert_eq!(ErrorPage::from_answer(&answer(bad)).back, None, "{bad}");
        }
    }

    #[test]
    fn an_answer_that_is_not_an_error_is_not_shown_as_a_success() {
        let ok = SqlResponse {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: json!({}),
        };
        let page = ErrorPage::from_answer(&ok);
        assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(page.error, "server_error");
    }
}
