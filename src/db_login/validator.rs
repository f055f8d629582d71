//! PostgreSQL 18's OAuth validator module interface (`libpq/oauth.h`), implemented by this
//! library: `oauth_validator_libraries = 'oauth_server'` makes the server call
//! `_PG_oauth_validator_module_init` and then `validate` for each bearer token presented at
//! login (SASL OAUTHBEARER, a `pg_hba.conf` line with method `oauth`).
//!
//! It runs while the connection authenticates, before any database is connected: no SPI, no
//! catalog. It reads the snapshot the worker publishes and decides with oauth-core. Every
//! refusal is said in the server log with its reason; the client is told only that the token
//! was refused (as SASL OAUTHBEARER has it).

use super::open_sessions::{self, OpenSession};
use super::snapshot_file;
use crate::decisions::db_login::Policy;
use crate::protocol::login_snapshot::{Failure, Login, Published};
use crate::protocol::resource::database;
use crate::settings;
use pgrx::prelude::*;
use std::ffi::{c_char, c_void, CStr};
use std::time::Duration;

/// `PG_OAUTH_VALIDATOR_MAGIC` of PostgreSQL 18.
const MAGIC: u32 = 0x2025_0220;

#[repr(C)]
pub struct ValidatorModuleState {
    sversion: i32,
    private_data: *mut c_void,
}

#[repr(C)]
pub struct ValidatorModuleResult {
    authorized: bool,
    authn_id: *mut c_char,
}

type StartupCb = unsafe extern "C-unwind" fn(*mut ValidatorModuleState);
type ShutdownCb = unsafe extern "C-unwind" fn(*mut ValidatorModuleState);
type ValidateCb = unsafe extern "C-unwind" fn(
    *const ValidatorModuleState,
    *const c_char,
    *const c_char,
    *mut ValidatorModuleResult,
) -> bool;

#[repr(C)]
pub struct OAuthValidatorCallbacks {
    magic: u32,
    startup_cb: Option<StartupCb>,
    shutdown_cb: Option<ShutdownCb>,
    validate_cb: Option<ValidateCb>,
}

// No shutdown callback: the validator holds nothing past a call (each sign-in reads the
// snapshot anew), so there is nothing to release.
static CALLBACKS: OAuthValidatorCallbacks = OAuthValidatorCallbacks {
    magic: MAGIC,
    startup_cb: Some(startup),
    shutdown_cb: None,
    validate_cb: Some(validate),
};

/// The server this library was built for: 18. Another major (a library copied across, which
/// PG_MODULE_MAGIC would refuse anyway) gets every token refused, said once.
unsafe extern "C-unwind" fn startup(state: *mut ValidatorModuleState) {
    if state.is_null() {
        return;
    }
    let built_for = pg_sys::PG_VERSION_NUM as i32 / 10000;
    if (*state).sversion / 10000 != built_for {
        log!(
            "oauth_server: the OAuth validator was built for PostgreSQL {built_for}, the server is {}: every token is refused",
            (*state).sversion
        );
        WRONG_SERVER.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Set by `startup` when the server is not of the major this library was built for.
static WRONG_SERVER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What PostgreSQL 18 looks up in a validator library.
#[no_mangle]
pub extern "C-unwind" fn _PG_oauth_validator_module_init() -> *const OAuthValidatorCallbacks {
    &CALLBACKS
}

/// Decides one token. Returns true when it could decide (authorized or not), false only when
/// it could not run at all; never raises and never unwinds into PostgreSQL.
unsafe extern "C-unwind" fn validate(
    _state: *const ValidatorModuleState,
    token: *const c_char,
    _role: *const c_char,
    result: *mut ValidatorModuleResult,
) -> bool {
    if result.is_null() {
        return false;
    }
    (*result).authorized = false;
    (*result).authn_id = std::ptr::null_mut();
    if token.is_null() || WRONG_SERVER.load(std::sync::atomic::Ordering::Relaxed) {
        return true;
    }
    let token = CStr::from_ptr(token).to_string_lossy().into_owned();
    let decided = std::panic::catch_unwind(|| decide(&token));
    match decided {
        Ok(Ok((login, policy))) => {
            // Both as C strings (serde_json escapes NUL, a sub could hold one): a session
            // without its claims would read request.jwt.claims, so none is let in then.
            let (Ok(id), Ok(claims)) = (
                std::ffi::CString::new(login.authn_id.clone()),
                std::ffi::CString::new(login.claims.to_string()),
            ) else {
                log!("oauth_server: database login refused: the token's identity holds a NUL byte");
                return true;
            };
            if let Err(e) = register_session(&login, &policy) {
                log!("oauth_server: database login refused: the session cannot be registered for ending when its grounds go ({e})");
                return true;
            }
            // The session's claims: a superuser-only setting, fixed for the session (the
            // highest-priority source) and handed to parallel workers with the rest.
            pg_sys::SetConfigOption(
                c"oauth_server.db_login_claims".as_ptr(),
                claims.as_ptr(),
                pg_sys::GucContext::PGC_SUSET,
                pg_sys::GucSource::PGC_S_OVERRIDE,
            );
            (*result).authn_id = pg_sys::pstrdup(id.as_ptr());
            (*result).authorized = true;
            true
        }
        Ok(Err(why)) => {
            log!("oauth_server: database login refused: {why}");
            true
        }
        Err(_) => {
            log!("oauth_server: database login refused: the validator failed");
            true
        }
    }
}

/// What the `pg_hba.conf` line that chose OAuth says, and the database asked for.
struct Connection {
    database: String,
    scopes: Vec<String>,
    issuer: String,
    delegates_mapping: bool,
}

extern "C" {
    fn oauth_server_connection_database() -> *const c_char;
    fn oauth_server_connection_scope() -> *const c_char;
    fn oauth_server_connection_issuer() -> *const c_char;
    fn oauth_server_connection_delegates_mapping() -> i32;
}

fn connection() -> Option<Connection> {
    let text = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    // SAFETY: plain reads of the backend's own connection (connection.c), in its one thread.
    unsafe {
        let delegates = oauth_server_connection_delegates_mapping();
        if delegates < 0 {
            return None;
        }
        Some(Connection {
            database: text(oauth_server_connection_database()),
            scopes: text(oauth_server_connection_scope())
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            issuer: text(oauth_server_connection_issuer()),
            delegates_mapping: delegates == 1,
        })
    }
}

/// The `pg_hba.conf` issuer names this server: its issuer, or its discovery document.
fn names_us(hba_issuer: &str, ours: &str) -> bool {
    let hba = hba_issuer.trim_end_matches('/');
    hba == ours
        || hba == format!("{ours}/.well-known/openid-configuration")
        || hba == format!("{ours}/.well-known/oauth-authorization-server")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn load() -> Result<Vec<u8>, String> {
    snapshot_file::read().map_err(|e| {
        format!(
            "no login snapshot ({}: {e}): is oauth_server in shared_preload_libraries, with oauth_server.db_login_database set?",
            snapshot_file::PATH
        )
    })
}

/// What a session signed in with: the database's audience and the pg_hba.conf line's scopes.
struct Signed {
    audience: String,
    scopes: Vec<String>,
}

fn decide(token: &str) -> Result<(Login, Signed), String> {
    let c = connection().ok_or("no pg_hba.conf line is known for this connection")?;
    if c.delegates_mapping {
        return Err("delegate_ident_mapping is not supported: map the token's user to roles with map= and pg_ident.conf".into());
    }
    let template = settings::db_login_audience()
        .ok_or("oauth_server.db_login_audience is not set: no token is for this database")?;
    // The name as its registered audience spells it (percent-encoded but for unreserved
    // characters): `my db` is `…/my%20db`.
    let audience = template.replace("%d", &database::encode_name(&c.database));
    let clients = settings::db_login_clients();
    let policy = Policy {
        audience: &audience,
        required_scopes: &c.scopes,
        allowed_clients: &clients,
    };
    let max_age_ms = settings::db_login_max_age();
    let leeway = settings::clock_skew();
    let signed = Signed {
        audience: audience.clone(),
        scopes: c.scopes.clone(),
    };
    // Only the header is parsed, and the one family the token names (Published).
    let check = |bytes: &[u8]| -> Result<(i64, Result<Login, Failure>), String> {
        let published = Published::parse(bytes)?;
        if !names_us(&c.issuer, &published.header.issuer) {
            return Err(format!(
                "the pg_hba.conf line's issuer {:?} is not this server's ({:?})",
                c.issuer, published.header.issuer
            ));
        }
        let decided = published.check(token, &policy, now_ms(), max_age_ms, leeway);
        Ok((published.header.made_at_ms, decided))
    };
    let (made_at_ms, first) = check(&load()?)?;
    let failure = match first {
        Ok(login) => return Ok((login, signed)),
        Err(f) => f,
    };
    if !failure.may_be_newer_than(made_at_ms) {
        return Err(failure.to_string());
    }
    // A token issued a moment ago, whose family the last snapshot may not have seen yet: wait
    // for one made after it (at most a few refresh intervals), then decide on that one.
    let settled_after = failure.settled_after();
    let deadline = now_ms() + 3 * settings::db_login_refresh_interval() as i64 + 2000;
    let mut last = (made_at_ms, Err(failure));
    while last.0 <= settled_after && now_ms() < deadline {
        std::thread::sleep(Duration::from_millis(25));
        if let Ok(bytes) = load() {
            last = check(&bytes)?;
        }
    }
    last.1
        .map(|login| (login, signed))
        .map_err(|f: Failure| f.to_string())
}

/// PostgreSQL's epoch (2000-01-01) in microseconds since the Unix epoch.
const POSTGRES_EPOCH_US: i64 = 946_684_800_000_000;

/// Registers this backend's sign-in so that the worker can end it when its family falls, and
/// forgets it when the backend exits.
fn register_session(login: &Login, signed_in: &Signed) -> std::io::Result<()> {
    let (pid, started) = unsafe { (pg_sys::MyProcPid, pg_sys::MyStartTimestamp) };
    open_sessions::register(&OpenSession {
        pid,
        started_us: started + POSTGRES_EPOCH_US,
        family: login.claims["session_id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        audience: signed_in.audience.clone(),
        scopes: signed_in.scopes.clone(),
    })?;
    unsafe { pg_sys::on_proc_exit(Some(forget_on_exit), pg_sys::Datum::from(0)) };
    Ok(())
}

unsafe extern "C-unwind" fn forget_on_exit(_code: i32, _arg: pg_sys::Datum) {
    open_sessions::forget(pg_sys::MyProcPid);
}
