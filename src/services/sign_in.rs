//! Upstream sign-in, the relying-party side, in four steps: starting it (here: state, nonce
//! and PKCE bound to the browser), the provider's callback (`sign_in_callback`: the token
//! request the front makes, then the answers it relays), what those answers prove
//! (`protocol::upstream::answers`, pure), and which user they sign in (`sign_in_linking`, with
//! the sign-in hook). This module also holds what every step shares: the provider as loaded,
//! its secrets, the way back to the consent page, and how a refusal is told and audited. The
//! protocol rules are `protocol::upstream`; these modules carry them out against the store.

use crate::audit_events::AuditEvent;
use crate::error::{ApiResult, Failure, Misuse, MisuseError, OAuthError, Then};
use crate::protocol::redirect_uri;
use crate::protocol::upstream::request::{self, Attempt};
use crate::protocol::upstream::Provider;
use crate::protocol::{pkce, secret};
use crate::services::keys;
use crate::settings;
use crate::store::sign_in_providers::{self, StoredProvider};
use crate::store::sign_in_states::{self, NewState};
use crate::store::{audit, authorizations};
use serde_json::{json, Map, Value};

/// How long a sign-in may take, from the button to the callback.
pub const STATE_LIFETIME: i64 = 600;

/// A provider with its validated options.
pub struct Loaded {
    pub provider: Provider,
    pub stored: StoredProvider,
}

/// A provider whose stored options or secrets cannot be used: the administrator's to fix, so
/// raised as misuse rather than answered as an OAuth error.
pub(super) fn misconfigured(name: &str, e: String) -> MisuseError {
    MisuseError::new(
        Misuse::Misconfigured,
        format!("sign-in provider {name}: {e}"),
    )
}

/// The provider `name`, if it exists.
pub fn load(name: &str) -> Result<Option<Loaded>, MisuseError> {
    let Some(stored) = sign_in_providers::find(name)? else {
        return Ok(None);
    };
    let provider =
        Provider::from_options(name, &stored.options).map_err(|e| misconfigured(name, e))?;
    Ok(Some(Loaded { provider, stored }))
}

/// A provider's secrets (`client_secret`, `private_key`), unsealed.
pub fn secrets(name: &str, stored: &StoredProvider) -> Result<Map<String, Value>, MisuseError> {
    let plain = keys::open_secret(
        &keys::secrets_aad(name),
        &stored.secrets,
        stored.secrets_kek_id.as_deref(),
    )?;
    match serde_json::from_slice(&plain) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(misconfigured(
            name,
            "its stored secrets are unreadable".into(),
        )),
    }
}

/// The redirect URI registered upstream: the front's callback route under our issuer.
pub fn redirect_uri_of(p: &Provider) -> String {
    p.redirect_uri
        .clone()
        .unwrap_or_else(|| format!("{}/signin/{}/callback", settings::issuer(), p.name))
}

/// 503 `temporarily_unavailable` while the provider's `what` are not fetched yet; `field`
/// tells the front what to fetch (`refresh_metadata`, `refresh_keys`) before it comes back.
pub(super) fn unavailable(name: &str, what: &str, field: &'static str) -> Failure {
    Failure::OAuthThen(
        OAuthError::TemporarilyUnavailable(format!(
            "the sign-in provider {name}'s {what} have not been fetched yet"
        )),
        Then::Refresh {
            field,
            provider: name.to_string(),
        },
    )
}

fn has_keys(stored: &StoredProvider) -> bool {
    stored.jwks["keys"]
        .as_array()
        .is_some_and(|k| !k.is_empty())
}

/// A browser binding the front sent back, if it is one of ours (else a new one is made).
fn usable_binding(b: Option<&str>) -> Option<&str> {
    b.filter(|b| {
        b.len() == 43
            && b.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    })
}

/// `GET /signin/{provider}`: where to send the browser, and the cookie that binds the attempt.
pub fn begin(name: &str, authorization_id: &str, binding: Option<&str>) -> ApiResult<Value> {
    let loaded = load(name)?
        .filter(|l| l.provider.enabled)
        .ok_or_else(|| OAuthError::NotFound(format!("there is no sign-in provider {name:?}")))?;
    let (p, stored) = (&loaded.provider, &loaded.stored);
    let request = secret::is_authorization_id(authorization_id)
        .then(|| authorizations::lock_pending_by_id(authorization_id))
        .transpose()?
        .flatten()
        .ok_or_else(|| {
            OAuthError::InvalidRequest(
                "the authorization request is unknown, expired or already answered: start again at the application"
                    .into(),
            )
        })?;
    let endpoints = match p.endpoints(stored.discovery.as_ref()) {
        Ok(e) => e,
        Err(_) => return Err(unavailable(name, "discovery document", "refresh_metadata")),
    };
    if p.uses_id_token() && !has_keys(stored) {
        return Err(unavailable(name, "signing keys", "refresh_metadata"));
    }
    let binding = usable_binding(binding)
        .map(String::from)
        .unwrap_or_else(|| secret::random_token(32));
    let state = secret::random_token(32);
    let nonce = secret::random_token(32);
    let verifier = p.pkce.then(|| secret::random_token(32));
    let challenge = verifier.as_deref().map(pkce::s256);
    let redirect_uri = redirect_uri_of(p);
    let url = request::authorization_url(
        p,
        &endpoints,
        &Attempt {
            state: &state,
            nonce: &nonce,
            code_challenge: challenge.as_deref(),
            redirect_uri: &redirect_uri,
            // The client's freshness demands go upstream, where the user actually signs in.
            prompt_login: request
                .prompt
                .as_deref()
                .is_some_and(|p| p.split(' ').any(|v| v == "login")),
            max_age: request.max_age,
        },
    )
    .map_err(|e| misconfigured(name, e))?;
    sign_in_states::insert(NewState {
        state_hash: secret::hash(&state),
        binding_hash: secret::hash(&binding),
        provider: name,
        authorization_id,
        nonce: &nonce,
        code_verifier: verifier.as_deref(),
        redirect_uri: &redirect_uri,
        lifetime_secs: STATE_LIFETIME as f64,
    })?;
    Ok(json!({"redirect_to": url, "browser_binding": binding, "max_age": STATE_LIFETIME}))
}

/// A sign-in refused for what the browser brought (a state, a callback): 400 `invalid_request`.
pub(super) fn refused(m: impl Into<String>) -> Failure {
    OAuthError::InvalidRequest(m.into()).into()
}

/// Every refused sign-in leaves an audit row with its reason.
pub(super) fn audit_refusal(provider: &str, why: &str) -> Result<(), MisuseError> {
    audit::record(
        AuditEvent::SignInRefused,
        None,
        None,
        json!({"provider": provider, "reason": why}),
    )
}

/// The consent page of `authorization_id`, where every sign-in returns, with `extra` query
/// parameters (`sign_in_error`).
pub(super) fn consent_page(
    authorization_id: &str,
    extra: &[(&str, &str)],
) -> Result<String, MisuseError> {
    let consent = settings::consent_url().ok_or_else(|| {
        MisuseError::new(Misuse::Misconfigured, "oauth_server.consent_url is not set")
    })?;
    let mut q = vec![("authorization_id", authorization_id)];
    q.extend_from_slice(extra);
    Ok(redirect_uri::with_query(&consent, &q))
}
