//! An upstream ID token's claims, after its signature, `exp`, `nbf` and a future `iat` were
//! checked with the provider's keys: it must be for us (`aud`, `azp`), from the issuer we
//! configured, exactly (for Microsoft's multi-tenant endpoints: the issuer of the token's own
//! tenant, on the allow-list), for this attempt (`nonce`) and fresh (`iat`).

use super::identity::str_claim;
use super::{Provider, MICROSOFT_CONSUMERS_TID};
use crate::model::SignInKind;
use crate::protocol::issuer;
use serde_json::Value;
use subtle::ConstantTimeEq;

/// The checks an ID token's claims must pass beyond its signature and lifetime.
pub struct Expected<'a> {
    pub nonce: &'a str,
    pub now: i64,
    pub leeway: i64,
    /// How old `iat` may be: the token should have been minted for this very sign-in.
    pub max_age: i64,
}

/// The issuer an ID token of `p` must carry: for Microsoft, the issuer of the token's tenant
/// (`tid`), after the tenant rules.
pub fn expected_issuer(p: &Provider, claims: &Value) -> Result<String, String> {
    let base = p.issuer.clone().unwrap_or_default();
    if p.kind != SignInKind::Microsoft {
        return Ok(base);
    }
    let tid = str_claim(claims, "tid")
        .map(str::to_ascii_lowercase)
        .ok_or("the Microsoft ID token has no tid (tenant) claim")?;
    let tenant = p.tenant.as_deref().unwrap_or("common");
    let allowed = match tenant {
        "common" => true,
        "consumers" => tid == MICROSOFT_CONSUMERS_TID,
        "organizations" => tid != MICROSOFT_CONSUMERS_TID,
        id => tid == id,
    };
    if !allowed {
        return Err(format!(
            "tenant {tid} may not sign in to this provider (tenant {tenant})"
        ));
    }
    if !p.allowed_tenants.is_empty() && !p.allowed_tenants.contains(&tid) {
        return Err(format!(
            "tenant {tid} is not on the provider's allowed_tenants"
        ));
    }
    Ok(format!("{base}/{tid}/v2.0"))
}

/// Checks `aud`, `azp`, `iss`, `nonce`, `iat` and `sub` of verified ID token claims.
pub fn check_id_token(p: &Provider, claims: &Value, e: &Expected<'_>) -> Result<(), String> {
    let iss = str_claim(claims, "iss").ok_or("the ID token has no iss")?;
    let expected = expected_issuer(p, claims)?;
    // Exactly: another spelling is another issuer (OIDC Core §3.1.3.7, RFC 8414 §3.3).
    if !issuer::same(iss, &expected) {
        return Err(format!(
            "the ID token was issued by {iss:?}, not {expected:?}"
        ));
    }
    let ours = |v: &Value| v.as_str() == Some(p.client_id.as_str());
    let audiences: Vec<&Value> = match claims.get("aud") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::String(_)) => vec![v],
        _ => return Err("the ID token has no aud".into()),
    };
    if !audiences.iter().any(|a| ours(a)) {
        return Err("the ID token is not for this client (aud)".into());
    }
    // OIDC Core §3.1.3.7: with other audiences, azp must name us; when present, always.
    match claims.get("azp") {
        Some(azp) if !ours(azp) => {
            return Err("the ID token was issued to another party (azp)".into())
        }
        None if audiences.len() > 1 => {
            return Err("the ID token has several audiences and no azp".into())
        }
        _ => {}
    }
    let nonce = str_claim(claims, "nonce").ok_or("the ID token has no nonce")?;
    if !bool::from(nonce.as_bytes().ct_eq(e.nonce.as_bytes())) {
        return Err("the ID token's nonce is not this sign-in's".into());
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_f64)
        .ok_or("the ID token has no iat")? as i64;
    if iat < e.now - e.max_age - e.leeway {
        return Err("the ID token was issued too long ago (iat)".into());
    }
    if claims.get("exp").and_then(Value::as_f64).is_none() {
        return Err("the ID token has no exp".into());
    }
    let sub = str_claim(claims, "sub").ok_or("the ID token has no sub")?;
    if sub.len() > 255 {
        return Err("the ID token's sub is longer than 255 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{claims, oidc, provider, NOW};
    use super::*;
    use serde_json::json;

    fn expected() -> Expected<'static> {
        Expected {
            nonce: "n1",
            now: NOW,
            leeway: 30,
            max_age: 600,
        }
    }

    #[test]
    fn the_checks_each_refuse() {
        let p = oidc();
        assert!(check_id_token(&p, &claims(json!({})), &expected()).is_ok());
        for (bad, why) in [
            (json!({"nonce": "other"}), "nonce"),
            (json!({"aud": "someone-else"}), "aud"),
            (json!({"aud": ["rp", "other"]}), "azp"),
            (json!({"aud": ["rp", "other"], "azp": "other"}), "azp"),
            (json!({"iss": "https://evil.example"}), "issued by"),
            (json!({"iat": NOW - 3600}), "iat"),
            (json!({"nonce": null}), "nonce"),
            (json!({"sub": ""}), "sub"),
        ] {
            let err = check_id_token(&p, &claims(bad.clone()), &expected()).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(check_id_token(
            &p,
            &claims(json!({"aud": ["rp", "x"], "azp": "rp"})),
            &expected()
        )
        .is_ok());
    }

    #[test]
    fn microsoft_issuer_follows_the_tenant_and_the_allow_list() {
        let t1 = "11111111-1111-1111-1111-111111111111";
        let t2 = "22222222-2222-2222-2222-222222222222";
        let p = provider(json!({"kind": "microsoft", "client_id": "rp", "allowed_tenants": [t1]}));
        let c = |tid: &str, iss: &str| claims(json!({"tid": tid, "iss": iss}));
        let ok = c(t1, &format!("https://login.microsoftonline.com/{t1}/v2.0"));
        assert!(check_id_token(&p, &ok, &expected()).is_ok());
        // Another tenant's token, whatever issuer it names.
        let other = c(t2, &format!("https://login.microsoftonline.com/{t2}/v2.0"));
        assert!(check_id_token(&p, &other, &expected())
            .unwrap_err()
            .contains("allowed_tenants"));
        // tid and iss must agree: a token of tenant 2 cannot pose as tenant 1.
        let forged = c(t1, &format!("https://login.microsoftonline.com/{t2}/v2.0"));
        assert!(check_id_token(&p, &forged, &expected()).is_err());
        let orgs =
            provider(json!({"kind": "microsoft", "client_id": "rp", "tenant": "organizations"}));
        let personal = c(
            MICROSOFT_CONSUMERS_TID,
            &format!("https://login.microsoftonline.com/{MICROSOFT_CONSUMERS_TID}/v2.0"),
        );
        assert!(check_id_token(&orgs, &personal, &expected()).is_err());
    }

    #[test]
    fn the_issuer_is_the_configured_one_exactly() {
        // Before: compared with trailing slashes trimmed, so another spelling passed.
        let p = oidc();
        for other in [
            "https://op.example/",
            "https://OP.example",
            "https://op.example//",
        ] {
            let err =
                check_id_token(&p, &claims(json!({ "iss": other })), &expected()).unwrap_err();
            assert!(err.contains("issued by"), "{other}: {err}");
        }
        // An issuer configured with its trailing slash (Auth0's) wants it in the token.
        let slashed =
            provider(json!({"kind": "oidc", "client_id": "rp", "issuer": "https://op.example/"}));
        let ok = claims(json!({"iss": "https://op.example/"}));
        assert!(check_id_token(&slashed, &ok, &expected()).is_ok());
        assert!(check_id_token(&slashed, &claims(json!({})), &expected()).is_err());
    }
}
