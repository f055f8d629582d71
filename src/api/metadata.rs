//! `oauth.metadata()`: the authorization server metadata (RFC 8414), which is also the OpenID
//! Connect discovery document. Endpoints are the front's routes under the issuer URL.

use super::or_raise;
use crate::error::MisuseError;
use crate::model::GrantType;
use crate::protocol::user_claims;
use crate::services::keys::current_signer;
use crate::settings;
use crate::store::{scopes, signing_keys};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];
/// Where a client authenticates but a public client has nothing to present (introspection).
const CONFIDENTIAL_AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

fn document() -> Result<Value, MisuseError> {
    let issuer = settings::issuer();
    let url = |path: &str| format!("{issuer}{path}");
    // Creates the first keys if none exist yet, so the algorithms listed are real.
    current_signer()?;
    let algs = signing_keys::signing_algs()?;
    let mut claims = vec![
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "at_hash",
        "azp",
        "sid",
    ];
    claims.extend(user_claims::all());
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": url("/oauth/authorize"),
        "token_endpoint": url("/oauth/token"),
        "jwks_uri": url("/.well-known/jwks.json"),
        "userinfo_endpoint": url("/oauth/userinfo"),
        "revocation_endpoint": url("/oauth/revoke"),
        "introspection_endpoint": url("/oauth/introspect"),
        "device_authorization_endpoint": url("/oauth/device_authorization"),
        "pushed_authorization_request_endpoint": url("/oauth/par"),
        "require_pushed_authorization_requests": settings::require_pushed_authorization_requests(),
        "end_session_endpoint": url("/oauth/logout"),
        "scopes_supported": scopes::known()?,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GrantType::names(),
        "subject_types_supported": ["public", "pairwise"],
        // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens carry sid.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": CONFIDENTIAL_AUTH_METHODS,
        // RFC 7523 client assertions: asymmetric algorithms only (never none or HS*).
        "token_endpoint_auth_signing_alg_values_supported": crate::protocol::dpop::ALGS,
        "revocation_endpoint_auth_signing_alg_values_supported": crate::protocol::dpop::ALGS,
        "introspection_endpoint_auth_signing_alg_values_supported": crate::protocol::dpop::ALGS,
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": crate::protocol::dpop::ALGS,
        "claims_supported": claims,
        "prompt_values_supported": ["none", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "client_id_metadata_document_supported": settings::client_metadata_documents(),
    });
    if settings::dynamic_registration() {
        doc["registration_endpoint"] = json!(url("/oauth/register"));
    }
    Ok(doc)
}

/// RFC 8414 / OpenID Connect Discovery 1.0 metadata.
#[pg_extern(volatile, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn metadata() -> JsonB {
    JsonB(or_raise(document()))
}
