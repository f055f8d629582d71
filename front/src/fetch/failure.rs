//! Why a fetch failed, said so that whoever reads it (the browser's page, the client's OAuth
//! error, the log, `last_error` in the database) knows what to change: the fence's refusals
//! name `--allow-private-fetch` or the https rule, an untrusted certificate names
//! `--fetch-ca-file`, and the upstream's own answers (status, size, not JSON) are told as
//! they came.
//!
//! Permanent or transient: a failure is *permanent* when asking again cannot succeed until
//! someone changes a flag, a setting or the upstream: the fence refused the address or the
//! scheme, TLS did not verify, a redirect went where the fence does not follow, the upstream
//! answered a 4xx (other than 408 and 429), more than the cap, or not JSON, or its answer was
//! unusable (another issuer, no `jwks_uri`, refused by the database). Those are answered
//! without `Retry-After` (a sign-in page: 502). Everything else may pass on its own: a
//! timeout, a connection refused or reset, a name that does not resolve, a 5xx, 408 or 429,
//! the database unavailable while storing: 503 with `Retry-After`.

use std::error::Error;
use std::fmt;
use std::time::Duration;

/// The resolver's refusal: the name resolves to no public address (see `fence`). A type of
/// its own so that it is recognised inside reqwest's error.
#[derive(Debug)]
pub struct NoPublicAddress;

impl fmt::Display for NoPublicAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the host resolves to no public address")
    }
}

impl Error for NoPublicAddress {}

/// The resolver's failure: the name does not resolve (no such name, or no answer). A type of
/// its own, like [`NoPublicAddress`], so that the two can be told apart in the log and, where
/// the requester is anonymous (client metadata documents), told alike.
#[derive(Debug)]
pub struct Unresolved(pub std::io::Error);

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the host name does not resolve ({})", self.0)
    }
}

impl Error for Unresolved {}

/// What went wrong, without where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The host is, or resolves only to, a private, loopback or link-local address.
    PrivateAddress,
    /// The host name does not resolve (maybe for now: a resolver down).
    Unresolved(String),
    /// Plain http on loopback, which administrator-configured URLs may use only with
    /// `--allow-private-fetch` (local stand-ins).
    LoopbackHttp,
    /// Not https, and not on loopback (administrator-configured URLs).
    HttpsRequired,
    /// Not https, where https is always required (client metadata documents).
    DocumentHttpsRequired,
    /// The TLS handshake failed; `untrusted` when the certificate's issuer is not trusted.
    Tls {
        detail: String,
        untrusted: bool,
    },
    /// A redirect the fence does not follow (or too many).
    Redirect(String),
    Status(u16),
    TooLarge(usize),
    NotJson(String),
    Timeout(Duration),
    /// No connection could be made, or it broke (refused, reset, the name does not resolve).
    Unreachable(String),
    /// Fetched, but not usable (permanent).
    Unusable(String),
    /// Fetched, but could not be stored now (transient).
    Unavailable(String),
}

impl Cause {
    /// Whether asking again cannot help before someone changes something (see the module).
    pub fn permanent(&self) -> bool {
        match self {
            // 408 and 429 ask to come back; 5xx is the upstream's trouble, maybe passing.
            Cause::Status(s) => *s < 500 && *s != 408 && *s != 429,
            Cause::Timeout(_)
            | Cause::Unreachable(_)
            | Cause::Unresolved(_)
            | Cause::Unavailable(_) => false,
            _ => true,
        }
    }

    /// Why `e` (a request, or reading its body) failed; `timeout` is the client's.
    pub fn of_request(e: reqwest::Error, timeout: Duration) -> Cause {
        if e.is_timeout() {
            return Cause::Timeout(timeout);
        }
        // Without its URL: fetch URLs may carry values.
        let e = e.without_url();
        if let Some(cause) = Cause::in_chain(&e) {
            return cause;
        }
        let text = with_causes(&e);
        if e.is_redirect() {
            return Cause::Redirect(text);
        }
        Cause::Unreachable(text)
    }

    /// A cause recognised in `e` or its sources (an `io::Error` is looked into: it hides what
    /// it wraps from `source()`).
    fn in_chain(e: &(dyn Error + 'static)) -> Option<Cause> {
        let mut source = Some(e);
        while let Some(err) = source {
            if let Some(cause) = Cause::known(err) {
                return Some(cause);
            }
            let wrapped = err
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref);
            if let Some(cause) = wrapped.and_then(|inner| Cause::in_chain(inner)) {
                return Some(cause);
            }
            source = err.source();
        }
        None
    }

    /// The causes recognised by their type: the resolver's refusal, a TLS error.
    fn known(err: &(dyn Error + 'static)) -> Option<Cause> {
        if err.downcast_ref::<NoPublicAddress>().is_some() {
            return Some(Cause::PrivateAddress);
        }
        if let Some(Unresolved(e)) = err.downcast_ref::<Unresolved>() {
            return Some(Cause::Unresolved(e.to_string()));
        }
        let tls = err.downcast_ref::<rustls::Error>()?;
        let untrusted = matches!(
            tls,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        );
        Some(Cause::Tls {
            detail: tls.to_string(),
            untrusted,
        })
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::PrivateAddress => f.write_str(
                "its address is private, loopback or link-local, and only public addresses \
                 are fetched from unless oauth-front runs with --allow-private-fetch \
                 (development and tests only)",
            ),
            Cause::Unresolved(why) => write!(f, "its host name does not resolve ({why})"),
            Cause::LoopbackHttp => f.write_str(
                "plain http from a loopback address, which is fetched only when oauth-front \
                 runs with --allow-private-fetch (development and tests); otherwise only https \
                 from public addresses",
            ),
            Cause::HttpsRequired => f.write_str(
                "https is required (plain http is fetched only from loopback, and only with \
                 --allow-private-fetch: development and tests)",
            ),
            Cause::DocumentHttpsRequired => f.write_str(
                "https is required: client metadata documents are fetched over https only, \
                 even with --allow-private-fetch",
            ),
            Cause::Tls {
                detail,
                untrusted: true,
            } => write!(
                f,
                "TLS failed ({detail}): its certificate is not issued by a trusted CA; \
                 oauth-front trusts a private CA given with --fetch-ca-file"
            ),
            Cause::Tls { detail, .. } => write!(f, "TLS failed ({detail})"),
            Cause::Redirect(why) => write!(f, "redirect refused ({why})"),
            Cause::Status(s) => write!(f, "answered HTTP {s}"),
            Cause::TooLarge(max) => write!(f, "answered more than {max} bytes"),
            Cause::NotJson(why) => write!(f, "answered something that is not JSON ({why})"),
            Cause::Timeout(t) if t.subsec_millis() == 0 => {
                write!(f, "did not answer within {} s", t.as_secs())
            }
            Cause::Timeout(t) => write!(f, "did not answer within {} ms", t.as_millis()),
            Cause::Unreachable(why) => write!(f, "could not be reached ({why})"),
            Cause::Unusable(why) | Cause::Unavailable(why) => f.write_str(why),
        }
    }
}

/// A failed fetch: what was fetched (a URL, "discovery document at …") and why it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub what: String,
    pub cause: Cause,
}

impl Failure {
    pub fn new(what: impl Into<String>, cause: Cause) -> Failure {
        Failure {
            what: what.into(),
            cause,
        }
    }

    pub fn permanent(&self) -> bool {
        self.cause.permanent()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.what.is_empty() {
            write!(f, "{}", self.cause)
        } else {
            write!(f, "{}: {}", self.what, self.cause)
        }
    }
}

pub use crate::sql::with_causes;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::fence;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A server on loopback answering every connection with `answer` after the request's
    /// head (or, with `None`, holding it unanswered for two seconds). Its port.
    fn server(answer: Option<&'static [u8]>) -> u16 {
        server_reading(answer, true)
    }

    /// The same; without `read_head`, the answer goes out before anything is read (a TLS
    /// client's hello has no HTTP head).
    fn server_reading(answer: Option<&'static [u8]>, read_head: bool) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while read_head
                    && !head.ends_with(b"\r\n\r\n")
                    && stream.read(&mut byte).unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                match answer {
                    Some(a) => {
                        let _ = stream.write_all(a);
                    }
                    None => std::thread::sleep(Duration::from_secs(2)),
                }
            }
        });
        port
    }

    const TIMEOUT: Duration = Duration::from_millis(500);

    async fn get(url: &str, allow_private: bool) -> Result<serde_json::Value, Failure> {
        let http = fence::following_client(&[], allow_private, TIMEOUT).unwrap();
        fence::get_configured_json(&http, url, allow_private, 64, TIMEOUT).await
    }

    async fn cause_at(answer: Option<&'static [u8]>) -> Cause {
        let port = server(answer);
        get(&format!("http://127.0.0.1:{port}/doc"), true)
            .await
            .unwrap_err()
            .cause
    }

    #[test]
    fn the_fence_refusals_name_what_would_lift_them() {
        let refusal = |u: &str, allow| fence::refusal(&url::Url::parse(u).unwrap(), allow);
        assert_eq!(
            refusal("http://127.0.0.1:9/x", false),
            Some(Cause::LoopbackHttp)
        );
        assert_eq!(
            refusal("http://localhost:9/x", false),
            Some(Cause::LoopbackHttp)
        );
        assert_eq!(
            refusal("http://keys.example/x", true),
            Some(Cause::HttpsRequired)
        );
        assert_eq!(
            refusal("https://127.0.0.1/x", false),
            Some(Cause::PrivateAddress)
        );
        assert_eq!(
            refusal("https://[::1]/x", false),
            Some(Cause::PrivateAddress)
        );
        assert_eq!(refusal("http://127.0.0.1:9/x", true), None);
        assert_eq!(refusal("https://keys.example/x", false), None);
        for cause in [
            Cause::LoopbackHttp,
            Cause::HttpsRequired,
            Cause::PrivateAddress,
        ] {
            assert!(
                cause.to_string().contains("--allow-private-fetch"),
                "{cause}"
            );
            assert!(cause.permanent(), "{cause}");
        }
        assert!(Cause::HttpsRequired
            .to_string()
            .contains("https is required"));
        let documents = Cause::DocumentHttpsRequired.to_string();
        assert!(documents.contains("https is required") && documents.contains("even with"));
    }

    #[tokio::test]
    async fn a_name_that_resolves_only_to_loopback_is_refused_as_a_private_address() {
        let failure = get("https://localhost:9/keys", false).await.unwrap_err();
        assert_eq!(failure.cause, Cause::PrivateAddress, "{failure}");
        assert!(failure
            .to_string()
            .starts_with("https://localhost:9/keys: "));
        assert!(failure.permanent());
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_says_so_and_may_pass() {
        let failure = get("https://no-such-host.invalid/keys", false)
            .await
            .unwrap_err();
        assert!(matches!(failure.cause, Cause::Unresolved(_)), "{failure}");
        assert!(
            failure.to_string().contains("does not resolve"),
            "{failure}"
        );
        assert!(!failure.permanent());
    }

    #[test]
    fn an_untrusted_certificate_names_the_ca_flag_and_other_tls_errors_do_not() {
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        // As hyper-rustls hands it over: inside an io::Error, which hides it from source().
        let wrapped = std::io::Error::new(std::io::ErrorKind::InvalidData, unknown);
        let cause = Cause::in_chain(&wrapped).unwrap();
        assert!(
            matches!(
                cause,
                Cause::Tls {
                    untrusted: true,
                    ..
                }
            ),
            "{cause:?}"
        );
        assert!(cause.to_string().contains("--fetch-ca-file"), "{cause}");
        assert!(cause.permanent());
        let expired = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        let cause = Cause::in_chain(&expired).unwrap();
        assert!(
            matches!(
                cause,
                Cause::Tls {
                    untrusted: false,
                    ..
                }
            ),
            "{cause:?}"
        );
        assert!(!cause.to_string().contains("--fetch-ca-file"), "{cause}");
        assert_eq!(
            Cause::in_chain(&NoPublicAddress),
            Some(Cause::PrivateAddress)
        );
    }

    #[tokio::test]
    async fn tls_to_a_server_that_does_not_speak_it_is_a_tls_failure() {
        let answer = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        let port = server_reading(Some(answer), false);
        let failure = get(&format!("https://127.0.0.1:{port}/doc"), true)
            .await
            .unwrap_err();
        assert!(matches!(failure.cause, Cause::Tls { .. }), "{failure}");
        assert!(failure.permanent());
    }

    #[tokio::test]
    async fn the_upstreams_answers_are_told_as_they_came() {
        let status = cause_at(Some(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")).await;
        assert_eq!(status, Cause::Status(404));
        assert!(status.to_string().contains("HTTP 404"));
        assert!(status.permanent());
        let busy = cause_at(Some(b"HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n")).await;
        assert_eq!(busy, Cause::Status(503));
        assert!(!busy.permanent());
        let declared = cause_at(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")).await;
        assert_eq!(declared, Cause::TooLarge(64));
        let streamed: &[u8] = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n\
            [1111111111, 2222222222, 3333333333, 4444444444, 5555555555, 6666666666, 7777777777]";
        let streamed = cause_at(Some(streamed)).await;
        assert_eq!(streamed, Cause::TooLarge(64));
        assert!(streamed.permanent());
        let text = cause_at(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")).await;
        assert!(matches!(text, Cause::NotJson(_)), "{text:?}");
        assert!(text.permanent());
    }

    #[tokio::test]
    async fn a_timeout_or_a_refused_connection_may_pass() {
        let slow = cause_at(None).await;
        assert_eq!(slow, Cause::Timeout(TIMEOUT));
        assert!(!slow.permanent());
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let refused = get(&format!("http://127.0.0.1:{port}/doc"), true)
            .await
            .unwrap_err();
        assert!(matches!(refused.cause, Cause::Unreachable(_)), "{refused}");
        assert!(!refused.permanent());
        assert!(!refused.to_string().contains("for url"), "{refused}");
    }

    #[tokio::test]
    async fn a_redirect_the_fence_does_not_follow_is_refused_with_the_reason() {
        // Plain http off loopback: never fetched, whatever the flags.
        let to_http: &'static [u8] = b"HTTP/1.1 302 Found\r\nlocation: http://keys.example/keys\r\ncontent-length: 0\r\n\r\n";
        let cause = cause_at(Some(to_http)).await;
        let Cause::Redirect(why) = &cause else {
            panic!("{cause:?}");
        };
        assert!(why.contains("https is required"), "{why}");
        assert!(cause.permanent());
    }
}
