//! The requests we make of an upstream provider, as data: the authorization URL the browser
//! is sent to, and the token request (plus follow-up GETs) the front performs.

use super::{Endpoints, Provider, TokenAuth, WorkosSelector};
use crate::model::SignInKind;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};
use url::Url;

/// The `max_age` sent when the client asked for no freshness: a year (the longest
/// `prompt::parse_max_age` keeps), which forces no new sign-in, but makes `auth_time`
/// REQUIRED in the ID token (OIDC Core §2 and §3.1.2.1). `max_age` is a Core request
/// parameter every OpenID provider takes, whereas the `claims` parameter that could ask for
/// `auth_time` as essential is optional (`claims_parameter_supported`) and Google and
/// Microsoft do not support it.
pub const AUTH_TIME_MAX_AGE: i64 = 365 * 86400;

/// What one sign-in attempt binds: sent upstream, checked on the way back.
pub struct Attempt<'a> {
    pub state: &'a str,
    pub nonce: &'a str,
    /// The PKCE S256 challenge, when the provider uses PKCE.
    pub code_challenge: Option<&'a str>,
    pub redirect_uri: &'a str,
    /// The client asked for a fresh sign-in (`prompt=login`) or one at most this old.
    pub prompt_login: bool,
    pub max_age: Option<i64>,
}

/// The URL to send the browser to.
pub fn authorization_url(p: &Provider, ep: &Endpoints, a: &Attempt<'_>) -> Result<String, String> {
    let mut url = Url::parse(&ep.authorization)
        .map_err(|e| format!("the provider's authorization endpoint is not a URL: {e}"))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &p.client_id);
        q.append_pair("redirect_uri", a.redirect_uri);
        q.append_pair("state", a.state);
        if !p.scopes.is_empty() {
            q.append_pair("scope", &p.scopes.join(" "));
        }
        if p.uses_id_token() {
            q.append_pair("nonce", a.nonce);
        }
        if let Some(c) = a.code_challenge {
            q.append_pair("code_challenge", c);
            q.append_pair("code_challenge_method", "S256");
        }
        match p.kind {
            // Apple requires form_post whenever name or email is asked for.
            SignInKind::Apple if !p.scopes.is_empty() => {
                q.append_pair("response_mode", "form_post");
            }
            SignInKind::Workos => match &p.workos {
                Some(WorkosSelector::Connection(v)) => {
                    q.append_pair("connection", v);
                }
                Some(WorkosSelector::Organization(v)) => {
                    q.append_pair("organization", v);
                }
                Some(WorkosSelector::Provider(v)) => {
                    q.append_pair("provider", v);
                }
                None => {}
            },
            _ => {}
        }
        // OpenID providers re-authenticate on request and say when in `auth_time`, which
        // they include only when asked: always ask (`max_age`), or a silent SSO of an old
        // sign-in would be a session of unknown age. The others (Apple, GitHub, WorkOS) do
        // not take these parameters.
        if matches!(p.kind, SignInKind::Oidc | SignInKind::Microsoft) {
            if a.prompt_login {
                q.append_pair("prompt", "login");
            }
            let max_age = a.max_age.unwrap_or(AUTH_TIME_MAX_AGE);
            q.append_pair("max_age", &max_age.to_string());
        }
    }
    Ok(url.to_string())
}

/// One HTTP request the front performs: a POST of `form` when set, else a GET.
#[derive(Debug, PartialEq)]
pub struct HttpRequest {
    pub name: &'static str,
    pub url: String,
    pub headers: Map<String, Value>,
    pub form: Option<Map<String, Value>>,
}

impl HttpRequest {
    pub fn to_json(&self) -> Value {
        let mut v = json!({"name": self.name, "url": self.url, "headers": self.headers});
        if let Some(f) = &self.form {
            v["form"] = Value::Object(f.clone());
        }
        v
    }
}

/// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64.
fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// The token request for `code`; `secret` is the client secret (for Apple, the JWT minted
/// from its key), `verifier` the PKCE verifier when one was sent.
pub fn token_request(
    p: &Provider,
    ep: &Endpoints,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
    secret: &str,
) -> HttpRequest {
    let mut form = Map::new();
    let mut headers = Map::new();
    headers.insert("accept".into(), json!("application/json"));
    form.insert("grant_type".into(), json!("authorization_code"));
    form.insert("code".into(), json!(code));
    // WorkOS does not take redirect_uri at the token endpoint; everyone else requires it back.
    if p.kind != SignInKind::Workos {
        form.insert("redirect_uri".into(), json!(redirect_uri));
    }
    if let Some(v) = verifier {
        form.insert("code_verifier".into(), json!(v));
    }
    match p.token_auth {
        TokenAuth::Basic => {
            headers.insert("authorization".into(), json!(basic(&p.client_id, secret)));
        }
        TokenAuth::Post => {
            form.insert("client_id".into(), json!(p.client_id));
            form.insert("client_secret".into(), json!(secret));
        }
    }
    HttpRequest {
        name: "token",
        url: ep.token.clone(),
        headers,
        form: Some(form),
    }
}

/// The GETs made with the upstream access token after the token request: GitHub's user and
/// emails, WorkOS's profile, an OpenID provider's userinfo (when it has one and email or
/// profile claims are asked for: some release them only there).
pub fn follow_ups(p: &Provider, discovery: Option<&Value>) -> Vec<HttpRequest> {
    let get = |name: &'static str, url: String, accept: &str| {
        let mut headers = Map::new();
        headers.insert("accept".into(), json!(accept));
        // GitHub's API refuses requests without a User-Agent.
        headers.insert("user-agent".into(), json!("oauth_server"));
        HttpRequest {
            name,
            url,
            headers,
            form: None,
        }
    };
    let api = p.api_base.clone().unwrap_or_default();
    match p.kind {
        SignInKind::Github => vec![
            get("user", format!("{api}/user"), "application/vnd.github+json"),
            get(
                "emails",
                format!("{api}/user/emails"),
                "application/vnd.github+json",
            ),
        ],
        SignInKind::Workos => vec![get(
            "profile",
            format!("{api}/sso/profile"),
            "application/json",
        )],
        SignInKind::Oidc if p.scopes.iter().any(|s| s == "email" || s == "profile") => discovery
            .and_then(|d| d.get("userinfo_endpoint"))
            .and_then(Value::as_str)
            .map(|u| vec![get("userinfo", u.to_string(), "application/json")])
            .unwrap_or_default(),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(o: Value) -> Provider {
        Provider::from_options("p", &o).unwrap()
    }

    #[test]
    fn apple_uses_form_post_and_nonce_but_no_pkce() {
        let p = provider(
            json!({"kind": "apple", "client_id": "com.example.web", "team_id": "T", "key_id": "K"}),
        );
        let ep = p.endpoints(None).unwrap();
        let a = Attempt {
            state: "s",
            nonce: "n",
            code_challenge: None,
            redirect_uri: "https://as/cb",
            prompt_login: false,
            max_age: None,
        };
        let url = Url::parse(&authorization_url(&p, &ep, &a).unwrap()).unwrap();
        let q: Map<String, Value> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), json!(v)))
            .collect();
        assert_eq!(q["response_mode"], "form_post");
        assert_eq!(q["nonce"], "n");
        assert_eq!(q["scope"], "name email");
        assert!(!q.contains_key("code_challenge"));
        let t = token_request(&p, &ep, "c", "https://as/cb", None, "jwt");
        assert_eq!(t.form.as_ref().unwrap()["client_secret"], "jwt");
        assert!(!t.headers.contains_key("authorization"));
    }

    #[test]
    fn oidc_sends_pkce_and_basic_credentials() {
        let p = provider(json!({"kind": "oidc", "client_id": "a b", "issuer": "https://op"}));
        let ep = Endpoints {
            authorization: "https://op/auth?x=1".into(),
            token: "https://op/token".into(),
        };
        let a = Attempt {
            state: "s",
            nonce: "n",
            code_challenge: Some("ch"),
            redirect_uri: "https://as/cb",
            prompt_login: false,
            max_age: None,
        };
        let url = authorization_url(&p, &ep, &a).unwrap();
        assert!(
            url.starts_with("https://op/auth?x=1&response_type=code"),
            "{url}"
        );
        assert!(url.contains("code_challenge=ch&code_challenge_method=S256"));
        let fresh = Attempt {
            prompt_login: true,
            max_age: Some(60),
            ..a
        };
        let url = authorization_url(&p, &ep, &fresh).unwrap();
        assert!(url.contains("prompt=login&max_age=60"), "{url}");
        // Without freshness demands, auth_time is still asked for.
        let url = authorization_url(&p, &ep, &a).unwrap();
        assert!(url.ends_with("&max_age=31536000"), "{url}");
        assert!(!url.contains("prompt="), "{url}");
        let login_only = Attempt {
            prompt_login: true,
            ..a
        };
        let url = authorization_url(&p, &ep, &login_only).unwrap();
        assert!(url.contains("prompt=login&max_age=31536000"), "{url}");
        let t = token_request(&p, &ep, "c", "https://as/cb", Some("v"), "s:e");
        // "a b" and "s:e" form-urlencoded first (RFC 6749 §2.3.1).
        assert_eq!(
            t.headers["authorization"],
            format!("Basic {}", STANDARD.encode("a+b:s%3Ae"))
        );
        assert_eq!(t.form.as_ref().unwrap()["code_verifier"], "v");
        assert!(!t.form.as_ref().unwrap().contains_key("client_secret"));
    }

    #[test]
    fn workos_selects_the_connection_and_github_fetches_user_and_emails() {
        let w =
            provider(json!({"kind": "workos", "client_id": "client_1", "connection": "conn_1"}));
        let ep = w.endpoints(None).unwrap();
        let a = Attempt {
            state: "s",
            nonce: "n",
            code_challenge: None,
            redirect_uri: "https://as/cb",
            prompt_login: false,
            max_age: None,
        };
        let url = authorization_url(&w, &ep, &a).unwrap();
        assert!(
            url.contains("connection=conn_1") && !url.contains("nonce="),
            "{url}"
        );
        assert_eq!(
            follow_ups(&w, None)[0].url,
            "https://api.workos.com/sso/profile"
        );
        let g = provider(json!({"kind": "github", "client_id": "Iv1"}));
        let names: Vec<_> = follow_ups(&g, None).iter().map(|r| r.url.clone()).collect();
        assert_eq!(
            names,
            [
                "https://api.github.com/user",
                "https://api.github.com/user/emails"
            ]
        );
    }
}
