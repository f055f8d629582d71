//! The provider's callback, in two steps. First the browser's return: the state is checked
//! (this provider's, pending, unexpired, this browser's) and the response's RFC 9207 `iss`,
//! and the token request the front is to make is described. Then the answers the front
//! relayed: judged (`sign_in_answers`), linked to a user (`sign_in_linking`), and the user's
//! session started.

use crate::api::ApiResult;
use crate::error::OAuthError;
use crate::protocol::secret;
use crate::protocol::upstream::{apple, callback, request};
use crate::services::sessions;
use crate::services::sign_in::{
    audit_refusal, consent_page, load, misconfigured, refused, secrets, unavailable,
};
use crate::services::sign_in_answers::{judge, Judged};
use crate::services::sign_in_linking::{link, LinkError};
use crate::settings;
use crate::store::sign_in_states::{self, State};
use crate::store::{audit, db};
use serde_json::{json, Map, Value};
use subtle::ConstantTimeEq;

/// The state of a callback, locked, checked against the provider and the browser; `wanted`
/// is the status it must be in. A mismatch fails the state for good.
fn checked_state(
    name: &str,
    state: &str,
    binding: Option<&str>,
    wanted: &str,
) -> ApiResult<(State, [u8; 32])> {
    let hash = secret::hash(state);
    let s = sign_in_states::lock(&hash)?
        .ok_or_else(|| refused("this sign-in is unknown or has expired: start again"))?;
    let same_browser = binding
        .is_some_and(|b| bool::from(secret::hash(b).as_slice().ct_eq(s.binding_hash.as_slice())));
    let problem = if s.provider != name {
        Some("this sign-in was started with another provider")
    } else if s.status != wanted {
        Some("this sign-in was already used: start again")
    } else if s.expired {
        Some("this sign-in has expired: start again")
    } else if !same_browser {
        Some("this sign-in was started in another browser (or its cookie is gone): start again")
    } else {
        None
    };
    if let Some(why) = problem {
        // A bad callback spends a pending state; one being exchanged is left to the request
        // exchanging it (a reload or a double submit must not break it).
        if s.status == "pending" {
            sign_in_states::set_status(&hash, "failed")?;
        }
        audit_refusal(name, why)?;
        return Err(refused(why));
    }
    Ok((s, hash))
}

/// The callback's parameters as the provider sent them.
pub struct Callback<'a> {
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
    pub error_description: Option<&'a str>,
    /// RFC 9207: the issuer that sent the response.
    pub iss: Option<&'a str>,
}

/// The callback's first step: the code (or the provider's error) for the state; answers the
/// token request the front is to make. The response must come from the provider (its `iss`)
/// before its code is sent anywhere.
pub fn token_request(
    name: &str,
    state: &str,
    binding: Option<&str>,
    cb: &Callback,
) -> ApiResult<Value> {
    let (s, hash) = checked_state(name, state, binding, "pending")?;
    let loaded = load(name)?.filter(|l| l.provider.enabled);
    if let Some(l) = &loaded {
        if let Err(why) = callback::check_iss(&l.provider, l.stored.discovery.as_ref(), cb.iss) {
            sign_in_states::set_status(&hash, "failed")?;
            audit_refusal(name, &why)?;
            return Err(refused(why));
        }
    }
    let (code, error, error_description) = (cb.code, cb.error, cb.error_description);
    if let Some(e) = error {
        sign_in_states::set_status(&hash, "failed")?;
        let e: String = e.chars().take(64).collect();
        let detail: String = error_description.unwrap_or("").chars().take(200).collect();
        let back = consent_page(&s.authorization_id, &[("sign_in_error", &e)])?;
        crate::api::set_response_status(400);
        return Ok(json!({
            "error": "access_denied",
            "error_description": format!("the provider answered {e}: {detail}"),
            "redirect_to": back,
        }));
    }
    let Some(code) = code.filter(|c| !c.is_empty() && c.len() <= 4096) else {
        sign_in_states::set_status(&hash, "failed")?;
        return Err(refused("the provider's callback has no code"));
    };
    let loaded = loaded.ok_or_else(|| refused("the provider was removed or disabled"))?;
    let (p, stored) = (&loaded.provider, &loaded.stored);
    let endpoints = p
        .endpoints(stored.discovery.as_ref())
        .map_err(|e| misconfigured(name, e))?;
    let secrets = secrets(name, stored)?;
    let secret = match p.kind {
        crate::model::SignInKind::Apple => {
            let pem = secrets
                .get("private_key")
                .and_then(Value::as_str)
                .ok_or_else(|| misconfigured(name, "its private_key is not set".into()))?;
            apple::client_secret(
                p.team_id.as_deref().unwrap_or_default(),
                p.key_id.as_deref().unwrap_or_default(),
                &p.client_id,
                pem,
                db::now_epoch()?,
            )?
        }
        _ => secrets
            .get("client_secret")
            .and_then(Value::as_str)
            .ok_or_else(|| misconfigured(name, "its client_secret is not set".into()))?
            .to_string(),
    };
    let token = request::token_request(
        p,
        &endpoints,
        code,
        &s.redirect_uri,
        s.code_verifier.as_deref(),
        &secret,
    );
    sign_in_states::set_status(&hash, "exchanging")?;
    let fetch: Vec<Value> = request::follow_ups(p, stored.discovery.as_ref())
        .iter()
        .map(|r| r.to_json())
        .collect();
    Ok(json!({"token_request": token.to_json(), "fetch": fetch}))
}

/// The callback's second step: the upstream answers the front relayed. Signs the user in.
pub fn finish(
    name: &str,
    state: &str,
    binding: Option<&str>,
    responses: &Value,
) -> ApiResult<Value> {
    let (s, hash) = checked_state(name, state, binding, "exchanging")?;
    let loaded = load(name)?
        .filter(|l| l.provider.enabled)
        .ok_or_else(|| refused("the provider was removed or disabled"))?;
    let fail = |why: String| -> ApiResult<Value> {
        sign_in_states::set_status(&hash, "failed")?;
        audit_refusal(name, &why)?;
        Err(OAuthError::AccessDenied(format!("sign-in refused: {why}")).into())
    };
    let (id, issuer) = match judge(&loaded, &s, responses) {
        Ok(Judged::Identity(id, iss)) => (id, iss),
        // The state stays `exchanging`: the front refreshes the keys and comes back once.
        Ok(Judged::UnknownKey) => return unavailable(name, "signing keys", "refresh_keys"),
        Err(why) => return fail(why),
    };
    let user = match link(&loaded.provider, &issuer, &id) {
        Ok(u) => u,
        Err(LinkError::Refused(why)) => return fail(why),
        Err(LinkError::Misuse(e)) => return Err(e.into()),
    };
    let mut claims = Map::new();
    if let Some(e) = &user.email {
        claims.insert("email".into(), json!(e));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    if let Some(p) = user.profile.as_object() {
        for (k, v) in p {
            claims.insert(k.clone(), v.clone());
        }
    }
    claims.insert("idp".into(), json!(name));
    // When the user really authenticated: the provider's auth_time (by its clock: a little
    // ahead is now, far ahead is no evidence). Without one (GitHub and WorkOS never say; an
    // OpenID provider that ignored our max_age) nobody knows: the session is of unknown age,
    // never fresh enough for prompt=login or max_age. It is not now: the provider may have
    // signed the user in silently from a sign-in of months ago.
    let now = db::now_epoch()?;
    let auth_time = id
        .auth_time
        .filter(|t| *t <= now.saturating_add(settings::clock_skew() as i64))
        .map(|t| t.min(now));
    claims.insert("auth_time".into(), json!(auth_time));
    for (k, v) in user.extra {
        claims.insert(k, v);
    }
    let (token, sid) = sessions::start(&user.id, Some(name), Value::Object(claims))?;
    // Unlinking this identity ends the session (accounts::unlink).
    crate::store::sessions::bind_identity(&sid, &issuer, &id.subject)?;
    sign_in_states::set_status(&hash, "done")?;
    audit::record(
        "signed_in",
        None,
        Some(&user.id),
        json!({"provider": name, "new_user": user.new}),
    )?;
    Ok(json!({
        "session_token": token,
        "expires_in": settings::session_token_lifetime(),
        "sub": user.id,
        "redirect_to": consent_page(&s.authorization_id, &[])?,
    }))
}
