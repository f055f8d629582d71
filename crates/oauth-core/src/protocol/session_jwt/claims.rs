//! What a trusted issuer's verified claims must say to be a user session, and how they are
//! mapped onto ours. Reached only through `session_jwt::verify` and `session_jwt::judge`,
//! which refuse a disabled issuer first.

use crate::protocol::issuer;
use crate::protocol::issuer_policy::IssuerPolicy;
use crate::protocol::token_kind;
use serde_json::{json, Map, Value};

/// Claims of ours that a third-party session must not bring along: `client_id` marks a token
/// issued to an OAuth client (Cognito access tokens carry their own app's), `scope` is what
/// `oauth.has_scope` reads, `session_id` names one of our grants.
const RESERVED: &[&str] = &["client_id", "scope", "session_id"];

fn matches(value: Option<&Value>, expected: &Value) -> bool {
    let Some(value) = value else { return false };
    match expected {
        Value::Array(options) => options.contains(value),
        one => one == value,
    }
}

/// Refuses tokens that are recognisably not a user's session, rather than stripping the claims
/// that show it: a token issued to an OAuth client of the issuer, a token whose kind
/// (`token_use`) the policy does not pin, an ID token minted for any client of the issuer.
fn refuse_non_sessions(raw: &Map<String, Value>, policy: &IssuerPolicy) -> Result<(), String> {
    let present = |k: &str| raw.get(k).is_some_and(|v| !v.is_null());
    let pinned = |k: &str| policy.required_claims.contains_key(k);
    if present("client_id") && !client_bound_sessions(policy) {
        return Err(
            "token carries client_id: it was issued to an OAuth client, not a user session".into(),
        );
    }
    // A security event token (back-channel logout, RFC 8417) names a user and an audience too.
    if present("events") {
        return Err(
            "token is a security event (events), such as a logout token, not a user session".into(),
        );
    }
    let kind = raw.get("token_use").filter(|v| !v.is_null());
    if kind.is_some_and(|k| k != token_kind::SESSION) && !pinned("token_use") {
        return Err(format!(
            "token says it is a {} token (token_use); pin the kind accepted as a session with required_claims {{\"token_use\": …}}",
            raw["token_use"]
        ));
    }
    match raw.get("azp").filter(|v| !v.is_null()) {
        Some(Value::String(azp))
            if !policy.audiences.is_empty()
                && !policy.audiences.iter().any(|a| a == azp)
                && !pinned("azp") =>
        {
            return Err(format!(
                "token was obtained by client {azp:?} (azp), not one of the accepted audiences; list the parties accepted with required_claims {{\"azp\": [...]}}"
            ));
        }
        None | Some(Value::String(_)) => {}
        Some(other) => return Err(format!("token azp {other} is not a string")),
    }
    // A token addressed to an audience (an ID token is addressed to its client) may be meant
    // for another relying party of the issuer: trusting it needs the audience pinned.
    if policy.audiences.is_empty() && (present("aud") || present("at_hash") || present("nonce")) {
        return Err(
            "token is addressed to an audience (aud), as an ID token for some client of the issuer is; pin the accepted audience with option audience".into(),
        );
    }
    Ok(())
}

/// Whether the issuer's sessions are client-bound by design (Cognito access tokens: the
/// audience is the `client_id` claim, pinned to the app's own client).
pub(super) fn client_bound_sessions(policy: &IssuerPolicy) -> bool {
    policy.audience_claim == "client_id" && !policy.audiences.is_empty()
}

/// Checks the policy's claim rules on verified `claims` and maps them onto ours. Private to
/// `session_jwt`: every caller goes through [`super::judge`] or [`super::verify`], which
/// refuse a disabled issuer first.
pub(super) fn normalise(claims: Value, policy: &IssuerPolicy) -> Result<Value, String> {
    let Value::Object(raw) = claims else {
        return Err("token claims are not a JSON object".into());
    };
    if !raw
        .get("iss")
        .and_then(Value::as_str)
        .is_some_and(|iss| issuer::same(iss, &policy.issuer))
    {
        return Err(format!("token was not issued by {}", policy.issuer));
    }
    for (name, expected) in &policy.required_claims {
        if !matches(raw.get(name), expected) {
            return Err(format!("token claim {name} must be {expected}"));
        }
    }
    refuse_non_sessions(&raw, policy)?;
    if !policy.audiences.is_empty() {
        let aud = raw.get(&policy.audience_claim);
        let ok = match aud {
            Some(Value::String(a)) => policy.audiences.contains(a),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .any(|a| policy.audiences.iter().any(|p| p == a)),
            _ => false,
        };
        if !ok {
            return Err(format!(
                "token audience ({} {}) is not one accepted for issuer {}",
                policy.audience_claim,
                aud.map(Value::to_string)
                    .unwrap_or_else(|| "missing".into()),
                policy.issuer
            ));
        }
    }
    let user_id = raw
        .get(&policy.user_id_claim)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or_else(|| format!("token has no usable user id claim {}", policy.user_id_claim))?
        .to_string();
    let role = match policy.role_claim.as_ref().and_then(|c| raw.get(c)) {
        None | Some(Value::Null) => policy.default_role.clone(),
        Some(Value::String(r)) if policy.allowed_roles.contains(r) => r.clone(),
        Some(other) => {
            return Err(format!(
                "token role {other} is not one allowed for issuer {} ({})",
                policy.issuer,
                policy.allowed_roles.join(", ")
            ))
        }
    };
    let email = raw
        .get(&policy.email_claim)
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
        .map(String::from);
    let email_verified = email.is_some()
        && policy
            .email_verified_claim
            .as_ref()
            .is_some_and(|c| raw.get(c) == Some(&Value::Bool(true)));

    let mut out: Map<String, Value> = raw
        .iter()
        .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // `role` is the Postgres role; an upstream `role` the policy does not map (WorkOS puts the
    // organisation role there) stays readable under another name.
    if policy.role_claim.as_deref() != Some("role") {
        if let Some(upstream) = out.remove("role") {
            out.insert("upstream_role".into(), upstream);
        }
    }
    // What leaves here is a user session, whatever the issuer called it.
    match out.remove(token_kind::KIND_CLAIM) {
        Some(Value::String(k)) if k == token_kind::SESSION => {}
        Some(upstream) => {
            out.insert("upstream_token_use".into(), upstream);
        }
        None => {}
    }
    for id_only in ["at_hash", "nonce"] {
        out.remove(id_only);
    }
    out.insert(token_kind::KIND_CLAIM.into(), json!(token_kind::SESSION));
    // What the policy judged, for what this session approves to be judged again later; an
    // upstream claim of that name is replaced, never carried.
    out.insert(
        super::RECORD.into(),
        super::recorded::record(&raw, policy, &user_id),
    );
    out.insert("sub".into(), json!(user_id));
    out.insert("role".into(), json!(role));
    match email {
        Some(e) => {
            out.insert("email".into(), json!(e));
            out.insert("email_verified".into(), json!(email_verified));
        }
        None => {
            out.remove("email");
            out.remove("email_verified");
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(issuer: &str, options: Value) -> IssuerPolicy {
        IssuerPolicy::from_options(issuer, &options).unwrap()
    }

    #[test]
    fn entra_email_is_verified_only_by_xms_edov() {
        let iss = "https://login.microsoftonline.com/tid/v2.0";
        let p = policy(
            iss,
            json!({"audience": "app-id", "email_verified_claim": "xms_edov"}),
        );
        let base = json!({"iss": iss, "aud": "app-id", "sub": "s", "email": "a@contoso.com"});
        let mut unverified = base.clone();
        unverified["email_verified"] = json!(true);
        unverified["xms_edov"] = json!(false);
        assert_eq!(normalise(unverified, &p).unwrap()["email_verified"], false);
        let mut stringly = base.clone();
        stringly["xms_edov"] = json!("true");
        assert_eq!(normalise(stringly, &p).unwrap()["email_verified"], false);
        let mut verified = base;
        verified["xms_edov"] = json!(true);
        assert_eq!(normalise(verified, &p).unwrap()["email_verified"], true);
        // With no verification claim configured, an email is never verified.
        let never = policy(
            iss,
            json!({"audience": "app-id", "email_verified_claim": null}),
        );
        let c = json!({"iss": iss, "aud": "app-id", "sub": "s", "email": "a@b.c", "email_verified": true});
        assert_eq!(normalise(c, &never).unwrap()["email_verified"], false);
    }

    #[test]
    fn tokens_that_are_not_sessions_are_refused() {
        let iss = "https://idp.example";
        let open = policy(iss, json!({}));
        let pinned = policy(iss, json!({"audience": "my-spa"}));
        let base = json!({"iss": iss, "sub": "u1"});
        let with = |extra: Value| {
            let mut c = base.clone();
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            c
        };
        // An OAuth client's token of that issuer.
        let e = normalise(with(json!({"client_id": "some-app"})), &open).unwrap_err();
        assert!(e.contains("client_id"), "{e}");
        // A kind the policy does not pin.
        let e = normalise(with(json!({"token_use": "id"})), &open).unwrap_err();
        assert!(e.contains("token_use"), "{e}");
        let pinned_kind = policy(iss, json!({"required_claims": {"token_use": "id"}}));
        assert!(normalise(with(json!({"token_use": "id"})), &pinned_kind).is_ok());
        // Obtained by another client than the audience.
        let e = normalise(with(json!({"aud": "my-spa", "azp": "other-app"})), &pinned).unwrap_err();
        assert!(e.contains("azp"), "{e}");
        assert!(normalise(with(json!({"aud": "my-spa", "azp": "my-spa"})), &pinned).is_ok());
        let listed = policy(
            iss,
            json!({"audience": "api", "required_claims": {"azp": ["spa"]}}),
        );
        assert!(normalise(with(json!({"aud": "api", "azp": "spa"})), &listed).is_ok());
        // Without an audience, azp is only information (Clerk puts the app's origin there).
        assert!(normalise(with(json!({"azp": "https://app.example"})), &open).is_ok());
        // An ID token for any client of the issuer.
        let e = normalise(with(json!({"at_hash": "x", "aud": "whoever"})), &open).unwrap_err();
        assert!(e.contains("audience"), "{e}");
        let c = normalise(
            with(json!({"at_hash": "x", "nonce": "n", "aud": "my-spa"})),
            &pinned,
        )
        .unwrap();
        // What leaves is a session: ID-token marks gone, the upstream kind kept aside.
        assert_eq!(c["token_use"], "session");
        assert!(c.get("at_hash").is_none() && c.get("nonce").is_none());
        let c = normalise(with(json!({"token_use": "id"})), &pinned_kind).unwrap();
        assert_eq!(
            (c["token_use"].as_str(), c["upstream_token_use"].as_str()),
            (Some("session"), Some("id"))
        );
        // Logout tokens, other kinds and other clients' tokens are refused however they come.
        for bad in [
            json!({"events": {}}),
            json!({"token_use": "access"}),
            json!({"aud": "x"}),
        ] {
            assert!(normalise(with(bad.clone()), &open).is_err(), "{bad}");
        }
        let e = normalise(with(json!({"aud": "my-spa", "azp": ["other"]})), &pinned).unwrap_err();
        assert!(e.contains("not a string"), "{e}");
        let cognito_without_audience = policy(iss, json!({"audience_claim": "client_id"}));
        assert!(normalise(
            with(json!({"client_id": "any-app"})),
            &cognito_without_audience
        )
        .is_err());
    }

    #[test]
    fn cognito_access_token_shape() {
        let iss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc";
        let p = policy(
            iss,
            json!({"audience": "app-client", "audience_claim": "client_id",
                   "required_claims": {"token_use": "access"}}),
        );
        let access = json!({"iss": iss, "sub": "uuid-1", "client_id": "app-client",
            "token_use": "access", "scope": "aws.cognito.signin.user.admin", "username": "u"});
        let c = normalise(access.clone(), &p).unwrap();
        assert!(c.get("client_id").is_none() && c.get("scope").is_none());
        assert_eq!(c["sub"], "uuid-1");
        let mut id_token = access.clone();
        id_token["token_use"] = json!("id");
        assert!(normalise(id_token, &p).unwrap_err().contains("token_use"));
        let mut other_app = access;
        other_app["client_id"] = json!("someone-else");
        assert!(normalise(other_app, &p).unwrap_err().contains("audience"));
    }

    #[test]
    fn roles_come_from_the_allow_list_only() {
        let iss = "https://clerk.example.com";
        let p = policy(iss, json!({}));
        let with = |role: Value| json!({"iss": iss, "sub": "user_1", "role": role});
        assert_eq!(
            normalise(with(json!("authenticated")), &p).unwrap()["role"],
            "authenticated"
        );
        assert!(normalise(with(json!("service_role")), &p)
            .unwrap_err()
            .contains("role"));
        assert!(normalise(with(json!(["authenticated"])), &p).is_err());
        // WorkOS: the upstream role is the organisation role, not a Postgres role.
        let workos = policy(iss, json!({"role_claim": null}));
        let c = normalise(with(json!("admin")), &workos).unwrap();
        assert_eq!(c["role"], "authenticated");
        assert_eq!(c["upstream_role"], "admin");
    }
}
