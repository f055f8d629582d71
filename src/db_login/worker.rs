//! The background worker that keeps the login snapshot fresh (see the module above).

use super::{open_sessions, snapshot_file};
use crate::services::db_login;
use crate::settings;
use crate::store::db_login as db_login_store;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::prelude::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const FUNCTION: &str = "oauth_server_db_login_worker";

pub fn register() {
    // Only the postmaster, loading the library at start, may register a worker.
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    if settings::db_login_database().is_none() {
        return;
    }
    BackgroundWorkerBuilder::new("oauth_server db_login")
        .set_type("oauth_server db_login")
        .set_library("oauth_server")
        .set_function(FUNCTION)
        .enable_spi_access()
        // A hot standby serves logins too: its snapshot is read from what it replays.
        .set_start_time(pgrx::bgworkers::BgWorkerStartTime::ConsistentState)
        .set_restart_time(Some(Duration::from_secs(1)))
        .load();
}

/// The worker's main loop: publish, wait the interval (or a reload), again.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn oauth_server_db_login_worker(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let Some(database) = settings::db_login_database() else {
        return;
    };
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    BackgroundWorker::transaction(db_login_store::pin_search_path).unwrap_or_else(|e| {
        error!("oauth_server db_login: cannot pin the session's settings: {e}")
    });
    if !BackgroundWorker::transaction(db_login_store::is_superuser).unwrap_or(false) {
        error!("oauth_server db_login: the worker's session is not a superuser's (a setting of database {database:?} changed its role?): no snapshot is published, and every OAuth sign-in is refused");
    }
    log!("oauth_server db_login: publishing the login snapshot of database {database:?}");
    let mut last_missing: Option<Instant> = None;
    loop {
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        match publish_once() {
            Ok(true) => last_missing = None,
            Ok(false) => {
                // Said once a minute, not at every interval.
                if last_missing.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    log!(
                        "oauth_server db_login: database {database:?} has no oauth_server 0.2 or later (CREATE EXTENSION oauth_server; ALTER EXTENSION oauth_server UPDATE): every OAuth login is refused"
                    );
                    last_missing = Some(Instant::now());
                }
            }
            Err(e) => warning!(
                "oauth_server db_login: cannot write {}: {e}",
                snapshot_file::PATH
            ),
        }
        let interval = Duration::from_millis(settings::db_login_refresh_interval());
        if !BackgroundWorker::wait_latch(Some(interval)) {
            break;
        }
    }
    // Exit code 1, so that the postmaster starts it again (after a second) when it was ended
    // by pg_terminate_backend: without it every OAuth sign-in would be refused until a restart.
    // At shutdown the postmaster restarts nothing, whatever the code.
    unsafe { pg_sys::proc_exit(1) };
}

/// Makes and writes one snapshot; `false` when the database has no extension to ask.
fn publish_once() -> Result<bool, String> {
    let made: Result<Option<Vec<u8>>, String> = BackgroundWorker::transaction(|| {
        if !db_login_store::installed().map_err(|e| e.to_string())? {
            return Ok(None);
        }
        let snapshot = db_login::snapshot().map_err(|e| e.to_string())?;
        if settings::db_login_end_sessions() {
            end_fallen_sessions(&snapshot).map_err(|e| e.to_string())?;
        }
        Ok(Some(snapshot.to_bytes()))
    });
    match made? {
        Some(bytes) => snapshot_file::publish(&bytes)
            .map(|_| true)
            .map_err(|e| format!("cannot write {}: {e}", snapshot_file::PATH)),
        None => Ok(false),
    }
}

/// Ends the open sessions whose family this snapshot no longer holds; forgets the registrations
/// of backends that have ended.
fn end_fallen_sessions(
    snapshot: &crate::protocol::login_snapshot::Snapshot,
) -> Result<(), crate::error::MisuseError> {
    let open = open_sessions::registered();
    if open.is_empty() {
        return Ok(());
    }
    let running: HashSet<(i32, i64)> = db_login_store::running_sessions()?
        .into_iter()
        .map(|r| (r.pid, r.started_us))
        .collect();
    for s in &open {
        if !running.contains(&(s.pid, s.started_us)) {
            open_sessions::forget(s.pid);
        }
    }
    for s in open_sessions::fallen(&open, &snapshot.families) {
        if running.contains(&(s.pid, s.started_us))
            && db_login_store::end_session(s.pid, s.started_us)?
        {
            log!(
                "oauth_server db_login: ended session {} (family {}): its family is revoked, its session ended, its user disabled, or it no longer holds what the session signed in with",
                s.pid,
                s.family
            );
        }
        open_sessions::forget(s.pid);
    }
    Ok(())
}
