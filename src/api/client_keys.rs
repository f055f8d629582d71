//! What the front calls to keep `private_key_jwt` clients' published keys fresh (the database
//! cannot fetch URLs): the list of clients whose keys are at a `jwks_uri`, storing what one
//! answered, and recording why a fetch failed.

use super::{or_raise, raise, required};
use crate::error::{bad_param, Misuse, MisuseError};
use crate::protocol::issuer_policy::sanitize_jwks;
use crate::store::client_jwks;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

/// `[{client_id, jwks_uri, fetched_at, last_error, kids}]`: the clients whose keys are
/// published at a URL (or the one `client_id` names, as the front asks before fetching).
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn client_jwks_fetches(client_id: default!(Option<&str>, "NULL")) -> JsonB {
    JsonB(or_raise(client_jwks::fetches(client_id)))
}

/// Stores the keys `client_id`'s `jwks_uri` answered, reduced to public signing keys with a
/// `kid`; private or symmetric key material is refused (22023, the stored keys stay). A set
/// with no usable key is stored as it is: the client withdrew its keys, and none verifies now.
/// Stored only while `jwks_uri` is still the client's (P0002 otherwise).
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn set_client_jwks(client_id: Option<&str>, jwks: Option<JsonB>, jwks_uri: Option<&str>) -> JsonB {
    let client_id = or_raise(required(client_id, "client_id"));
    let jwks_uri = or_raise(required(jwks_uri, "jwks_uri"));
    let Some(JsonB(jwks)) = jwks else {
        raise(bad_param("jwks must not be NULL"))
    };
    let clean = or_raise(sanitize_jwks(&jwks).map_err(bad_param));
    let kids: Vec<_> = clean["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| k["kid"].clone())
        .collect();
    if !or_raise(client_jwks::store_fetched(client_id, jwks_uri, &clean)) {
        raise(MisuseError::new(
            Misuse::NotFound,
            format!("no client {client_id:?} with jwks_uri {jwks_uri:?}"),
        ));
    }
    JsonB(json!({"client_id": client_id, "jwks_uri": jwks_uri, "kids": kids}))
}

/// Records why the last fetch of `client_id`'s `jwks_uri` failed; the stored keys stay in use.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_temp)]
fn report_client_jwks_error(client_id: Option<&str>, error: Option<&str>) {
    let client_id = or_raise(required(client_id, "client_id"));
    or_raise(client_jwks::report_error(
        client_id,
        error.unwrap_or("unknown error"),
    ));
}
