//! `private_key_jwt` (RFC 7523 §2.2, RFC 7521 §4.2): a client proves who it is with a JWT signed
//! by a key it registered. oauth-core's `client_assertion::check` judges the assertion against
//! the client's keys as stored; its `jti` is taken in `oauth.used_jtis` in the transaction that
//! acts on it, so a replay is refused where the write is.
//!
//! Keys published at a `jwks_uri` are fetched by the front (the database cannot fetch), when
//! they are used: a set is used for ten minutes after it was fetched, and an assertion by a
//! key it lacks refetches it after one. Either way the refusal asks the front to fetch them
//! (`refresh_client_keys`) and try once more. A key the client withdrew from its URL stops
//! working within ten minutes; a URL that cannot be fetched then refuses the client (its keys
//! can no longer be told current).

use crate::error::{invalid_client, ApiResult, Failure, MisuseError, Then};
use crate::protocol::client_assertion::{self, Expected};
use crate::protocol::client_metadata::ClientKeys;
use crate::settings;
use crate::store::client_jwks;
use crate::store::db;
use crate::store::used_jtis::{self, JtiKind};
use serde_json::Value;

/// How stale a fetched key set may be before an assertion by an unknown key makes the front
/// fetch it again: a client that rotated gets in after one retry, and made-up `kid`s cannot
/// make us fetch someone's URL more than once a minute.
const REFETCH_AFTER_SECS: f64 = 60.0;

/// How long a fetched key set is used before it must be fetched again.
pub const FRESH_FOR_SECS: f64 = 600.0;

/// Where a client's keys are, as registered.
pub fn registered(client_id: &str) -> Result<Option<ClientKeys>, MisuseError> {
    Ok(client_jwks::find(client_id)?.map(|k| match k.jwks_uri {
        Some(uri) => ClientKeys::JwksUri(uri),
        None => ClientKeys::Jwks(k.jwks),
    }))
}

/// The audiences an assertion may name: this server (its issuer, FAPI 2.0) or one of its
/// endpoints that authenticate clients (RFC 7523 names the token endpoint).
fn audiences() -> Vec<String> {
    let issuer = settings::issuer();
    let mut out = vec![issuer.clone()];
    for path in [
        "/oauth/token",
        "/oauth/par",
        "/oauth/introspect",
        "/oauth/revoke",
        "/oauth/device_authorization",
    ] {
        out.push(format!("{issuer}{path}"));
    }
    out
}

/// Verifies `assertion` as `client_id`'s and takes its `jti`. Every refusal is
/// `invalid_client`; one by a key that a fetch of the client's `jwks_uri` might bring asks the
/// front for it.
pub fn authenticate(client_id: &str, assertion: &str) -> ApiResult<()> {
    let stored = client_jwks::find(client_id)?;
    if let Some(k) = stored.as_ref().filter(|k| k.jwks_uri.is_some()) {
        if k.fetched_secs_ago.is_none_or(|age| age > FRESH_FOR_SECS) {
            return Err(Failure::OAuthThen(
                invalid_client(
                    "the client's published keys were not fetched in the last 10 minutes (its jwks_uri is fetched again)",
                ),
                Then::Refresh {
                    field: "refresh_client_keys",
                    provider: client_id.to_string(),
                },
            ));
        }
    }
    let keys: Vec<Value> = stored
        .as_ref()
        .and_then(|k| k.jwks["keys"].as_array().cloned())
        .unwrap_or_default();
    let audiences = audiences();
    let audiences: Vec<&str> = audiences.iter().map(String::as_str).collect();
    let expected = Expected {
        client_id,
        audiences: &audiences,
        now: db::now_epoch()?,
        skew_secs: settings::clock_skew() as i64,
    };
    let proven = match client_assertion::check(assertion, &keys, &expected) {
        Ok(p) => p,
        Err(why) => {
            let refetch = stored.as_ref().is_some_and(|k| {
                k.jwks_uri.is_some()
                    && k.fetched_secs_ago
                        .is_some_and(|age| age > REFETCH_AFTER_SECS)
                    && client_assertion::refusal_is_unknown_key(&why)
            });
            let e = invalid_client(why);
            return Err(if refetch {
                Failure::OAuthThen(
                    e,
                    Then::Refresh {
                        field: "refresh_client_keys",
                        provider: client_id.to_string(),
                    },
                )
            } else {
                e.into()
            });
        }
    };
    // Past the skew it was taken with, by the most the skew may be: raising the setting must
    // not make an expired, forgotten assertion acceptable again.
    let until = proven
        .remember_until
        .saturating_add(settings::MAX_CLOCK_SKEW_SECS);
    if !used_jtis::take(JtiKind::ClientAssertion, client_id, &proven.jti, until)? {
        return Err(invalid_client(
            "this client assertion was used before (its jti): sign a new one for each request",
        )
        .into());
    }
    Ok(())
}
