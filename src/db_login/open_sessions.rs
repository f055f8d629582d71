//! Sessions already open when their grounds go. PostgreSQL checks a credential only when a
//! connection starts; a session that signed in with one of our tokens would otherwise keep its
//! role and its claims after its family was revoked, its session ended or its user disabled.
//! Each such session registers itself (a file per backend: its family and start time); after
//! each snapshot the worker ends those whose family the snapshot no longer holds
//! (`oauth_server.db_login_end_sessions`), within the same bound as new connections.

use crate::protocol::login_snapshot::PublishedFamily;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const DIR: &str = "pg_stat_tmp/oauth_server_db_logins";

/// A session that signed in with one of our tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSession {
    pub pid: i32,
    /// When the backend started (microseconds since the Unix epoch), so that a pid reused by
    /// another backend is never taken for it.
    pub started_us: i64,
    pub family: String,
    /// The audience and the scopes it signed in with: the family must still hold them.
    pub audience: String,
    pub scopes: Vec<String>,
}

fn path_of(pid: i32) -> PathBuf {
    Path::new(DIR).join(pid.to_string())
}

/// Registers this backend's session (the validator, on a successful sign-in).
pub fn register(s: &OpenSession) -> std::io::Result<()> {
    std::fs::create_dir_all(DIR)?;
    let tmp = path_of(s.pid).with_extension("tmp");
    let scopes = s.scopes.join(" ");
    std::fs::write(
        &tmp,
        format!("{}\n{}\n{}\n{scopes}\n", s.started_us, s.family, s.audience),
    )?;
    std::fs::rename(tmp, path_of(s.pid))
}

/// Forgets a backend's session (its exit, or the worker after ending it or finding it gone).
pub fn forget(pid: i32) {
    let _ = std::fs::remove_file(path_of(pid));
}

/// Every registered session.
pub fn registered() -> Vec<OpenSession> {
    let Ok(entries) = std::fs::read_dir(DIR) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let text = std::fs::read_to_string(e.path()).ok()?;
            let mut lines = text.lines();
            let started_us = lines.next()?.parse().ok()?;
            let family = lines.next()?.to_string();
            let audience = lines.next()?.to_string();
            let scopes = lines
                .next()
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            Some(OpenSession {
                pid,
                started_us,
                family,
                audience,
                scopes,
            })
        })
        .collect()
}

/// The registered sessions whose family is no longer live, or no longer holds the audience
/// and the scopes the session signed in with (a resource removed, the client's scopes
/// narrowed): what would refuse a new connection ends an open one.
pub fn fallen<'a>(
    open: &'a [OpenSession],
    live: &HashMap<String, PublishedFamily>,
) -> Vec<&'a OpenSession> {
    open.iter()
        .filter(|s| match live.get(&s.family) {
            None => true,
            Some(f) => {
                !f.audiences.contains(&s.audience) || s.scopes.iter().any(|x| !f.scopes.contains(x))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_fall_with_their_family_or_what_it_held() {
        let s = |pid, family: &str| OpenSession {
            pid,
            started_us: 1,
            family: family.into(),
            audience: "postgres://h/app".into(),
            scopes: vec!["db:login".into()],
        };
        let open = vec![s(1, "a"), s(2, "b"), s(3, "a"), s(4, "c"), s(5, "d")];
        let family = |aud: &str, scope: &str| PublishedFamily {
            user: "u".into(),
            client: "c".into(),
            scopes: vec![scope.into()],
            audiences: vec![aud.into()],
            issuer: None,
        };
        let live: HashMap<String, PublishedFamily> = [
            ("a".to_string(), family("postgres://h/app", "db:login")),
            ("c".to_string(), family("postgres://h/other", "db:login")),
            ("d".to_string(), family("postgres://h/app", "openid")),
        ]
        .into_iter()
        .collect();
        let fallen: Vec<i32> = fallen(&open, &live).iter().map(|s| s.pid).collect();
        assert_eq!(fallen, vec![2, 4, 5]);
    }
}
