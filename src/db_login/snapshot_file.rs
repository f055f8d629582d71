//! Where the login snapshot is published: a file in the data directory (every backend's and
//! worker's working directory), under `pg_stat_tmp`, which base backups and pg_rewind leave
//! out: a standby or a restored copy makes its own, and never trusts one copied from elsewhere
//! (it would be stale anyway: `made_at_ms`).

use std::io::Write;

pub const PATH: &str = "pg_stat_tmp/oauth_server_db_login.snapshot";

/// Replaces the snapshot whole: written beside it, then renamed over it, so that a reader
/// sees the old one or the new one, never a part.
pub fn publish(bytes: &[u8]) -> std::io::Result<()> {
    let dir = std::path::Path::new(PATH)
        .parent()
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = format!("{PATH}.{}", std::process::id());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    f.write_all(bytes)?;
    drop(f);
    std::fs::rename(&tmp, PATH)
}

/// The last snapshot published, as bytes.
pub fn read() -> std::io::Result<Vec<u8>> {
    std::fs::read(PATH)
}
