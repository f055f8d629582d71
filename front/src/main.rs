//! `oauth-front`: the HTTP front of oauth_server. This file starts it: flags, logging, the
//! pools, the shared state, the timers, the listener. `app` holds the state and the router,
//! `routes` the handlers (one file per surface), `sql` how each request maps onto one SQL
//! function in one transaction, `fetch` what the front fetches for the database.

mod app;
mod config;
mod db_tls;
mod fetch;
mod http;
mod rate_limit;
mod replicas;
mod routes;
mod sql;
mod timers;
mod user_call;

use app::state::AppState;
use clap::Parser;
use config::Config;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use fetch::client_documents::{ClientDocuments, FetchLimits};
use fetch::client_keys::ClientKeys;
use fetch::issuer_keys::IssuerKeys;
use fetch::logout_delivery::LogoutDelivery;
use fetch::provider_metadata::ProviderMetadata;
use fetch::sector_documents::SectorDocuments;
use fetch::sign_in_exchange::SignInExchange;
use http::public_url::{self, PublicUrl};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let config = Config::parse();
    init_logging(&config.log_format);
    let threads = config
        .worker_threads
        .unwrap_or_else(default_worker_threads)
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(rt) => rt.block_on(run(config)),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "oauth-front stopped");
        std::process::exit(1);
    }
}

/// A quarter of the CPUs this process may use, at least one (see `--worker-threads`).
fn default_worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 4).max(1))
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OAUTH_FRONT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "text" {
        builder.init();
    } else {
        builder.json().flatten_event(true).init();
    }
}

/// A connection pool to the database at `url` (TLS as libpq would do it).
fn db_pool(
    url: &str,
    root_cert: Option<&std::path::Path>,
    size: usize,
) -> Result<Pool, Box<dyn std::error::Error>> {
    let tls = db_tls::split(url, root_cert)?;
    let pg: tokio_postgres::Config = tls.connection_string.parse()?;
    tracing::info!(hosts = ?pg.get_hosts(), sslmode = ?tls.mode, sslrootcert = ?tls.root_cert, "database connection");
    let manager = Manager::from_config(
        pg,
        tokio_postgres_rustls::MakeRustlsConnect::new(db_tls::client_config(&tls)?),
        // Fast recycling: a connection whose socket closed (Postgres restarted, a failover)
        // is detected by tokio-postgres and replaced instead of being handed out; a
        // multi-host string with target_session_attrs=read-write then finds the new primary.
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()?)
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let root_cert = config.db_ssl_root_cert.as_deref();
    let pool = db_pool(&config.database_url, root_cert, config.pool_size)?;
    let mut standbys = Vec::new();
    for url in &config.replica_urls {
        let pg: tokio_postgres::Config =
            db_tls::split(url, root_cert)?.connection_string.parse()?;
        let name = format!("{:?}:{:?}", pg.get_hosts(), pg.get_ports());
        standbys.push((name, db_pool(url, root_cert, config.pool_size)?));
    }
    let replicas = Arc::new(replicas::Replicas::new(standbys, config.replica_max_lag));
    if !replicas.is_empty() {
        tokio::spawn(timers::replica_checks(
            replicas.clone(),
            pool.clone(),
            config.replica_check_interval,
        ));
    }
    public_url::check_against_issuer(&pool, config.public_url.as_deref()).await?;
    if config.demo_login {
        tracing::warn!(
            "--demo-login is on: anyone can sign in as any user. Never use it in production."
        );
    }
    if config.purge_interval > 0 {
        tokio::spawn(timers::purge_timer(pool.clone(), config.purge_interval));
    }
    let extra_roots = match &config.fetch_ca_file {
        Some(path) => reqwest::Certificate::from_pem_bundle(&std::fs::read(path)?)?,
        None => Vec::new(),
    };
    if config.allow_private_fetch {
        tracing::warn!("--allow-private-fetch is on: client metadata documents, issuer keys and sign-in providers may be fetched from private addresses");
    }
    let issuer_keys = Arc::new(IssuerKeys::new(
        pool.clone(),
        &extra_roots,
        config.allow_private_fetch,
    )?);
    let client_keys = Arc::new(ClientKeys::new(
        pool.clone(),
        &extra_roots,
        config.allow_private_fetch,
    )?);
    let sector_documents =
        SectorDocuments::new(pool.clone(), &extra_roots, config.allow_private_fetch)?;
    if config.logout_delivery_interval > 0 {
        let delivery = LogoutDelivery::new(pool.clone(), &extra_roots, config.allow_private_fetch)?;
        tokio::spawn(timers::logout_delivery_timer(
            delivery,
            config.logout_delivery_interval,
        ));
    }
    let client_documents = ClientDocuments::new(
        pool.clone(),
        &extra_roots,
        config.allow_private_fetch,
        FetchLimits {
            per_address_per_minute: config.document_fetches_per_minute,
            per_host_per_minute: config.document_fetches_per_host_per_minute,
        },
    )?;
    let providers = Arc::new(ProviderMetadata::new(
        pool.clone(),
        &extra_roots,
        config.allow_private_fetch,
    )?);
    let sign_in_exchange = SignInExchange::new(&extra_roots, config.allow_private_fetch)?;
    if config.jwks_refresh_interval > 0 {
        tokio::spawn(timers::refresh_timer(
            issuer_keys.clone(),
            providers.clone(),
            config.jwks_refresh_interval,
        ));
    }
    let state = Arc::new(AppState {
        pool,
        replicas,
        issuer_keys,
        client_keys,
        sector_documents,
        providers,
        sign_in_exchange,
        public_url: PublicUrl::new(config.public_url.clone()),
        client_documents,
        register_limit: rate_limit::RateLimiter::new(config.register_per_minute),
        user_code_limit: rate_limit::RateLimiter::new(config.user_codes_per_minute),
        client_auth_failures: rate_limit::FailureBudget::new(
            config.client_auth_failures_per_minute,
        ),
        proxy_hops: config.proxy_hops(),
    });
    let app = app::router::router(state, config.consent_page, config.demo_login)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn(http::access_log::access_log));
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(listen = %config.listen, "oauth-front listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
