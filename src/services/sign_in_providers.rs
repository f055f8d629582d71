//! Administration of upstream sign-in providers: options validated by
//! `upstream::Provider`, secrets sealed apart from them, what the front is to fetch.

use crate::audit_events::AuditEvent;
use crate::error::{bad_param, Misuse, MisuseError};
use crate::model::SignInKind;
use crate::protocol::upstream::{self, apple, Provider};
use crate::services::{keys, sign_in};
use crate::store::audit;
use crate::store::sign_in_providers::{self, Written};
use serde_json::{json, Map, Value};

fn unknown(name: &str) -> MisuseError {
    MisuseError::new(
        Misuse::NotFound,
        format!("there is no sign-in provider {name:?}"),
    )
    .hint("list them with SELECT oauth.sign_in_providers()")
}

/// Splits `options` into the public part and the secrets, checking the secrets.
fn split(options: &Value) -> Result<(Value, Map<String, Value>), MisuseError> {
    let mut public = options
        .as_object()
        .cloned()
        .ok_or_else(|| bad_param("options must be a JSON object"))?;
    let mut secrets = Map::new();
    for k in upstream::SECRET_OPTIONS {
        match public.remove(*k) {
            None => {}
            Some(Value::Null) => {
                secrets.insert((*k).into(), Value::Null);
            }
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 16 * 1024 => {
                secrets.insert((*k).into(), json!(s.trim()));
            }
            Some(_) => return Err(bad_param(format!("option {k} must be a non-empty string"))),
        }
    }
    Ok((Value::Object(public), secrets))
}

fn check_secrets(p: &Provider, secrets: &Map<String, Value>) -> Result<(), MisuseError> {
    for k in p.required_secrets() {
        if secrets.get(*k).is_none_or(Value::is_null) {
            return Err(bad_param(format!(
                "kind {} needs option {k} (it is stored encrypted and never shown)",
                p.kind
            )));
        }
    }
    if p.kind == SignInKind::Apple {
        if let Some(pem) = secrets.get("private_key").and_then(Value::as_str) {
            apple::check_key(p.key_id.as_deref().unwrap_or_default(), pem).map_err(bad_param)?;
        }
    }
    Ok(())
}

fn write(
    p: &Provider,
    secrets: &Map<String, Value>,
    insert: bool,
    reset: bool,
) -> Result<Value, MisuseError> {
    let kept: Map<String, Value> = secrets
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let plain = Value::Object(kept).to_string();
    let (sealed, kek_id) = keys::seal_secret(&keys::secrets_aad(&p.name), plain.as_bytes())?;
    let w = Written {
        name: &p.name,
        kind: p.kind.as_str(),
        options: p.to_options(),
        secrets: sealed,
        kek_id,
    };
    if insert {
        sign_in_providers::insert(w)?;
    } else {
        sign_in_providers::update(w, reset)?;
    }
    describe(&p.name)
}

/// What `oauth.sign_in_providers()` shows of one provider.
pub fn describe(name: &str) -> Result<Value, MisuseError> {
    sign_in_providers::list(Some(name))?
        .as_array()
        .and_then(|a| a.first().cloned())
        .ok_or_else(|| unknown(name))
}

/// `oauth.add_sign_in_provider`.
pub fn add(name: &str, options: &Value) -> Result<Value, MisuseError> {
    if sign_in_providers::find(name)?.is_some() {
        return Err(bad_param(format!("sign-in provider {name} already exists"))
            .hint("change it with oauth.update_sign_in_provider(name, options)"));
    }
    let (public, secrets) = split(options)?;
    let p = Provider::from_options(name, &public).map_err(bad_param)?;
    check_secrets(&p, &secrets)?;
    let out = write(&p, &secrets, true, false)?;
    audit::record(
        AuditEvent::SignInProviderAdded,
        None,
        None,
        json!({"name": name, "options": out["options"]}),
    )?;
    Ok(out)
}

/// Options that say who the provider is: changing one drops what was fetched for the old one.
const IDENTITY_OPTIONS: &[&str] = &[
    "kind",
    "issuer",
    "authority",
    "tenant",
    "jwks_uri",
    "api_base",
    "web_base",
];

/// `oauth.update_sign_in_provider`: the given options replace the stored ones (`null`
/// removes an option); secrets not given are kept.
pub fn update(name: &str, changes: &Value) -> Result<Value, MisuseError> {
    let stored = sign_in_providers::find_for_update(name)?.ok_or_else(|| unknown(name))?;
    let (public_changes, secret_changes) = split(changes)?;
    let mut merged = stored.options.as_object().cloned().unwrap_or_default();
    for (k, v) in public_changes.as_object().into_iter().flatten() {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    // Defaults filled in at the last write come back as given; a kind change starts over.
    if public_changes
        .get("kind")
        .is_some_and(|k| k != &stored.options["kind"])
    {
        return Err(bad_param(
            "the kind of a provider cannot change: remove it and add a new one",
        ));
    }
    let p = Provider::from_options(name, &Value::Object(merged.clone())).map_err(bad_param)?;
    let mut secrets = sign_in::secrets(name, &stored)?;
    for (k, v) in secret_changes {
        secrets.insert(k, v);
    }
    check_secrets(&p, &secrets)?;
    let reset = IDENTITY_OPTIONS
        .iter()
        .any(|k| stored.options.get(*k) != merged.get(*k));
    let out = write(&p, &secrets, false, reset)?;
    audit::record(
        AuditEvent::SignInProviderUpdated,
        None,
        None,
        json!({"name": name, "options": out["options"]}),
    )?;
    Ok(out)
}

/// `oauth.remove_sign_in_provider`: its identities go with it (their users stay).
pub fn remove(name: &str) -> Result<bool, MisuseError> {
    let removed = sign_in_providers::delete(name)?;
    if removed {
        audit::record(
            AuditEvent::SignInProviderRemoved,
            None,
            None,
            json!({"name": name}),
        )?;
    }
    Ok(removed)
}

/// What the front fetches: discovery documents and keys of enabled providers that need them.
pub fn fetches() -> Result<Value, MisuseError> {
    let mut out = Vec::new();
    for stored in sign_in_providers::all_providers()? {
        let Ok(p) = Provider::from_options(&stored.name, &stored.options) else {
            continue;
        };
        if !p.enabled {
            continue;
        }
        if let Some((discovery_url, jwks_uri)) = p.fetches() {
            out.push(json!({"name": p.name, "discovery_url": discovery_url, "jwks_uri": jwks_uri}));
        }
    }
    Ok(Value::Array(out))
}
