//! The other endpoints that authenticate clients take assertions as the token endpoint does:
//! introspection (a resource server with keys instead of a secret), revocation, pushed
//! authorization requests and device authorization; discovery says so.

use super::*;

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A private_key_jwt client of `grants`, redirecting to [`REDIRECT`], with `key` inline.
fn signing_client(c: &mut Client, key: &ClientKey, grants: &[&str]) -> TestClient {
    let grants: Vec<String> = grants.iter().map(|g| g.to_string()).collect();
    let made = json(
        c,
        "SELECT oauth.create_client('W', ARRAY[$1], grant_types => $2,
                token_endpoint_auth_method => 'private_key_jwt', jwks => $3)",
        &[&REDIRECT, &grants, &key.jwks()],
    );
    assert!(made["client_secret"].is_null(), "{made}");
    TestClient::from_json(&made)
}

#[test]
fn introspection_and_revocation_authenticate_by_assertion() {
    let db = TestDb::new("pkj_introspect");
    let mut c = db.connect();
    let job_key = ClientKey::new("job");
    let job = machine(&mut c, &job_key);
    let rs_key = ClientKey::new("rs");
    let rs = machine(&mut c, &rs_key);
    let t = issued(grant(&mut c, &job_key.assertion(&job.id, TOKEN_AUD)));
    let at = t["access_token"].as_str().unwrap();
    let introspect = |c: &mut Client, assertion: &str| {
        call(
            c,
            "introspect",
            with_assertion(json!({"token": at}), assertion),
            None,
        )
    };
    let intro_aud = "http://localhost:8080/oauth/introspect";
    let (answer, _) = introspect(&mut c, &rs_key.assertion(&rs.id, intro_aud));
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], json!(job.id), "{answer}");
    let (answer, _) = introspect(&mut c, &rs_key.assertion(&rs.id, ISSUER));
    assert_eq!(answer["active"], true, "{answer}");
    // A replayed assertion, another key, another server: refused and audited.
    let once = rs_key.assertion(&rs.id, intro_aud);
    introspect(&mut c, &once);
    refused(&mut c, &rs.id, |c| introspect(c, &once));
    refused(&mut c, &rs.id, |c| {
        introspect(c, &job_key.assertion(&rs.id, intro_aud))
    });
    let foreign = rs_key.assertion(&rs.id, "https://other.example/oauth/introspect");
    refused(&mut c, &rs.id, |c| introspect(c, &foreign));
    // Nor with a secret it does not have.
    let guessed = basic_header(&TestClient {
        id: rs.id.clone(),
        secret: Some("guess".into()),
    });
    refused(&mut c, &rs.id, |c| {
        call(c, "introspect", json!({"token": at}), Some(&guessed))
    });

    // Revocation: by another client's assertion, nothing happens; by the holder's, the token
    // dies. A bad assertion is refused there too.
    let revoke_aud = "http://localhost:8080/oauth/revoke";
    let revoke = |c: &mut Client, assertion: &str| {
        call(
            c,
            "revoke",
            with_assertion(json!({"token": at}), assertion),
            None,
        )
    };
    let (r, status) = revoke(&mut c, &rs_key.assertion(&rs.id, revoke_aud));
    assert!(r.get("error").is_none() && status != "401", "{r}");
    let (answer, _) = introspect(&mut c, &rs_key.assertion(&rs.id, intro_aud));
    assert_eq!(answer["active"], true, "{answer}");
    let replay = job_key.assertion(&job.id, revoke_aud);
    revoke(&mut c, &replay);
    let (answer, _) = introspect(&mut c, &rs_key.assertion(&rs.id, intro_aud));
    assert_eq!(answer["active"], false, "{answer}");
    refused(&mut c, &job.id, |c| revoke(c, &replay));
    let none = job_key.assertion_with(&job.id, revoke_aud, json!({"alg": "none"}), json!({}));
    refused(&mut c, &job.id, |c| revoke(c, &none));
}

#[test]
fn pushed_requests_and_their_codes_authenticate_by_assertion() {
    let db = TestDb::new("pkj_par");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let web = signing_client(&mut c, &key, &["authorization_code", "refresh_token"]);
    let par_aud = "http://localhost:8080/oauth/par";
    let push = |c: &mut Client, assertion: &str| {
        let mut params = auth_params(&web, REDIRECT, "openid");
        params.as_object_mut().unwrap().remove("client_id");
        status_of(
            c,
            "SELECT oauth.par($1, NULL, NULL)",
            &[&with_assertion(params, assertion)],
        )
    };
    // Not as a public client, nor with another client's assertion or a replayed one.
    let mut unauthenticated = auth_params(&web, REDIRECT, "openid");
    unauthenticated["client_id"] = json!(web.id);
    refused(&mut c, &web.id, |c| {
        status_of(c, "SELECT oauth.par($1, NULL, NULL)", &[&unauthenticated])
    });
    let stranger = ClientKey::new("k1");
    refused(&mut c, &web.id, |c| {
        push(c, &stranger.assertion(&web.id, par_aud))
    });
    let (pushed, status) = push(&mut c, &key.assertion(&web.id, par_aud));
    assert_eq!(status, "201", "{pushed}");
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let once = key.assertion(&web.id, par_aud);
    push(&mut c, &once);
    refused(&mut c, &web.id, |c| push(c, &once));

    let r = authorize(
        &mut c,
        &json!({"client_id": web.id, "request_uri": request_uri}),
    );
    let aid = query_param(r["redirect_to"].as_str().unwrap(), "authorization_id")
        .unwrap_or_else(|| panic!("{r}"));
    let out = call_as(&mut c, &user("u"), "SELECT oauth.consent($1, true)", &aid);
    let code = query_param(out["redirect_to"].as_str().unwrap(), "code").unwrap();
    let form = json!({"grant_type": "authorization_code", "code": code,
                      "code_verifier": VERIFIER, "redirect_uri": REDIRECT});
    // The code by the client's public id alone: refused, and not spent.
    let mut public = form.clone();
    public["client_id"] = json!(web.id);
    refused(&mut c, &web.id, |c| call(c, "token", public, None));
    let t = issued(call(
        &mut c,
        "token",
        with_assertion(form, &key.assertion(&web.id, TOKEN_AUD)),
        None,
    ));
    assert_eq!(access_token_claims(&t)["sub"], "u");
    // Its refresh token, by assertion too; oauth.refresh (a secret as argument) cannot.
    let rt = t["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&mut c, &web, rt, None)["error"], "invalid_client");
    let refreshed = with_assertion(
        json!({"grant_type": "refresh_token", "refresh_token": rt}),
        &key.assertion(&web.id, TOKEN_AUD),
    );
    issued(call(&mut c, "token", refreshed, None));
}

#[test]
fn device_authorization_authenticates_by_assertion() {
    let db = TestDb::new("pkj_device");
    let mut c = db.connect();
    let key = ClientKey::new("k1");
    let tv = signing_client(&mut c, &key, &[DEVICE]);
    let device_aud = "http://localhost:8080/oauth/device_authorization";
    let start = |c: &mut Client, assertion: &str| {
        call(
            c,
            "device_authorization",
            with_assertion(json!({"scope": "openid"}), assertion),
            None,
        )
    };
    refused(&mut c, &tv.id, |c| {
        call(
            c,
            "device_authorization",
            json!({"client_id": tv.id, "scope": "openid"}),
            None,
        )
    });
    let exp = now() + 600;
    let long = key.assertion_with(&tv.id, device_aud, json!({}), json!({"exp": exp}));
    refused(&mut c, &tv.id, |c| start(c, &long));
    let (d, _) = start(&mut c, &key.assertion(&tv.id, device_aud));
    let device_code = d["device_code"].as_str().unwrap_or_else(|| panic!("{d}"));
    let poll = with_assertion(
        json!({"grant_type": DEVICE, "device_code": device_code}),
        &key.assertion(&tv.id, TOKEN_AUD),
    );
    let (p, _) = call(&mut c, "token", poll, None);
    assert_eq!(p["error"], "authorization_pending", "{p}");
    let unauthenticated =
        json!({"grant_type": DEVICE, "device_code": device_code, "client_id": tv.id});
    refused(&mut c, &tv.id, |c| call(c, "token", unauthenticated, None));
}

#[test]
fn discovery_names_private_key_jwt_and_only_asymmetric_algorithms() {
    let db = TestDb::new("pkj_discovery");
    let mut c = db.connect();
    let md = json(&mut c, "SELECT oauth.metadata()", &[]);
    for endpoint in ["token", "revocation", "introspection"] {
        let methods = &md[format!("{endpoint}_endpoint_auth_methods_supported")];
        assert!(
            methods
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt")),
            "{endpoint}: {methods}"
        );
        let algs = md[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")]
            .as_array()
            .unwrap_or_else(|| panic!("{endpoint}: {md}"))
            .clone();
        assert!(algs.contains(&json!("ES256")), "{endpoint}: {algs:?}");
        assert!(
            !algs
                .iter()
                .any(|a| a == "none" || a.as_str().unwrap().starts_with("HS")),
            "{endpoint}: {algs:?}"
        );
    }
    // Public clients have nothing to introspect with.
    let intro = &md["introspection_endpoint_auth_methods_supported"];
    assert!(
        !intro.as_array().unwrap().contains(&json!("none")),
        "{intro}"
    );
}
