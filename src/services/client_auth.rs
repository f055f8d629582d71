//! Client authentication (RFC 6749 §2.3) for the token, device, revocation, introspection and
//! PAR endpoints: a confidential client proves its secret or signs an assertion with its key
//! (RFC 7523), a public client presents none, and the method used must be the one the client
//! registered. Every failure is `invalid_client`, and every failure is audited: repeated
//! failures for one client_id are the signal of a guessed secret. A secret's failure says
//! nothing of which part was wrong; an assertion's says what (its kid, aud, exp…), since all of
//! it is the sender's own and none of it secret, and a client's developer needs to know.
//! The client is loaded through `store::clients::find`, which refuses a client today's switches
//! stop (`unauthorized_client` naming the setting): not a failed authentication, so neither
//! audited as one nor counted against the front's failure budget.

use crate::audit_events::AuditEvent;
use crate::error::{invalid_client, ApiResult, Failure, MisuseError, OAuthError};
use crate::model::GrantType;
use crate::protocol::client_auth::{self, Assertion};
use crate::protocol::params::Params;
use crate::services::client_keys;
use crate::store::audit;
use crate::store::clients::{self, Client};
use serde_json::json;

/// How a client is looked up: as today's switches let it act (every endpoint but revocation),
/// or as stored whatever they say (revocation only, which ever only reduces access).
type Lookup = fn(&str) -> ApiResult<Option<Client>>;

/// What must hold of a client before anything of its authentication is written (an
/// assertion's `jti`): checked once the client is known, before its assertion is taken, or
/// once its secret matched (which writes nothing).
type Check = fn(&Client) -> ApiResult<()>;

fn no_check(_: &Client) -> ApiResult<()> {
    Ok(())
}

fn acting(client_id: &str) -> ApiResult<Option<Client>> {
    clients::find(client_id)
}

fn stored(client_id: &str) -> ApiResult<Option<Client>> {
    Ok(clients::find_stored(client_id)?)
}

/// The client whose credentials these are.
pub fn authenticate(client_id: Option<&str>, client_secret: Option<&str>) -> ApiResult<Client> {
    authenticate_with(client_id, client_secret, acting)
}

fn authenticate_with(
    client_id: Option<&str>,
    client_secret: Option<&str>,
    lookup: Lookup,
) -> ApiResult<Client> {
    let result = check_credentials(client_id, client_secret, lookup);
    if let Err(Failure::OAuth(e @ OAuthError::InvalidClient(_))) = &result {
        record_failure(client_id, e)?;
    }
    result
}

fn record_failure(client_id: Option<&str>, e: &OAuthError) -> Result<(), MisuseError> {
    audit::record(
        AuditEvent::ClientAuthenticationFailed,
        client_id.filter(|c| !c.is_empty()),
        None,
        json!({"reason": e.description()}),
    )
}

fn check_credentials(
    client_id: Option<&str>,
    client_secret: Option<&str>,
    lookup: Lookup,
) -> ApiResult<Client> {
    let client_id = client_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid_client("client_id is required"))?;
    let client = lookup(client_id)?;
    let secret = client_secret.filter(|s| !s.is_empty());
    match (client, secret) {
        (Some(c), Some(s)) if c.is_confidential() && c.secret_matches(s) => Ok(c),
        (Some(c), None) if !c.is_confidential() => Ok(c),
        (Some(c), Some(_)) if !c.is_confidential() => {
            Err(invalid_client("a public client must not send a client secret").into())
        }
        _ => Err(invalid_client("client authentication failed").into()),
    }
}

/// RFC 7523 §2.2: the client whose registered key signed `jwt` (issued by and about it, to us,
/// short-lived, never seen before). A refusal that fresh keys could cure is not audited as a
/// failure: the front fetches them and asks again.
fn authenticate_by_assertion(
    client_id: &str,
    jwt: &str,
    lookup: Lookup,
    check: Check,
) -> ApiResult<Client> {
    let client = match lookup(client_id)? {
        Some(c) if c.token_endpoint_auth_method == crate::model::AuthMethod::PrivateKeyJwt => c,
        _ => {
            let e = invalid_client("client authentication failed");
            record_failure(Some(client_id), &e)?;
            return Err(e.into());
        }
    };
    check(&client)?;
    match client_keys::authenticate(client_id, jwt) {
        Ok(()) => Ok(client),
        // Audited also when the front is asked to fetch the client's keys and try again: the
        // answer may reach the client as it is (the fetch failed, or ran a moment ago).
        Err(
            f @ (Failure::OAuth(OAuthError::InvalidClient(_))
            | Failure::OAuthThen(OAuthError::InvalidClient(_), _)),
        ) => {
            if let Failure::OAuth(e) | Failure::OAuthThen(e, _) = &f {
                record_failure(Some(client_id), e)?;
            }
            Err(f)
        }
        Err(other) => Err(other),
    }
}

/// `unauthorized_client` unless the client is registered for `grant`.
pub fn ensure_grant_allowed(client: &Client, grant: GrantType) -> ApiResult<()> {
    if !client.allows_grant(grant) {
        return Err(OAuthError::UnauthorizedClient(format!(
            "this client may not use the {grant} grant"
        ))
        .into());
    }
    Ok(())
}

/// Authentication, then the check that the client may use `grant`: the first step of every
/// grant called with explicit credentials (`oauth.exchange_code`, `oauth.refresh`).
pub fn authenticate_for_grant(
    client_id: Option<&str>,
    client_secret: Option<&str>,
    grant: GrantType,
) -> ApiResult<Client> {
    let client = authenticate(client_id, client_secret)?;
    ensure_grant_allowed(&client, grant)?;
    Ok(client)
}

/// Authentication from an endpoint's form and `Authorization` header: the credentials must
/// verify, and the method used must be the one the client registered.
pub fn authenticate_request(form: &Params, authorization: Option<&str>) -> ApiResult<Client> {
    request_with(form, authorization, acting, no_check)
}

/// [`authenticate_request`] with `check` of the client before anything of its authentication
/// is written (the token endpoint: a pairwise client's sector, whose refusal asks the front to
/// fetch a document and send the same request again, assertion and all).
pub fn authenticate_request_checked(
    form: &Params,
    authorization: Option<&str>,
    check: Check,
) -> ApiResult<Client> {
    request_with(form, authorization, acting, check)
}

/// [`authenticate_request`] for RFC 7009 revocation: the client is authenticated as the client
/// it is, whatever today's switches say of clients like it (a metadata-document client while
/// `oauth_server.client_id_metadata_documents` is off may still end its own tokens: revoking
/// only ever reduces access).
pub fn authenticate_request_to_revoke(
    form: &Params,
    authorization: Option<&str>,
) -> ApiResult<Client> {
    request_with(form, authorization, stored, no_check)
}

fn credentials(form: &Params, authorization: Option<&str>) -> ApiResult<client_auth::Credentials> {
    Ok(client_auth::credentials_with_assertion(
        authorization,
        form.get("client_id")?,
        form.get("client_secret")?,
        Assertion {
            assertion_type: form.get("client_assertion_type")?,
            // Not the form's limit but its own, four times higher: the assertion check refuses
            // one past its 16 KiB as a failed authentication, audited.
            assertion: form.get_up_to(
                "client_assertion",
                4 * crate::protocol::client_assertion::MAX_ASSERTION_BYTES,
            )?,
        },
    )?)
}

fn request_with(
    form: &Params,
    authorization: Option<&str>,
    lookup: Lookup,
    check: Check,
) -> ApiResult<Client> {
    let creds = credentials(form, authorization)?;
    let client = match &creds.assertion {
        Some(jwt) => authenticate_by_assertion(&creds.client_id, jwt, lookup, check)?,
        None => {
            let client =
                authenticate_with(Some(&creds.client_id), creds.secret.as_deref(), lookup)?;
            check(&client)?;
            client
        }
    };
    if client.token_endpoint_auth_method.as_str() != creds.method.name() {
        let e = invalid_client(format!(
            "this client must authenticate with {}",
            client.token_endpoint_auth_method
        ));
        record_failure(Some(&client.client_id), &e)?;
        return Err(e.into());
    }
    Ok(client)
}
