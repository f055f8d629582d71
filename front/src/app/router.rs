//! Every route of the front, the CORS rules that apply to them, and the answer for the rest.
//! Handlers live in `routes`, one file per surface.

use crate::app::state::{AppState, St};
use crate::routes::{account, consent, demo, discovery, oauth, sign_in, supabase};
use crate::sql::CallError;
use axum::http::{header, HeaderName, StatusCode};
use axum::routing::{delete, get, post};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};

pub fn router(state: Arc<AppState>, consent_page: bool, demo_login: bool) -> Router {
    // Browsers call these from other origins (SPAs, consent pages): bearer tokens in headers,
    // no cookies, so any origin may.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("dpop"),
        ])
        // A browser client must read the nonce and the challenge (RFC 9449 §8, §7.1).
        .expose_headers([
            HeaderName::from_static("dpop-nonce"),
            header::WWW_AUTHENTICATE,
        ])
        .max_age(Duration::from_secs(600));
    let api = Router::new()
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/par", post(oauth::par))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/oauth/introspect", post(oauth::introspect))
        .route(
            "/oauth/device_authorization",
            post(oauth::device_authorization),
        )
        .route("/oauth/register", post(oauth::register))
        .route(
            "/oauth/userinfo",
            get(oauth::userinfo).post(oauth::userinfo),
        )
        .route("/oauth/authorizations/{id}", get(consent::authorization))
        .route("/oauth/authorizations/{id}/consent", post(consent::consent))
        .route(
            "/oauth/authorizations/{id}/prompt_none_failed",
            post(consent::prompt_none_failed),
        )
        .route(
            "/oauth/grants",
            get(account::grants).delete(account::revoke_grant),
        )
        .route(
            "/oauth/grants/{client_id}",
            delete(account::revoke_grant_path),
        )
        .route(
            "/oauth/sign_in_providers",
            get(move |s: St| consent::sign_in_providers(s, demo_login)),
        )
        .route("/oauth/identities", get(account::identities))
        .route(
            "/oauth/identities/{provider}/{subject}",
            delete(account::unlink_identity),
        )
        .route("/oauth/sign_out", post(account::sign_out))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server/{*issuer_path}",
            get(discovery::metadata_path_inserted),
        )
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route(
            "/.well-known/oauth-protected-resource",
            get(discovery::protected_resource_root),
        )
        .route(
            "/.well-known/oauth-protected-resource/{*path}",
            get(discovery::protected_resource),
        )
        .layer(cors.clone());
    // Browser navigations (no CORS): the answers are redirects and HTML pages.
    let mut app = Router::new()
        .route("/oauth/authorize", get(oauth::authorize))
        .route(
            "/oauth/logout",
            get(oauth::logout_get).post(oauth::logout_post),
        )
        .route("/signin/{name}", get(sign_in::begin))
        .route(
            "/signin/{name}/callback",
            get(sign_in::callback_get).post(sign_in::callback_post),
        )
        .route("/healthz", get(discovery::healthz))
        .merge(api);
    if consent_page {
        app = app.route("/consent", get(consent::page));
    }
    if demo_login {
        app = app
            // A consent page on another origin (examples/supabase-consent) signs in here too.
            .route("/demo/session", post(demo::session).layer(cors))
            .route("/callback", get(demo::callback));
    }
    app.nest("/auth/v1", supabase::router())
        .fallback(|| async {
            CallError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .with_state(state)
}
