//! Upstream sign-in, the relying-party side: start (state, nonce, PKCE bound to the browser),
//! describe the token request the front makes, then judge what came back and sign the user in.
//! The protocol rules are `protocol::upstream`; this carries them out against the store.

use crate::api::ApiResult;
use crate::error::{Misuse, MisuseError, OAuthError};
use crate::protocol::issuer_policy::sanitize_jwks;
use crate::protocol::redirect_uri;
use crate::protocol::upstream::identity::{self, Expected, Identity};
use crate::protocol::upstream::request::{self, Attempt};
use crate::protocol::upstream::{self, apple, callback, Provider};
use crate::protocol::{jws, pkce, secret, token_kind};
use crate::services::{keys, sessions};
use crate::settings;
use crate::store::sign_in_providers::{self, StoredProvider};
use crate::store::sign_in_states::{self, NewState, State};
use crate::store::{accounts, audit, authorizations, db};
use serde_json::{json, Map, Value};
use subtle::ConstantTimeEq;

/// How long a sign-in may take, from the button to the callback.
pub const STATE_LIFETIME: i64 = 600;
/// How old an ID token may be when it reaches us: it is minted for this very sign-in.
const ID_TOKEN_MAX_AGE: i64 = 600;

/// A provider with its validated options.
pub struct Loaded {
    pub provider: Provider,
    pub stored: StoredProvider,
}

fn misconfigured(name: &str, e: String) -> MisuseError {
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

fn unavailable(name: &str, what: &str, field: &str) -> ApiResult<Value> {
    crate::api::set_response_status(503);
    Ok(json!({
        "error": "temporarily_unavailable",
        "error_description": format!("the sign-in provider {name}'s {what} have not been fetched yet"),
        field: name,
    }))
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
        Err(_) => return unavailable(name, "discovery document", "refresh_metadata"),
    };
    if p.uses_id_token() && !has_keys(stored) {
        return unavailable(name, "signing keys", "refresh_metadata");
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

fn refused(m: impl Into<String>) -> crate::api::Failure {
    OAuthError::InvalidRequest(m.into()).into()
}

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

fn audit_refusal(provider: &str, why: &str) -> Result<(), MisuseError> {
    audit::record(
        "sign_in_refused",
        None,
        None,
        json!({"provider": provider, "reason": why}),
    )
}

fn consent_page(authorization_id: &str, extra: &[(&str, &str)]) -> Result<String, MisuseError> {
    let consent = settings::consent_url().ok_or_else(|| {
        MisuseError::new(Misuse::Misconfigured, "oauth_server.consent_url is not set")
    })?;
    let mut q = vec![("authorization_id", authorization_id)];
    q.extend_from_slice(extra);
    Ok(redirect_uri::with_query(&consent, &q))
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

/// A response the front relayed: its body if the status was 200.
fn ok_body<'a>(responses: &'a Value, name: &str) -> Option<&'a Value> {
    let r = responses.get(name)?;
    (r.get("status").and_then(Value::as_i64) == Some(200)).then(|| &r["body"])
}

/// The outcome of judging the upstream answers.
enum Judged {
    Identity(Identity, String),
    UnknownKey,
}

fn judge(loaded: &Loaded, s: &State, responses: &Value) -> Result<Judged, String> {
    let (p, stored) = (&loaded.provider, &loaded.stored);
    let token = ok_body(responses, "token").ok_or_else(|| {
        let r = &responses["token"];
        let err = r["body"]["error"].as_str().unwrap_or("no usable answer");
        format!(
            "the provider's token endpoint refused the code ({} {err})",
            r["status"]
        )
    })?;
    // GitHub answers errors with 200.
    if let Some(e) = token.get("error").and_then(Value::as_str) {
        return Err(format!(
            "the provider's token endpoint refused the code ({e})"
        ));
    }
    if p.uses_id_token() {
        let id_token = token
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or("the provider's token response has no id_token")?;
        let (kid, alg) = jws::peek_external_header(id_token)?;
        let Some(jwk) = stored.jwks["keys"]
            .as_array()
            .and_then(|k| k.iter().find(|k| k["kid"].as_str() == Some(kid.as_str())))
        else {
            return Ok(Judged::UnknownKey);
        };
        let claims = jws::verify_with(id_token, jwk, alg, None, settings::clock_skew())?;
        identity::check_id_token(
            p,
            &claims,
            &Expected {
                nonce: &s.nonce,
                now: db::now_epoch().map_err(|e| e.message)?,
                leeway: settings::clock_skew() as i64,
                max_age: ID_TOKEN_MAX_AGE,
            },
        )?;
        let mut id = identity::from_id_token(p, &claims)?;
        if let Some(userinfo) =
            ok_body(responses, "userinfo").filter(|_| p.kind == crate::model::SignInKind::Oidc)
        {
            identity::complete_from_userinfo(&mut id, userinfo);
        }
        if p.kind == crate::model::SignInKind::Apple {
            let first = identity::apple_first_name(responses["apple_user"].as_str());
            for (k, v) in first {
                id.profile.entry(k).or_insert(v);
            }
        }
        let iss = claims["iss"].as_str().unwrap_or_default().to_string();
        return Ok(Judged::Identity(id, iss));
    }
    let base = p.api_base.clone().unwrap_or_default();
    match p.kind {
        crate::model::SignInKind::Github => {
            let user = ok_body(responses, "user").ok_or("GitHub's user API did not answer")?;
            let emails = ok_body(responses, "emails").cloned().unwrap_or(json!([]));
            Ok(Judged::Identity(
                identity::from_github(user, &emails)?,
                base,
            ))
        }
        _ => {
            let profile = ok_body(responses, "profile")
                .or_else(|| token.get("profile"))
                .ok_or("WorkOS did not answer with a profile")?;
            Ok(Judged::Identity(identity::from_workos(p, profile)?, base))
        }
    }
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

/// Who signed in.
struct User {
    id: String,
    email: Option<String>,
    email_verified: bool,
    profile: Value,
    new: bool,
    /// Session claims the sign-in hook added.
    extra: Map<String, Value>,
}

enum LinkError {
    Refused(String),
    Misuse(MisuseError),
}

impl From<MisuseError> for LinkError {
    fn from(e: MisuseError) -> Self {
        LinkError::Misuse(e)
    }
}

/// Claims a hook may not put in a session: they make it ours, or another kind of token.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "sid",
    "scope",
    "session_id",
    "role",
    "idp",
    "auth_time",
];

/// The user of identity `id`: the one it is linked to, else the one with its verified email
/// (when linking is on), else a new one; then the sign-in hook's say. Nothing is written
/// before every refusal has had its chance.
fn link(p: &Provider, issuer: &str, id: &Identity) -> Result<User, LinkError> {
    let existing = accounts::find_identity(&p.name, issuer, &id.subject)?;
    if existing.as_ref().is_some_and(|o| o.disabled) {
        return Err(LinkError::Refused("this user is disabled".into()));
    }
    let mut user_id = existing.map(|o| o.user_id);
    let mut linked_by_email = false;
    if user_id.is_none() && settings::link_verified_email() && id.email_verified {
        // ASCII only: lower() under the database's collation folds other characters too (the
        // Kelvin sign is a k), and an address that merely looks like another must not link.
        if let Some(email) = id.email.as_ref().filter(|e| e.is_ascii()) {
            let matches = accounts::users_with_verified_email(email)?;
            if matches.len() == 1 {
                user_id = matches.into_iter().next();
                linked_by_email = true;
            }
        }
    }
    let profile = Value::Object(id.profile.clone());
    let mut extra = Map::new();
    if let Some(hook) = settings::sign_in_hook() {
        let arg = json!({
            "provider": p.name, "kind": p.kind,
            "identity": {"issuer": issuer, "subject": id.subject, "email": id.email,
                         "email_verified": id.email_verified, "profile": profile,
                         "details": id.details},
            "user": {"id": user_id, "new": user_id.is_none(), "linked_by_email": linked_by_email},
        });
        let out = db::call_jsonb_function(&hook, "oauth_server.sign_in_hook", arg)?;
        if out.get("allow") == Some(&Value::Bool(false)) {
            let reason = out["reason"]
                .as_str()
                .unwrap_or("the application refused this user");
            return Err(LinkError::Refused(reason.chars().take(200).collect()));
        }
        match out.get("sub") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => {
                user_id = Some(s.clone())
            }
            Some(_) => {
                return Err(LinkError::Misuse(MisuseError::new(
                    Misuse::Misconfigured,
                    "oauth_server.sign_in_hook returned a sub that is not a string of 1 to 255 characters",
                )))
            }
        }
        if let Some(c) = out.get("claims").and_then(Value::as_object) {
            for (k, v) in c {
                if RESERVED.contains(&k.as_str()) || token_kind::KIND_CLAIMS.contains(&k.as_str()) {
                    return Err(LinkError::Misuse(MisuseError::new(
                        Misuse::Misconfigured,
                        format!("oauth_server.sign_in_hook may not set the session claim {k}"),
                    )));
                }
                extra.insert(k.clone(), v.clone());
            }
        }
    }
    // A user the hook named may be disabled: refused before anything is written.
    if let Some(id) = &user_id {
        if accounts::is_disabled(id)? {
            return Err(LinkError::Refused("this user is disabled".into()));
        }
    }
    let new = user_id.is_none();
    let uid = accounts::ensure_user(
        user_id.as_deref(),
        id.email.as_deref(),
        id.email_verified,
        &profile,
    )?;
    let merged = accounts::upsert_identity(accounts::IdentityRow {
        provider: &p.name,
        issuer,
        subject: &id.subject,
        user_id: &uid,
        email: id.email.as_deref(),
        email_verified: id.email_verified,
        profile,
        details: Value::Object(id.details.clone()),
    })?;
    let signed = accounts::sign_in_user(&uid, id.email.as_deref(), id.email_verified, &merged)?
        .ok_or_else(|| crate::error::internal("the user vanished during its sign-in"))?;
    if signed.disabled {
        return Err(LinkError::Refused("this user is disabled".into()));
    }
    Ok(User {
        id: signed.id,
        email: signed.email,
        email_verified: signed.email_verified,
        profile: signed.profile,
        new,
        extra,
    })
}

/// Stores a provider's fetched discovery document and keys, after checking them.
pub fn store_metadata(
    name: &str,
    discovery: Option<&Value>,
    jwks: &Value,
) -> Result<Value, MisuseError> {
    let loaded = load(name)?.ok_or_else(|| {
        MisuseError::new(
            Misuse::NotFound,
            format!("there is no sign-in provider {name:?}"),
        )
    })?;
    let bad = |e: String| crate::error::bad_param(format!("sign-in provider {name}: {e}"));
    let discovery = match (loaded.provider.kind, discovery) {
        (crate::model::SignInKind::Oidc, Some(d)) => {
            Some(upstream::accept_discovery(&loaded.provider, d).map_err(bad)?)
        }
        (crate::model::SignInKind::Oidc, None) => {
            return Err(bad("an OpenID provider needs its discovery document".into()))
        }
        _ => None,
    };
    let clean = sanitize_jwks(jwks).map_err(bad)?;
    if loaded.provider.uses_id_token() && clean["keys"].as_array().is_none_or(Vec::is_empty) {
        return Err(bad("the JWKS has no usable signing key".into()));
    }
    let kids: Vec<Value> = clean["keys"]
        .as_array()
        .map(|k| k.iter().map(|k| k["kid"].clone()).collect())
        .unwrap_or_default();
    sign_in_providers::store_metadata(name, discovery, clean)?;
    Ok(json!({"name": name, "key_ids": kids}))
}
