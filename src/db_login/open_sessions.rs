//! Sessions already open when their grounds go. PostgreSQL checks a credential only when a
//! connection starts; a session that signed in with one of our tokens would otherwise keep its
//! role and its claims after its family was revoked, its session ended or its user disabled.
//! Each such session registers itself (a file per backend: its family and start time); after
//! each snapshot the worker ends those whose family the snapshot no longer holds
//! (`oauth_server.db_login_end_sessions`), within the same bound as new connections.

use std::collections::HashSet;
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
}

fn path_of(pid: i32) -> PathBuf {
    Path::new(DIR).join(pid.to_string())
}

/// Registers this backend's session (the validator, on a successful sign-in).
pub fn register(s: &OpenSession) -> std::io::Result<()> {
    std::fs::create_dir_all(DIR)?;
    let tmp = path_of(s.pid).with_extension("tmp");
    std::fs::write(&tmp, format!("{}\n{}\n", s.started_us, s.family))?;
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
            Some(OpenSession {
                pid,
                started_us,
                family,
            })
        })
        .collect()
}

/// The registered sessions whose family is no longer live.
pub fn fallen<'a>(open: &'a [OpenSession], live: &HashSet<&str>) -> Vec<&'a OpenSession> {
    open.iter()
        .filter(|s| !live.contains(s.family.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sessions_of_families_no_longer_live_fall() {
        let s = |pid, family: &str| OpenSession {
            pid,
            started_us: 1,
            family: family.into(),
        };
        let open = vec![s(1, "a"), s(2, "b"), s(3, "a")];
        let live: HashSet<&str> = ["a"].into_iter().collect();
        let fallen: Vec<i32> = fallen(&open, &live).iter().map(|s| s.pid).collect();
        assert_eq!(fallen, vec![2]);
    }
}
