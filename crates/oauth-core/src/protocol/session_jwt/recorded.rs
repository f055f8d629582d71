//! What a trusted issuer's policy judged when one of its sessions approved something, recorded
//! with the decision, and that record judged again by the policy of today.
//!
//! A refresh-token family, an approved code or device request, and the consent they came from
//! outlive the session that approved them. The issuer's policy may change meanwhile (an
//! `allowed_roles` narrowed, a claim now required, another audience or `azp` pinned): the
//! sessions it now refuses must not keep their earlier approvals working. So the claims the
//! policy's checks read are kept with the user claims of the decision, under the reserved key
//! [`RECORD`], and every re-check ([`rejudge`]) runs the same judgement (`claims::normalise`)
//! on them with today's policy. Time claims are never recorded: a decision's life is its own
//! (the family's, the code's), not its session's.
//!
//! What is recorded: the user id the session mapped to, and each claim the policy read — for
//! the claims it needs (each required claim, the audience claim when an audience is pinned,
//! the user id claim, the role claim) the value or `null` when absent; for the marks of tokens
//! that are not sessions (`client_id`, `events`, `token_use`, `azp`, `aud`, `at_hash`,
//! `nonce`), the value when present. A claim today's policy needs that the record does not
//! hold was never judged: the decision is refused (fail closed), never assumed to pass. A
//! widening change (another allowed role, a required claim dropped, another audience) refuses
//! nothing that still passes.

use super::claims::normalise;
use crate::protocol::issuer_policy::IssuerPolicy;
use serde_json::{json, Map, Value};

/// The reserved key of a decision's user claims holding the record. Never a claim that scopes
/// release (`user_claims::for_scopes` releases only the OpenID Connect user claims), so it
/// reaches no ID token or userinfo answer.
pub const RECORD: &str = "judged_session";

/// Claims every policy reads when present: the marks of a token that is not a user session.
const MARKS: &[&str] = &[
    "client_id",
    "events",
    "token_use",
    "azp",
    "aud",
    "at_hash",
    "nonce",
];

/// The claims `policy` needs to admit a session: absent, the session is refused or judged as
/// one without them.
fn needed(policy: &IssuerPolicy) -> Vec<&str> {
    let mut names: Vec<&str> = policy.required_claims.keys().map(String::as_str).collect();
    if !policy.audiences.is_empty() {
        names.push(&policy.audience_claim);
    }
    names.push(&policy.user_id_claim);
    if let Some(role) = &policy.role_claim {
        names.push(role);
    }
    names
}

/// The record of what `policy` judged in `raw` (a session it admitted as user `sub`).
pub(super) fn record(raw: &Map<String, Value>, policy: &IssuerPolicy, sub: &str) -> Value {
    let mut claims = Map::new();
    for name in MARKS {
        if let Some(v) = raw.get(*name).filter(|v| !v.is_null()) {
            claims.insert((*name).into(), v.clone());
        }
    }
    for name in needed(policy) {
        let v = raw.get(name).cloned().unwrap_or(Value::Null);
        claims.insert(name.into(), v);
    }
    json!({"sub": sub, "claims": claims})
}

/// Judges again, by today's `policy` of issuer `iss`, the session that approved a decision,
/// from the `user_claims` recorded with it: `Ok` when a session saying what it said would be
/// admitted today, as the same user; otherwise why not.
///
/// A decision recorded without [`RECORD`] (approved before records were kept, or a row written
/// by hand), or whose record names no user, is refused: what the policy judged is unknown,
/// and the user signs in again. Nothing else recorded stands in for it — the OpenID Connect
/// claims kept for ID tokens may hold the user id claim (`email`) of someone else.
pub fn rejudge(user_claims: &Value, iss: &str, policy: &IssuerPolicy) -> Result<(), String> {
    if !policy.enabled {
        return Err(format!("issuer {} is disabled", policy.issuer));
    }
    let unknown =
        || "what its policy judged of the session that approved this was not recorded".to_string();
    let record = user_claims.get(RECORD).ok_or_else(unknown)?;
    let sub = record
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(unknown)?;
    let recorded = record.get("claims").and_then(Value::as_object).cloned();
    let recorded = recorded.unwrap_or_default();
    if let Some(missing) = needed(policy)
        .into_iter()
        .find(|n| !recorded.contains_key(*n))
    {
        return Err(format!(
            "its policy now reads the claim {missing}, which was not recorded when the session approved this"
        ));
    }
    let mut claims: Map<String, Value> =
        recorded.into_iter().filter(|(_, v)| !v.is_null()).collect();
    claims.insert("iss".into(), json!(iss));
    let session = normalise(Value::Object(claims), policy)?;
    if session.get("sub").and_then(Value::as_str) != Some(sub) {
        return Err(format!(
            "its policy now maps the session to another user than {sub}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::judge;
    use super::*;
    use crate::protocol::user_claims;

    const IDP: &str = "https://idp.example";

    fn policy(options: Value) -> IssuerPolicy {
        IssuerPolicy::from_options(IDP, &options).unwrap()
    }

    /// The user claims a decision records for a session of `claims` admitted by `options`.
    fn approved(claims: Value, options: Value) -> Value {
        let session = judge(claims, &policy(options)).unwrap();
        json!({"iss": IDP, "email": "a@example.com", RECORD: session[RECORD]})
    }

    fn plain() -> Value {
        approved(
            json!({"iss": IDP, "sub": "u1", "role": "authenticated"}),
            json!({}),
        )
    }

    fn again(uc: &Value, options: Value) -> Result<(), String> {
        rejudge(uc, IDP, &policy(options))
    }

    #[test]
    fn the_record_holds_what_the_policy_read_and_no_time() {
        let c = json!({"iss": IDP, "sub": "u1", "aud": "spa", "azp": "spa", "exp": 9, "iat": 1,
                       "auth_time": 1, "org": "acme", "name": "A"});
        let s = judge(
            c,
            &policy(json!({"audience": "spa", "required_claims": {"org": "acme"}})),
        )
        .unwrap();
        assert_eq!(
            s[RECORD],
            json!({"sub": "u1", "claims": {"aud": "spa", "azp": "spa", "org": "acme",
                                           "sub": "u1", "role": null}})
        );
        // An upstream claim of the reserved name is replaced, never trusted.
        let forged = json!({"iss": IDP, "sub": "u1", RECORD: {"sub": "admin", "claims": {}}});
        assert_eq!(
            judge(forged, &policy(json!({}))).unwrap()[RECORD]["sub"],
            "u1"
        );
        // Nor does any scope release it into an ID token or userinfo.
        let scopes = ["openid", "profile", "email", "phone"].map(String::from);
        let released = user_claims::for_scopes(plain().as_object().unwrap(), &scopes);
        assert!(!released.contains_key(RECORD), "{released:?}");
    }

    #[test]
    fn an_unchanged_or_widened_policy_admits_it_still() {
        let uc = plain();
        assert_eq!(again(&uc, json!({})), Ok(()));
        assert_eq!(
            again(&uc, json!({"allowed_roles": ["authenticated", "admin"]})),
            Ok(())
        );
        let pinned = approved(
            json!({"iss": IDP, "sub": "u1", "aud": "spa", "aal": "aal2"}),
            json!({"audience": "spa", "required_claims": {"aal": "aal2"}}),
        );
        // A required claim dropped, another audience added, another value allowed.
        assert_eq!(again(&pinned, json!({"audience": "spa"})), Ok(()));
        assert_eq!(
            again(
                &pinned,
                json!({"audience": ["spa", "other"], "required_claims": {"aal": ["aal1", "aal2"]}})
            ),
            Ok(())
        );
    }

    #[test]
    fn a_narrowed_policy_refuses_what_it_no_longer_admits() {
        let uc = plain();
        let e = again(
            &uc,
            json!({"allowed_roles": ["admin"], "default_role": "admin"}),
        )
        .unwrap_err();
        assert!(e.contains("role"), "{e}");
        // A claim now required that the session did not carry (nor was recorded): refused.
        let e = again(&uc, json!({"required_claims": {"aal": "aal2"}})).unwrap_err();
        assert!(e.contains("aal") && e.contains("not recorded"), "{e}");
        // An audience now pinned: the session had none.
        let e = again(&uc, json!({"audience": "spa"})).unwrap_err();
        assert!(e.contains("aud"), "{e}");
        let spa = approved(
            json!({"iss": IDP, "sub": "u1", "aud": "spa", "azp": "spa"}),
            json!({"audience": "spa"}),
        );
        assert!(again(&spa, json!({"audience": "other"})).is_err());
        // Another azp pinned.
        assert!(again(
            &spa,
            json!({"audience": "spa", "required_claims": {"azp": "cli"}})
        )
        .is_err());
        // The audience unpinned: a session addressed to one is refused as any new one is.
        assert!(again(&spa, json!({})).is_err());
        // Another user id claim: never recorded, so never judged.
        assert!(again(&uc, json!({"user_id_claim": "email"})).is_err());
        // A role claim that was recorded, read under another name now.
        assert!(again(&uc, json!({"role_claim": "app_role"})).is_err());
        assert!(again(&uc, json!({"enabled": false}))
            .unwrap_err()
            .contains("disabled"));
    }

    #[test]
    fn a_record_judged_as_another_user_or_missing_is_refused() {
        // The user id claim was recorded, but the record names another user (tampered, or a
        // mapping that changed meaning).
        let mut uc = plain();
        uc[RECORD]["sub"] = json!("u2");
        assert!(again(&uc, json!({})).unwrap_err().contains("another user"));
        // Recorded before records were kept: refused, whatever the user claims hold — also
        // when they hold the policy's user id claim (email), which may be someone else's.
        let legacy = json!({"iss": IDP, "email": "a@example.com"});
        assert!(again(&legacy, json!({}))
            .unwrap_err()
            .contains("not recorded"));
        assert!(again(
            &legacy,
            json!({"user_id_claim": "email", "role_claim": null})
        )
        .is_err());
        // A record without a user.
        let mut nameless = plain();
        nameless[RECORD]["sub"] = json!(7);
        assert!(again(&nameless, json!({})).is_err());
        assert!(again(&Value::Null, json!({})).is_err());
        // A record that is not an object is no record.
        let broken = json!({"iss": IDP, RECORD: "x"});
        assert!(again(&broken, json!({})).is_err());
    }
}
