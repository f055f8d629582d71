//! What the browser brings to the sign-in routes: the provider's name, the parameters of the
//! provider's answer at the callback. Refusals are pages: a browser is on these routes.

use crate::http::pages::ErrorPage;
use axum::http::StatusCode;
use serde_json::Value;

/// Provider names as `oauth.add_sign_in_provider` accepts them: anything else is no provider,
/// answered without asking the database.
fn is_provider_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

pub fn no_such_provider(name: &str) -> Result<(), ErrorPage> {
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

pub fn bad_request(description: &str) -> ErrorPage {
    ErrorPage::new(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// One parameter: absent, or given once (a repeated one is refused, as everywhere).
pub fn single(params: &Value, name: &str) -> Result<Option<String>, ErrorPage> {
    match &params[name] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(bad_request(&format!("{name} was given more than once"))),
    }
}

/// What the provider sent back to the callback (query, or Apple's form_post body).
#[derive(Debug, Default, PartialEq)]
pub struct Callback {
    pub state: String,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// Apple's `user` (a JSON string with the name, on the first sign-in only).
    pub user: Option<String>,
    /// RFC 9207: who sent the response; the database checks it before the code is used.
    pub iss: Option<String>,
}

pub fn parse_callback(params: &Value) -> Result<Callback, ErrorPage> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use oauth_core::form;

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
}
