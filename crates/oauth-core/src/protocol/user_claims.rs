//! The user's OpenID Connect claims (OIDC Core §5.1, §5.4): which claims each scope releases,
//! and how they are read from a Supabase `auth.users` row or from the session's own claims.
//! A `*_verified` claim is true only when the source says so with a real boolean `true`.

use serde_json::{json, Map, Value};

const PROFILE: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];
const EMAIL: &[&str] = &["email", "email_verified"];
const PHONE: &[&str] = &["phone_number", "phone_number_verified"];

fn claims_of_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => PROFILE,
        "email" => EMAIL,
        "phone" => PHONE,
        _ => &[],
    }
}

/// Every claim name some scope releases.
pub fn all() -> impl Iterator<Item = &'static str> {
    [PROFILE, EMAIL, PHONE].into_iter().flatten().copied()
}

fn is_user_claim(name: &str) -> bool {
    all().any(|c| c == name)
}

/// Keeps the user claims of `source` and normalises the verification flags: present (as
/// `false` unless the source says `true`) exactly when the claim they qualify is present.
pub fn normalise(source: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(obj) = source.as_object() {
        for (k, v) in obj {
            if is_user_claim(k) && !v.is_null() && !k.ends_with("_verified") {
                out.insert(k.clone(), v.clone());
            }
        }
        for (claim, flag) in [
            ("email", "email_verified"),
            ("phone_number", "phone_number_verified"),
        ] {
            if out.contains_key(claim) {
                let verified = obj.get(flag) == Some(&Value::Bool(true));
                out.insert(flag.into(), Value::Bool(verified));
            }
        }
    }
    out
}

/// The claims the granted scopes release.
pub fn for_scopes(user: &Map<String, Value>, scopes: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    for s in scopes {
        for name in claims_of_scope(s) {
            if let Some(v) = user.get(*name) {
                out.insert((*name).to_string(), v.clone());
            }
        }
    }
    out
}

/// A Supabase `auth.users` row (as `to_jsonb`) in OIDC terms.
pub fn from_supabase_user(row: &Value) -> Value {
    let meta = row.get("raw_user_meta_data").cloned().unwrap_or(json!({}));
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(String::from);
    let first = |keys: &[&str]| keys.iter().find_map(|k| text(meta.get(*k)));
    let confirmed = |col: &str| row.get(col).is_some_and(|v| !v.is_null());
    let mut c = json!({
        "email": text(row.get("email")).filter(|e| !e.is_empty()),
        "email_verified": confirmed("email_confirmed_at"),
        "phone_number": text(row.get("phone")).filter(|p| !p.is_empty()),
        "phone_number_verified": confirmed("phone_confirmed_at"),
        "name": first(&["full_name", "name"]),
        "picture": first(&["avatar_url", "picture"]),
        "preferred_username": first(&["preferred_username", "user_name"]),
    });
    if let Some(t) = row.get("updated_at_epoch").and_then(Value::as_i64) {
        c["updated_at"] = json!(t);
    }
    Value::Object(normalise(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn scopes_release_only_their_claims() {
        let user = normalise(&json!({
            "email": "a@example.com", "email_verified": true, "name": "A",
            "phone_number": "+1", "role": "admin", "sub": "u1",
        }));
        assert!(!user.contains_key("role"));
        assert!(!user.contains_key("sub"));
        let email_only = for_scopes(&user, &scopes(&["openid", "email"]));
        assert_eq!(
            Value::Object(email_only),
            json!({"email": "a@example.com", "email_verified": true})
        );
        let profile = for_scopes(&user, &scopes(&["profile"]));
        assert_eq!(Value::Object(profile), json!({"name": "A"}));
        assert!(for_scopes(&user, &scopes(&["openid"])).is_empty());
    }

    #[test]
    fn verified_only_when_the_source_says_true() {
        for flag in [json!("true"), json!(1), json!(null), json!(false)] {
            let c = normalise(&json!({"email": "a@b", "email_verified": flag}));
            assert_eq!(c["email_verified"], json!(false), "{flag}");
        }
        let c = normalise(&json!({"email": "a@b"}));
        assert_eq!(c["email_verified"], json!(false));
        // A flag without the claim it qualifies is dropped.
        assert!(normalise(&json!({"email_verified": true})).is_empty());
    }

    #[test]
    fn supabase_row() {
        let row = json!({
            "id": "0b0e…", "email": "a@example.com", "email_confirmed_at": null,
            "phone": "", "phone_confirmed_at": null, "updated_at_epoch": 1700000000,
            "raw_user_meta_data": {"full_name": "Ada", "avatar_url": "https://x/a.png"},
        });
        let c = from_supabase_user(&row);
        assert_eq!(c["email_verified"], json!(false));
        assert_eq!(c["name"], json!("Ada"));
        assert_eq!(c["picture"], json!("https://x/a.png"));
        assert_eq!(c["updated_at"], json!(1700000000));
        assert!(c.get("phone_number").is_none());
        let confirmed = json!({"email": "a@b", "email_confirmed_at": "2024-01-01"});
        assert_eq!(
            from_supabase_user(&confirmed)["email_verified"],
            json!(true)
        );
    }
}
