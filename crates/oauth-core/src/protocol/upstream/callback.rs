//! What a provider's callback (its authorization response) must bring before its code is
//! redeemed: the state of a sign-in this browser started with this provider, and RFC 9207's
//! `iss`, which tells a response of this provider from one another provider (or an
//! attacker's) sent to our callback for it (a mix-up attack).

use super::id_token::expected_issuer;
use super::Provider;
use crate::model::SignInKind;
use crate::protocol::{issuer, secret};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

/// A sign-in in flight as stored, for judging the callback that names its state.
pub struct StoredState<'a> {
    /// The provider it was started with.
    pub provider: &'a str,
    /// `pending` (until the callback), `exchanging` (while the front redeems the code), `done`
    /// or `failed`.
    pub status: &'a str,
    pub expired: bool,
    /// The hash of the browser binding (a cookie) it was started with.
    pub binding_hash: &'a [u8],
}

/// Why a callback for `provider` carrying `binding` may not go on with the state `s`, which
/// must be in status `wanted`; `None` when it may.
pub fn state_refusal(
    provider: &str,
    s: &StoredState<'_>,
    wanted: &str,
    binding: Option<&str>,
) -> Option<&'static str> {
    let same_browser =
        binding.is_some_and(|b| bool::from(secret::hash(b).as_slice().ct_eq(s.binding_hash)));
    if s.provider != provider {
        Some("this sign-in was started with another provider")
    } else if s.status != wanted {
        Some("this sign-in was already used: start again")
    } else if s.expired {
        Some("this sign-in has expired: start again")
    } else if !same_browser {
        Some("this sign-in was started in another browser (or its cookie is gone): start again")
    } else {
        None
    }
}

/// The callback's code, if it is one worth sending upstream (present, at most 4 KiB).
pub fn usable_code(code: Option<&str>) -> Option<&str> {
    code.filter(|c| !c.is_empty() && c.len() <= 4096)
}

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
    fn a_state_is_this_providers_in_its_step_unexpired_and_this_browsers() {
        let hash = secret::hash("cookie");
        let s = |provider, status, expired| StoredState {
            provider,
            status,
            expired,
            binding_hash: &hash,
        };
        let ok = s("op", "pending", false);
        assert_eq!(state_refusal("op", &ok, "pending", Some("cookie")), None);
        for (state, wanted, binding, why) in [
            (
                s("other", "pending", false),
                "pending",
                Some("cookie"),
                "another provider",
            ),
            (
                s("op", "exchanging", false),
                "pending",
                Some("cookie"),
                "already used",
            ),
            (
                s("op", "pending", true),
                "pending",
                Some("cookie"),
                "expired",
            ),
            (
                s("op", "pending", false),
                "pending",
                Some("another"),
                "another browser",
            ),
            (
                s("op", "pending", false),
                "pending",
                None,
                "another browser",
            ),
        ] {
            let got = state_refusal("op", &state, wanted, binding).unwrap();
            assert!(got.contains(why), "{got}");
        }
        assert_eq!(usable_code(Some("abc")), Some("abc"));
        assert_eq!(usable_code(Some("")), None);
        assert_eq!(usable_code(Some(&"x".repeat(4097))), None);
        assert_eq!(usable_code(None), None);
    }

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
