//! `chat-server`: the REST API (SPEC.md section 3) and the Socket.IO backend (section 2)
//! of the chat stack, on SQLite or PostgreSQL, on one node or several (cluster mode,
//! [`cluster`]).
//!
//! [`Application::build`] connects to the database, applies the migrations and binds
//! the listener; [`Application::run_until_stopped`] serves until the shutdown future
//! resolves, then drains in-flight requests. [`app`] builds the [`axum::Router`] from an
//! [`AppState`], so tests can serve it on `127.0.0.1:0` in-process.
//!
//! # Layout
//!
//! - [`config`]: configuration from the environment (section 8), the JWT secret file.
//! - [`db`]: the data-access layer over SQLite and PostgreSQL, typed ids; its `write`
//!   module is the one write path of messages (seq assignment, group commit, and what a
//!   message changes besides: the list's last message and activity, the sender's read
//!   watermark); `read_state` holds the watermarks and `list` the conversation list.
//! - [`auth`]: JWT issue/verify (HS256), Argon2 passwords, the [`auth::AuthUser`] extractor.
//! - [`hashing`]: the low-priority threads that run Argon2.
//! - [`messaging`]: sending a message, for the HTTP fallback and `message:send` alike:
//!   validate, rate-limit, store and announce `message:new`, as one task that finishes
//!   even when the caller is dropped (an HTTP client hanging up).
//! - [`rate_limit`]: the per-user token bucket shared by every way of sending, and the
//!   keyed token buckets the other limits use.
//! - [`abuse`]: sign-in attempts per address and username, REST requests and new
//!   conversations per user.
//! - [`names`]: what a username or title may contain, and the key usernames are unique on.
//! - [`serve`]: the accept loop (header-read timeout, peer address, graceful shutdown).
//! - [`cluster`]: cluster mode's shared state in PostgreSQL (node leases, sockets for
//!   presence and the socket cap, send buckets).
//! - [`realtime`]: the Socket.IO server (handshake, one handler per event, presence,
//!   typing, the cluster adapters) and its own error type, [`realtime::error::SocketError`],
//!   mapped to the failed ack in one place.
//! - [`routes`]: the REST handlers, `/healthz` and `/metrics`.
//! - [`error`]: [`error::AppError`] (the `{ "error": { code, message } }` answer) and
//!   JSON/query extractors whose rejections use it.
//! - [`origins`]: the browser-origin allowlist.
//! - [`telemetry`]: logging, the Prometheus recorder, request metrics.
//!
//! The integration tests' harness is the dev-only crate `chat-test-support`
//! (`server/test-support/`), shared by the `api`, `realtime` and `cluster` suites and by
//! the tests of client-native and chat-load.
//!
//! # Where Socket.IO plugs in
//!
//! The realtime layer (socketioxide) is added as a layer of the router in [`app`]. It
//! shares [`AppState::db`] (`is_participant`, `mark_read`, `raise_read_seq`, …), [`AppState::jwt`]
//! (`verify` for the handshake) and [`AppState::origins`], and holds the send limiter:
//! the REST routes reach it through [`AppState::realtime`] for what sockets must hear
//! (`conversation:new`, and the HTTP fallback's sends through
//! [`messaging::send_and_announce`]).

pub mod abuse;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod db;
pub mod error;
pub mod hashing;
pub mod messaging;
pub mod names;
pub mod origins;
pub mod rate_limit;
pub mod realtime;
pub mod routes;
pub mod serve;
pub mod telemetry;

use crate::auth::{JwtKeys, Passwords};
use crate::config::{Config, DEFAULT_EXTRA_ORIGINS, sqlite_cluster_refusal};
use crate::db::{BackendKind, Db, DbOptions};
use crate::origins::OriginAllowlist;
use crate::rate_limit::SendLimiter;
use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderValue, Method, header};
use axum::routing::get;
use chat_wire::limits::MAX_PAYLOAD_BYTES;
use metrics_exporter_prometheus::PrometheusHandle;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Everything a handler needs, cloned per request (all fields are cheap handles).
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub jwt: Arc<JwtKeys>,
    pub passwords: Passwords,
    pub origins: Arc<OriginAllowlist>,
    pub metrics: PrometheusHandle,
    /// The exported web app, served at `/` when it has an `index.html`.
    pub web_dir: Option<PathBuf>,
    /// The Socket.IO server (SPEC.md section 2), mounted at `/socket.io/`.
    pub realtime: realtime::Realtime,
    /// Sign-in, REST and conversation-creation limits.
    pub abuse: Arc<abuse::AbuseLimits>,
}

impl FromRef<AppState> for Arc<abuse::AbuseLimits> {
    fn from_ref(state: &AppState) -> Arc<abuse::AbuseLimits> {
        state.abuse.clone()
    }
}

impl FromRef<AppState> for Arc<JwtKeys> {
    fn from_ref(state: &AppState) -> Arc<JwtKeys> {
        state.jwt.clone()
    }
}

/// The router: `/api/*` behind the origin check and CORS, `/healthz`, `/metrics`, and the
/// web app at `/`. Request logs, metrics and the 64 KiB body limit apply to all of it.
pub fn app(state: AppState) -> Router {
    let cors_origins: Vec<HeaderValue> = state
        .origins
        .origins()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(cors_origins))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600));
    let api = routes::api()
        .layer(cors)
        .layer(axum::middleware::from_fn_with_state(
            state.origins.clone(),
            origins::check_origin,
        ));

    let mut router = Router::new()
        .nest("/api", api)
        .route("/healthz", get(routes::healthz))
        .route("/metrics", get(routes::metrics));

    router = match &state.web_dir {
        Some(dir) => {
            // A single-page app: unknown paths get index.html so client routes reload.
            let index = ServeFile::new(dir.join("index.html"));
            router.fallback_service(ServeDir::new(dir).fallback(index))
        }
        None => router.fallback(|| async { error::AppError::NotFound("Not found".to_owned()) }),
    };

    let realtime = state.realtime.clone();
    let guard = realtime.guard(state.origins.clone());
    let router = router
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES))
        .layer(axum::middleware::from_fn(telemetry::track_requests))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        );
    // Outermost, so long-polls and WebSockets stay out of the HTTP request metrics;
    // the guard refuses foreign origins before any Engine.IO handshake.
    realtime
        .wrap(router)
        .layer(axum::middleware::from_fn_with_state(
            guard,
            realtime::http_guard,
        ))
}

/// A bound, migrated server that has not started serving yet.
#[derive(Debug)]
pub struct Application {
    listener: tokio::net::TcpListener,
    state: AppState,
    header_read_timeout: Duration,
}

impl Application {
    /// Connects, migrates and binds with production password hashing.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Self::build_with(config, Passwords::default()).await
    }

    /// [`Self::build`] with given password hashing (tests use cheap parameters).
    pub async fn build_with(config: Config, passwords: Passwords) -> anyhow::Result<Application> {
        if config.cluster_adapter.is_clustered() && config.database_url.starts_with("sqlite:") {
            anyhow::bail!(sqlite_cluster_refusal(&config.cluster_adapter));
        }
        let options = DbOptions {
            sqlite_sync: config.sqlite_sync,
        };
        let db = Db::connect_with(&config.database_url, options)
            .await
            .context("cannot open the database")?;
        let cluster = if config.cluster_adapter.is_clustered() && db.kind() == BackendKind::Postgres
        {
            Some(
                cluster::Cluster::start(&config.database_url, config.cluster_lease)
                    .await
                    .context("cannot set up cluster mode in PostgreSQL")?,
            )
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind_addr))?;
        let local = listener.local_addr()?;
        let extra: Vec<String> = config.allowed_origins.clone().unwrap_or_else(|| {
            DEFAULT_EXTRA_ORIGINS
                .iter()
                .map(|o| (*o).to_owned())
                .collect()
        });
        let web_dir = Some(config.web_dir.clone()).filter(|d| d.join("index.html").is_file());
        let jwt = Arc::new(JwtKeys::new(&config.jwt_secret, config.jwt_ttl));
        let rate_limiter = Arc::new(match &cluster {
            Some(cluster) => SendLimiter::cluster(cluster.clone()),
            None => SendLimiter::default(),
        });
        let realtime =
            realtime::Realtime::new(db.clone(), jwt.clone(), rate_limiter, &config, cluster)
                .await?;
        let state = AppState {
            db,
            jwt,
            passwords: passwords.with_queue(config.password_hash_queue),
            origins: Arc::new(OriginAllowlist::new(local, extra)),
            metrics: telemetry::prometheus(),
            web_dir,
            realtime,
            abuse: Arc::new(abuse::AbuseLimits::new(&config)),
        };
        Ok(Application {
            listener,
            state,
            header_read_timeout: config.header_read_timeout,
        })
    }

    /// The address actually bound (the port is chosen when `BIND_ADDR` says 0).
    pub fn local_addr(&self) -> SocketAddr {
        // The listener is bound and open: local_addr cannot fail here, and if it somehow
        // did, an unspecified address is only cosmetic.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests
    /// finish, and closes the database pools.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let db = self.state.db.clone();
        let metrics = self.state.metrics.clone();
        // Histograms buffer samples until upkeep folds them in; scrapes do it too, but an
        // unscraped server must not grow without bound.
        let upkeep = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                metrics.run_upkeep();
            }
        });
        let realtime = self.state.realtime.clone();
        // Sockets first (they hold their connections open), then the HTTP drain.
        let shutdown = async move {
            shutdown.await;
            realtime.shutdown().await;
        };
        let result = serve::serve(
            self.listener,
            app(self.state),
            self.header_read_timeout,
            shutdown,
        )
        .await;
        upkeep.abort();
        db.close().await;
        result
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
