//! The closed sets of stored values: each enum of `oauth_core::model` lists exactly what the
//! schema's CHECK constraint on its column allows, in a fresh install (the upgrade test shows an
//! upgraded one has the same constraints). A value added on one side only fails here.

use oauth_core::model::{
    AuthMethod, AuthorizationKind, AuthorizationStatus, ClientType, GrantType, KeyAlg, KeyStatus,
    SignInKind,
};
use oauth_server_e2e::*;

/// The quoted values of the CHECK constraint of `table` that lists `column`'s values
/// (`column = ANY (ARRAY[…])` or `column <@ ARRAY[…]`).
fn check_values(c: &mut postgres::Client, table: &str, column: &str) -> Vec<String> {
    let defs: Vec<String> = c
        .query(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint
             WHERE conrelid = ('oauth.' || $1)::regclass AND contype = 'c'
               AND pg_get_constraintdef(oid) ~ ('^CHECK \\(+' || $2 || ' (= ANY|<@) ')",
            &[&table, &column],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        defs.len(),
        1,
        "one list constraint on {table}.{column}: {defs:?}"
    );
    let def = &defs[0];
    let mut values = Vec::new();
    let mut rest = def.as_str();
    while let Some(start) = rest.find('\'') {
        let after = &rest[start + 1..];
        let end = after.find('\'').expect("closing quote");
        values.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    values
}

fn assert_lists(c: &mut postgres::Client, table: &str, column: &str, model: Vec<&'static str>) {
    let mut stored = check_values(c, table, column);
    let mut model: Vec<String> = model.into_iter().map(String::from).collect();
    stored.sort();
    model.sort();
    assert_eq!(
        stored, model,
        "{table}.{column}: CHECK constraint vs oauth_core::model"
    );
}

#[test]
fn every_stored_enum_matches_its_check_constraint() {
    let db = TestDb::new("model");
    let mut c = db.connect();
    assert_lists(&mut c, "clients", "client_type", ClientType::names());
    assert_lists(
        &mut c,
        "clients",
        "token_endpoint_auth_method",
        AuthMethod::names(),
    );
    assert_lists(&mut c, "clients", "grant_types", GrantType::names());
    assert_lists(&mut c, "authorizations", "kind", AuthorizationKind::names());
    assert_lists(
        &mut c,
        "authorizations",
        "status",
        AuthorizationStatus::names(),
    );
    assert_lists(&mut c, "signing_keys", "status", KeyStatus::names());
    assert_lists(&mut c, "signing_keys", "alg", KeyAlg::names());
    assert_lists(&mut c, "sign_in_providers", "kind", SignInKind::names());
    // A family is started by a code (or device code, which issues the same way) or by a
    // client for itself; refreshes continue a family and never start one.
    assert_lists(
        &mut c,
        "grants",
        "grant_type",
        vec![
            GrantType::AuthorizationCode.as_str(),
            GrantType::ClientCredentials.as_str(),
            GrantType::TokenExchange.as_str(),
        ],
    );
}
