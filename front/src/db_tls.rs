//! TLS to Postgres, as libpq does it: `sslmode` and `sslrootcert` in the connection string
//! (URL `?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem` or `sslmode=… sslrootcert=…`
//! key/value pairs), or `--db-ssl-root-cert`.
//!
//! | sslmode | encrypted | certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (the default) | when the server offers TLS | only with a root certificate: chain, as `verify-ca` |
//! | `require` | always | only with a root certificate: chain, as `verify-ca` |
//! | `verify-ca` | always | chain to the root certificate |
//! | `verify-full` | always | chain and host name (or IP address) |
//!
//! tokio-postgres knows only `disable|prefer|require` and no `sslrootcert`: the front takes
//! both out of the string, hands tokio-postgres the mode it knows, and decides verification in
//! the rustls configuration. Unix-socket connections are never encrypted (Postgres does not
//! offer TLS there), as with libpq. rustls (ring provider); SCRAM channel binding
//! (`tls-server-end-point`) is offered over TLS by tokio-postgres-rustls.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(v: &str) -> Result<SslMode, String> {
        Ok(match v {
            "disable" => SslMode::Disable,
            // tokio-postgres has no "allow" (plain first, TLS if refused); prefer is stronger.
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode={other}: expected disable, allow, prefer, require, verify-ca or verify-full"
                ))
            }
        })
    }

    /// The mode tokio-postgres is given.
    fn for_tokio_postgres(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
        }
    }
}

/// A connection string with its TLS options taken out.
#[derive(Debug, PartialEq, Eq)]
pub struct DbTls {
    /// What tokio-postgres parses: the string with `sslrootcert` removed and `sslmode`
    /// replaced by the one it knows.
    pub connection_string: String,
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

/// Splits the TLS options out of `url` (URL or key/value form); `root_cert_flag` is
/// `--db-ssl-root-cert`, overridden by `sslrootcert` in the string.
pub fn split(url: &str, root_cert_flag: Option<&Path>) -> Result<DbTls, String> {
    let (rest, mode, root) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        split_url(url)?
    } else {
        split_key_values(url)?
    };
    let mode = mode.as_deref().map(SslMode::parse).transpose()?;
    let mode = mode.unwrap_or(SslMode::Prefer);
    let root_cert = root
        .map(PathBuf::from)
        .or_else(|| root_cert_flag.map(Path::to_path_buf));
    if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && root_cert.is_none() {
        return Err(format!(
            "sslmode={}: a root certificate is needed (sslrootcert=… in the connection string, or --db-ssl-root-cert)",
            if mode == SslMode::VerifyCa { "verify-ca" } else { "verify-full" }
        ));
    }
    let sep = if rest.is_empty() {
        ""
    } else if rest.contains("://") {
        if rest.contains('?') {
            "&"
        } else {
            "?"
        }
    } else {
        " "
    };
    Ok(DbTls {
        connection_string: format!("{rest}{sep}sslmode={}", mode.for_tokio_postgres()),
        mode,
        root_cert,
    })
}

type Split = (String, Option<String>, Option<String>);

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in the connection string: {s}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the connection string is not UTF-8".to_string())
}

fn split_url(url: &str) -> Result<Split, String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None, None));
    };
    let (mut mode, mut root, mut kept) = (None, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match percent_decode(k)?.as_str() {
            "sslmode" => mode = Some(percent_decode(v)?),
            "sslrootcert" => root = Some(percent_decode(v)?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, mode, root))
}

/// libpq key/value pairs: `key = value`, values optionally in single quotes with `\'` and
/// `\\` escapes. Pairs other than sslmode/sslrootcert are kept verbatim.
fn split_key_values(s: &str) -> Result<Split, String> {
    let b = s.as_bytes();
    let (mut mode, mut root, mut kept) = (None, None, Vec::new());
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &s[start..i];
        skip_ws(&mut i);
        if i >= b.len() || b[i] != b'=' {
            return Err(format!("connection string: missing \"=\" after \"{key}\""));
        }
        i += 1;
        skip_ws(&mut i);
        let mut value = String::new();
        if i < b.len() && b[i] == b'\'' {
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err("connection string: unterminated quoted value".into()),
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if i + 1 < b.len() => {
                        value.push(b[i + 1] as char);
                        i += 2;
                    }
                    Some(_) => {
                        let ch = s[i..].chars().next().unwrap_or_default();
                        value.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
        } else {
            let vstart = i;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            value.push_str(&s[vstart..i]);
        }
        match key {
            "sslmode" => mode = Some(value),
            "sslrootcert" => root = Some(value),
            _ => kept.push(&s[start..i]),
        }
    }
    Ok((kept.join(" "), mode, root))
}

/// The rustls configuration for `tls`: which certificates are accepted.
pub fn client_config(tls: &DbTls) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let verifier: Arc<dyn ServerCertVerifier> = match &tls.root_cert {
        None => Arc::new(Unverified(provider)),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "sslrootcert {}: no CA certificate in the file",
                    path.display()
                ));
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| e.to_string())?;
            if tls.mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `require` without a root certificate: encrypted, server not authenticated (libpq's
/// behaviour). The handshake signature is still checked, so the session key is the server's.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to the root certificate; the name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_options_are_taken_out_and_mapped() {
        let t = split(
            "postgres://front@db.example:5432/app?application_name=x%20y&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
            None,
        )
        .unwrap();
        assert_eq!(
            t.connection_string,
            "postgres://front@db.example:5432/app?application_name=x%20y&sslmode=require"
        );
        assert_eq!(t.mode, SslMode::VerifyFull);
        assert_eq!(t.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        let plain = split("postgres://db/app", None).unwrap();
        assert_eq!(plain.connection_string, "postgres://db/app?sslmode=prefer");
        assert_eq!(plain.mode, SslMode::Prefer);
        assert!(plain
            .connection_string
            .parse::<tokio_postgres::Config>()
            .is_ok());
        assert!(t
            .connection_string
            .parse::<tokio_postgres::Config>()
            .is_ok());
    }

    #[test]
    fn key_value_options_are_taken_out_and_mapped() {
        let t = split(
            "host=db.example user=front password='s3\\'cr et' sslmode = verify-ca sslrootcert='/a b/ca.pem' dbname=app",
            None,
        )
        .unwrap();
        assert_eq!(
            t.connection_string,
            "host=db.example user=front password='s3\\'cr et' dbname=app sslmode=require"
        );
        assert_eq!(t.mode, SslMode::VerifyCa);
        assert_eq!(t.root_cert.as_deref(), Some(Path::new("/a b/ca.pem")));
        let cfg: tokio_postgres::Config = t.connection_string.parse().unwrap();
        assert_eq!(cfg.get_password(), Some(&b"s3'cr et"[..]));
    }

    #[test]
    fn verification_without_a_root_certificate_or_an_unknown_mode_is_refused_clearly() {
        let e = split("host=db sslmode=verify-full", None).unwrap_err();
        assert!(e.contains("root certificate"), "{e}");
        let e = split("postgres://db/app?sslmode=verify-everything", None).unwrap_err();
        assert!(e.contains("expected disable"), "{e}");
        let flag = split("host=db sslmode=verify-full", Some(Path::new("/ca.pem"))).unwrap();
        assert_eq!(flag.root_cert.as_deref(), Some(Path::new("/ca.pem")));
        assert_eq!(
            split("host=db sslmode=disable", None).unwrap().mode,
            SslMode::Disable
        );
    }

    #[test]
    fn a_root_certificate_file_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("oauth-front-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let t = split("host=db sslmode=verify-full", Some(&empty)).unwrap();
        assert!(client_config(&t).unwrap_err().contains("no CA certificate"));
        let missing = split("host=db sslmode=verify-full", Some(&dir.join("nope.pem"))).unwrap();
        assert!(client_config(&missing).is_err());
        let unverified = split("host=db sslmode=require", None).unwrap();
        assert!(client_config(&unverified).is_ok());
    }
}
