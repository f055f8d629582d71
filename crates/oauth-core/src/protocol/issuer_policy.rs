//! Trusted session issuers: how the options an administrator gives `oauth.add_issuer` become a
//! validated policy (issuer URL, audiences, claim mapping), and how a fetched JWKS is reduced
//! to the public signing keys we are willing to verify with.
//!
//! Unknown options are refused rather than ignored: a misspelt `audience` must not silently
//! leave an issuer unpinned.

use serde_json::{json, Map, Value};
use url::Url;

/// Firebase Auth signs every project's tokens with the same Google keys; only `aud` (the
/// project id) and `iss` tell projects apart.
const FIREBASE_PREFIX: &str = "https://securetoken.google.com/";

const OPTIONS: &[&str] = &[
    "audience",
    "audience_claim",
    "shared_keys",
    "user_id_claim",
    "role_claim",
    "default_role",
    "allowed_roles",
    "email_claim",
    "email_verified_claim",
    "required_claims",
    "jwks_uri",
    "jwks",
    "refresh",
    "leeway",
    "enabled",
    "token_exchange",
];

/// The validated policy of one trusted issuer.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerPolicy {
    pub issuer: String,
    /// Accepted audiences; empty means the issuer's keys are its own and `aud` is not checked.
    pub audiences: Vec<String>,
    /// The claim holding the audience: `aud`, or `client_id` for Cognito access tokens.
    pub audience_claim: String,
    /// Keys shared with other tenants (Firebase): an audience is then mandatory.
    pub shared_keys: bool,
    pub user_id_claim: String,
    /// The claim read as the Postgres role; `None`: always `default_role`.
    pub role_claim: Option<String>,
    pub default_role: String,
    pub allowed_roles: Vec<String>,
    pub email_claim: String,
    /// The claim whose JSON `true` means the email is verified; `None`: never verified.
    pub email_verified_claim: Option<String>,
    /// Claims that must be present with one of the given values (e.g. Cognito `token_use`).
    pub required_claims: Map<String, Value>,
    /// Where the keys come from when not discovered (`{issuer}/.well-known/openid-configuration`).
    pub jwks_uri: Option<String>,
    /// Whether the front fetches the keys; false keeps the `jwks` given at registration.
    pub refresh: bool,
    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat`; `None`: the server's setting.
    pub leeway: Option<u64>,
    pub enabled: bool,
    /// Whether its sessions may be the `subject_token` of an RFC 8693 token exchange (which
    /// the exchange policy must still allow, with `from_audience` this issuer). Off unless set:
    /// trusting an issuer's sessions at the consent page does not hand them to machines.
    pub token_exchange: bool,
}

/// Whether a URL's host is this machine (`localhost`, 127.0.0.0/8, `::1`): where plain http is
/// allowed for issuers and their keys (local development and tests). The front fetches by the
/// same rule.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks an issuer identifier or JWKS URL: absolute https, or http on a loopback host (local
/// development and tests), no fragment, no query, no credentials.
pub fn check_url(what: &str, s: &str) -> Result<Url, String> {
    if s.len() > 2048 {
        return Err(format!("{what} is too long"));
    }
    let url = Url::parse(s).map_err(|e| format!("{what} {s:?} is not an absolute URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => {
            return Err(format!(
                "{what} {s:?} must use https (http only on loopback)"
            ))
        }
    }
    if url.fragment().is_some() || url.query().is_some() {
        return Err(format!("{what} {s:?} must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{what} {s:?} must not carry credentials"));
    }
    Ok(url)
}

/// Where OpenID Connect discovery says the issuer's metadata is (OIDC Discovery §4).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

fn claim_name(options: &Map<String, Value>, key: &str, default: &str) -> Result<String, String> {
    match options.get(key) {
        None => Ok(default.into()),
        Some(v) => nonempty(v, key),
    }
}

fn optional_claim_name(
    options: &Map<String, Value>,
    key: &str,
    default: &str,
) -> Result<Option<String>, String> {
    match options.get(key) {
        None => Ok(Some(default.into())),
        Some(Value::Null) => Ok(None),
        Some(v) => nonempty(v, key).map(Some),
    }
}

fn nonempty(v: &Value, key: &str) -> Result<String, String> {
    v.as_str()
        .filter(|s| !s.trim().is_empty() && s.len() <= 256)
        .map(String::from)
        .ok_or_else(|| format!("option {key} must be a non-empty string"))
}

/// A string or an array of strings, as a list.
fn string_list(v: &Value, key: &str) -> Result<Vec<String>, String> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    if items.len() > 50 {
        return Err(format!("option {key} has too many values"));
    }
    items.into_iter().map(|i| nonempty(i, key)).collect()
}

fn flag(options: &Map<String, Value>, key: &str, default: bool) -> Result<bool, String> {
    match options.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("option {key} must be true or false")),
    }
}

impl IssuerPolicy {
    /// Validates `options` for `issuer`, filling in defaults.
    pub fn from_options(issuer: &str, options: &Value) -> Result<IssuerPolicy, String> {
        check_url("issuer", issuer)?;
        let empty = Map::new();
        let options = match options {
            Value::Object(o) => o,
            Value::Null => &empty,
            _ => return Err("options must be a JSON object".into()),
        };
        if let Some(unknown) = options.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
            return Err(format!(
                "unknown option {unknown:?}; options are {}",
                OPTIONS.join(", ")
            ));
        }
        let firebase_project = issuer
            .strip_prefix(FIREBASE_PREFIX)
            .filter(|p| !p.is_empty() && !p.contains('/'));
        let shared_keys = firebase_project.is_some() || flag(options, "shared_keys", false)?;
        if firebase_project.is_some() && options.get("shared_keys") == Some(&Value::Bool(false)) {
            return Err(
                "Firebase Auth keys are shared by every project: shared_keys cannot be false"
                    .into(),
            );
        }
        let audiences = match (options.get("audience"), firebase_project) {
            (Some(v), _) => string_list(v, "audience")?,
            // Firebase's aud is always the project id, which is also the end of iss.
            (None, Some(project)) => vec![project.to_string()],
            (None, None) => Vec::new(),
        };
        if shared_keys && audiences.is_empty() {
            return Err("an issuer with shared_keys must be pinned to an audience (option audience, e.g. the project id)".into());
        }
        let default_role = claim_name(options, "default_role", "authenticated")?;
        let allowed_roles = match options.get("allowed_roles") {
            None => vec![default_role.clone()],
            Some(v) => string_list(v, "allowed_roles")?,
        };
        if !allowed_roles.contains(&default_role) {
            return Err(format!(
                "default_role {default_role:?} must be one of allowed_roles"
            ));
        }
        let required_claims = match options.get("required_claims") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(o)) => {
                for (k, v) in o {
                    let ok = |x: &Value| x.is_string() || x.is_number() || x.is_boolean();
                    let valid = match v {
                        Value::Array(a) => !a.is_empty() && a.iter().all(ok),
                        x => ok(x),
                    };
                    if !valid {
                        return Err(format!("required_claims.{k} must be a string, number, boolean, or a non-empty array of them"));
                    }
                }
                o.clone()
            }
            Some(_) => return Err("option required_claims must be a JSON object".into()),
        };
        let jwks_uri = match options.get("jwks_uri") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let uri = nonempty(v, "jwks_uri")?;
                check_url("jwks_uri", &uri)?;
                Some(uri)
            }
        };
        let leeway = match options.get("leeway") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|s| *s <= 300)
                    .ok_or("option leeway must be a number of seconds from 0 to 300")?,
            ),
        };
        Ok(IssuerPolicy {
            issuer: issuer.to_string(),
            audiences,
            audience_claim: claim_name(options, "audience_claim", "aud")?,
            shared_keys,
            user_id_claim: claim_name(options, "user_id_claim", "sub")?,
            role_claim: optional_claim_name(options, "role_claim", "role")?,
            default_role,
            allowed_roles,
            email_claim: claim_name(options, "email_claim", "email")?,
            email_verified_claim: optional_claim_name(
                options,
                "email_verified_claim",
                "email_verified",
            )?,
            required_claims,
            jwks_uri,
            refresh: flag(options, "refresh", true)?,
            leeway,
            enabled: flag(options, "enabled", true)?,
            token_exchange: flag(options, "token_exchange", false)?,
        })
    }

    /// The policy as the complete options object that is stored (and reads back unchanged).
    pub fn to_options(&self) -> Value {
        json!({
            "audience": self.audiences,
            "audience_claim": self.audience_claim,
            "shared_keys": self.shared_keys,
            "user_id_claim": self.user_id_claim,
            "role_claim": self.role_claim,
            "default_role": self.default_role,
            "allowed_roles": self.allowed_roles,
            "email_claim": self.email_claim,
            "email_verified_claim": self.email_verified_claim,
            "required_claims": self.required_claims,
            "jwks_uri": self.jwks_uri,
            "refresh": self.refresh,
            "leeway": self.leeway,
            "enabled": self.enabled,
            "token_exchange": self.token_exchange,
        })
    }
}

/// Members that only a private key has: a JWKS that carries them is a leak, not a key set.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// An RSA key whose modulus is under 2048 bits.
fn short_rsa(key: &Value) -> bool {
    use base64::Engine;
    if key["kty"].as_str() != Some("RSA") {
        return false;
    }
    let n = key["n"].as_str().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(n)
        .unwrap_or_default();
    bytes.iter().skip_while(|b| **b == 0).count() < 256
}

/// Reduces a fetched or given JWKS to public signing keys with a `kid`, keeping only the
/// members verification needs. Symmetric (`oct`) keys, encryption keys and keys of an
/// algorithm we do not accept are dropped; private key material is refused outright.
pub fn sanitize_jwks(jwks: &Value) -> Result<Value, String> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("a JWKS is a JSON object with a keys array")?;
    if keys.len() > 100 {
        return Err("the JWKS has more than 100 keys".into());
    }
    let mut out = Vec::new();
    for key in keys {
        let Some(obj) = key.as_object() else { continue };
        if PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
            return Err(format!(
                "the JWKS holds private or symmetric key material (key {}); publish only public keys",
                obj.get("kid").and_then(Value::as_str).unwrap_or("without kid")
            ));
        }
        let kid = obj.get("kid").and_then(Value::as_str).unwrap_or_default();
        if let Some(why) = super::jose_rules::weak_public_key(key) {
            return Err(format!("key {kid} is refused: {why}"));
        }
        // Keys that could never verify a signature are dropped, as encryption keys are: set
        // aside for other operations (key_ops), an RSA modulus under 2048 bits, or an alg the
        // key does not fit.
        if !super::jose_rules::jwk_for_signatures(key) || short_rsa(key) {
            continue;
        }
        if let Some(alg) = obj.get("alg").and_then(Value::as_str) {
            match super::jws::external_alg(alg) {
                Some(a) if super::jws::jwk_accepts(key, a) => {}
                _ => continue,
            }
        }
        let usable_use = obj.get("use").is_none_or(|u| u == "sig");
        let usable_alg = obj
            .get("alg")
            .is_none_or(|a| a.as_str().and_then(super::jws::external_alg).is_some());
        let members: &[&str] = match obj.get("kty").and_then(Value::as_str) {
            Some("RSA") => &["kty", "n", "e"],
            Some("EC") => &["kty", "crv", "x", "y"],
            Some("OKP") => &["kty", "crv", "x"],
            _ => continue,
        };
        if kid.is_empty() || kid.len() > 256 || !usable_use || !usable_alg {
            continue;
        }
        let mut clean = Map::new();
        for m in members {
            match obj.get(*m) {
                Some(v @ Value::String(_)) => {
                    clean.insert((*m).to_string(), v.clone());
                }
                _ => return Err(format!("key {kid} has no {m} member")),
            }
        }
        clean.insert("kid".into(), json!(kid));
        if let Some(alg) = obj.get("alg") {
            clean.insert("alg".into(), alg.clone());
        }
        clean.insert("use".into(), json!("sig"));
        out.push(Value::Object(clean));
    }
    Ok(json!({ "keys": out }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fit_an_issuer_with_its_own_keys() {
        let p = IssuerPolicy::from_options("https://clerk.example.com", &json!({})).unwrap();
        assert!(p.audiences.is_empty() && !p.shared_keys && p.refresh && p.enabled);
        assert_eq!(p.user_id_claim, "sub");
        assert_eq!(p.role_claim.as_deref(), Some("role"));
        assert_eq!(p.allowed_roles, ["authenticated"]);
        assert_eq!(p.email_verified_claim.as_deref(), Some("email_verified"));
        // What is stored reads back as the same policy.
        let again = IssuerPolicy::from_options(&p.issuer, &p.to_options()).unwrap();
        assert_eq!(again, p);
    }

    #[test]
    fn firebase_is_pinned_to_its_project() {
        let p = IssuerPolicy::from_options("https://securetoken.google.com/my-app", &json!({}))
            .unwrap();
        assert!(p.shared_keys);
        assert_eq!(p.audiences, ["my-app"]);
        assert!(IssuerPolicy::from_options(
            "https://securetoken.google.com/my-app",
            &json!({"shared_keys": false})
        )
        .is_err());
        // Any issuer declaring shared keys needs an audience.
        let e = IssuerPolicy::from_options("https://idp.example", &json!({"shared_keys": true}))
            .unwrap_err();
        assert!(e.contains("audience"), "{e}");
    }

    #[test]
    fn bad_options_are_refused() {
        let bad = [
            json!({"audiance": "x"}),
            json!({"audience": 5}),
            json!({"allowed_roles": []}),
            json!({"allowed_roles": ["a"], "default_role": "b"}),
            json!({"required_claims": {"token_use": {}}}),
            json!({"jwks_uri": "http://keys.example/jwks"}),
            json!({"leeway": 3600}),
            json!({"refresh": "yes"}),
            json!({"user_id_claim": ""}),
            json!([1]),
        ];
        for o in bad {
            assert!(
                IssuerPolicy::from_options("https://idp.example", &o).is_err(),
                "{o}"
            );
        }
        // An empty audience list means no aud check, which only issuers with keys of their own
        // may have.
        let p = IssuerPolicy::from_options("https://idp.example", &json!({"audience": []}));
        assert!(p.unwrap().audiences.is_empty());
    }

    #[test]
    fn issuer_urls_must_be_https_except_loopback() {
        for ok in [
            "https://idp.example",
            "https://tenant.auth0.com/",
            "http://127.0.0.1:9000/clerk",
            "http://localhost:1/x",
        ] {
            assert!(check_url("issuer", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://idp.example",
            "idp.example",
            "https://idp.example/#f",
            "https://idp.example/?q=1",
            "https://u:p@idp.example",
            "ftp://idp.example",
        ] {
            assert!(check_url("issuer", bad).is_err(), "{bad}");
        }
        assert_eq!(
            discovery_url("https://tenant.auth0.com/"),
            "https://tenant.auth0.com/.well-known/openid-configuration"
        );
    }

    #[test]
    fn jwks_keeps_public_signing_keys_only() {
        use base64::Engine;
        let n = |bytes: usize| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(vec![0xc5u8; bytes])
        };
        let jwks = json!({"keys": [
            {"kty": "RSA", "kid": "r1", "n": n(256), "e": "AQAB", "alg": "RS256", "x5c": ["…"], "issuer": "x"},
            {"kty": "EC", "kid": "e1", "crv": "P-256", "x": "a", "y": "b"},
            // Keys that could verify nothing: too short, set aside, or for an alg they do not fit.
            {"kty": "RSA", "kid": "short", "n": n(128), "e": "AQAB"},
            {"kty": "EC", "kid": "ops", "crv": "P-256", "x": "a", "y": "b", "key_ops": ["encrypt"]},
            {"kty": "EC", "kid": "mismatch", "crv": "P-256", "x": "a", "y": "b", "alg": "ES384"},
            {"kty": "RSA", "kid": "enc", "n": "a", "e": "b", "use": "enc"},
            {"kty": "RSA", "n": "a", "e": "b"},
            {"kty": "RSA", "kid": "hs", "n": "a", "e": "b", "alg": "HS256"},
            {"kty": "oct2", "kid": "o"},
        ]});
        let clean = sanitize_jwks(&jwks).unwrap();
        let kids: Vec<&str> = clean["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, ["r1", "e1"]);
        assert!(clean["keys"][0].get("x5c").is_none());
        for leak in [
            json!({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}),
            json!({"keys": [{"kty": "EC", "kid": "p", "crv": "P-256", "x": "a", "y": "b", "d": "c"}]}),
        ] {
            assert!(sanitize_jwks(&leak).unwrap_err().contains("private"));
        }
        assert!(sanitize_jwks(&json!({"nokeys": []})).is_err());
    }
}
