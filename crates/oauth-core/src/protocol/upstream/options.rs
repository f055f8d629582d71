//! A provider's options: validated with every default filled in (`Provider::from_options`),
//! and written back as stored (`Provider::to_options`), secrets kept apart.

use super::{Provider, TokenAuth, WorkosSelector, MICROSOFT_MULTI_TENANT};
use crate::model::SignInKind;
use crate::protocol::issuer_policy::check_url;
use serde_json::{json, Map, Value};

fn text(o: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 2048 => {
            Ok(Some(s.trim().to_string()))
        }
        Some(_) => Err(format!("option {key} must be a non-empty string")),
    }
}

fn flag(o: &Map<String, Value>, key: &str, default: bool) -> Result<bool, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("option {key} must be true or false")),
    }
}

fn strings(o: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v.as_str() {
                Some(s)
                    if !s.is_empty()
                        && s.len() <= 256
                        && !s.contains(|c: char| c.is_whitespace() || c.is_control()) =>
                {
                    Ok(s.to_string())
                }
                _ => Err(format!(
                    "option {key} must be an array of strings without spaces"
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!("option {key} must be an array of strings")),
    }
}

/// A base URL (an API, an endpoint, Microsoft's authority), without its trailing slash so that
/// paths can be appended. Never an issuer: those are kept as given (`issuer_option`).
fn url_option(o: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match text(o, key)? {
        None => Ok(None),
        Some(s) => {
            check_url(key, &s)?;
            Ok(Some(s.trim_end_matches('/').to_string()))
        }
    }
}

/// An issuer identifier, checked as a URL and kept exactly as given: it is compared with what
/// the provider names itself byte for byte (`protocol::issuer::same`), so a trailing slash is
/// part of it (Auth0's issuers end with one, most others do not).
fn issuer_option(o: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match text(o, key)? {
        None => Ok(None),
        Some(s) => {
            check_url(key, &s)?;
            Ok(Some(s))
        }
    }
}

/// Whether `name` may name a provider: it appears in URL paths.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// WorkOS's selector: at most one of `connection`, `organization`, `provider`.
fn workos_selector(o: &Map<String, Value>) -> Result<Option<WorkosSelector>, String> {
    let picked: Vec<WorkosSelector> = [
        text(o, "connection")?.map(WorkosSelector::Connection),
        text(o, "organization")?.map(WorkosSelector::Organization),
        text(o, "provider")?.map(WorkosSelector::Provider),
    ]
    .into_iter()
    .flatten()
    .collect();
    if picked.len() > 1 {
        return Err(
            "kind workos needs exactly one of options connection, organization, provider".into(),
        );
    }
    Ok(picked.into_iter().next())
}

/// A Microsoft tenant id: a GUID.
fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

const KNOWN_OPTIONS: &[&str] = &[
    "kind",
    "client_id",
    "client_secret",
    "display_name",
    "scopes",
    "enabled",
    "pkce",
    "token_endpoint_auth_method",
    "issuer",
    "tenant",
    "allowed_tenants",
    "authority",
    "team_id",
    "key_id",
    "private_key",
    "connection",
    "organization",
    "provider",
    "api_base",
    "web_base",
    "trust_email",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "redirect_uri",
];

impl Provider {
    /// Validates `options` (secrets may be present; they are not part of the result).
    pub fn from_options(name: &str, options: &Value) -> Result<Provider, String> {
        if !valid_name(name) {
            return Err(format!(
                "provider name {name:?} must be 1 to 32 of a-z, 0-9, - and _ (it appears in URLs)"
            ));
        }
        let o = options.as_object().ok_or("options must be a JSON object")?;
        if let Some(k) = o.keys().find(|k| !KNOWN_OPTIONS.contains(&k.as_str())) {
            return Err(format!("unknown option {k:?}"));
        }
        let kind_name = text(o, "kind")?.ok_or("option kind is required")?;
        let kind = SignInKind::parse(&kind_name).ok_or_else(|| {
            format!(
                "kind {kind_name:?} is not one of {}",
                SignInKind::names().join(", ")
            )
        })?;
        let client_id = text(o, "client_id")?.ok_or("option client_id is required")?;
        let only = |key: &str, kinds: &[SignInKind]| -> Result<(), String> {
            if o.get(key).is_some_and(|v| !v.is_null()) && !kinds.contains(&kind) {
                return Err(format!("option {key} does not apply to kind {kind}"));
            }
            Ok(())
        };
        use SignInKind as K;
        only("issuer", &[K::Oidc, K::Apple])?;
        only("tenant", &[K::Microsoft])?;
        only("allowed_tenants", &[K::Microsoft])?;
        only("authority", &[K::Microsoft])?;
        for k in ["team_id", "key_id", "private_key"] {
            only(k, &[K::Apple])?;
        }
        for k in ["connection", "organization", "provider", "trust_email"] {
            only(k, &[K::Workos])?;
        }
        only("api_base", &[K::Workos, K::Github])?;
        only("web_base", &[K::Github])?;
        only(
            "client_secret",
            &[K::Oidc, K::Microsoft, K::Workos, K::Github],
        )?;

        let issuer = match kind {
            K::Oidc => Some(issuer_option(o, "issuer")?.ok_or("kind oidc needs option issuer")?),
            K::Apple => Some(
                issuer_option(o, "issuer")?.unwrap_or_else(|| "https://appleid.apple.com".into()),
            ),
            K::Microsoft => Some(
                url_option(o, "authority")?
                    .unwrap_or_else(|| "https://login.microsoftonline.com".into()),
            ),
            _ => None,
        };
        let tenant = match kind {
            K::Microsoft => {
                let t = text(o, "tenant")?.unwrap_or_else(|| "common".into());
                if !MICROSOFT_MULTI_TENANT.contains(&t.as_str()) && !is_guid(&t) {
                    return Err(format!(
                        "tenant {t:?} must be common, organizations, consumers or a tenant id (a GUID)"
                    ));
                }
                Some(t.to_ascii_lowercase())
            }
            _ => None,
        };
        let allowed_tenants: Vec<String> = strings(o, "allowed_tenants")?
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.to_ascii_lowercase())
            .collect();
        if let Some(bad) = allowed_tenants.iter().find(|t| !is_guid(t)) {
            return Err(format!(
                "allowed_tenants: {bad:?} is not a tenant id (a GUID)"
            ));
        }
        if let (Some(t), false) = (&tenant, allowed_tenants.is_empty()) {
            if is_guid(t) && !allowed_tenants.contains(t) {
                return Err(format!("allowed_tenants does not include the tenant {t}"));
            }
        }
        let (team_id, key_id) = (text(o, "team_id")?, text(o, "key_id")?);
        if kind == K::Apple && (team_id.is_none() || key_id.is_none()) {
            return Err(
                "kind apple needs options team_id and key_id (and private_key, the .p8 key)".into(),
            );
        }
        let workos = match kind {
            K::Workos => Some(workos_selector(o)?.ok_or(
                "kind workos needs exactly one of options connection, organization, provider",
            )?),
            _ => None,
        };
        if matches!(workos, Some(WorkosSelector::Provider(_))) && flag(o, "trust_email", false)? {
            return Err("trust_email needs a connection or organization: with a provider selector any connection of the WorkOS environment can sign in".into());
        }
        let api_base = match kind {
            K::Workos => {
                Some(url_option(o, "api_base")?.unwrap_or_else(|| "https://api.workos.com".into()))
            }
            K::Github => {
                Some(url_option(o, "api_base")?.unwrap_or_else(|| "https://api.github.com".into()))
            }
            _ => None,
        };
        let web_base = match kind {
            K::Github => {
                Some(url_option(o, "web_base")?.unwrap_or_else(|| "https://github.com".into()))
            }
            _ => None,
        };
        let scopes = strings(o, "scopes")?.unwrap_or_else(|| {
            match kind {
                K::Oidc | K::Microsoft => vec!["openid", "email", "profile"],
                K::Apple => vec!["name", "email"],
                K::Github => vec!["read:user", "user:email"],
                K::Workos => vec![],
            }
            .into_iter()
            .map(String::from)
            .collect()
        });
        if matches!(kind, K::Oidc | K::Microsoft) && !scopes.iter().any(|s| s == "openid") {
            return Err(format!(
                "kind {kind} needs scope openid: the ID token is what proves the user"
            ));
        }
        let token_auth = match text(o, "token_endpoint_auth_method")?.as_deref() {
            None => match kind {
                K::Oidc | K::Microsoft => TokenAuth::Basic,
                _ => TokenAuth::Post,
            },
            Some("client_secret_basic") => TokenAuth::Basic,
            Some("client_secret_post") => TokenAuth::Post,
            Some(m) => {
                return Err(format!(
                    "token_endpoint_auth_method {m:?} must be client_secret_basic or client_secret_post"
                ))
            }
        };
        if kind == K::Apple && token_auth == TokenAuth::Basic {
            return Err("Apple takes its client secret in the form (client_secret_post)".into());
        }
        let display_name = text(o, "display_name")?.unwrap_or_else(|| {
            match kind {
                K::Apple => "Apple",
                K::Microsoft => "Microsoft",
                K::Workos => "single sign-on",
                K::Github => "GitHub",
                K::Oidc => name,
            }
            .to_string()
        });
        if display_name.chars().count() > 64 {
            return Err("display_name is longer than 64 characters".into());
        }
        Ok(Provider {
            name: name.to_string(),
            kind,
            client_id,
            display_name,
            scopes,
            enabled: flag(o, "enabled", true)?,
            // Apple and WorkOS SSO do not document PKCE; state and nonce still bind the flow.
            pkce: flag(o, "pkce", !matches!(kind, K::Apple | K::Workos))?,
            token_auth,
            issuer,
            tenant,
            allowed_tenants,
            team_id,
            key_id,
            workos,
            api_base,
            web_base,
            trust_email: flag(o, "trust_email", false)?,
            authorization_endpoint: url_option(o, "authorization_endpoint")?,
            token_endpoint: url_option(o, "token_endpoint")?,
            jwks_uri: url_option(o, "jwks_uri")?,
            redirect_uri: url_option(o, "redirect_uri")?,
        })
    }

    /// The public options as stored (secrets are kept apart), for `from_options` to read back.
    pub fn to_options(&self) -> Value {
        let mut o = json!({
            "kind": self.kind,
            "client_id": self.client_id,
            "display_name": self.display_name,
            "scopes": self.scopes,
            "enabled": self.enabled,
            "pkce": self.pkce,
            "token_endpoint_auth_method": match self.token_auth {
                TokenAuth::Basic => "client_secret_basic",
                TokenAuth::Post => "client_secret_post",
            },
        });
        let m = o.as_object_mut().expect("object");
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        };
        match self.kind {
            SignInKind::Microsoft => put("authority", &self.issuer),
            _ => put("issuer", &self.issuer),
        }
        put("tenant", &self.tenant);
        put("team_id", &self.team_id);
        put("key_id", &self.key_id);
        put("api_base", &self.api_base);
        put("web_base", &self.web_base);
        put("authorization_endpoint", &self.authorization_endpoint);
        put("token_endpoint", &self.token_endpoint);
        put("jwks_uri", &self.jwks_uri);
        put("redirect_uri", &self.redirect_uri);
        match &self.workos {
            Some(WorkosSelector::Connection(v)) => put("connection", &Some(v.clone())),
            Some(WorkosSelector::Organization(v)) => put("organization", &Some(v.clone())),
            Some(WorkosSelector::Provider(v)) => put("provider", &Some(v.clone())),
            None => {}
        }
        if self.kind == SignInKind::Microsoft {
            m.insert("allowed_tenants".into(), json!(self.allowed_tenants));
        }
        if self.kind == SignInKind::Workos {
            m.insert("trust_email".into(), json!(self.trust_email));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: &str, extra: Value) -> Result<Provider, String> {
        let mut o = json!({"kind": kind, "client_id": "cid"});
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        Provider::from_options("x", &o)
    }

    #[test]
    fn defaults_per_kind() {
        let a = p("apple", json!({"team_id": "T", "key_id": "K"})).unwrap();
        assert_eq!(a.issuer.as_deref(), Some("https://appleid.apple.com"));
        assert_eq!(a.token_auth, TokenAuth::Post);
        assert!(!a.pkce);
        let m = p("microsoft", json!({})).unwrap();
        assert_eq!(m.tenant.as_deref(), Some("common"));
        assert_eq!(
            m.endpoints(None).unwrap().authorization,
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
        );
        let g = p("github", json!({})).unwrap();
        assert!(g.fetches().is_none());
        assert_eq!(
            g.endpoints(None).unwrap().token,
            "https://github.com/login/oauth/access_token"
        );
        // Round trip through what is stored.
        let back = Provider::from_options("x", &a.to_options()).unwrap();
        assert_eq!(back, a);
        let back = Provider::from_options("x", &m.to_options()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn refusals() {
        assert!(p("oidc", json!({})).is_err(), "oidc needs an issuer");
        assert!(p("oidc", json!({"issuer": "http://evil.example"})).is_err());
        assert!(p("oidc", json!({"issuer": "https://i", "scopes": ["email"]})).is_err());
        assert!(p("github", json!({"tenant": "common"})).is_err());
        assert!(p("workos", json!({})).is_err());
        assert!(p("workos", json!({"connection": "c", "organization": "o"})).is_err());
        assert!(p("microsoft", json!({"tenant": "contoso"})).is_err());
        assert!(p("microsoft", json!({"allowed_tenants": ["x"]})).is_err());
        assert!(p("apple", json!({"team_id": "T"})).is_err());
        assert!(p("oidc", json!({"issuer": "https://i", "color": "red"})).is_err());
        assert!(
            Provider::from_options("Bad Name", &json!({"kind": "github", "client_id": "c"}))
                .is_err()
        );
    }

    #[test]
    fn an_issuer_is_kept_as_given() {
        for issuer in [
            "https://op.example",
            "https://op.example/",
            "https://op.example/tenant/",
        ] {
            let o = p("oidc", json!({ "issuer": issuer })).unwrap();
            assert_eq!(o.issuer.as_deref(), Some(issuer));
            assert_eq!(Provider::from_options("x", &o.to_options()).unwrap(), o);
        }
        // A base URL is only a base: its trailing slash goes.
        let m = p("microsoft", json!({"authority": "https://login.example/"})).unwrap();
        assert_eq!(m.issuer.as_deref(), Some("https://login.example"));
    }
}
