//! A client's default resources: the RFC 8707 resource servers an authorization request of the
//! client is for when it names none (`oauth.update_client`, the HTTP admin API's create). For
//! clients that cannot send `resource`, such as PostgreSQL 18's libpq, which sends only
//! `client_id` and `scope`, and needs a token whose `aud` is its database.
//!
//! An administrator's setting only: dynamic registration and metadata documents never set it
//! (they ignore the field, as they ignore any metadata they do not take), since it chooses
//! the audience of tokens a user is asked to approve. Whether each is a registered resource
//! server is the store's to check (`services::clients`); here only its shape.

use crate::error::{bad_param, MisuseError};
use crate::protocol::resource;
use serde_json::{Map, Value};

/// The key in `oauth.update_client`'s changes and the admin API's create.
pub const KEY: &str = "default_resources";

/// Reads the field: absent is `None` (unchanged, or none for a new client); `null` and `[]`
/// clear it (`Some(vec![])`); else an array of strings.
pub(super) fn read(args: &Map<String, Value>) -> Result<Option<Vec<String>>, MisuseError> {
    let wrong = || bad_param(format!("{KEY} must be an array of resource URIs, or null"));
    match args.get(KEY) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(Vec::new())),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(String::from).ok_or_else(wrong))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(wrong()),
    }
}

/// At most [`resource::MAX_RESOURCES`] (what one request may name), each a resource indicator
/// a request could send (absolute, no fragment), none twice.
pub(super) fn rule(list: Vec<String>) -> Result<Vec<String>, MisuseError> {
    if list.len() > resource::MAX_RESOURCES {
        return Err(bad_param(format!(
            "at most {} {KEY} per client",
            resource::MAX_RESOURCES
        )));
    }
    for (i, r) in list.iter().enumerate() {
        resource::parse(&[r.as_str()]).map_err(|e| {
            bad_param(format!("{KEY}: {}", e.description()))
                .hint("each is a resource server registered with oauth.add_resource")
        })?;
        if list[..i].contains(r) {
            return Err(bad_param(format!("{KEY} names {r:?} twice")));
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::{json, Value};

    const DB: &str = "postgres://db.example.com/app";
    const API: &str = "https://api.example.com";

    #[test]
    fn update_sets_replaces_and_clears_them() {
        assert!(stored().default_resources.is_empty());
        let md = update(json!({"default_resources": [DB, API]})).unwrap();
        assert_eq!(md.default_resources, strings(&[DB, API]));
        // Absent: unchanged; null and [] clear.
        let current = md.clone();
        let again = super::super::validate(
            &json!({"name": "x"}),
            super::super::Caller::Update(&current),
        );
        assert_eq!(again.unwrap().default_resources, strings(&[DB, API]));
        for clear in [Value::Null, json!([])] {
            let md = super::super::validate(
                &json!({"default_resources": clear}),
                super::super::Caller::Update(&current),
            );
            assert!(md.unwrap().default_resources.is_empty(), "{clear}");
        }
    }

    #[test]
    fn the_admin_apis_create_takes_them() {
        let md = create(json!({"name": "psql", "redirect_uris": [CB], "default_resources": [DB]}));
        assert_eq!(md.unwrap().default_resources, strings(&[DB]));
        let none = create(json!({"name": "psql", "redirect_uris": [CB]})).unwrap();
        assert!(none.default_resources.is_empty());
    }

    #[test]
    fn bad_lists_are_refused_naming_the_fault() {
        let eleven: Vec<String> = (0..11).map(|i| format!("{API}/{i}")).collect();
        for (value, message) in [
            (json!(DB), "default_resources must be an array of resource URIs, or null"),
            (json!([DB, 5]), "default_resources must be an array of resource URIs, or null"),
            (json!([null]), "default_resources must be an array of resource URIs, or null"),
            (json!([DB, DB]), "default_resources names \"postgres://db.example.com/app\" twice"),
            (json!(eleven), "at most 10 default_resources per client"),
            (
                json!([""]),
                "default_resources: resource \"\" must be an absolute URI without a fragment",
            ),
            (
                json!(["https://api.example.com/#x"]),
                "default_resources: resource \"https://api.example.com/#x\" must be an absolute URI without a fragment",
            ),
        ] {
            let e = misuse(update(json!({"default_resources": value.clone()})));
            assert_eq!(e.message, message, "{value}");
            let e = misuse(create(
                json!({"name": "x", "redirect_uris": [CB], "default_resources": value}),
            ));
            assert_eq!(e.message, message);
        }
    }

    /// Only an administrator chooses the audience a user is asked to approve: a registrant or a
    /// document naming it is ignored, as any metadata those callers do not take.
    #[test]
    fn registrants_and_documents_cannot_set_them() {
        let md = register(json!({"redirect_uris": [CB], "default_resources": [DB]})).unwrap();
        assert!(md.default_resources.is_empty());
        let md = document(
            json!({"client_id": DOC_URL, "redirect_uris": [CB], "default_resources": [DB]}),
        )
        .unwrap();
        assert!(md.default_resources.is_empty());
    }
}
