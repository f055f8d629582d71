//! The provider's callback, in two steps. First the browser's return: the state is checked
//! (this provider's, pending, unexpired, this browser's) and the response's RFC 9207 `iss`,
//! and the token request the front is to make is described. Then the answers the front
//! relayed: judged (`protocol::upstream::answers`), linked to a user (`sign_in_linking`, which
//! also asks the sign-in hook), and the user's session started.

use crate::audit_events::AuditEvent;
use crate::error::{ApiResult, Failure, OAuthError, Then};
use crate::protocol::secret;
use crate::protocol::upstream::answers::{self, Attempt, Judged};
use crate::protocol::upstream::callback::{self, StoredState};
use crate::protocol::upstream::{apple, request};
use crate::services::sessions;
use crate::services::sign_in::{
    audit_refusal, consent_page, load, misconfigured, refused, secrets, unavailable,
};
use crate::services::sign_in_linking::{link, LinkError, User};
use crate::settings;
use crate::store::sign_in_states::{self, State};
use crate::store::{audit, db};
use serde_json::{json, Map, Value};

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
    let stored = StoredState {
        provider: &s.provider,
        status: &s.status,
        expired: s.expired,
        binding_hash: &s.binding_hash,
    };
    if let Some(why) = callback::state_refusal(name, &stored, wanted, binding) {
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
        return Err(Failure::OAuthThen(
            OAuthError::AccessDenied(format!("the provider answered {e}: {detail}")),
            Then::GoBack(back),
        ));
    }
    let Some(code) = callback::usable_code(code) else {
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
    let now = db::now_epoch()?;
    let attempt = Attempt {
        nonce: &s.nonce,
        now,
        skew: settings::clock_skew(),
    };
    let (id, issuer) =
        match answers::judge(&loaded.provider, &loaded.stored.jwks, responses, &attempt) {
            Ok(Judged::Identity { identity, issuer }) => (identity, issuer),
            // The state stays `exchanging`: the front refreshes the keys and comes back once.
            Ok(Judged::UnknownKey) => {
                return Err(unavailable(name, "signing keys", "refresh_keys"))
            }
            Err(why) => return fail(why),
        };
    let user = match link(&loaded.provider, &issuer, &id) {
        Ok(u) => u,
        Err(LinkError::Refused(why)) => return fail(why),
        Err(LinkError::Misuse(e)) => return Err(e.into()),
    };
    let auth_time = answers::session_auth_time(id.auth_time, now, attempt.skew);
    let claims = session_claims(name, &user, auth_time);
    let (token, sid) = sessions::start(&user.id, Some(name), claims)?;
    // Unlinking this identity ends the session (accounts::unlink).
    crate::store::sessions::bind_identity(&sid, &issuer, &id.subject)?;
    sign_in_states::set_status(&hash, "done")?;
    audit::record(
        AuditEvent::SignedIn,
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

/// The claims of the session a sign-in with provider `name` starts: the user's email and
/// profile, the provider (`idp`), when the user authenticated (`auth_time`, null when nobody
/// knows), and what the sign-in hook added.
fn session_claims(name: &str, user: &User, auth_time: Option<i64>) -> Value {
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
    claims.insert("auth_time".into(), json!(auth_time));
    for (k, v) in &user.extra {
        claims.insert(k.clone(), v.clone());
    }
    Value::Object(claims)
}
