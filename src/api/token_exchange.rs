//! The token exchange policy (RFC 8693), default deny: `oauth.allow_token_exchange`,
//! `oauth.disallow_token_exchange` and `oauth.token_exchange_policies()`. The exchange itself is
//! a grant of the token endpoint (`services::token_exchange`).

use super::{or_raise, raise, required};
use crate::audit_events::AuditEvent;
use crate::decisions::token_exchange::Policy;
use crate::error::{bad_param, Misuse, MisuseError};
use crate::model::GrantType;
use crate::settings;
use crate::store::clients;
use crate::store::token_exchange as store;
use crate::store::{audit, issuers, resources, scopes};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

/// What an audience of a rule may be: this server's default audience or a registered resource
/// server; `from` may also be a trusted issuer (its sessions, when its option token_exchange is
/// on). Checked when the rule is written, so that a misspelt audience is an error, not a rule
/// that never applies.
fn ensure_audience(which: &str, audience: &str, issuer_too: bool) -> Result<(), MisuseError> {
    if audience == settings::default_audience() || resources::find(audience)?.is_some() {
        return Ok(());
    }
    if issuer_too && issuers::find(audience)?.is_some() {
        return Ok(());
    }
    let also = if issuer_too { ", a trusted issuer" } else { "" };
    Err(bad_param(format!(
        "{which} {audience:?} is neither the default audience (oauth_server.default_audience){also} nor a registered resource server"
    ))
    .hint("register it with oauth.add_resource(resource)"))
}

/// Allows `client_id` to exchange a token whose audience is `from_audience` for one whose
/// audience is `to_audience`, with at most `scopes` (and never more than the subject token
/// has). `may_act`: it may act for the token's user (its identity recorded in `act`), as an
/// agent does; otherwise it may only narrow a token issued to itself. `refresh`: the result
/// comes with a refresh token (ending no later than the subject token's family). Replaces the
/// rule of the same client and audiences.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn allow_token_exchange(
    client_id: Option<&str>,
    from_audience: Option<&str>,
    to_audience: Option<&str>,
    scopes: Option<Vec<Option<String>>>,
    may_act: default!(bool, false),
    refresh: default!(bool, false),
) -> JsonB {
    let client_id = or_raise(required(client_id, "client_id"));
    let from = or_raise(required(from_audience, "from_audience"));
    let to = or_raise(required(to_audience, "to_audience"));
    let client = or_raise(clients::find_stored(client_id)).unwrap_or_else(|| {
        raise(MisuseError::new(
            Misuse::NotFound,
            format!("no client {client_id:?}"),
        ))
    });
    if !client.is_confidential() {
        raise(bad_param(format!(
            "client {client_id:?} is public: only a confidential client may exchange tokens"
        )));
    }
    if !client.allows_grant(GrantType::TokenExchange) {
        raise(
            bad_param(format!(
                "client {client_id:?} is not registered for the token exchange grant"
            ))
            .hint(format!(
                "add {} to its grant_types with oauth.update_client",
                GrantType::TokenExchange.as_str()
            )),
        );
    }
    or_raise(ensure_audience("from_audience", from, true));
    or_raise(ensure_audience("to_audience", to, false));
    let mut list: Vec<String> = Vec::new();
    for s in scopes.unwrap_or_default().into_iter().flatten() {
        if !list.contains(&s) {
            list.push(s);
        }
    }
    if list.is_empty() {
        raise(bad_param(
            "scopes must name at least one scope: a rule that allows none allows nothing",
        ));
    }
    let known = or_raise(scopes::known());
    if let Some(unknown) = list.iter().find(|s| !known.contains(s)) {
        raise(bad_param(format!("unknown scope {unknown:?}")).hint("add it with oauth.set_scope"));
    }
    let rule = Policy {
        client_id: client_id.to_string(),
        from_audience: from.to_string(),
        to_audience: to.to_string(),
        scopes: list,
        may_act,
        refresh,
    };
    or_raise(store::allow(&rule));
    let shown = json!({
        "client_id": rule.client_id,
        "from_audience": rule.from_audience,
        "to_audience": rule.to_audience,
        "scopes": rule.scopes,
        "may_act": rule.may_act,
        "refresh": rule.refresh,
    });
    or_raise(audit::record(
        AuditEvent::TokenExchangeAllowed,
        Some(client_id),
        None,
        shown.clone(),
    ));
    JsonB(shown)
}

/// Removes a rule, and ends at once the families the client got by exchange from
/// `from_audience` for `to_audience` (their tokens stop verifying), whether or not another
/// rule would still allow them. Returns how many were ended; P0002 when there was no such rule.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn disallow_token_exchange(
    client_id: Option<&str>,
    from_audience: Option<&str>,
    to_audience: Option<&str>,
) -> i64 {
    let client_id = or_raise(required(client_id, "client_id"));
    let from = or_raise(required(from_audience, "from_audience"));
    let to = or_raise(required(to_audience, "to_audience"));
    let Some(ended) = or_raise(store::disallow(client_id, from, to)) else {
        raise(
            MisuseError::new(
                Misuse::NotFound,
                format!("no token exchange rule of {client_id:?} from {from:?} to {to:?}"),
            )
            .hint("oauth.token_exchange_policies() lists them"),
        )
    };
    or_raise(audit::record(
        AuditEvent::TokenExchangeDisallowed,
        Some(client_id),
        None,
        json!({"from_audience": from, "to_audience": to, "families_ended": ended}),
    ));
    ended
}

/// The exchange rules, of one client or of all, as a jsonb array.
#[pg_extern(stable, security_definer)]
#[search_path(@extschema@, pg_temp)]
fn token_exchange_policies(client_id: default!(Option<&str>, "NULL")) -> JsonB {
    JsonB(or_raise(store::list(client_id)))
}
