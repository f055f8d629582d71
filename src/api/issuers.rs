//! Trusted session issuers: `oauth.add_issuer`, `oauth.update_issuer`, `oauth.remove_issuer`,
//! `oauth.issuers()`; the two functions the front calls when it refreshes an issuer's keys,
//! `oauth.set_issuer_jwks` and `oauth.report_issuer_error`; `oauth.verify_session`, which
//! accepts a user's session token from us or from any trusted issuer; and `oauth.revoke_user`,
//! which refuses a trusted issuer's user's earlier sessions.
//!
//! The database cannot fetch URLs, so the keys arrive through the front (or inline in the
//! options); everything here works on what is stored.

use super::{or_raise, raise, required};
use crate::audit_events::AuditEvent;
use crate::error::{bad_param, Misuse, MisuseError};
use crate::protocol::issuer;
use crate::protocol::issuer_policy::{self, IssuerPolicy};
use crate::services::{sessions, trusted_sessions};
use crate::settings;
use crate::store::{audit, issuers};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn describe(issuer: &str) -> Result<Value, MisuseError> {
    issuers::describe(issuer)?.ok_or_else(|| unknown(issuer))
}

fn unknown(issuer: &str) -> MisuseError {
    MisuseError::new(
        Misuse::NotFound,
        format!("issuer {issuer:?} is not a trusted issuer"),
    )
    .hint("list them with SELECT oauth.issuers()")
}

/// The policy and keys of a validated `options` object; `jwks` is split off (it is stored in
/// its own column) and sanitised.
fn validate(issuer: &str, options: &Value) -> Result<(IssuerPolicy, Option<Value>), MisuseError> {
    // Any spelling of ours: a trusted entry spelt as ours plus `/` (or in capitals, with the
    // default port, …) would have its sessions judged by a policy, not by our keys and `sid`.
    let ours = settings::issuer();
    if issuer::respells(issuer, &ours) {
        return Err(bad_param(format!(
            "{issuer} is this server's own issuer ({ours}) spelt another way; its tokens are always verified with its own keys"
        ))
        .hint("issuers are compared exactly; a trusted issuer is another server"));
    }
    let policy = IssuerPolicy::from_options(issuer, options).map_err(bad_param)?;
    let jwks = match options.get("jwks") {
        None | Some(Value::Null) => None,
        Some(j) => Some(sanitized(j)?),
    };
    check_roles(&policy.allowed_roles)?;
    Ok((policy, jwks))
}

fn sanitized(jwks: &Value) -> Result<Value, MisuseError> {
    let clean = issuer_policy::sanitize_jwks(jwks).map_err(bad_param)?;
    if clean["keys"].as_array().is_none_or(Vec::is_empty) {
        return Err(bad_param(
            "the JWKS has no usable key: asymmetric signing keys with a kid (RSA, EC P-256/P-384, Ed25519)",
        ));
    }
    Ok(clean)
}

/// An issuer must never hand out a role that bypasses RLS: anyone who can get a token from it
/// (every signed-up user) would read every row.
fn check_roles(roles: &[String]) -> Result<(), MisuseError> {
    let privileged = issuers::privileged_roles(roles)?;
    match privileged {
        Some(names) => Err(bad_param(format!(
            "allowed_roles may not include roles that are superusers or bypass RLS: {names}"
        ))),
        None => Ok(()),
    }
}

fn store(policy: &IssuerPolicy, jwks: Option<Value>, insert: bool) -> Result<Value, MisuseError> {
    let stored = issuers::jwks(&policy.issuer)?;
    let has_keys = jwks.is_some()
        || stored
            .as_ref()
            .is_some_and(|j| j["keys"].as_array().is_some_and(|k| !k.is_empty()));
    if !policy.refresh && !has_keys {
        return Err(bad_param(
            "an issuer with refresh false needs its keys: give them in option jwks",
        ));
    }
    let options = policy.to_options();
    let jwks_uri = policy.jwks_uri.clone();
    if insert {
        issuers::register(&policy.issuer, options, jwks, jwks_uri)?;
    } else {
        issuers::update(&policy.issuer, options, jwks, jwks_uri)?;
    }
    describe(&policy.issuer)
}

/// Trusts `issuer`'s session tokens. `options`: audience, audience_claim, shared_keys,
/// user_id_claim, role_claim, default_role, allowed_roles, email_claim, email_verified_claim,
/// required_claims, jwks_uri, jwks, refresh, leeway, enabled (see the README).
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn add_issuer(issuer: Option<&str>, options: default!(Option<JsonB>, "'{}'")) -> JsonB {
    let issuer = or_raise(required(issuer, "issuer"));
    let options = options.map(|o| o.0).unwrap_or(json!({}));
    let exists = or_raise(issuers::exists(issuer));
    if exists {
        raise(
            bad_param(format!("issuer {issuer} is already trusted"))
                .hint("change it with oauth.update_issuer(issuer, options)"),
        );
    }
    let (policy, jwks) = or_raise(validate(issuer, &options));
    let stored = or_raise(store(&policy, jwks, true));
    or_raise(audit::record(
        AuditEvent::IssuerAdded,
        None,
        None,
        json!({"issuer": issuer, "options": stored["options"]}),
    ));
    JsonB(stored)
}

/// Changes some options of a trusted issuer; the others keep their values.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn update_issuer(issuer: Option<&str>, options: Option<JsonB>) -> JsonB {
    let issuer = or_raise(required(issuer, "issuer"));
    let changes = match options.map(|o| o.0) {
        Some(Value::Object(o)) => o,
        _ => raise(bad_param("options must be a JSON object")),
    };
    let current = or_raise(
        issuers::options_for_update(issuer).and_then(|o| o.ok_or_else(|| unknown(issuer))),
    );
    let mut merged = current;
    for (k, v) in changes {
        merged[k.as_str()] = v;
    }
    let (policy, jwks) = or_raise(validate(issuer, &merged));
    let stored = or_raise(store(&policy, jwks, false));
    or_raise(audit::record(
        AuditEvent::IssuerUpdated,
        None,
        None,
        json!({"issuer": issuer, "options": stored["options"]}),
    ));
    JsonB(stored)
}

/// Stops trusting `issuer`: its session tokens are refused from the next call on.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn remove_issuer(issuer: Option<&str>) -> bool {
    let issuer = or_raise(required(issuer, "issuer"));
    if !or_raise(issuers::delete(issuer)) {
        raise(unknown(issuer));
    }
    or_raise(audit::record(
        AuditEvent::IssuerRemoved,
        None,
        None,
        json!({"issuer": issuer}),
    ));
    true
}

/// Every trusted issuer: its options, key ids, where and when its keys were fetched, the last
/// refresh error, and the discovery URL the front reads.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn issuers() -> JsonB {
    let list = or_raise(issuers::list());
    let with_discovery = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let mut d = d.clone();
            let issuer = d["issuer"].as_str().unwrap_or_default().to_string();
            d["discovery_url"] = json!(issuer_policy::discovery_url(&issuer));
            d
        })
        .collect();
    JsonB(Value::Array(with_discovery))
}

/// Stores keys the front fetched from `jwks_uri` for `issuer`. Only public signing keys with a
/// `kid` are kept; a set with none is refused and the stored keys stay.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn set_issuer_jwks(issuer: Option<&str>, jwks: Option<JsonB>, jwks_uri: Option<&str>) -> JsonB {
    let issuer = or_raise(required(issuer, "issuer"));
    let jwks_uri = or_raise(required(jwks_uri, "jwks_uri"));
    or_raise(issuer_policy::check_url("jwks_uri", jwks_uri).map_err(bad_param));
    let Some(JsonB(jwks)) = jwks else {
        raise(bad_param("jwks must not be NULL"))
    };
    let clean = or_raise(sanitized(&jwks));
    if !or_raise(issuers::store_jwks(issuer, clean, jwks_uri)) {
        raise(unknown(issuer));
    }
    JsonB(or_raise(describe(issuer)))
}

/// Records why the last refresh of `issuer`'s keys failed; the stored keys stay in use.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn report_issuer_error(issuer: Option<&str>, error: Option<&str>) {
    let issuer = or_raise(required(issuer, "issuer"));
    let error: String = error
        .unwrap_or("unknown error")
        .chars()
        .take(1000)
        .collect();
    if !or_raise(issuers::record_error(issuer, &error)) {
        raise(unknown(issuer));
    }
}

/// The normalised claims of a valid user session token (`sub`, `role`, `iss`, `aud`, `email`,
/// `email_verified`, …), from us or a trusted issuer; raises SQLSTATE 28000 otherwise, or
/// 42501 for an access or ID token of ours.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn verify_session(token: Option<&str>) -> JsonB {
    let token = or_raise(required(token, "token"));
    JsonB(or_raise(sessions::verify_session(token)))
}

/// Revokes user `sub` of trusted issuer `issuer` (whose sessions we cannot end): from now on
/// its sessions issued before now are refused, as tokens and as `request.jwt.claims`; the
/// user's token families and approved requests are revoked and consents withdrawn. Audited
/// (`user_revoked`). A session issued afterwards is accepted again.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn revoke_user(sub: Option<&str>, issuer: Option<&str>) -> JsonB {
    let sub = or_raise(required(sub, "sub"));
    let issuer = or_raise(required(issuer, "issuer"));
    JsonB(or_raise(trusted_sessions::revoke_user(sub, issuer)))
}
