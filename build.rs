//! On PostgreSQL 18, the OAuth validator (src/db_login/validator.rs) reads the connection's
//! `pg_hba.conf` line and database name from `MyProcPort`, a struct pgrx's bindings leave
//! opaque. A few lines of C (src/db_login/connection.c), compiled against the server headers of
//! the very PostgreSQL being built for, read them: the layout is the server's, not a copy.
//! The headers are found as pgrx's own bindings find them: `PGRX_PG_CONFIG_PATH` (cargo pgrx
//! sets it), else the `pg18` entry of ~/.pgrx/config.toml.

fn main() {
    println!("cargo:rerun-if-changed=src/db_login/connection.c");
    println!("cargo:rerun-if-env-changed=PGRX_PG_CONFIG_PATH");
    if std::env::var_os("CARGO_FEATURE_PG18").is_none() {
        return;
    }
    let pg_config = pgrx_pg_config::PgConfig::from_env()
        .or_else(|_| pgrx_pg_config::Pgrx::from_config().and_then(|p| p.get("pg18")))
        .expect("PostgreSQL 18's pg_config: set PGRX_PG_CONFIG_PATH or run cargo pgrx init --pg18");
    let include = pg_config
        .includedir_server()
        .expect("pg_config --includedir-server");
    cc::Build::new()
        .file("src/db_login/connection.c")
        .include(include)
        .warnings(false)
        .compile("oauth_server_connection");
}
