//! Resource servers (RFC 8707 allow-list) and their protected resource metadata (RFC 9728):
//! `oauth.add_resource`, `oauth.remove_resource`, `oauth.resources()`,
//! `oauth.protected_resource_metadata(resource)` and its by-path form for the front's
//! `/.well-known/oauth-protected-resource/<path>`.

use super::{or_raise, raise, required};
use crate::audit_events::AuditEvent;
use crate::error::{bad_param, Misuse, MisuseError, OAuthError};
use crate::protocol::{resource, scope};
use crate::settings;
use crate::store::resources::{self as store, Resource};
use crate::store::scopes;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// The scopes a resource advertises: its own list, else every known scope but the OpenID
/// Connect ones (those are about the user, not the resource).
fn scopes_of(row: &Resource) -> Result<Vec<String>, MisuseError> {
    Ok(match &row.scopes {
        Some(s) => s.clone(),
        None => scopes::known()?
            .into_iter()
            .filter(|s| !scope::BUILT_IN.iter().any(|(b, _)| b == s))
            .collect(),
    })
}

/// RFC 9728 metadata for `resource`, or `None` when it is neither registered nor this server's
/// own userinfo resource (the issuer). A database takes its token in SASL OAUTHBEARER (RFC
/// 7628), none of RFC 9728's bearer methods, so its document names none.
fn metadata_document(resource: &str) -> Result<Option<Value>, MisuseError> {
    let issuer = settings::issuer();
    let (name, scopes, methods) = match store::find(resource)? {
        Some(row) if resource::database::is_database_uri(resource) => {
            (row.name.clone(), scopes_of(&row)?, Value::Null)
        }
        Some(row) => (row.name.clone(), scopes_of(&row)?, json!(["header"])),
        // We are a resource server too: userinfo accepts our access tokens.
        None if resource == issuer => (
            None,
            scope::BUILT_IN.iter().map(|(n, _)| n.to_string()).collect(),
            json!(["header", "body"]),
        ),
        None => return Ok(None),
    };
    let mut doc = json!({
        "resource": resource,
        "authorization_servers": [issuer],
    });
    if !methods.is_null() {
        doc["bearer_methods_supported"] = methods;
    }
    if !scopes.is_empty() {
        doc["scopes_supported"] = json!(scopes);
    }
    if let Some(n) = name {
        doc["resource_name"] = json!(n);
    }
    Ok(Some(doc))
}

fn not_a_resource(what: &str) -> MisuseError {
    MisuseError::new(
        Misuse::NotFound,
        format!("{what} is not a resource server of this authorization server"),
    )
    .hint("register it with oauth.add_resource(resource)")
}

/// Registers a resource server: tokens may then be requested for it with `resource`, or through
/// a client's default resources. An https URL, or a database (`postgres://host[:port]/dbname`,
/// one spelling each: `protocol::resource::database`). `scopes`: the scopes its metadata
/// advertises (NULL: every non-OpenID scope).
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn add_resource(
    resource: Option<&str>,
    name: default!(Option<&str>, "NULL"),
    scopes: default!(Option<Vec<Option<String>>>, "NULL"),
) -> JsonB {
    let r = or_raise(required(resource, "resource"));
    let parsed = or_raise(resource::parse(&[r]).map_err(|e| bad_param(e.description())));
    or_raise(resource::check_registrable(r).map_err(|e| {
        bad_param(e).hint(
            "a resource is an https URL (plain http only on loopback) or a database, postgres://host[:port]/dbname",
        )
    }));
    // postgres:// and postgresql:// name the same database: one audience, one spelling.
    if let Some(other) = resource::database::other_spelling(r) {
        if or_raise(store::find(&other)).is_some() {
            raise(
                bad_param(format!("{r} is already registered as {other}"))
                    .hint("tokens name a database by one spelling; use the registered one"),
            );
        }
    }
    let scopes: Option<Vec<String>> = scopes.map(|s| s.into_iter().flatten().collect());
    if let Some(list) = &scopes {
        let known = or_raise(scopes::known());
        if let Some(unknown) = list.iter().find(|s| !known.contains(s)) {
            raise(
                bad_param(format!("unknown scope {unknown:?}")).hint("add it with oauth.set_scope"),
            );
        }
    }
    or_raise(store::add(&parsed[0], name, scopes.clone()));
    or_raise(crate::store::audit::record(
        AuditEvent::ResourceAdded,
        None,
        None,
        json!({"resource": parsed[0], "scopes": scopes}),
    ));
    JsonB(or_raise(metadata_document(&parsed[0])).unwrap_or(Value::Null))
}

/// Stops accepting `resource` in new requests; tokens already issued for it keep their `aud`.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn remove_resource(resource: Option<&str>) -> bool {
    let r = or_raise(required(resource, "resource"));
    if !or_raise(store::remove(r)) {
        raise(not_a_resource(r));
    }
    or_raise(crate::store::audit::record(
        AuditEvent::ResourceRemoved,
        None,
        None,
        json!({"resource": r}),
    ));
    true
}

/// Every registered resource server.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn resources() -> JsonB {
    JsonB(or_raise(store::list()))
}

/// RFC 9728 protected resource metadata of `resource`; raises P0002 for an unknown one. What
/// a resource server (an MCP server, PostgREST behind a proxy) serves at its
/// `/.well-known/oauth-protected-resource`. A database's has no `bearer_methods_supported`
/// (its token comes in SASL OAUTHBEARER) and no well-known URL of its own.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn protected_resource_metadata(resource: Option<&str>) -> JsonB {
    let r = or_raise(required(resource, "resource"));
    JsonB(or_raise(metadata_document(r)).unwrap_or_else(|| raise(not_a_resource(r))))
}

/// The same for the resource at `path` on the issuer's origin: what the front serves at
/// `/.well-known/oauth-protected-resource<path>` (RFC 9728 §3.1). 404 JSON when unknown.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn protected_resource_metadata_at(path: default!(Option<&str>, "''")) -> JsonB {
    let issuer = settings::issuer();
    let origin = url::Url::parse(&issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or(issuer);
    let resource = format!("{origin}{}", path.unwrap_or(""));
    let doc = or_raise(metadata_document(&resource));
    super::respond(
        doc.ok_or_else(|| OAuthError::NotFound(format!("no protected resource {resource}")).into()),
    )
}
