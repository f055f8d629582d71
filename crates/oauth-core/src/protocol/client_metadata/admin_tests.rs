//! The rules of `oauth.create_client` and `oauth.update_client`, each with its message, and the
//! flags every caller reads.

use super::super::test_support::*;
use super::super::{validate, Caller, ClientMetadata};
use crate::model::{AuthMethod, ClientType, GrantType};
use serde_json::{json, Value};

#[test]
fn create_defaults_to_a_confidential_code_client() {
    let md = create(json!({"name": "  App  ", "redirect_uris": [CB, CB]})).unwrap();
    assert_eq!(
        md,
        ClientMetadata {
            client_type: ClientType::Confidential,
            name: "App".into(),
            redirect_uris: strings(&[CB]),
            scopes: None,
            grant_types: GrantType::DEFAULT.to_vec(),
            auth_method: AuthMethod::ClientSecretBasic,
            client_uri: None,
            logo_uri: None,
            post_logout_redirect_uris: vec![],
            dpop_bound_access_tokens: false,
            require_pushed_authorization_requests: false,
            keys: None,
            relying_party: Default::default(),
            default_resources: vec![],
        }
    );
    let md = create(json!({"name": "App", "redirect_uris": [CB], "client_type": "public",
        "scopes": ["openid", "openid", "api:read"], "client_uri": "", "logo_uri": "http://a.example/l.png"}))
    .unwrap();
    assert_eq!(md.client_type, ClientType::Public);
    assert_eq!(md.auth_method, AuthMethod::None);
    assert_eq!(md.scopes, Some(strings(&["openid", "api:read"])));
    assert_eq!(md.client_uri, None);
    assert_eq!(md.logo_uri.as_deref(), Some("http://a.example/l.png"));
}

#[test]
fn create_refuses_each_bad_argument_with_its_message() {
    let base = || json!({"name": "x", "redirect_uris": [CB]});
    let with = |k: &str, v: Value| {
        let mut a = base();
        a[k] = v;
        a
    };
    for (args, message) in [
        (
            with("client_type", json!("weird")),
            "client_type must be 'confidential' or 'public', not \"weird\"",
        ),
        (
            with("redirect_uris", Value::Null),
            "redirect_uris must not be NULL",
        ),
        (with("name", Value::Null), "name must not be NULL or empty"),
        (with("name", json!("   ")), "name must not be NULL or empty"),
        (
            with("name", json!("n".repeat(201))),
            "client name must be 1 to 200 characters",
        ),
        (
            with("redirect_uris", json!([null])),
            "redirect_uris must not contain NULL",
        ),
        (
            with("redirect_uris", json!([])),
            "a client of the authorization code grant needs at least one redirect URI",
        ),
        (with("scopes", json!(["a", null])), "scopes must not contain NULL"),
        (with("scopes", json!(["a b"])), "malformed scope \"a b\""),
        (
            with("grant_types", json!([null])),
            "grant_types must not contain NULL",
        ),
        (
            with("grant_types", json!(["implicit"])),
            "unsupported grant type \"implicit\"",
        ),
        (
            with("grant_types", json!(["refresh_token"])),
            "grant_types must include a grant that starts a session: authorization_code, client_credentials, the device code grant or token exchange",
        ),
        (
            with("token_endpoint_auth_method", json!("none")),
            "a confidential client must authenticate",
        ),
        (
            with("token_endpoint_auth_method", json!("tls_client_auth")),
            "unsupported token_endpoint_auth_method \"tls_client_auth\"",
        ),
        (
            with("client_uri", json!("ftp://x")),
            "client_uri \"ftp://x\" must be an absolute http(s) URL",
        ),
        (
            with("logo_uri", json!("https://")),
            "logo_uri \"https://\" must be an absolute http(s) URL",
        ),
    ] {
        assert_eq!(misuse(create(args.clone())).message, message, "{args}");
    }
    let mut public = with("client_type", json!("public"));
    public["token_endpoint_auth_method"] = json!("client_secret_basic");
    assert_eq!(
        misuse(create(public)).message,
        "a public client has no secret; its token_endpoint_auth_method is none"
    );
    let mut machine = with("client_type", json!("public"));
    machine["grant_types"] = json!(["client_credentials"]);
    assert_eq!(
        misuse(create(machine)).message,
        "only a confidential client may use client_credentials"
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("{CB}{i}")).collect();
    let e = misuse(create(with("redirect_uris", json!(eleven))));
    assert_eq!(e.message, "at most 10 redirect URIs per client");
    assert_eq!(e.hint, None);
    // Hints say what would be accepted.
    let e = misuse(create(with(
        "redirect_uris",
        json!(["http://app.example/cb"]),
    )));
    assert!(e.hint.unwrap().contains("loopback"));
    let e = misuse(create(with("grant_types", json!(["password"]))));
    assert_eq!(
        e.hint.as_deref(),
        Some("supported: authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code, urn:ietf:params:oauth:grant-type:token-exchange")
    );
}

#[test]
fn create_checks_in_the_order_of_the_arguments() {
    // Two faults: the first one checked is reported.
    let e = misuse(create(
        json!({"name": null, "redirect_uris": ["javascript:x"], "client_type": "x"}),
    ));
    assert!(e.message.starts_with("client_type"), "{e:?}");
    let e = misuse(create(
        json!({"name": null, "redirect_uris": ["javascript:x"]}),
    ));
    assert_eq!(e.message, "name must not be NULL or empty");
    let e = misuse(create(
        json!({"name": "x", "redirect_uris": ["javascript:x"], "scopes": ["a b"]}),
    ));
    assert!(e.message.contains("javascript"), "{e:?}");
}

#[test]
fn machine_clients_need_no_redirect_uri() {
    let md = create(json!({"name": "job", "redirect_uris": [],
        "grant_types": ["client_credentials", "client_credentials"]}))
    .unwrap();
    assert_eq!(md.grant_types, vec![GrantType::ClientCredentials]);
    let md = create(
        json!({"name": "tv", "redirect_uris": [], "client_type": "public",
        "grant_types": [GrantType::DeviceCode.as_str(), "refresh_token"]}),
    )
    .unwrap();
    assert_eq!(
        md.grant_types,
        vec![GrantType::DeviceCode, GrantType::RefreshToken]
    );
}

#[test]
fn update_applies_changes_onto_the_stored_client() {
    assert_eq!(update(json!({})).unwrap(), stored());
    let md = update(
        json!({"name": " Renamed ", "redirect_uris": ["https://new.example/cb"],
        "token_endpoint_auth_method": "client_secret_post", "logo_uri": null, "client_uri": ""}),
    )
    .unwrap();
    assert_eq!(md.name, "Renamed");
    assert_eq!(md.redirect_uris, strings(&["https://new.example/cb"]));
    assert_eq!(md.auth_method, AuthMethod::ClientSecretPost);
    assert_eq!((md.client_uri, md.logo_uri), (None, None));
    assert_eq!(md.scopes, Some(strings(&["openid"])));
    // scopes: null means every known scope again.
    assert_eq!(update(json!({"scopes": null})).unwrap().scopes, None);
    assert_eq!(
        update(json!({"scopes": ["a", "a"]})).unwrap().scopes,
        Some(strings(&["a"]))
    );
    assert_eq!(
        update(json!({"grant_types": ["authorization_code"]}))
            .unwrap()
            .grant_types,
        vec![GrantType::AuthorizationCode]
    );
}

#[test]
fn update_refuses_what_create_would_and_unknown_keys() {
    for (changes, message) in [
        (json!([]), "changes must be a JSON object"),
        (json!(null), "changes must be a JSON object"),
        (json!({"client_type": "public"}), "\"client_type\" cannot be changed"),
        (json!({"name": 5}), "name must be a string"),
        (json!({"name": null}), "name must be a string"),
        (json!({"name": ""}), "client name must be 1 to 200 characters"),
        (
            json!({"redirect_uris": "https://a.example/cb"}),
            "redirect_uris must be an array of strings",
        ),
        (
            json!({"redirect_uris": [1]}),
            "redirect_uris must be an array of strings",
        ),
        (
            json!({"redirect_uris": []}),
            "a client of the authorization code grant needs at least one redirect URI",
        ),
        (json!({"scopes": "openid"}), "scopes must be an array of strings"),
        (json!({"scopes": ["a\"b"]}), "malformed scope \"a\\\"b\""),
        (
            json!({"grant_types": ["client_credentials", "authorization_code"], "token_endpoint_auth_method": "none"}),
            "a confidential client must authenticate",
        ),
        (
            json!({"token_endpoint_auth_method": null}),
            "token_endpoint_auth_method must be a string",
        ),
        (
            json!({"logo_uri": "javascript:x"}),
            "logo_uri \"javascript:x\" must be an absolute http(s) URL",
        ),
        (
            json!({"grant_types": []}),
            "grant_types must include a grant that starts a session: authorization_code, client_credentials, the device code grant or token exchange",
        ),
    ] {
        assert_eq!(misuse(update(changes.clone())).message, message, "{changes}");
    }
    let e = misuse(update(json!({"secret": "x"})));
    assert_eq!(e.hint.as_deref(), Some("changeable: name, redirect_uris, scopes, grant_types, token_endpoint_auth_method, client_uri, logo_uri, post_logout_redirect_uris, dpop_bound_access_tokens, require_pushed_authorization_requests, jwks, jwks_uri, subject_type, sector_identifier_uri, backchannel_logout_uri, backchannel_logout_session_required, default_resources"));
    // The client's type stays what it was: a public client cannot become a machine.
    let public =
        create(json!({"name": "p", "redirect_uris": [CB], "client_type": "public"})).unwrap();
    let r = validate(
        &json!({"grant_types": ["client_credentials"]}),
        Caller::Update(&public),
    );
    assert_eq!(
        misuse(r).message,
        "only a confidential client may use client_credentials"
    );
}

/// RFC 9449 §5.2's client metadata: every caller reads a boolean, off unless asked for.
#[test]
fn dpop_bound_access_tokens_is_a_boolean_every_caller_reads() {
    assert!(
        !create(json!({"name": "a", "redirect_uris": [CB]}))
            .unwrap()
            .dpop_bound_access_tokens
    );
    let on = create(json!({"name": "a", "redirect_uris": [CB], "dpop_bound_access_tokens": true}));
    assert!(on.unwrap().dpop_bound_access_tokens);
    assert!(
        update(json!({"dpop_bound_access_tokens": true}))
            .unwrap()
            .dpop_bound_access_tokens
    );
    assert_eq!(
        misuse(update(json!({"dpop_bound_access_tokens": "yes"}))).message,
        "dpop_bound_access_tokens must be true or false"
    );
    assert!(
        register(json!({"redirect_uris": [CB], "dpop_bound_access_tokens": true}))
            .unwrap()
            .dpop_bound_access_tokens
    );
    assert!(matches!(
        register(json!({"redirect_uris": [CB], "dpop_bound_access_tokens": 1})),
        Err(super::super::Invalid::OAuth(e)) if e.code() == "invalid_client_metadata"
    ));
    let doc = |v: Value| {
        document(
            json!({"client_id": DOC_URL, "redirect_uris": [CB], "dpop_bound_access_tokens": v}),
        )
        .unwrap()
        .dpop_bound_access_tokens
    };
    assert!(doc(json!(true)));
    // A document's odd field is dropped, not refused (it is someone else's page).
    assert!(!doc(json!("true")));
}

/// RFC 9126 §6's client metadata: read like dpop_bound_access_tokens, by every caller.
#[test]
fn require_pushed_authorization_requests_is_a_boolean_every_caller_reads() {
    let key = "require_pushed_authorization_requests";
    assert!(
        !create(json!({"name": "a", "redirect_uris": [CB]}))
            .unwrap()
            .require_pushed_authorization_requests
    );
    assert!(
        update(json!({key: true}))
            .unwrap()
            .require_pushed_authorization_requests
    );
    assert_eq!(
        misuse(update(json!({key: 1}))).message,
        "require_pushed_authorization_requests must be true or false"
    );
    assert!(
        register(json!({"redirect_uris": [CB], key: true}))
            .unwrap()
            .require_pushed_authorization_requests
    );
    assert!(
        document(json!({"client_id": DOC_URL, "redirect_uris": [CB], key: true}))
            .unwrap()
            .require_pushed_authorization_requests
    );
}

/// RFC 7523 clients: confidential without a secret; their keys go with the method.
#[test]
fn a_private_key_jwt_client_is_confidential_and_keeps_its_keys_with_its_method() {
    use super::super::ClientKeys;
    let key = json!({"kty": "EC", "crv": "P-256", "kid": "k1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
    let md = create(json!({"name": "m", "redirect_uris": [CB],
        "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [key]}}))
    .unwrap();
    assert_eq!(md.client_type, ClientType::Confidential);
    assert_eq!(md.auth_method, AuthMethod::PrivateKeyJwt);
    assert!(matches!(md.keys, Some(ClientKeys::Jwks(_))));
    // Keys change with update; null drops them, which private_key_jwt cannot do without.
    let moved = validate(
        &json!({"jwks": null, "jwks_uri": "https://m.example/jwks"}),
        Caller::Update(&md),
    )
    .unwrap();
    assert_eq!(
        moved.keys,
        Some(ClientKeys::JwksUri("https://m.example/jwks".into()))
    );
    let none = validate(&json!({"jwks": null}), Caller::Update(&md));
    assert_eq!(
        misuse(none).message,
        "private_key_jwt needs the client's public keys: jwks or jwks_uri"
    );
    // No way back to a secret it does not have.
    let back = validate(
        &json!({"token_endpoint_auth_method": "client_secret_basic"}),
        Caller::Update(&md),
    );
    assert_eq!(
        misuse(back).message,
        "a private_key_jwt client has no secret to authenticate with"
    );
    // A secret client moves to private_key_jwt with its keys, never without.
    let secret = create(json!({"name": "s", "redirect_uris": [CB]})).unwrap();
    let bare = validate(
        &json!({"token_endpoint_auth_method": "private_key_jwt"}),
        Caller::Update(&secret),
    );
    assert_eq!(
        misuse(bare).message,
        "private_key_jwt needs the client's public keys: jwks or jwks_uri"
    );
    let moved = validate(
        &json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://s.example/jwks"}),
        Caller::Update(&secret),
    )
    .unwrap();
    assert_eq!(moved.auth_method, AuthMethod::PrivateKeyJwt);
    // A public client cannot sign: it has no way to keep a key from its users.
    let public = create(
        json!({"name": "p", "redirect_uris": [CB], "client_type": "public",
        "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://p.example/jwks"}),
    );
    assert!(misuse(public).message.contains("public client"));
    // Registration takes them too.
    let reg = register(
        json!({"redirect_uris": [CB], "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "https://r.example/jwks"}),
    )
    .unwrap();
    assert_eq!(
        (reg.client_type, reg.auth_method),
        (ClientType::Confidential, AuthMethod::PrivateKeyJwt)
    );
}
