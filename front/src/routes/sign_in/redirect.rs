//! The sign-in routes' redirects: on to the provider, back to the consent page with the
//! session in the fragment.

use crate::http::pages::ErrorPage;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `redirect_to` with the session token in the fragment, which the browser keeps across the
/// redirect and never sends to a server.
pub fn with_session_fragment(redirect_to: &str, token: &str) -> String {
    let base = redirect_to.split('#').next().unwrap_or_default();
    let fragment = form_urlencoded::Serializer::new(String::new())
        .append_pair("session_token", token)
        .finish();
    format!("{base}#{fragment}")
}

/// A 303 to `to`: not cached, and no Referer to wherever it leads.
pub fn see_other(to: &str) -> Result<Response, ErrorPage> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
