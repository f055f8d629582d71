//! Issuing tokens: the access token (with the hook), the ID token (with user claims) and the
//! refresh token of a token family, and the two ways families start (a redeemed code or device
//! code, a client acting for itself) and end (`revoke_family`).

use crate::audit_events::AuditEvent;
use crate::decisions::dpop_binding;
use crate::decisions::grounds::{recheck, Recorded};
use crate::error::{invalid_grant, ApiResult, Misuse, MisuseError};
use crate::model::GrantType;
use crate::protocol::claims::{self, AccessTokenInput, IdTokenInput};
use crate::protocol::{jws, resource, scope, secret, token_kind};
use crate::response::set_no_store;
use crate::services::grounds;
use crate::services::keys::signer_of_current;
use crate::services::pairwise::SubjectClient;
use crate::services::user_claims;
use crate::settings;
use crate::store::clients::Client;
use crate::store::grants::{self, Grant, NewFamily};
use crate::store::{audit, db};
use serde_json::{json, Value};

/// RFC 8693 §3: the token type of an access token, as an exchange names what it issued.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// An approved authorization (a code, or a device request) about to be redeemed.
pub struct Approved<'a> {
    pub id: &'a str,
    pub user_id: Option<&'a str>,
    pub scopes: &'a [String],
    pub resources: &'a [String],
    pub auth_time: Option<i64>,
    pub user_claims: Option<Value>,
    pub nonce: Option<&'a str>,
    /// Where the code was sent (`None` for a device request): still the client's?
    pub redirect_uri: Option<&'a str>,
    /// The grant redeeming it: authorization_code or the device grant.
    pub grant: GrantType,
    /// "authorization code" or "device code", for the error message.
    pub what: &'a str,
}

/// The valid redemption shared by codes and device codes: re-check the approval against
/// today's client, registries and user (narrowing it, or refusing), narrow the audience, start
/// the token family, mark the authorization redeemed by it, issue the tokens.
/// `jkt`: the key the token request proved (DPoP), which the tokens are bound to.
pub fn redeem_approved(
    client: &Client,
    a: Approved,
    requested_resources: &[String],
    jkt: Option<&str>,
) -> ApiResult<Value> {
    let user_id = a
        .user_id
        .ok_or_else(|| invalid_grant(format!("{} has no user", a.what)))?;
    let recorded = |scopes, resources, resources_named| Recorded {
        scopes,
        resources,
        redirect_uri: a.redirect_uri,
        resources_named,
        grant: a.grant,
    };
    let loaded = grounds::load(
        &client.client_id,
        user_id,
        grounds::issuer_of(a.user_claims.as_ref()),
        a.scopes,
        a.resources,
    )?;
    let family = recheck(&recorded(a.scopes, a.resources, false), &loaded.current())?;
    let audience = resource::narrow(requested_resources, a.resources)?;
    let named = !requested_resources.is_empty();
    let audience = recheck(
        &recorded(&family.scopes, &audience, named),
        &loaded.current(),
    )?
    .resources;
    // The family, the redemption and its first refresh token (if the client may refresh) are
    // one statement.
    let refresh_token = client
        .allows_grant(GrantType::RefreshToken)
        .then(|| secret::random_token(secret::TOKEN_BYTES));
    let (grant, current_kid) = grants::start_redeemed(
        NewFamily {
            client_id: &client.client_id,
            user_id,
            scopes: &family.scopes,
            resources: &family.resources,
            grant_type: GrantType::AuthorizationCode,
            auth_time: a.auth_time,
            authorization_id: Some(a.id),
            user_claims: a.user_claims,
        },
        refresh_token
            .as_deref()
            .map(|t| (secret::hash(t), settings::refresh_token_lifetime())),
    )?;
    if let Some(key) = dpop_binding::family_key(!client.is_confidential(), jkt) {
        grants::bind_dpop_key(&grant.id, &key)?;
    }
    let done = Done {
        current_kid,
        refresh_token,
        exchange: None,
    };
    issue_tokens(
        &grant,
        client,
        &family.scopes,
        a.nonce,
        &audience,
        jkt,
        done,
    )
}

/// A family for a client acting for itself (client_credentials): its `sub` is the client.
pub fn start_machine_family(
    client: &Client,
    scopes: &[String],
    resources: &[String],
    jkt: Option<&str>,
) -> ApiResult<Value> {
    let grant = grants::start(NewFamily {
        client_id: &client.client_id,
        user_id: &client.client_id,
        scopes,
        resources,
        grant_type: GrantType::ClientCredentials,
        auth_time: None,
        authorization_id: None,
        user_claims: None,
    })?;
    issue_tokens(
        &grant,
        client,
        scopes,
        None,
        resources,
        jkt,
        Done::default(),
    )
}

/// Revokes a token family: its refresh tokens stop working and `verify` rejects its access
/// tokens. `event` names it in the audit log (code_replayed, refresh_token_reused, …).
pub fn revoke_family(grant_id: &str, event: AuditEvent, reason: &str) -> Result<(), MisuseError> {
    if let Some(g) = grants::revoke(grant_id, reason)? {
        audit::record(
            event,
            Some(&g.client_id),
            Some(&g.user_id),
            json!({"grant_id": grant_id, "reason": reason}),
        )?;
    }
    Ok(())
}

/// What the caller's own statements already did for issuing, to save a round trip each.
#[derive(Default)]
pub struct Done {
    /// The current signing key's id, read with the caller's lookup.
    pub current_kid: Option<String>,
    /// The family's next refresh token, already stored (a rotation).
    pub refresh_token: Option<String>,
    /// A token exchange's result (RFC 8693): its claims and end.
    pub exchange: Option<ExchangeClaims>,
}

/// What an exchanged access token carries beyond a family's: who acts (`act`), who may
/// (`may_act`), and its end, which the subject token's sets (`exp`, epoch seconds). No ID
/// token goes with it: an exchange is not a sign-in.
pub struct ExchangeClaims {
    pub act: Option<Value>,
    pub may_act: Option<Value>,
    pub exp: i64,
}

/// Signs the access token for `audience` (resources; the default audience when empty), an ID
/// token when `openid` is granted, and, if the client may refresh and the grant is a user's,
/// a new refresh token of the family (stored here unless `done` says it is). `jkt`: the key
/// the request proved (DPoP), which the access token is bound to (`cnf.jkt`).
pub fn issue_tokens(
    grant: &Grant,
    client: &Client,
    scopes: &[String],
    nonce: Option<&str>,
    audience: &[String],
    jkt: Option<&str>,
    done: Done,
) -> ApiResult<Value> {
    let signer = signer_of_current(done.current_kid)?;
    let now = db::now_epoch()?;
    let issuer = settings::issuer();
    let lifetime = match &done.exchange {
        // Never past the subject token's end, never a token already expired.
        Some(x) => settings::access_token_lifetime().min(x.exp - now).max(1),
        None => settings::access_token_lifetime(),
    };
    let scope_str = scope::join(scopes);
    // No resource named: this database's own audience.
    let own_audience = audience.is_empty();
    let audience = resource::audience(audience, &settings::default_audience());
    let jti = secret::random_token(16);
    let role = role_of(grant)?;
    // Pairwise clients (OIDC Core §8.1) see the user under their sector's identifier, except
    // in access tokens for this database's own audience, where RLS reads the local one
    // (`oauth.uid()`). A machine's subject is itself.
    let subjects = SubjectClient::of(client)?;
    let user_subject = if grant.grant_type == GrantType::ClientCredentials {
        grant.user_id.clone()
    } else {
        subjects.subject(&grant.user_id)?
    };
    let at_subject = if own_audience {
        grant.user_id.clone()
    } else {
        user_subject.clone()
    };
    let mut at_claims = claims::access_token(&AccessTokenInput {
        issuer: &issuer,
        subject: &at_subject,
        audience: &audience,
        client_id: &grant.client_id,
        scope: &scope_str,
        role: &role,
        session_id: &grant.id,
        jti: &jti,
        now,
        lifetime_secs: lifetime,
    });
    if let Some(key) = jkt {
        at_claims["cnf"] = json!({ "jkt": key });
    }
    if let Some(x) = &done.exchange {
        if let Some(act) = &x.act {
            at_claims["act"] = act.clone();
        }
        if let Some(may_act) = &x.may_act {
            at_claims["may_act"] = may_act.clone();
        }
    }
    if let Some(hook) = settings::access_token_hook() {
        at_claims = run_hook(&hook, grant, scopes, at_claims)?;
    }
    let access_token = signer.sign(token_kind::ACCESS_TYP, &at_claims)?;
    let mut response = json!({
        "access_token": access_token,
        "token_type": dpop_binding::token_type(jkt),
        "expires_in": lifetime,
        "scope": scope_str,
    });
    if done.exchange.is_some() {
        response["issued_token_type"] = json!(ACCESS_TOKEN_TYPE);
    } else if scopes.iter().any(|s| s == "openid") {
        let mut id_claims = claims::id_token(&IdTokenInput {
            issuer: &issuer,
            subject: &user_subject,
            client_id: &grant.client_id,
            auth_time: grant.auth_time,
            nonce,
            at_hash: &jws::at_hash(signer.alg, &access_token),
            now,
            lifetime_secs: lifetime,
        });
        let user = user_claims::for_user(
            &grant.user_id,
            &grant.client_id,
            scopes,
            grant.user_claims.as_ref(),
        )?;
        for (k, v) in user {
            id_claims[k] = v;
        }
        // The first-party session that approved the grant, for RP-initiated logout.
        if let Some(sid) = grant
            .user_claims
            .as_ref()
            .and_then(|c| c.get("sid"))
            .and_then(Value::as_str)
        {
            id_claims["sid"] = json!(subjects.session_id(sid)?);
        }
        response["id_token"] = json!(signer.sign(token_kind::JWT_TYP, &id_claims)?);
    }
    // client_credentials: no user, so nothing to refresh (RFC 6749 §4.4.3); an exchange's
    // refresh token is the exchange's to give (`done.refresh_token`), when its rules say.
    let refreshable = match grant.grant_type {
        GrantType::ClientCredentials | GrantType::TokenExchange => false,
        GrantType::AuthorizationCode | GrantType::RefreshToken | GrantType::DeviceCode => true,
    };
    if let Some(refresh_token) = done.refresh_token {
        response["refresh_token"] = json!(refresh_token);
    } else if refreshable && client.allows_grant(GrantType::RefreshToken) {
        let refresh_token = secret::random_token(secret::TOKEN_BYTES);
        grants::add_refresh_token(
            &grant.id,
            secret::hash(&refresh_token),
            settings::refresh_token_lifetime(),
        )?;
        response["refresh_token"] = json!(refresh_token);
    }
    set_no_store();
    Ok(response)
}

/// The `role` claim: a user's grant gets the signed-in role, a machine's (client_credentials)
/// its own, which may never be the signed-in role: PostgREST would treat the machine as a user.
fn role_of(grant: &Grant) -> Result<String, MisuseError> {
    let user_role = settings::default_role();
    if grant.grant_type != GrantType::ClientCredentials {
        return Ok(user_role);
    }
    let machine_role = settings::client_credentials_role();
    if machine_role == user_role {
        return Err(MisuseError::new(
            Misuse::Misconfigured,
            format!("oauth_server.client_credentials_role is {machine_role:?}, the role of signed-in users"),
        )
        .hint("set it to a role for machines, e.g. CREATE ROLE oauth_machine NOLOGIN; GRANT oauth_machine TO authenticator"));
    }
    Ok(machine_role)
}

/// Calls the configured hook `fn(jsonb) returns jsonb` with the event and validates the result.
fn run_hook(
    hook: &str,
    grant: &Grant,
    scopes: &[String],
    at_claims: Value,
) -> Result<Value, MisuseError> {
    let event = json!({
        "client_id": grant.client_id,
        "user_id": grant.user_id,
        "scopes": scopes,
        "resource": grant.resources.first(),
        "resources": grant.resources,
        "claims": at_claims,
    });
    let result = db::call_jsonb_function(hook, "oauth_server.access_token_hook", event)?;
    claims::apply_hook_result(&at_claims, &result)
}
