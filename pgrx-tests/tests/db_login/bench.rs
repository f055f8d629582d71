//! What a sign-in with one of our tokens costs the server, beside a SCRAM password sign-in,
//! and how the snapshot's size weighs on it: CPU of the cluster's own processes per sign-in
//! (connection, authentication, `SELECT 1`, exit), from /proc (scripts/cluster.sh cpu-ticks).
//! A benchmark, not a test: `bash scripts/bench-db-login.sh` runs it (`--ignored`) on a durable
//! cluster and docs/benchmarks.md has its figures.

use super::harness::*;
use postgres::{Client, NoTls};
use std::process::Command;
use std::time::Instant;

const SIGN_INS: usize = 400;

fn cpu_ticks() -> u64 {
    let dir = std::env::var("OAUTH_DB_LOGIN_CLUSTER").expect("OAUTH_DB_LOGIN_CLUSTER");
    let out = Command::new("bash")
        .args(["scripts/cluster.sh", "cpu-ticks", &dir])
        .current_dir("..")
        .env("PG_MAJOR", "18")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn ticks_per_second() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The login worker's own CPU so far (clock ticks), from /proc.
fn worker_ticks(c: &mut Client) -> u64 {
    let pid: i32 = c
        .query_one(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'oauth_server db_login'",
            &[],
        )
        .unwrap()
        .get(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // utime and stime: fields 14 and 15 of stat, 12 and 13 after the command's ')'.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Server CPU (ms) per call of `f` (the whole cluster's, and of that the login worker's
/// refreshes meanwhile), and wall time per call.
fn per_sign_in(c: &mut Client, what: &str, mut f: impl FnMut()) -> f64 {
    let (t0, k0, w0) = (cpu_ticks(), worker_ticks(c), Instant::now());
    for _ in 0..SIGN_INS {
        f();
    }
    let per = |ticks: u64| ticks as f64 * 1000.0 / ticks_per_second() / SIGN_INS as f64;
    let ms = per(cpu_ticks() - t0);
    let worker = per(worker_ticks(c) - k0);
    let wall = w0.elapsed().as_secs_f64() * 1000.0 / SIGN_INS as f64;
    println!(
        "| {what} | {ms:.2} ms | {worker:.2} ms ({:.0}% of a core) | {:.2} ms | {wall:.2} ms |",
        100.0 * worker / wall,
        ms - worker
    );
    ms - worker
}

#[test]
#[ignore = "a benchmark: scripts/bench-db-login.sh"]
fn bench_sign_in_cpu() {
    let mut c = admin("app");
    let (_, tokens) = signed_in_user(&mut c, "bench");
    let token = tokens["access_token"].as_str().unwrap().to_string();
    app_user(&token).expect("signs in");
    c.batch_execute(
        "DROP ROLE IF EXISTS bench_scram; CREATE ROLE bench_scram LOGIN PASSWORD 'bench-password'",
    )
    .unwrap();
    let scram = format!(
        "host=127.0.0.1 port={} user=bench_scram password=bench-password dbname=app",
        port()
    );
    println!("| {SIGN_INS} sign-ins, then SELECT 1 | cluster CPU per sign-in | of which the login worker's refreshes | the sign-in itself | wall per sign-in |");
    println!("|---|---|---|---|---|");
    let mut admin_c = admin("app");
    per_sign_in(
        &mut admin_c,
        "SCRAM-SHA-256 password (PostgreSQL's own)",
        || {
            let mut s = Client::connect(&scram, NoTls).unwrap();
            s.simple_query("SELECT 1").unwrap();
        },
    );
    let one = per_sign_in(&mut admin_c, "our access token, 1 live family", || {
        let mut s = app_user(&token).unwrap();
        s.value("SELECT 1").unwrap();
    });
    // 10,000 more live families of the allowed client (users who signed in with psql).
    c.execute(
        "INSERT INTO oauth.grants (client_id, user_id, scopes, resources, auth_time)
         SELECT $1, 'bench-user-' || i, ARRAY['openid', 'db:login'], ARRAY[$2], now()
         FROM generate_series(1, 10000) i",
        &[&allowed_client(), &APP],
    )
    .unwrap();
    let size = |c: &mut Client| -> usize {
        let v: serde_json::Value = c
            .query_one("SELECT oauth.db_login_snapshot()", &[])
            .unwrap()
            .get(0);
        v.to_string().len()
    };
    let built = Instant::now();
    let bytes = size(&mut c);
    let build_ms = built.elapsed().as_secs_f64() * 1000.0;
    // Until the worker's snapshot holds them (one interval).
    std::thread::sleep(std::time::Duration::from_secs(2));
    let many = per_sign_in(
        &mut admin_c,
        "our access token, 10,001 live families",
        || {
            let mut s = app_user(&token).unwrap();
            s.value("SELECT 1").unwrap();
        },
    );
    println!(
        "\nsnapshot of 10,001 families: {bytes} bytes, made in {build_ms:.1} ms (oauth.db_login_snapshot(), one call); finding one family in it costs each sign-in {:.2} ms more",
        many - one
    );
    c.execute(
        "DELETE FROM oauth.grants WHERE user_id LIKE 'bench-user-%'",
        &[],
    )
    .unwrap();
    c.batch_execute("DROP ROLE bench_scram").unwrap();
}
