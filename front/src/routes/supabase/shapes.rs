//! Our SQL functions' JSON, in the shapes supabase-js (`@supabase/auth-js`) reads, and its
//! request bodies in the shapes our functions take. Pure functions: no I/O.
//!
//! Fields Supabase does not have (requested resources, scope descriptions, a device request)
//! are added under names Supabase does not use, so a page written for Supabase ignores them
//! and one written for us can show them.

use serde_json::{json, Map, Value};

/// `{client_id, name, client_uri, logo_uri}` → Supabase's `{id, name, uri, logo_uri}`,
/// leaving out what is unset (as GoTrue's `omitempty` does).
pub fn client_summary(ours: &Value) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), ours["client_id"].clone());
    for (from, to) in [
        ("name", "name"),
        ("client_uri", "uri"),
        ("logo_uri", "logo_uri"),
    ] {
        if let Some(v) = ours.get(from).filter(|v| !v.is_null()) {
            out.insert(to.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// A decision's answer: our `redirect_to` is Supabase's `redirect_url`; anything else (a
/// device approval has no redirect) is kept.
pub fn redirect(ours: Value) -> Value {
    match ours {
        Value::Object(mut o) => {
            if let Some(url) = o.remove("redirect_to") {
                o.insert("redirect_url".into(), url);
            }
            Value::Object(o)
        }
        other => other,
    }
}

/// `oauth.authorization(id)` → `getAuthorizationDetails`'s data: the details, or
/// `{redirect_url}` when the request was answered without asking (an earlier consent covers
/// it, or it ended).
pub fn authorization_details(ours: Value) -> Value {
    if ours.get("redirect_to").is_some() {
        return redirect(ours);
    }
    let scopes = ours["scopes"].as_array().cloned().unwrap_or_default();
    let scope = scopes
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut user = json!({"id": ours["user"]["id"]});
    if let Some(email) = ours["user"]["email"].as_str() {
        user["email"] = json!(email);
    }
    json!({
        "authorization_id": ours["authorization_id"],
        "redirect_uri": ours["redirect_uri"],
        "client": client_summary(&ours["client"]),
        "user": user,
        "scope": scope,
        // Ours, beyond Supabase's: what the consent page should show as well.
        "scope_descriptions": scopes,
        "resources": ours["resources"],
        "device": ours["device"],
        "prompt": ours["prompt"],
        "max_age": ours["max_age"],
        "expires_at": ours["expires_at"],
    })
}

/// One entry of `oauth.grants()` → Supabase's `{client, scopes, granted_at}` (and ours:
/// `resources`, `scopes_by_audience`, `updated_at`, `last_used_at`).
pub fn grant(ours: &Value) -> Value {
    let mut out = json!({
        "client": client_summary(&ours["client"]),
        "scopes": ours["scopes"],
        "granted_at": ours["granted_at"],
    });
    for k in [
        "resources",
        "scopes_by_audience",
        "updated_at",
        "last_used_at",
    ] {
        out[k] = ours[k].clone();
    }
    out
}

/// A client as `oauth.client`/`oauth.clients`/`oauth.create_client` show it → Supabase's
/// `OAuthClient`. `client_secret` only when the answer has one (creation, regeneration).
pub fn client(ours: &Value) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, v: &Value| {
        if !v.is_null() {
            out.insert(k.into(), v.clone());
        }
    };
    put("client_id", &ours["client_id"]);
    put("client_secret", &ours["client_secret"]);
    put("client_type", &ours["client_type"]);
    put("redirect_uris", &ours["redirect_uris"]);
    put(
        "token_endpoint_auth_method",
        &ours["token_endpoint_auth_method"],
    );
    put("grant_types", &ours["grant_types"]);
    put("response_types", &json!(["code"]));
    put("client_name", &ours["name"]);
    put("client_uri", &ours["client_uri"]);
    put("logo_uri", &ours["logo_uri"]);
    let registration = ours["registration_type"].as_str().unwrap_or("manual");
    put("registration_type", &json!(registration));
    if let Some(scopes) = ours["scopes"].as_array() {
        let names: Vec<&str> = scopes.iter().filter_map(Value::as_str).collect();
        put("scope", &json!(names.join(" ")));
    }
    put(
        "post_logout_redirect_uris",
        &ours["post_logout_redirect_uris"],
    );
    put("created_at", &ours["created_at"]);
    put("updated_at", &ours["updated_at"]);
    Value::Object(out)
}

/// Fields of `createClient`'s and `updateClient`'s bodies, and what each is called in ours.
/// `scope` is honoured (space-separated; Supabase's server ignores it); `response_types`
/// may only say `code`; `client_type` only at creation.
const CLIENT_FIELDS: [(&str, &str); 7] = [
    ("client_name", "name"),
    ("client_uri", "client_uri"),
    ("logo_uri", "logo_uri"),
    ("redirect_uris", "redirect_uris"),
    ("grant_types", "grant_types"),
    ("token_endpoint_auth_method", "token_endpoint_auth_method"),
    ("scope", "scopes"),
];

fn translate_client_fields(body: &Value, creating: bool) -> Result<Map<String, Value>, String> {
    let Some(fields) = body.as_object() else {
        return Err("the body must be a JSON object".into());
    };
    let mut out = Map::new();
    for (k, v) in fields {
        if let Some((_, ours)) = CLIENT_FIELDS.iter().find(|(theirs, _)| theirs == k) {
            let v = if *ours == "scopes" {
                scope_list(v)?
            } else {
                v.clone()
            };
            out.insert((*ours).into(), v);
        } else if creating && k == "client_type" {
            out.insert("client_type".into(), v.clone());
        } else if creating && k == "response_types" {
            let only_code = v
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|t| t == "code"));
            if !only_code {
                return Err("response_types may only be [\"code\"]".into());
            }
        } else {
            return Err(format!("unknown field {k:?}"));
        }
    }
    Ok(out)
}

/// `"a b"` → `["a", "b"]`; null → null (any scope the server knows). An empty string is
/// refused rather than read as either: a form's empty field must not widen a client to every
/// scope.
fn scope_list(v: &Value) -> Result<Value, String> {
    match v {
        Value::Null => Ok(Value::Null),
        Value::String(s) if !s.trim().is_empty() => {
            Ok(json!(s.split_whitespace().collect::<Vec<_>>()))
        }
        _ => Err(
            "scope must be a space-separated string naming at least one scope \
             (null: any scope this server knows)"
                .into(),
        ),
    }
}

/// `createClient`'s body → `oauth.admin_clients`' create params. As GoTrue does, a client
/// whose `token_endpoint_auth_method` is `none` is public unless `client_type` says.
pub fn create_params(body: &Value) -> Result<Value, String> {
    let mut out = translate_client_fields(body, true)?;
    if !out.contains_key("client_type")
        && out.get("token_endpoint_auth_method") == Some(&json!("none"))
    {
        out.insert("client_type".into(), json!("public"));
    }
    Ok(Value::Object(out))
}

/// `updateClient`'s body → `oauth.admin_clients`' update params; at least one field.
pub fn update_params(body: &Value) -> Result<Value, String> {
    let out = translate_client_fields(body, false)?;
    if out.is_empty() {
        return Err("No fields provided for update".into());
    }
    Ok(Value::Object(out))
}

/// Claims that are about the token, not the user: left out of `user_metadata`.
const TOKEN_CLAIMS: [&str; 16] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "role",
    "sid",
    "session_id",
    "auth_time",
    "amr",
    "acr",
    "azp",
    "email",
    "phone_number",
];

/// A verified session's claims → the user object of `GET /user` (what `setSession` and
/// `getUser` read). The extension does not own users: what is known is what the session says.
pub fn user(claims: &Value) -> Value {
    let text = |k: &str| claims[k].as_str().unwrap_or("").to_string();
    let aud = match &claims["aud"] {
        Value::String(a) => a.clone(),
        Value::Array(a) => a.first().and_then(Value::as_str).unwrap_or("").into(),
        _ => String::new(),
    };
    let metadata: Map<String, Value> = claims
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !TOKEN_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    json!({
        "id": text("sub"),
        "aud": if aud.is_empty() { "authenticated".into() } else { aud },
        "role": claims["role"].as_str().unwrap_or("authenticated"),
        "email": text("email"),
        "phone": text("phone_number"),
        "app_metadata": {"provider": claims["iss"]},
        "user_metadata": metadata,
        "identities": [],
        "is_anonymous": false,
    })
}

/// GoTrue's `Link` header for page `page` of `total` clients, `per_page` a page: `next` when
/// there is one, and `last`. `page` is the first query parameter: supabase-js reads the
/// number right after the first `=`.
pub fn pagination_link(path: &str, page: i64, per_page: i64, total: i64) -> String {
    let last = ((total + per_page - 1) / per_page).max(1);
    let url = |p: i64| format!("<{path}?page={p}&per_page={per_page}>");
    let mut out = String::new();
    if last > page {
        out.push_str(&format!("{}; rel=\"next\", ", url(page + 1)));
    }
    out.push_str(&format!("{}; rel=\"last\"", url(last)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours_details() -> Value {
        json!({
            "authorization_id": "A", "device": false, "redirect_uri": "http://127.0.0.1/cb",
            "client": {"client_id": "c1", "name": "App", "client_uri": null, "logo_uri": "https://l"},
            "scopes": [{"name": "openid", "description": "x"}, {"name": "email", "description": "y"}],
            "resources": ["https://api.example"], "prompt": null, "max_age": null,
            "user": {"id": "u1", "email": "u1@example.com"}, "expires_at": "t"
        })
    }

    #[test]
    fn details_are_supabases_with_ours_beside_them() {
        let d = authorization_details(ours_details());
        assert_eq!(d["scope"], "openid email");
        assert_eq!(
            d["client"],
            json!({"id": "c1", "name": "App", "logo_uri": "https://l"})
        );
        assert_eq!(d["user"], json!({"id": "u1", "email": "u1@example.com"}));
        assert_eq!(d["resources"], json!(["https://api.example"]));
        assert_eq!(d["scope_descriptions"][1]["name"], "email");
        let mut no_email = ours_details();
        no_email["user"]["email"] = Value::Null;
        assert_eq!(authorization_details(no_email)["user"], json!({"id": "u1"}));
    }

    #[test]
    fn an_answered_request_is_only_its_redirect_url() {
        let d = authorization_details(json!({"redirect_to": "http://127.0.0.1/cb?code=1"}));
        assert_eq!(d, json!({"redirect_url": "http://127.0.0.1/cb?code=1"}));
        assert_eq!(
            redirect(json!({"device": true, "approved": true})),
            json!({"device": true, "approved": true})
        );
    }

    #[test]
    fn clients_read_as_supabases() {
        let c = client(&json!({
            "client_id": "c1", "name": "App", "client_type": "confidential",
            "redirect_uris": ["https://a/cb"], "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "client_secret_basic", "scopes": ["openid", "email"],
            "client_uri": null, "logo_uri": null, "created_at": "t", "updated_at": "t",
            "registration_type": "dynamic"
        }));
        assert_eq!(c["client_name"], "App");
        assert_eq!(c["scope"], "openid email");
        assert_eq!(c["response_types"], json!(["code"]));
        assert_eq!(c["registration_type"], "dynamic");
        assert!(c.get("client_uri").is_none() && c.get("client_secret").is_none());
    }

    #[test]
    fn create_bodies_translate_and_refuse_what_they_cannot_say() {
        let p = create_params(
            &json!({"client_name": "A", "redirect_uris": ["https://a/cb"],
            "token_endpoint_auth_method": "none", "scope": "openid  email",
            "response_types": ["code"]}),
        )
        .unwrap();
        assert_eq!(p["name"], "A");
        assert_eq!(p["client_type"], "public");
        assert_eq!(p["scopes"], json!(["openid", "email"]));
        assert!(p.get("response_types").is_none());
        assert!(create_params(&json!({"response_types": ["token"]})).is_err());
        assert!(create_params(&json!({"client_secret": "mine"})).is_err());
        assert!(create_params(&json!({"scope": ["openid"]})).is_err());
        // An empty scope would widen the client to every scope: refused, in every spelling.
        for empty in ["", "  ", "\u{a0}", "\t\n"] {
            assert!(
                create_params(&json!({ "scope": empty })).is_err(),
                "{empty:?}"
            );
            assert!(
                update_params(&json!({ "scope": empty })).is_err(),
                "{empty:?}"
            );
        }
        assert_eq!(
            update_params(&json!({"scope": null})).unwrap(),
            json!({"scopes": null})
        );
        assert!(create_params(&json!([1])).is_err());
        let explicit = create_params(&json!({"client_type": "confidential",
            "token_endpoint_auth_method": "none"}))
        .unwrap();
        assert_eq!(explicit["client_type"], "confidential");
    }

    #[test]
    fn updates_need_a_field_and_cannot_change_the_type() {
        assert_eq!(
            update_params(&json!({})).unwrap_err(),
            "No fields provided for update"
        );
        assert!(update_params(&json!({"client_type": "public"})).is_err());
        assert_eq!(
            update_params(&json!({"client_name": "B"})).unwrap(),
            json!({"name": "B"})
        );
    }

    #[test]
    fn the_user_is_what_the_session_says() {
        let u = user(
            &json!({"sub": "u1", "iss": "https://i", "role": "authenticated",
            "email": "u1@example.com", "name": "U", "exp": 1, "aud": ["a", "b"]}),
        );
        assert_eq!(u["id"], "u1");
        assert_eq!(u["aud"], "a");
        assert_eq!(u["email"], "u1@example.com");
        assert_eq!(u["phone"], "");
        assert_eq!(u["user_metadata"], json!({"name": "U"}));
    }

    #[test]
    fn link_headers_parse_as_supabase_js_parses_them() {
        let l = pagination_link("/auth/v1/admin/oauth/clients", 1, 50, 120);
        assert_eq!(
            l,
            "</auth/v1/admin/oauth/clients?page=2&per_page=50>; rel=\"next\", \
             </auth/v1/admin/oauth/clients?page=3&per_page=50>; rel=\"last\""
        );
        // supabase-js: the digit after the first '=' of each entry, and the rel as JSON.
        for (entry, page, rel) in l.split(',').zip([2, 3]).map(|(e, p)| {
            let rel = e
                .split(';')
                .nth(1)
                .unwrap()
                .split('=')
                .nth(1)
                .unwrap()
                .to_string();
            (e.to_string(), p, rel)
        }) {
            let digit = entry.split(';').next().unwrap().split('=').nth(1).unwrap();
            assert_eq!(&digit[..1], page.to_string());
            assert!(rel == "\"next\"" || rel == "\"last\"", "{rel}");
        }
        assert_eq!(
            pagination_link("/p", 1, 50, 0),
            "</p?page=1&per_page=50>; rel=\"last\""
        );
    }
}
