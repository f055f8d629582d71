//! What a provider's callback (its authorization response) must say before its code is
//! redeemed: RFC 9207's `iss`, which tells a response of this provider from one another
//! provider (or an attacker's) sent to our callback for it (a mix-up attack).

use super::id_token::expected_issuer;
use super::Provider;
use crate::model::SignInKind;
use crate::protocol::issuer;
use serde_json::{json, Value};

/// The issuer a provider's authorization responses name, for the kinds that have one:
/// an OpenID provider's and Apple's as configured (a stored discovery document names the
/// same, exactly: `discovery::accept_discovery`), a single Microsoft tenant's
/// (`{authority}/{tenant}/v2.0`) and GitHub's (`{web_base}/login/oauth`, what github.com
/// sends). `None` for WorkOS, which documents none, and for multi-tenant Microsoft, whose
/// issuer is per tenant (`microsoft_tenant_issuer` checks its form instead).
fn fixed_issuer(p: &Provider) -> Option<String> {
    match p.kind {
        SignInKind::Oidc | SignInKind::Apple => p.issuer.clone(),
        SignInKind::Microsoft => {
            let t = p.tenant.as_deref().unwrap_or("common");
            super::MICROSOFT_MULTI_TENANT
                .iter()
                .all(|m| *m != t)
                .then(|| format!("{}/{t}/v2.0", p.issuer.as_deref().unwrap_or_default()))
        }
        SignInKind::Github => Some(format!(
            "{}/login/oauth",
            p.web_base.as_deref().unwrap_or_default()
        )),
        SignInKind::Workos => None,
    }
}

/// Whether the provider said it always sends `iss` (RFC 9207 §3): then a response without
/// one is not its own.
pub fn iss_required(discovery: Option<&Value>) -> bool {
    discovery
        .and_then(|d| d.get("authorization_response_iss_parameter_supported"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// RFC 9207 §2.4 on the callback's `iss`: when present it must be the provider's issuer,
/// compared exactly (no trailing-slash or case folding: another spelling is another issuer);
/// when the provider advertises it, it must be present. A multi-tenant Microsoft provider's
/// must be the issuer of a tenant allowed to sign in. WorkOS names no issuer to compare with:
/// its `iss`, if it ever sends one, is not checked (its own callback URL tells it apart).
pub fn check_iss(p: &Provider, discovery: Option<&Value>, iss: Option<&str>) -> Result<(), String> {
    let Some(iss) = iss else {
        if iss_required(discovery) {
            return Err(
                "the provider's callback has no iss, which its discovery document says it always sends (RFC 9207)"
                    .into(),
            );
        }
        return Ok(());
    };
    let ok = match fixed_issuer(p) {
        Some(expected) => issuer::same(iss, &expected),
        None if p.kind == SignInKind::Microsoft => microsoft_tenant_issuer(p, iss),
        None => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the callback names issuer {:?}, not this provider (RFC 9207)",
            iss.chars().take(200).collect::<String>()
        ))
    }
}

/// `{authority}/{tenant id}/v2.0` of a tenant the provider lets sign in.
fn microsoft_tenant_issuer(p: &Provider, iss: &str) -> bool {
    let base = p.issuer.as_deref().unwrap_or_default();
    let Some(tid) = iss
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_suffix("/v2.0"))
    else {
        return false;
    };
    // The tenant id as the ID token would carry it: the tenant rules, then the exact form.
    expected_issuer(p, &json!({ "tid": tid })).is_ok_and(|e| issuer::same(&e, iss))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::provider;
    use super::*;

    #[test]
    fn a_present_iss_must_be_the_providers_exactly() {
        let op =
            provider(json!({"kind": "oidc", "client_id": "c", "issuer": "https://op.example"}));
        assert!(check_iss(&op, None, None).is_ok());
        assert!(check_iss(&op, None, Some("https://op.example")).is_ok());
        for other in [
            "https://op.example/",
            "https://OP.example",
            "https://evil.example",
            "https://op.example/tenant",
            "",
        ] {
            assert!(check_iss(&op, None, Some(other)).is_err(), "{other}");
        }
        // An issuer configured with its trailing slash is that issuer, exactly.
        let slashed =
            provider(json!({"kind": "oidc", "client_id": "c", "issuer": "https://op.example/"}));
        let d = json!({"issuer": "https://op.example/", "authorization_response_iss_parameter_supported": true});
        assert!(check_iss(&slashed, Some(&d), Some("https://op.example/")).is_ok());
        assert!(check_iss(&slashed, Some(&d), Some("https://op.example")).is_err());
        // Advertised: required.
        assert!(check_iss(&op, Some(&d), None).is_err());
        let not_advertised = json!({"issuer": "https://op.example", "authorization_response_iss_parameter_supported": "true"});
        assert!(check_iss(&op, Some(&not_advertised), None).is_ok());
    }

    #[test]
    fn github_apple_and_microsoft_tenants() {
        let gh = provider(json!({"kind": "github", "client_id": "c"}));
        assert!(check_iss(&gh, None, Some("https://github.com/login/oauth")).is_ok());
        assert!(check_iss(&gh, None, Some("https://github.com")).is_err());
        let apple =
            provider(json!({"kind": "apple", "client_id": "c", "team_id": "T", "key_id": "K"}));
        assert!(check_iss(&apple, None, Some("https://appleid.apple.com")).is_ok());
        assert!(check_iss(&apple, None, Some("https://op.example")).is_err());
        let t1 = "11111111-1111-1111-1111-111111111111";
        let t2 = "22222222-2222-2222-2222-222222222222";
        let single = provider(json!({"kind": "microsoft", "client_id": "c", "tenant": t1}));
        let iss1 = format!("https://login.microsoftonline.com/{t1}/v2.0");
        let iss2 = format!("https://login.microsoftonline.com/{t2}/v2.0");
        assert!(check_iss(&single, None, Some(&iss1)).is_ok());
        assert!(check_iss(&single, None, Some(&iss2)).is_err());
        let multi =
            provider(json!({"kind": "microsoft", "client_id": "c", "allowed_tenants": [t1]}));
        assert!(check_iss(&multi, None, Some(&iss1)).is_ok());
        assert!(check_iss(&multi, None, Some(&iss2)).is_err(), "not allowed");
        assert!(check_iss(&multi, None, Some(&iss1.to_uppercase())).is_err());
        assert!(check_iss(
            &multi,
            None,
            Some("https://login.microsoftonline.com/common/v2.0")
        )
        .is_err());
        let workos = provider(json!({"kind": "workos", "client_id": "c", "connection": "x"}));
        assert!(check_iss(&workos, None, Some("anything")).is_ok());
    }
}
