//! Where a provider is: its endpoints (from its options, or for `oidc` from its discovery
//! document), what the front fetches for it, and the check a fetched discovery document must
//! pass before it is stored.

use super::{Endpoints, Provider};
use crate::model::SignInKind;
use crate::protocol::issuer;
use crate::protocol::issuer_policy::{check_url, discovery_url};
use serde_json::{json, Map, Value};

/// `path` under the base URL `base`. The base may be an issuer kept exactly as configured,
/// trailing slash included (`options::issuer_option`): a URL built on it must not double it.
fn under(base: &str, path: &str) -> String {
    format!("{}/{path}", base.trim_end_matches('/'))
}

impl Provider {
    /// What the front fetches for this provider: `(discovery_url, jwks_uri)`, or `None` when
    /// it needs nothing (GitHub, WorkOS).
    pub fn fetches(&self) -> Option<(Option<String>, Option<String>)> {
        let base = self.issuer.as_deref().unwrap_or_default();
        match self.kind {
            SignInKind::Oidc => Some((Some(discovery_url(base)), self.jwks_uri.clone())),
            SignInKind::Apple => Some((
                None,
                Some(self.jwks_uri.clone().unwrap_or(under(base, "auth/keys"))),
            )),
            SignInKind::Microsoft => Some((
                None,
                Some(self.jwks_uri.clone().unwrap_or(format!(
                    "{base}/{}/discovery/v2.0/keys",
                    self.tenant.as_deref().unwrap_or("common")
                ))),
            )),
            SignInKind::Workos | SignInKind::Github => None,
        }
    }

    /// The endpoints, from the options (and for `oidc`, the stored discovery document).
    pub fn endpoints(&self, discovery: Option<&Value>) -> Result<Endpoints, String> {
        let pick = |over: &Option<String>, default: Option<String>, what: &str| {
            over.clone()
                .or(default)
                .ok_or_else(|| format!("the provider's {what} is not known yet"))
        };
        let base = self.issuer.clone().unwrap_or_default();
        let (auth, token) = match self.kind {
            SignInKind::Oidc => {
                let d = |k: &str| {
                    discovery
                        .and_then(|d| d.get(k))
                        .and_then(Value::as_str)
                        .map(String::from)
                };
                (d("authorization_endpoint"), d("token_endpoint"))
            }
            SignInKind::Apple => (
                Some(under(&base, "auth/authorize")),
                Some(under(&base, "auth/token")),
            ),
            SignInKind::Microsoft => {
                let t = self.tenant.as_deref().unwrap_or("common");
                (
                    Some(format!("{base}/{t}/oauth2/v2.0/authorize")),
                    Some(format!("{base}/{t}/oauth2/v2.0/token")),
                )
            }
            SignInKind::Workos => {
                let api = self.api_base.clone().unwrap_or_default();
                (
                    Some(format!("{api}/sso/authorize")),
                    Some(format!("{api}/sso/token")),
                )
            }
            SignInKind::Github => {
                let web = self.web_base.clone().unwrap_or_default();
                (
                    Some(format!("{web}/login/oauth/authorize")),
                    Some(format!("{web}/login/oauth/access_token")),
                )
            }
        };
        Ok(Endpoints {
            authorization: pick(&self.authorization_endpoint, auth, "authorization_endpoint")?,
            token: pick(&self.token_endpoint, token, "token_endpoint")?,
        })
    }
}

/// Checks a fetched discovery document against the provider and keeps the members we use.
/// The `issuer` it names must be the configured one exactly (OIDC Discovery §4.3, RFC 8414
/// §3.3): a document that names another spelling is another issuer's, and the ID tokens and
/// callbacks of this provider are held to the configured spelling too.
pub fn accept_discovery(provider: &Provider, doc: &Value) -> Result<Value, String> {
    let expected = provider.issuer.as_deref().unwrap_or_default();
    let named = doc
        .get("issuer")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !issuer::same(named, expected) {
        return Err(format!(
            "the discovery document names issuer {named:?}, not {expected:?}"
        ));
    }
    let mut kept = Map::new();
    for k in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
    ] {
        let v = doc
            .get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the discovery document has no {k}"))?;
        if k != "issuer" {
            check_url(k, v)?;
        }
        kept.insert(k.into(), json!(v));
    }
    // RFC 9207: a provider that says it always names itself in its authorization responses
    // has every callback without `iss` refused (upstream::callback).
    if doc.get("authorization_response_iss_parameter_supported") == Some(&Value::Bool(true)) {
        kept.insert(
            "authorization_response_iss_parameter_supported".into(),
            Value::Bool(true),
        );
    }
    // Optional: claims some providers release only there (oidc-provider, Okta's defaults).
    if let Some(u) = doc.get("userinfo_endpoint").and_then(Value::as_str) {
        check_url("userinfo_endpoint", u)?;
        kept.insert("userinfo_endpoint".into(), json!(u));
    }
    Ok(Value::Object(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: &str, extra: Value) -> Provider {
        let mut o = json!({"kind": kind, "client_id": "cid"});
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        Provider::from_options("x", &o).unwrap()
    }

    #[test]
    fn discovery_must_name_the_configured_issuer() {
        let o = p("oidc", json!({"issuer": "https://op.example"}));
        let good = json!({"issuer": "https://op.example", "authorization_endpoint": "https://op.example/a",
                          "token_endpoint": "https://op.example/t", "jwks_uri": "https://op.example/k"});
        assert!(accept_discovery(&o, &good).is_ok());
        let mut bad = good.clone();
        bad["issuer"] = json!("https://evil.example");
        assert!(accept_discovery(&o, &bad).is_err());
        let ep = o.endpoints(Some(&good)).unwrap();
        assert_eq!(ep.token, "https://op.example/t");
        assert!(o.endpoints(None).is_err());
    }

    #[test]
    fn discovery_names_the_issuer_exactly() {
        let doc = |iss: &str| {
            json!({"issuer": iss, "authorization_endpoint": "https://op.example/a",
                   "token_endpoint": "https://op.example/t", "jwks_uri": "https://op.example/k"})
        };
        let bare = p("oidc", json!({"issuer": "https://op.example"}));
        let slashed = p("oidc", json!({"issuer": "https://op.example/"}));
        assert!(accept_discovery(&slashed, &doc("https://op.example/")).is_ok());
        for (provider, other) in [
            (&bare, "https://op.example/"),
            (&slashed, "https://op.example"),
            (&bare, "https://OP.example"),
            (&bare, ""),
        ] {
            assert!(accept_discovery(provider, &doc(other)).is_err(), "{other}");
        }
        // Its discovery URL and Apple's endpoints are built on the issuer without a doubled slash.
        assert_eq!(
            slashed.fetches().unwrap().0.as_deref(),
            Some("https://op.example/.well-known/openid-configuration")
        );
        let apple = p(
            "apple",
            json!({"issuer": "https://apple.example/", "team_id": "T", "key_id": "K"}),
        );
        assert_eq!(
            apple.endpoints(None).unwrap().token,
            "https://apple.example/auth/token"
        );
        assert_eq!(
            apple.fetches().unwrap().1.as_deref(),
            Some("https://apple.example/auth/keys")
        );
    }
}
