//! Signing keys: `oauth.jwks()`, `oauth.rotate_signing_key(alg)` and `oauth.verify(token)`.
//! The signer and the verification of our tokens are `services::keys`.

use super::{or_raise, raise, required};
use crate::audit_events::AuditEvent;
use crate::model::KeyAlg;
use crate::services::keys;
use crate::store::{audit, signing_keys};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

/// The JSON Web Key Set: every key that may sign now or soon, or did until recently.
#[pg_extern(stable, parallel_safe, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn jwks() -> JsonB {
    JsonB(json!({ "keys": or_raise(signing_keys::jwks()) }))
}

/// Rotates the signing keys: previous is dropped, current becomes previous, next becomes
/// current, and a new next key of `alg` is generated. Returns the kids by status.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn rotate_signing_key(alg: default!(Option<&str>, "'ES256'")) -> JsonB {
    let alg_name = or_raise(required(alg, "alg"));
    let Some(alg) = KeyAlg::parse(alg_name) else {
        raise(
            crate::error::bad_param(format!("unsupported signing algorithm {alg_name:?}"))
                .hint("use ES256, RS256 or EdDSA; symmetric algorithms are not offered"),
        )
    };
    or_raise(keys::rotate(alg));
    let kids = or_raise(signing_keys::kids_by_status()).unwrap_or(json!({}));
    or_raise(audit::record(
        AuditEvent::SigningKeyRotated,
        None,
        None,
        json!({"alg": alg.as_str(), "kids": kids}),
    ));
    JsonB(kids)
}

/// The claims of a valid, unrevoked access token issued by this server; raises SQLSTATE 28000
/// otherwise, or 42501 for our ID tokens and sessions.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn verify(token: Option<&str>) -> JsonB {
    let token = or_raise(required(token, "token"));
    let claims = or_raise(keys::verify_access_token(token));
    // RFC 9449 §7.2: a token bound to a key is no bearer token; only its proof makes it good.
    if claims.get("cnf").is_some() {
        super::raise(crate::error::MisuseError::new(
            crate::error::Misuse::InvalidToken,
            "this access token is bound to a DPoP key (cnf.jkt): check it with oauth.verify_dpop(token, proof, method, url)",
        ));
    }
    JsonB(claims)
}
