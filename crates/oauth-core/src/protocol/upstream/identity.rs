//! The identity each kind of provider asserts, once its answer was checked (`id_token` for the
//! ID token's claims), and whether it says honestly that the email is verified: Apple with the
//! string `"true"`, Entra only with `xms_edov`, GitHub through its emails API, WorkOS never on
//! its own.

use super::Provider;
use crate::model::SignInKind;
use serde_json::{json, Map, Value};

/// An upstream identity: one row of `oauth.identities`.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The provider's stable id of the user (`sub`, GitHub's numeric id, WorkOS's profile id).
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// OpenID Connect profile claims (name, given_name, family_name, picture,
    /// preferred_username).
    pub profile: Map<String, Value>,
    /// Provider-specific facts worth keeping (tid, connection_id, is_private_email, …).
    pub details: Map<String, Value>,
    /// When the user last authenticated at the provider, if its ID token says (`auth_time`).
    pub auth_time: Option<i64>,
}

pub(super) fn str_claim<'a>(claims: &'a Value, k: &str) -> Option<&'a str> {
    claims
        .get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `true`, or the strings Apple and others send for it.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

fn email_of(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|e| e.len() <= 320 && e.contains('@') && !e.contains(char::is_whitespace))
        .map(String::from)
}

fn profile_claims(src: &Value, names: &[(&str, &str)]) -> Map<String, Value> {
    let mut out = Map::new();
    for (claim, from) in names {
        if let Some(v) = str_claim(src, from) {
            out.insert(
                (*claim).into(),
                json!(v.chars().take(256).collect::<String>()),
            );
        }
    }
    out
}

const OIDC_PROFILE: &[(&str, &str)] = &[
    ("name", "name"),
    ("given_name", "given_name"),
    ("family_name", "family_name"),
    ("picture", "picture"),
    ("preferred_username", "preferred_username"),
];

/// The name Apple posts with the first sign-in only (`user`, unsigned: a display name, never
/// an email to trust).
pub fn apple_first_name(user_field: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(v) = user_field
        .filter(|s| s.len() <= 4096)
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    else {
        return out;
    };
    let name = &v["name"];
    let part = |k: &str| {
        name.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(128).collect::<String>())
    };
    let (given, family) = (part("firstName"), part("lastName"));
    if let Some(g) = &given {
        out.insert("given_name".into(), json!(g));
    }
    if let Some(f) = &family {
        out.insert("family_name".into(), json!(f));
    }
    let full: Vec<String> = [given, family].into_iter().flatten().collect();
    if !full.is_empty() {
        out.insert("name".into(), json!(full.join(" ")));
    }
    out
}

/// The identity asserted by checked ID token claims.
pub fn from_id_token(p: &Provider, claims: &Value) -> Result<Identity, String> {
    let subject = str_claim(claims, "sub")
        .ok_or("the ID token has no sub")?
        .to_string();
    let email = email_of(str_claim(claims, "email"));
    let mut details = Map::new();
    let email_verified = match p.kind {
        SignInKind::Apple => {
            let private = truthy(claims.get("is_private_email"));
            details.insert("is_private_email".into(), json!(private));
            truthy(claims.get("email_verified"))
        }
        // Entra's `email` is whatever the tenant admin typed unless the domain owner is
        // verified: only the optional claim xms_edov says so.
        SignInKind::Microsoft => {
            for k in ["tid", "oid"] {
                if let Some(v) = str_claim(claims, k) {
                    details.insert(k.into(), json!(v));
                }
            }
            matches!(claims.get("xms_edov"), Some(Value::Bool(true)))
                || matches!(claims.get("xms_edov"), Some(Value::String(s)) if s == "true" || s == "1")
                || claims.get("xms_edov").and_then(Value::as_i64) == Some(1)
        }
        _ => claims.get("email_verified") == Some(&Value::Bool(true)),
    };
    Ok(Identity {
        subject,
        email_verified: email_verified && email.is_some(),
        email,
        profile: profile_claims(claims, OIDC_PROFILE),
        details,
        auth_time: claims
            .get("auth_time")
            .and_then(Value::as_f64)
            .map(|t| t as i64),
    })
}

/// Fills in what an OpenID provider's ID token left out from its userinfo answer, which
/// counts only for the same `sub` (OIDC Core §5.3.2); its `email_verified` only as a JSON true.
pub fn complete_from_userinfo(id: &mut Identity, userinfo: &Value) {
    if str_claim(userinfo, "sub") != Some(id.subject.as_str()) {
        return;
    }
    if id.email.is_none() {
        if let Some(e) = email_of(str_claim(userinfo, "email")) {
            id.email_verified = userinfo.get("email_verified") == Some(&Value::Bool(true));
            id.email = Some(e);
        }
    }
    for (k, v) in profile_claims(userinfo, OIDC_PROFILE) {
        id.profile.entry(k).or_insert(v);
    }
}

/// GitHub: `/user` and `/user/emails`. The email is the primary one, verified only if
/// GitHub says so; the public profile email is never taken as verified.
pub fn from_github(user: &Value, emails: &Value) -> Result<Identity, String> {
    let subject = match user.get("id") {
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => return Err("GitHub's user API answered without a numeric id".into()),
    };
    let primary = emails
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)));
    let (email, email_verified) = match primary {
        Some(e) => (
            email_of(str_claim(e, "email")),
            e.get("verified") == Some(&Value::Bool(true)),
        ),
        None => (email_of(str_claim(user, "email")), false),
    };
    let mut profile = profile_claims(
        user,
        &[
            ("name", "name"),
            ("preferred_username", "login"),
            ("picture", "avatar_url"),
        ],
    );
    if !profile.contains_key("name") {
        if let Some(l) = profile.get("preferred_username").cloned() {
            profile.insert("name".into(), l);
        }
    }
    let mut details = Map::new();
    if let Some(l) = str_claim(user, "login") {
        details.insert("login".into(), json!(l));
    }
    Ok(Identity {
        subject,
        email_verified: email_verified && email.is_some(),
        email,
        profile,
        details,
        auth_time: None,
    })
}

/// WorkOS: the SSO profile. It must come from the connection (or organization) configured,
/// or one organization's IdP could sign users in as another's.
pub fn from_workos(p: &Provider, profile: &Value) -> Result<Identity, String> {
    use super::WorkosSelector as W;
    let subject = str_claim(profile, "id")
        .filter(|s| s.len() <= 255)
        .ok_or("the WorkOS profile has no id (of at most 255 characters)")?
        .to_string();
    match &p.workos {
        Some(W::Connection(c)) if str_claim(profile, "connection_id") != Some(c.as_str()) => {
            return Err(format!(
                "the WorkOS profile is from another connection than {c}"
            ))
        }
        Some(W::Organization(o)) if str_claim(profile, "organization_id") != Some(o.as_str()) => {
            return Err(format!(
                "the WorkOS profile is from another organization than {o}"
            ))
        }
        // The browser can swap the selector in the authorization URL for any connection of
        // the WorkOS environment: the profile must be of the kind configured.
        Some(W::Provider(kind)) if str_claim(profile, "connection_type") != Some(kind.as_str()) => {
            return Err(format!(
                "the WorkOS profile is not from a {kind} connection"
            ))
        }
        _ => {}
    }
    let email = email_of(str_claim(profile, "email"));
    let mut prof = profile_claims(
        profile,
        &[("given_name", "first_name"), ("family_name", "last_name")],
    );
    let full: Vec<&str> = ["first_name", "last_name"]
        .iter()
        .filter_map(|k| str_claim(profile, k))
        .collect();
    if !full.is_empty() {
        prof.insert("name".into(), json!(full.join(" ")));
    }
    let mut details = Map::new();
    for k in [
        "connection_id",
        "connection_type",
        "organization_id",
        "idp_id",
    ] {
        if let Some(v) = str_claim(profile, k) {
            details.insert(k.into(), json!(v));
        }
    }
    Ok(Identity {
        subject,
        email_verified: p.trust_email && email.is_some(),
        email,
        profile: prof,
        details,
        auth_time: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{claims, oidc, provider};
    use super::*;

    #[test]
    fn email_verified_is_honest_per_kind() {
        let apple =
            provider(json!({"kind": "apple", "client_id": "rp", "team_id": "T", "key_id": "K"}));
        let i = from_id_token(
            &apple,
            &claims(json!({"email": "x@privaterelay.appleid.com",
            "email_verified": "true", "is_private_email": "true"})),
        )
        .unwrap();
        assert!(i.email_verified);
        assert_eq!(i.details["is_private_email"], true);
        let ms = provider(json!({"kind": "microsoft", "client_id": "rp"}));
        let unverified = from_id_token(
            &ms,
            &claims(json!({"email": "a@b.c", "email_verified": true})),
        )
        .unwrap();
        assert!(
            !unverified.email_verified,
            "Entra's email_verified is not trusted; xms_edov is"
        );
        assert!(
            from_id_token(&ms, &claims(json!({"email": "a@b.c", "xms_edov": true})))
                .unwrap()
                .email_verified
        );
        // The generic kind: only a JSON true.
        assert!(
            !from_id_token(
                &oidc(),
                &claims(json!({"email": "a@b.c", "email_verified": "true"}))
            )
            .unwrap()
            .email_verified
        );
        let gh = from_github(&json!({"id": 42, "login": "octo", "email": "pub@x.y"}),
            &json!([{"email": "p@x.y", "primary": true, "verified": false}, {"email": "v@x.y", "primary": false, "verified": true}])).unwrap();
        assert_eq!(
            (gh.subject.as_str(), gh.email.as_deref(), gh.email_verified),
            ("42", Some("p@x.y"), false)
        );
        assert_eq!(gh.profile["name"], "octo");
        assert!(from_github(&json!({"id": "42"}), &json!([])).is_err());
    }

    #[test]
    fn userinfo_fills_in_only_for_the_same_subject() {
        let mut id = from_id_token(&oidc(), &claims(json!({}))).unwrap();
        complete_from_userinfo(
            &mut id,
            &json!({"sub": "someone-else", "email": "x@y.z", "email_verified": true}),
        );
        assert!(id.email.is_none());
        complete_from_userinfo(
            &mut id,
            &json!({"sub": "u1", "email": "x@y.z", "email_verified": true, "name": "X"}),
        );
        assert_eq!(
            (id.email.as_deref(), id.email_verified),
            (Some("x@y.z"), true)
        );
        assert_eq!(id.profile["name"], "X");
    }

    #[test]
    fn workos_profile_must_come_from_the_configured_connection() {
        let w = provider(json!({"kind": "workos", "client_id": "c", "connection": "conn_1"}));
        let prof = json!({"id": "prof_1", "connection_id": "conn_1", "email": "a@b.c", "first_name": "Ada", "last_name": "L"});
        let i = from_workos(&w, &prof).unwrap();
        assert_eq!(i.profile["name"], "Ada L");
        assert!(!i.email_verified);
        let mut other = prof.clone();
        other["connection_id"] = json!("conn_2");
        assert!(from_workos(&w, &other).is_err());
        let google =
            provider(json!({"kind": "workos", "client_id": "c", "provider": "GoogleOAuth"}));
        let mut saml = prof.clone();
        saml["connection_type"] = json!("OktaSAML");
        assert!(
            from_workos(&google, &saml).is_err(),
            "a swapped selector is refused"
        );
        saml["connection_type"] = json!("GoogleOAuth");
        assert!(from_workos(&google, &saml).is_ok());
        let mut long = prof.clone();
        long["id"] = json!("x".repeat(300));
        assert!(from_workos(&w, &long).is_err());
    }

    #[test]
    fn apple_name_from_the_first_sign_in() {
        let n = apple_first_name(Some(
            r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x@y"}"#,
        ));
        assert_eq!(n["name"], "Ada Lovelace");
        assert!(apple_first_name(Some("not json")).is_empty());
        assert!(apple_first_name(None).is_empty());
    }
}
