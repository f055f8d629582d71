//! The Supabase Auth surface, under `/auth/v1` (always on): the routes, bodies, statuses and
//! errors that `@supabase/supabase-js`'s `auth.oauth.*`, `auth.admin.oauth.*` and
//! `auth.admin`'s user bans and deletions (`admin_users`) use, mapped onto the same SQL
//! functions as our own routes, and the standard OAuth / OpenID endpoints again, so that one
//! base URL serves both. Handlers only translate (see `shapes`); every decision stays in the
//! database.
//!
//! Credentials: the user routes take the session from `Authorization: Bearer`, verified as our
//! own routes verify it (never an OAuth client's access token, an ID token or a machine token).
//! The admin routes take an administrator key or an administrator's session, from
//! `Authorization: Bearer` (supabase-js sends the key it was created with there) or, when
//! there is no Authorization header, from `apikey`. Otherwise `apikey` identifies a Supabase
//! project to Supabase's gateway and is not a credential: it is accepted and not read.

mod admin;
mod admin_clients;
mod admin_users;
mod errors;
mod shapes;
mod user;

use crate::app::state::AppState;
use crate::routes::{discovery, oauth};
use axum::http::{header, HeaderName};
use axum::routing::{get, post};
use axum::{middleware, Router};
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};

pub fn router() -> Router<Arc<AppState>> {
    // supabase-js sends apikey, X-Client-Info and X-Supabase-Api-Version, and reads Link,
    // X-Total-Count and the version from answers.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("apikey"),
            HeaderName::from_static("x-client-info"),
            HeaderName::from_static("x-supabase-api-version"),
            HeaderName::from_static("x-jwt-aud"),
        ])
        .expose_headers([
            header::LINK,
            HeaderName::from_static("x-total-count"),
            HeaderName::from_static("x-supabase-api-version"),
            HeaderName::from_static("x-sb-error-code"),
        ])
        .max_age(Duration::from_secs(600));
    let supabase = Router::new()
        .route("/oauth/authorizations/{id}", get(user::authorization))
        .route("/oauth/authorizations/{id}/consent", post(user::consent))
        .route(
            "/user/oauth/grants",
            get(user::grants).delete(user::revoke_grant),
        )
        .route("/user", get(user::user))
        .route("/logout", post(user::logout))
        .route("/token", post(user::session_token))
        .route(
            "/admin/oauth/clients",
            get(admin_clients::list_clients).post(admin_clients::create_client),
        )
        .route(
            "/admin/oauth/clients/{id}",
            get(admin_clients::get_client)
                .put(admin_clients::update_client)
                .delete(admin_clients::delete_client),
        )
        .route(
            "/admin/oauth/clients/{id}/regenerate_secret",
            post(admin_clients::regenerate_secret),
        )
        .route(
            "/admin/users/{id}",
            get(admin_users::get_user)
                .put(admin_users::update_user)
                .delete(admin_users::delete_user),
        )
        .layer(middleware::from_fn(errors::error_shape));
    // The standard endpoints, as at the root; their errors stay RFC 6749's.
    let standard = Router::new()
        .route("/oauth/authorize", get(oauth::authorize))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/par", post(oauth::par))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/oauth/introspect", post(oauth::introspect))
        .route(
            "/oauth/device_authorization",
            post(oauth::device_authorization),
        )
        .route("/oauth/register", post(oauth::register))
        .route("/oauth/clients/register", post(oauth::register))
        .route(
            "/oauth/userinfo",
            get(oauth::userinfo).post(oauth::userinfo),
        )
        .route(
            "/.well-known/openid-configuration",
            get(discovery::metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::metadata),
        )
        .route("/.well-known/jwks.json", get(discovery::jwks));
    supabase.merge(standard).layer(cors)
}
