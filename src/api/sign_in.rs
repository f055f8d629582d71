//! Upstream sign-in, the three calls of the front's `/signin/{provider}` routes
//! (docs/sign-in.md): `oauth.begin_sign_in`, `oauth.sign_in_token_request`,
//! `oauth.finish_sign_in`; and `oauth.sign_in_buttons()` for consent pages.
//!
//! The last two are not PUBLIC: one returns the upstream client secret (for the front to
//! send), and the other believes the upstream answers it is given, which for GitHub and
//! WorkOS carry no signature; only the front, which fetched them over TLS, may call them.

use super::{or_raise, respond};
use crate::services::{sign_in, sign_in_callback};
use crate::store::sign_in_providers;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

/// The enabled providers: `[{name, kind, display_name}]`.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn sign_in_buttons() -> JsonB {
    JsonB(or_raise(sign_in_providers::buttons()))
}

/// Starts a sign-in with `provider` for a pending authorization request: the upstream URL,
/// and the browser binding the front keeps in a cookie.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn begin_sign_in(
    provider: Option<&str>,
    authorization_id: Option<&str>,
    browser_binding: default!(Option<&str>, "NULL"),
) -> JsonB {
    respond(sign_in::begin(
        provider.unwrap_or_default(),
        authorization_id.unwrap_or_default(),
        browser_binding,
    ))
}

/// The callback's first step: checks the state (single use, this browser's, unexpired) and
/// the response's RFC 9207 `iss`, and describes the token request to make upstream.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn sign_in_token_request(
    provider: Option<&str>,
    state: Option<&str>,
    browser_binding: Option<&str>,
    code: Option<&str>,
    error: default!(Option<&str>, "NULL"),
    error_description: default!(Option<&str>, "NULL"),
    iss: default!(Option<&str>, "NULL"),
) -> JsonB {
    crate::api::set_no_store();
    respond(sign_in_callback::token_request(
        provider.unwrap_or_default(),
        state.unwrap_or_default(),
        browser_binding,
        &sign_in_callback::Callback {
            code,
            error,
            error_description,
            iss,
        },
    ))
}

/// The callback's second step: judges the upstream answers (the ID token against the
/// provider's keys, issuer, audience, nonce and age; or GitHub's and WorkOS's APIs), finds
/// or creates the user, and starts their session.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn finish_sign_in(
    provider: Option<&str>,
    state: Option<&str>,
    browser_binding: Option<&str>,
    responses: Option<JsonB>,
) -> JsonB {
    crate::api::set_no_store();
    let responses = responses.map(|r| r.0).unwrap_or(Value::Null);
    respond(sign_in_callback::finish(
        provider.unwrap_or_default(),
        state.unwrap_or_default(),
        browser_binding,
        &responses,
    ))
}
