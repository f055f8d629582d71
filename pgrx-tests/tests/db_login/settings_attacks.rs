//! Second review of the database login fixes: the claims setting, and the worker's identity.

use super::harness::*;
use std::time::{Duration, Instant};

/// Everything a non-superuser session may try on its claims setting: refused or without effect.
#[test]
fn a_signed_in_session_cannot_change_or_reset_its_claims_setting() {
    let mut c = admin("app");
    let (sub, tokens) = signed_in_user(&mut c, "r2guc");
    let mut s = app_user(tokens["access_token"].as_str().unwrap()).expect("signs in");
    let forged = r#"'{"sub":"someone-else"}'"#;
    for sql in [
        format!("SET oauth_server.db_login_claims = {forged}"),
        format!("SET LOCAL oauth_server.db_login_claims = {forged}"),
        format!("SELECT set_config('oauth_server.db_login_claims', {forged}, false)"),
        "SET oauth_server.db_login_claims = ''".to_string(),
        "SET oauth_server.db_login_claims TO DEFAULT".to_string(),
        "RESET oauth_server.db_login_claims".to_string(),
        format!("ALTER ROLE app_user SET oauth_server.db_login_claims = {forged}"),
    ] {
        assert!(s.query(&sql).is_err(), "{sql}");
        assert_eq!(
            s.value("SELECT oauth.uid()").unwrap(),
            Some(sub.clone()),
            "{sql}"
        );
    }
    for sql in ["RESET ALL", "DISCARD ALL", "BEGIN; RESET ALL; COMMIT"] {
        s.query(sql).unwrap();
        assert_eq!(
            s.value("SELECT oauth.uid()").unwrap(),
            Some(sub.clone()),
            "{sql}"
        );
    }
}

fn worker_restarted(c: &mut postgres::Client) {
    c.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'oauth_server db_login'",
        &[],
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
}

/// A database owner need not be a superuser, yet `ALTER DATABASE … SET role` (and
/// statement_timeout, lock_timeout…) apply to every session that connects to it, the worker's
/// included: the worker then reads and ends sessions as that role.
#[test]
fn the_worker_ends_sessions_whatever_role_the_database_settings_give_it() {
    let mut c = admin("app");
    let mut elsewhere = admin("postgres");
    // A non-superuser owner may set it (PostgreSQL only NOTICEs that it may not take it itself).
    for sql in [
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'r2_owner') THEN
             CREATE ROLE r2_owner LOGIN; END IF; END$$",
        "DROP DATABASE IF EXISTS r2_owned",
        "CREATE DATABASE r2_owned OWNER r2_owner",
    ] {
        elsewhere.batch_execute(sql).unwrap();
    }
    let host = std::env::var("OAUTH_DB_LOGIN_PGHOST").unwrap();
    let mut owner = postgres::Client::connect(
        &format!("host={host} port={} user=r2_owner dbname=r2_owned", port()),
        postgres::NoTls,
    )
    .unwrap();
    owner
        .batch_execute("ALTER DATABASE r2_owned SET role = 'pg_read_all_data'")
        .expect("a non-superuser owner sets the role every session of its database takes");
    drop(owner);
    let (_, tokens) = signed_in_user(&mut c, "r2role");
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let mut open = app_user(&token).expect("signs in");
    // What the owner of `app` could do, done here as a superuser (outside `app`).
    elsewhere
        .batch_execute("ALTER DATABASE app SET role = 'pg_read_all_data'")
        .unwrap();
    worker_restarted(&mut elsewhere);
    let family = oauth_server_e2e::jwt_parts(&token).1["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    c.execute(
        "UPDATE oauth.grants SET revoked_at = now(), revoked_reason = 'test' WHERE id::text = $1",
        &[&family],
    )
    .unwrap();
    let start = Instant::now();
    let mut ended = false;
    while start.elapsed() < Duration::from_secs(15) {
        if open.value("SELECT 1").is_err() {
            ended = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let refused_new = app_user(&token).is_err();
    elsewhere
        .batch_execute("ALTER DATABASE app RESET role")
        .unwrap();
    elsewhere
        .batch_execute("DROP DATABASE IF EXISTS r2_owned")
        .unwrap();
    worker_restarted(&mut elsewhere);
    assert!(refused_new, "a revoked family's token still signs in");
    assert!(
        ended,
        "the open session of a revoked family is still open: the worker runs as the role the database settings gave it"
    );
}
