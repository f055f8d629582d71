//! What the tests of every caller share: one call per caller, and the error each channel
//! must give.

use super::{validate, Caller, ClientMetadata, Invalid};
use crate::error::{Misuse, MisuseError, OAuthError};
use serde_json::{json, Value};

pub(super) const CB: &str = "https://app.example/cb";

pub(super) fn create(args: Value) -> Result<ClientMetadata, Invalid> {
    validate(&args, Caller::Create)
}

/// The message of an administrator's error, which must be 22023 (InvalidParameter).
pub(super) fn misuse(r: Result<ClientMetadata, Invalid>) -> MisuseError {
    match r {
        Err(Invalid::Misuse(e)) => {
            assert_eq!(e.kind, Misuse::InvalidParameter, "{e:?}");
            e
        }
        other => panic!("expected misuse, got {other:?}"),
    }
}

pub(super) fn oauth(r: Result<ClientMetadata, Invalid>) -> OAuthError {
    match r {
        Err(Invalid::OAuth(e)) => e,
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub(super) fn stored() -> ClientMetadata {
    create(
        json!({"name": "App", "redirect_uris": [CB], "scopes": ["openid"],
        "client_uri": "https://app.example/", "logo_uri": "https://app.example/l.png"}),
    )
    .unwrap()
}

pub(super) fn update(changes: Value) -> Result<ClientMetadata, Invalid> {
    validate(&changes, Caller::Update(&stored()))
}

pub(super) fn default_allowed() -> Vec<String> {
    strings(&["authorization_code", "refresh_token"])
}

pub(super) fn known() -> Vec<String> {
    strings(&["openid", "profile", "offline_access", "api:read"])
}

pub(super) fn register(md: Value) -> Result<ClientMetadata, Invalid> {
    let allowed = default_allowed();
    let known = known();
    validate(
        &md,
        Caller::Registration {
            allowed_grant_types: &allowed,
            known_scopes: &known,
        },
    )
}

pub(super) const DOC_URL: &str = "https://app.example/oauth/client.json";

pub(super) fn document(doc: Value) -> Result<ClientMetadata, Invalid> {
    document_at(DOC_URL, doc)
}

pub(super) fn document_at(url: &str, doc: Value) -> Result<ClientMetadata, Invalid> {
    validate(&doc, Caller::MetadataDocument { client_id: url })
}
