//! Database audiences: a resource that is a PostgreSQL database, `postgres://host[:port]/dbname`
//! (or `postgresql://`). PostgreSQL 18's libpq gets its tokens itself and cannot send RFC 8707's
//! `resource`, so such a database is reached through a client's default resources; its URI is
//! the `aud` its validator checks, byte for byte.
//!
//! Only one spelling of each database is accepted: an audience is compared as a string, so two
//! spellings of one database registered apart would be two audiences with consents, removals
//! and exchange rules of their own. Hence lower-case scheme and host, no default port, a
//! database name percent-encoded only where it must be (RFC 3986 §6.2.2), and nothing a
//! connection string may carry besides: no credentials, no query (options), no fragment.

use url::Url;

/// The schemes libpq reads as a connection URI (its documentation, "Connection URIs").
pub const SCHEMES: [&str; 2] = ["postgres", "postgresql"];

/// PostgreSQL's default port: a URI naming it is another spelling of the one without.
const DEFAULT_PORT: u16 = 5432;

/// The longest database name PostgreSQL keeps (NAMEDATALEN - 1 bytes).
const MAX_NAME_BYTES: usize = 63;

/// Whether `s` is meant as a database audience: its scheme is one of [`SCHEMES`], in any case
/// (so that `POSTGRES://…` is refused as a database audience, with the reason, rather than as
/// a URL that is not https).
pub fn is_database_uri(s: &str) -> bool {
    s.split_once("://")
        .is_some_and(|(scheme, _)| SCHEMES.iter().any(|k| k.eq_ignore_ascii_case(scheme)))
}

/// Checks a database audience: the one accepted spelling of `scheme://host[:port]/dbname`.
pub fn check(s: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("database audience {s:?} {why}"));
    if s.len() > 2048 {
        return bad("is too long");
    }
    let Some((scheme, _)) = s.split_once("://") else {
        return bad("is not a postgres:// URI");
    };
    if !SCHEMES.contains(&scheme) {
        return bad("must start with postgres:// or postgresql://, in lower case");
    }
    let url = Url::parse(s).map_err(|e| format!("database audience {s:?} is not a URI: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() || authority(s).contains('@') {
        return bad("must not carry credentials (a user name or password)");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return bad("must not have a query (connection options) or a fragment");
    }
    host_rule(&url).map_err(|why| format!("database audience {s:?} {why}"))?;
    match url.port() {
        Some(DEFAULT_PORT) => {
            return bad(&format!(
                "names the default port {DEFAULT_PORT}: leave it out (one spelling per database)"
            ))
        }
        Some(0) => return bad("has port 0"),
        _ => {}
    }
    let name = url
        .path()
        .strip_prefix('/')
        .filter(|n| !n.is_empty() && !n.contains('/'));
    let Some(name) = name else {
        return bad("must name one database: a path of exactly one non-empty segment, /dbname");
    };
    name_rule(name).map_err(|why| format!("database audience {s:?} {why}"))?;
    // Anything the URL parser would spell otherwise (dot segments, a port with leading
    // zeros, characters it escapes) is another spelling of what it would write.
    if url.as_str() != s {
        return bad(&format!(
            "is not in its canonical form; write it {:?}",
            url.as_str()
        ));
    }
    Ok(())
}

/// The same database under the other scheme (`postgres://` for `postgresql://` and back):
/// registering both would make two audiences of one database.
pub fn other_spelling(s: &str) -> Option<String> {
    let (scheme, rest) = s.split_once("://")?;
    let other = match scheme {
        "postgres" => "postgresql",
        "postgresql" => "postgres",
        _ => return None,
    };
    Some(format!("{other}://{rest}"))
}

/// The text between `://` and the path.
fn authority(s: &str) -> &str {
    let rest = s.split_once("://").map_or("", |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or("")
}

/// One host, in lower case: a DNS name or an IP address. No socket directory (libpq's
/// percent-encoded path), no list of hosts (`h1,h2`).
fn host_rule(url: &Url) -> Result<(), &'static str> {
    match url.host() {
        None => Err("must name a host"),
        Some(url::Host::Domain("")) => Err("must name a host"),
        Some(url::Host::Domain(d)) => {
            let dns = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
            let labels_ok = d
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
            if !d.bytes().all(dns) || !labels_ok {
                Err("must name one host: a DNS name or an IP address")
            } else if d.bytes().any(|b| b.is_ascii_uppercase()) {
                Err("must write its host in lower case")
            } else {
                Ok(())
            }
        }
        Some(_) => Ok(()),
    }
}

/// A database name: unreserved characters as themselves, anything else percent-encoded with
/// upper-case hex (RFC 3986 §6.2.2); UTF-8, no NUL, at most 63 bytes once decoded.
/// A database's name as its audience spells it (the one spelling `check` accepts): unreserved
/// characters as they are, every other byte `%XX` in upper case. What the login validator puts
/// for `%d` in `oauth_server.db_login_audience`, so that a database called `my db` is
/// `…/my%20db` there as where it was registered.
pub fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name.as_bytes() {
        if unreserved(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn name_rule(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if unreserved(b) {
            decoded.push(b);
            i += 1;
            continue;
        }
        if b != b'%' {
            return Err(format!(
                "must percent-encode {:?} in the database name",
                b as char
            ));
        }
        let hex = bytes.get(i + 1..i + 3).unwrap_or_default();
        let value = std::str::from_utf8(hex)
            .ok()
            .filter(|h| h.len() == 2 && h.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or("has a malformed percent-encoding in the database name")?;
        if hex.iter().any(u8::is_ascii_lowercase) {
            return Err("must write percent-encodings in upper case (%2F, not %2f)".into());
        }
        if unreserved(value) {
            return Err(format!(
                "must not percent-encode {:?} in the database name (one spelling per database)",
                value as char
            ));
        }
        if value == 0 {
            return Err("has a NUL in the database name".into());
        }
        decoded.push(value);
        i += 3;
    }
    if std::str::from_utf8(&decoded).is_err() {
        return Err("has a database name that is not UTF-8".into());
    }
    if decoded.len() > MAX_NAME_BYTES {
        return Err(format!(
            "has a database name longer than PostgreSQL's {MAX_NAME_BYTES} bytes"
        ));
    }
    Ok(())
}

/// RFC 3986 §2.3.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_database_per_uri_is_accepted() {
        for ok in [
            "postgres://db.example.com/app",
            "postgresql://db.example.com/app",
            "postgres://db.example.com:6432/app",
            "postgres://10.0.0.7/app",
            "postgres://[2001:db8::1]:6543/app",
            "postgres://localhost/My_DB-2.x~",
            "postgres://db.example.com/my%20db",
            "postgres://db.example.com/caf%C3%A9",
            "postgres://db.example.com/a%2Fb",
            "postgres://db.example.com/a%2Bb",
        ] {
            assert!(is_database_uri(ok), "{ok}");
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn every_other_spelling_is_refused_with_its_reason() {
        for (bad, why) in [
            ("POSTGRES://db.example.com/app", "lower case"),
            ("Postgresql://db.example.com/app", "lower case"),
            ("postgres://DB.example.com/app", "host in lower case"),
            ("postgres://user@db.example.com/app", "credentials"),
            ("postgres://user:pw@db.example.com/app", "credentials"),
            ("postgres://:pw@db.example.com/app", "credentials"),
            ("postgres://@db.example.com/app", "credentials"),
            ("postgres://db.example.com/app?sslmode=require", "query"),
            ("postgres://db.example.com/app?", "query"),
            ("postgres://db.example.com/app#x", "fragment"),
            ("postgres://db.example.com", "one database"),
            ("postgres://db.example.com/", "one database"),
            ("postgres://db.example.com/app/", "one database"),
            ("postgres://db.example.com/app/x", "one database"),
            ("postgres://db.example.com//app", "one database"),
            ("postgres:///app", "host"),
            ("postgres://%2Fvar%2Frun%2Fpostgresql/app", "one host"),
            ("postgres://h1.example,h2.example/app", "one host"),
            ("postgres://db.example.com:5432/app", "default port"),
            ("postgres://db.example.com:0/app", "port 0"),
            ("postgres://db.example.com:06432/app", "canonical"),
            ("postgres://db.example.com/%61pp", "must not percent-encode"),
            ("postgres://db.example.com/my%2fdb", "upper case"),
            ("postgres://db.example.com/my%2", "malformed"),
            (
                "postgres://db.example.com/my db",
                "write it \"postgres://db.example.com/my%20db\"",
            ),
            ("postgres://db.example.com/a+b", "must percent-encode '+'"),
            ("postgres://db.example.com/a%00", "NUL"),
            ("postgres://db.example.com/%FF", "UTF-8"),
            ("postgres://db.example.com/..", "one database"),
            ("postgres://db.example.com/.", "one database"),
        ] {
            let e = check(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
        let long = format!("postgres://db.example.com/{}", "n".repeat(64));
        assert!(check(&long).unwrap_err().contains("63 bytes"));
        assert_eq!(
            check(&format!("postgres://db.example.com/{}", "n".repeat(63))),
            Ok(())
        );
    }

    #[test]
    fn only_its_own_schemes_are_database_uris() {
        assert!(is_database_uri("POSTGRES://x/y"));
        for not in ["https://db.example.com/app", "postgres:x", "pg://x/y", "x"] {
            assert!(!is_database_uri(not), "{not}");
        }
    }

    #[test]
    fn the_other_scheme_is_the_other_spelling() {
        assert_eq!(
            other_spelling("postgres://h.example/app").as_deref(),
            Some("postgresql://h.example/app")
        );
        assert_eq!(
            other_spelling("postgresql://h.example/app").as_deref(),
            Some("postgres://h.example/app")
        );
        assert_eq!(other_spelling("https://h.example/app"), None);
    }

    #[test]
    fn a_database_name_is_encoded_as_its_registered_audience_spells_it() {
        for name in ["app", "my db", "a/b", "50%", "ünï", "x?y#z", "A.b_c-d~e"] {
            let aud = format!("postgres://db.example/{}", encode_name(name));
            assert!(check(&aud).is_ok(), "{name}: {aud} {:?}", check(&aud));
        }
        assert_eq!(encode_name("my db"), "my%20db");
        assert_eq!(encode_name("a/b"), "a%2Fb");
    }
}
