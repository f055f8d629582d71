//! The URL browsers and clients reach this front at (`--public-url`). It must be the issuer
//! the database signs with (`oauth_server.issuer`), or clients reject every token: a
//! difference stops the front at start-up. Its scheme decides the sign-in cookie's form; with
//! no `--public-url`, the issuer's scheme does.

use crate::sql::{self, CallError};
use deadpool_postgres::Pool;

pub struct PublicUrl {
    configured: Option<String>,
    /// Whether the issuer is https, read once from the database when no public URL is set.
    issuer_https: tokio::sync::OnceCell<bool>,
}

impl PublicUrl {
    pub fn new(configured: Option<String>) -> PublicUrl {
        PublicUrl {
            configured,
            issuer_https: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether browsers reach this front over https (the sign-in callback, its cookie).
    pub async fn https(&self, pool: &Pool) -> Result<bool, CallError> {
        if let Some(url) = &self.configured {
            return Ok(is_https(url));
        }
        if let Some(known) = self.issuer_https.get() {
            return Ok(*known);
        }
        let res = sql::call(
            pool,
            "to_jsonb(current_setting('oauth_server.issuer', true))",
            &[],
        )
        .await?;
        // Not set yet: the strict cookie, and ask again next time.
        let Some(issuer) = res.body.as_str() else {
            return Ok(true);
        };
        Ok(*self
            .issuer_https
            .get_or_init(|| async { is_https(issuer) })
            .await)
    }
}

pub fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

/// The start-up check of `--public-url` against the issuer the database signs with. A
/// database that cannot be reached yet (down) is only a warning: the front starts, and answers
/// 503 until it can. A database without the extension and without `oauth_server.issuer`, with
/// `--public-url` given, stops the front like a different issuer: nothing says they agree.
pub async fn check_against_issuer(pool: &Pool, public_url: Option<&str>) -> Result<(), String> {
    let issuer = async {
        let c = pool.get().await.ok()?;
        // The extension's own word first: in a session that has not loaded its library yet,
        // current_setting() is NULL for an issuer left at the extension's default, which is
        // an issuer all the same. Without the extension (not created yet), the setting.
        if let Ok(row) = c.query_one("SELECT oauth.metadata()->>'issuer'", &[]).await {
            return Some(row.get::<_, Option<String>>(0));
        }
        let row = c
            .query_one("SELECT current_setting('oauth_server.issuer', true)", &[])
            .await
            .ok()?;
        Some(row.get::<_, Option<String>>(0))
    }
    .await;
    match issuer {
        None => {
            tracing::warn!(
                "cannot read oauth_server.issuer yet (database down): --public-url not checked"
            );
            Ok(())
        }
        Some(issuer) => {
            let verdict = compare(issuer.as_deref(), public_url);
            match &verdict {
                Ok(Some(i)) => tracing::info!(issuer = %i, "issuer"),
                Ok(None) => tracing::warn!(
                    "oauth_server.issuer is not set (or the extension is not created yet)"
                ),
                Err(_) => {}
            }
            verdict.map(|_| ())
        }
    }
}

/// The issuer when it and the public URL agree (a trailing slash aside); the message that
/// stops the front when they do not. No `--public-url`: nothing to compare.
fn compare(issuer: Option<&str>, public_url: Option<&str>) -> Result<Option<String>, String> {
    let issuer = issuer.map(str::trim).filter(|i| !i.is_empty());
    let Some(public) = public_url else {
        return Ok(issuer.map(String::from));
    };
    let same = |i: &str| i.trim_end_matches('/') == public.trim().trim_end_matches('/');
    match issuer {
        Some(i) if same(i) => Ok(Some(i.to_string())),
        Some(i) => Err(format!(
            "--public-url is {public} but the database's oauth_server.issuer is {i}: clients \
             would reject every token. Make them equal: set oauth_server.issuer to the URL \
             clients reach this front at (ALTER DATABASE … SET oauth_server.issuer = '{public}'), \
             or give that URL to --public-url (OAUTH_FRONT_PUBLIC_URL)"
        )),
        None => Err(format!(
            "--public-url is {public} but the database's oauth_server.issuer is not set: \
             clients would reject every token. Set it to the URL clients reach this front at \
             (ALTER DATABASE … SET oauth_server.issuer = '{public}'), or start without \
             --public-url"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_scheme_picks_the_cookie() {
        assert!(is_https("https://auth.example.com"));
        assert!(is_https("HTTPS://auth.example.com/"));
        assert!(!is_https("http://127.0.0.1:8080"));
        assert!(!is_https("https:/x"));
    }

    #[test]
    fn a_public_url_that_is_not_the_issuer_stops_the_front() {
        let ok = |i, p| compare(i, p).unwrap();
        assert_eq!(
            ok(Some("https://a.example"), None),
            Some("https://a.example".into())
        );
        assert_eq!(
            ok(Some("https://a.example/"), Some("https://a.example")),
            Some("https://a.example/".into())
        );
        assert_eq!(
            ok(Some("https://a.example"), Some("https://a.example/")),
            Some("https://a.example".into())
        );
        assert_eq!(ok(None, None), None);
        assert_eq!(ok(Some(""), None), None);
        let differs =
            compare(Some("https://a.example"), Some("http://127.0.0.1:8080")).unwrap_err();
        assert!(differs.contains("https://a.example"), "{differs}");
        assert!(differs.contains("http://127.0.0.1:8080"), "{differs}");
        assert!(differs.contains("oauth_server.issuer"), "{differs}");
        assert!(differs.contains("--public-url"), "{differs}");
        let unset = compare(None, Some("https://a.example")).unwrap_err();
        assert!(unset.contains("not set"), "{unset}");
        assert!(compare(Some("  "), Some("https://a.example")).is_err());
        // A path is part of the issuer.
        assert!(compare(Some("https://a.example/auth"), Some("https://a.example")).is_err());
    }
}
