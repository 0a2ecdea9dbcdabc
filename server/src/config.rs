//! Configuration from the environment (SPEC.md section 8). Every variable has a default
//! that makes `chat-server` run with nothing configured.

use crate::db::SqliteSync;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the embedded defaults live, relative to the working directory.
pub const DATA_DIR: &str = "data";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/chat.db";
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_WEB_DIR: &str = "js/app/dist";
/// The local Expo dev servers (web and the older webpack port), allowed by default.
pub const DEFAULT_EXTRA_ORIGINS: [&str; 2] = ["http://localhost:8081", "http://localhost:19006"];
/// HS256 with a shorter key is guessable offline from any token.
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// A day: long enough that a chat tab open overnight keeps working, short enough that a
/// leaked token does not live for ever (there is no revocation list).
pub const DEFAULT_JWT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// A year. Longer tokens are a leak waiting to happen, and far larger values overflow
/// the expiry's arithmetic; refused at start rather than failing on the first login.
pub const MAX_JWT_TTL: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The server's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// `BIND_ADDR`; port 0 picks a free one.
    pub bind_addr: SocketAddr,
    /// `DATABASE_URL`: `sqlite:…` or `postgres://…`.
    pub database_url: String,
    /// `JWT_SECRET`, or the one kept in `data/jwt.secret`.
    pub jwt_secret: Vec<u8>,
    /// `JWT_TTL_SECS`: lifetime of the tokens login and register issue.
    pub jwt_ttl: Duration,
    /// `ALLOWED_ORIGINS`: browser origins allowed besides the server's own. `None` means
    /// the Expo dev servers ([`DEFAULT_EXTRA_ORIGINS`]).
    pub allowed_origins: Option<Vec<String>>,
    /// `WEB_DIR`: the exported web app, served at `/` when it exists.
    pub web_dir: PathBuf,
    /// `CLUSTER_ADAPTER`.
    pub cluster_adapter: ClusterAdapter,
    /// `CLUSTER_LEASE_SECS`: how long a cluster node counts as alive without renewing
    /// its lease (a killed node's users go offline this long after it died).
    pub cluster_lease: Duration,

    // Issue 16: durability, edge values, TLS.
    /// `SQLITE_SYNCHRONOUS`: `full` (the default: an acknowledged message survives a
    /// power loss) or `normal` (faster; see docs/SECURITY.md, "Durability").
    pub sqlite_sync: SqliteSync,
    /// `REDIS_CA_CERT`: a PEM file of the CA that signed Redis's certificate, for a
    /// `rediss://` `REDIS_URL` with a private CA. Unset: the system's roots.
    pub redis_ca_cert: Option<PathBuf>,
    // Abuse limits (docs/SECURITY.md). Per minute unless said otherwise.
    /// `AUTH_ATTEMPTS_PER_ADDRESS`: register and login attempts per client address per
    /// minute (a burst of as many).
    pub auth_attempts_per_address: u32,
    /// `AUTH_ATTEMPTS_PER_USERNAME`: login attempts per username per minute.
    pub auth_attempts_per_username: u32,
    /// `PASSWORD_HASH_QUEUE`: password hashes admitted at once, running or waiting; the
    /// next is refused with `rate_limited`.
    pub password_hash_queue: u32,
    /// `REST_REQUESTS_PER_USER`: authenticated REST requests per user per minute.
    pub rest_requests_per_user: u32,
    /// `CONVERSATIONS_PER_USER`: conversations a user may create per hour.
    pub conversations_per_user: u32,
    /// `MAX_PARTICIPANTS`: most participants a conversation may be created with, the
    /// caller excluded. Each participant costs every message of the conversation a user
    /// room in its fan-out; the benchmarks raise it for groups of 500.
    pub max_participants: u32,
    /// `HEADER_READ_TIMEOUT_SECS`: time allowed for a request head to arrive.
    pub header_read_timeout: Duration,
    /// `MAX_UNAUTHENTICATED_SESSIONS`: Engine.IO sessions open without a signed-in
    /// Socket.IO connection, on this node.
    pub max_unauthenticated_sessions: u32,
    // Reconnect storms (docs/SECURITY.md, "Dependency outages").
    /// `HANDSHAKES_PER_USER_PER_SEC`: Socket.IO handshakes one user may make per second
    /// on a node (a token bucket with that burst); more are refused.
    pub handshakes_per_user_per_sec: u32,
    /// `RESYNC_SPREAD_MS`: the window over which a node closes its sockets, each after a
    /// random delay, when its cluster subscription came back (0: all at once).
    pub resync_spread: Duration,
}

/// Defaults of the abuse limits (see [`Config`]).
pub const DEFAULT_AUTH_ATTEMPTS_PER_ADDRESS: u32 = 30;
pub const DEFAULT_AUTH_ATTEMPTS_PER_USERNAME: u32 = 10;
pub const DEFAULT_PASSWORD_HASH_QUEUE: u32 = 32;
pub const DEFAULT_REST_REQUESTS_PER_USER: u32 = 600;
pub const DEFAULT_CONVERSATIONS_PER_USER: u32 = 60;
pub const DEFAULT_MAX_PARTICIPANTS: u32 = 256;
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_UNAUTHENTICATED_SESSIONS: u32 = 1000;

/// Handshakes per user per second per node, by default: a page with a few tabs
/// reconnecting together needs a handful.
pub const DEFAULT_HANDSHAKES_PER_USER_PER_SEC: u32 = 20;
/// The resync window, by default.
pub const DEFAULT_RESYNC_SPREAD: Duration = Duration::from_secs(5);

/// Where Redis is when `CLUSTER_ADAPTER=redis` and `REDIS_URL` is not set.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// The default prefix of the Redis pub/sub channels (`REDIS_PREFIX`).
pub const DEFAULT_REDIS_PREFIX: &str = "chat";

/// How several nodes share broadcasts, presence and limits (`CLUSTER_ADAPTER`; see
/// `docs/SERVER.md`, "Cluster mode"). Cluster mode needs PostgreSQL: the shared presence
/// and rate-limit tables live there whichever adapter carries the broadcasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterAdapter {
    /// One node: rooms, presence and limits in memory.
    None,
    /// Broadcasts over PostgreSQL LISTEN/NOTIFY on the `DATABASE_URL` database.
    Postgres,
    /// Broadcasts over Redis pub/sub.
    Redis {
        /// `REDIS_URL`.
        url: String,
        /// `REDIS_PREFIX`: prefix of the channels, so deployments (or tests) sharing one
        /// Redis do not hear each other.
        prefix: String,
    },
}

impl ClusterAdapter {
    pub fn is_clustered(&self) -> bool {
        *self != ClusterAdapter::None
    }

    /// The value of `CLUSTER_ADAPTER` that selects this.
    pub fn name(&self) -> &'static str {
        match self {
            ClusterAdapter::None => "none",
            ClusterAdapter::Postgres => "postgres",
            ClusterAdapter::Redis { .. } => "redis",
        }
    }
}

/// The one-line refusal of cluster mode on SQLite (checked from the environment and again
/// when the server is built from a [`Config`]).
pub fn sqlite_cluster_refusal(adapter: &ClusterAdapter) -> String {
    format!(
        "CLUSTER_ADAPTER={} needs DATABASE_URL=postgres://…: SQLite is single-node only (use CLUSTER_ADAPTER=none)",
        adapter.name()
    )
}

/// A configuration the server refuses to start with. The message is one line, meant for
/// an operator.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let bind = get("BIND_ADDR").unwrap_or_else(|| DEFAULT_BIND_ADDR.to_owned());
        let bind_addr = bind.trim().parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "BIND_ADDR must be an address and port like 127.0.0.1:3000, got {bind:?}"
            ))
        })?;

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(
                "DATABASE_URL must start with sqlite: or postgres://".to_owned(),
            ));
        }

        let jwt_secret = match lookup("JWT_SECRET") {
            Some(secret) => check_secret(secret.into_bytes(), "JWT_SECRET")?,
            None => load_or_create_secret(&Path::new(DATA_DIR).join("jwt.secret"))?,
        };

        let jwt_ttl = match get("JWT_TTL_SECS") {
            None => DEFAULT_JWT_TTL,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(secs) if secs > 0 && secs <= MAX_JWT_TTL.as_secs() => Duration::from_secs(secs),
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "JWT_TTL_SECS must be a number of seconds from 1 to {} (a year), got {v:?}",
                        MAX_JWT_TTL.as_secs()
                    )));
                }
            },
        };

        let allowed_origins = get("ALLOWED_ORIGINS").map(|list| {
            list.split(',')
                .map(normalise_origin)
                .filter(|o| !o.is_empty())
                .collect()
        });

        let web_dir = get("WEB_DIR").map_or_else(|| PathBuf::from(DEFAULT_WEB_DIR), PathBuf::from);

        let cluster_adapter = match get("CLUSTER_ADAPTER").as_deref().map(str::trim) {
            None | Some("none") => ClusterAdapter::None,
            Some("postgres") => ClusterAdapter::Postgres,
            Some("redis") => ClusterAdapter::Redis {
                url: get("REDIS_URL")
                    .map_or_else(|| DEFAULT_REDIS_URL.to_owned(), |u| u.trim().to_owned()),
                prefix: get("REDIS_PREFIX")
                    .map_or_else(|| DEFAULT_REDIS_PREFIX.to_owned(), |p| p.trim().to_owned()),
            },
            Some(other) => {
                return Err(ConfigError::Invalid(format!(
                    "CLUSTER_ADAPTER must be none, postgres or redis, got {other:?}"
                )));
            }
        };
        if cluster_adapter.is_clustered() && database_url.starts_with("sqlite:") {
            return Err(ConfigError::Invalid(sqlite_cluster_refusal(
                &cluster_adapter,
            )));
        }

        let cluster_lease = match get("CLUSTER_LEASE_SECS") {
            None => crate::cluster::DEFAULT_LEASE,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(secs) if secs > 0 => Duration::from_secs(secs),
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "CLUSTER_LEASE_SECS must be a positive number of seconds, got {v:?}"
                    )));
                }
            },
        };

        let sqlite_sync = match get("SQLITE_SYNCHRONOUS") {
            None => SqliteSync::default(),
            Some(v) => SqliteSync::parse(&v).ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "SQLITE_SYNCHRONOUS must be full (durable, the default) or normal, got {v:?}"
                ))
            })?,
        };
        let positive = |name: &str, default: u32| match get(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ConfigError::Invalid(format!(
                    "{name} must be a positive whole number, got {v:?}"
                ))),
            },
        };
        let auth_attempts_per_address = positive(
            "AUTH_ATTEMPTS_PER_ADDRESS",
            DEFAULT_AUTH_ATTEMPTS_PER_ADDRESS,
        )?;
        let auth_attempts_per_username = positive(
            "AUTH_ATTEMPTS_PER_USERNAME",
            DEFAULT_AUTH_ATTEMPTS_PER_USERNAME,
        )?;
        let password_hash_queue = positive("PASSWORD_HASH_QUEUE", DEFAULT_PASSWORD_HASH_QUEUE)?;
        let rest_requests_per_user =
            positive("REST_REQUESTS_PER_USER", DEFAULT_REST_REQUESTS_PER_USER)?;
        let conversations_per_user =
            positive("CONVERSATIONS_PER_USER", DEFAULT_CONVERSATIONS_PER_USER)?;
        let max_participants = positive("MAX_PARTICIPANTS", DEFAULT_MAX_PARTICIPANTS)?;
        let header_read_timeout = Duration::from_secs(u64::from(positive(
            "HEADER_READ_TIMEOUT_SECS",
            u32::try_from(DEFAULT_HEADER_READ_TIMEOUT.as_secs()).unwrap_or(u32::MAX),
        )?));
        let max_unauthenticated_sessions = positive(
            "MAX_UNAUTHENTICATED_SESSIONS",
            DEFAULT_MAX_UNAUTHENTICATED_SESSIONS,
        )?;
        let handshakes_per_user_per_sec = match get("HANDSHAKES_PER_USER_PER_SEC") {
            None => DEFAULT_HANDSHAKES_PER_USER_PER_SEC,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "HANDSHAKES_PER_USER_PER_SEC must be a positive whole number, got {v:?}"
                    )));
                }
            },
        };
        let resync_spread = match get("RESYNC_SPREAD_MS") {
            None => DEFAULT_RESYNC_SPREAD,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(ms) if ms <= 600_000 => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "RESYNC_SPREAD_MS must be milliseconds from 0 to 600000, got {v:?}"
                    )));
                }
            },
        };

        Ok(Config {
            bind_addr,
            database_url,
            jwt_secret,
            jwt_ttl,
            allowed_origins,
            web_dir,
            cluster_adapter,
            cluster_lease,
            sqlite_sync,
            redis_ca_cert: get("REDIS_CA_CERT").map(|p| PathBuf::from(p.trim())),
            auth_attempts_per_address,
            auth_attempts_per_username,
            password_hash_queue,
            rest_requests_per_user,
            conversations_per_user,
            max_participants,
            header_read_timeout,
            max_unauthenticated_sessions,
            handshakes_per_user_per_sec,
            resync_spread,
        })
    }
}

/// An origin as browsers send it: no trailing slash.
pub fn normalise_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_owned()
}

fn check_secret(secret: Vec<u8>, source: &str) -> Result<Vec<u8>, ConfigError> {
    if secret.len() < MIN_JWT_SECRET_BYTES {
        return Err(ConfigError::Invalid(format!(
            "{source} must be at least {MIN_JWT_SECRET_BYTES} bytes (got {}); generate one with: openssl rand -hex 32",
            secret.len()
        )));
    }
    Ok(secret)
}

/// Reads the kept secret, or makes one (64 hex characters from the OS RNG) and keeps it
/// with mode 0600, so tokens survive restarts without anyone configuring a secret.
fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let io = |what: &str| {
        let what = format!("{what} {}", path.display());
        move |source| ConfigError::Io { what, source }
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            let trimmed = String::from_utf8_lossy(&bytes).trim().as_bytes().to_vec();
            return check_secret(trimmed, &path.display().to_string());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("cannot read")(e)),
    }
    if let Some(dir) = path.parent() {
        crate::db::sqlite_files::create_private_dir(dir)
            .map_err(io("cannot create the directory of"))?;
    }
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    let secret: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    // create_new: two servers starting at once must not overwrite each other's secret.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(io("cannot write"))?;
            Ok(secret.into_bytes())
        }
        // Lost the race to another process: use its secret.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_secret(path),
        Err(e) => Err(io("cannot create")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_follow_the_spec() {
        let c = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite://data/chat.db");
        assert_eq!(c.web_dir, PathBuf::from("js/app/dist"));
        assert_eq!(c.jwt_ttl, DEFAULT_JWT_TTL);
        assert_eq!(c.allowed_origins, None);
        assert_eq!(c.cluster_adapter, ClusterAdapter::None);
        assert_eq!(c.auth_attempts_per_address, 30);
        assert_eq!(c.auth_attempts_per_username, 10);
        assert_eq!(c.password_hash_queue, 32);
        assert_eq!(c.rest_requests_per_user, 600);
        assert_eq!(c.max_participants, 256);
        assert_eq!(c.conversations_per_user, 60);
        assert_eq!(c.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.max_unauthenticated_sessions, 1000);
    }

    #[test]
    fn abuse_limits_are_read_and_checked() {
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("AUTH_ATTEMPTS_PER_ADDRESS", "100000"),
            ("HEADER_READ_TIMEOUT_SECS", "3"),
            ("MAX_UNAUTHENTICATED_SESSIONS", "5"),
        ])
        .unwrap();
        assert_eq!(c.auth_attempts_per_address, 100_000);
        assert_eq!(c.header_read_timeout, Duration::from_secs(3));
        assert_eq!(c.max_unauthenticated_sessions, 5);
        for name in ["PASSWORD_HASH_QUEUE", "REST_REQUESTS_PER_USER"] {
            let err = config(&[("JWT_SECRET", SECRET), (name, "0")]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn storm_limits_are_read_and_checked() {
        let c = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(
            c.handshakes_per_user_per_sec,
            DEFAULT_HANDSHAKES_PER_USER_PER_SEC
        );
        assert_eq!(c.resync_spread, DEFAULT_RESYNC_SPREAD);
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("HANDSHAKES_PER_USER_PER_SEC", "5"),
            ("RESYNC_SPREAD_MS", "0"),
        ])
        .unwrap();
        assert_eq!(c.handshakes_per_user_per_sec, 5);
        assert_eq!(c.resync_spread, Duration::ZERO);
        for (key, value) in [
            ("HANDSHAKES_PER_USER_PER_SEC", "0"),
            ("HANDSHAKES_PER_USER_PER_SEC", "many"),
            ("RESYNC_SPREAD_MS", "-1"),
            ("RESYNC_SPREAD_MS", "600001"),
        ] {
            let err = config(&[("JWT_SECRET", SECRET), (key, value)])
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn a_short_jwt_secret_is_refused_with_one_line() {
        let err = config(&[("JWT_SECRET", "short")]).unwrap_err().to_string();
        assert!(err.contains("at least 32 bytes"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn cluster_adapters_are_read_with_their_settings() {
        let pg = "postgres://db/chat";
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("DATABASE_URL", pg),
            ("CLUSTER_ADAPTER", "postgres"),
        ]);
        assert_eq!(c.unwrap().cluster_adapter, ClusterAdapter::Postgres);
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("DATABASE_URL", pg),
            ("CLUSTER_ADAPTER", "redis"),
        ]);
        assert_eq!(
            c.unwrap().cluster_adapter,
            ClusterAdapter::Redis {
                url: DEFAULT_REDIS_URL.to_owned(),
                prefix: DEFAULT_REDIS_PREFIX.to_owned()
            }
        );
        let err = config(&[
            ("JWT_SECRET", SECRET),
            ("DATABASE_URL", pg),
            ("CLUSTER_ADAPTER", "kafka"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("CLUSTER_ADAPTER"));
    }

    #[test]
    fn sqlite_refuses_cluster_mode_with_one_line() {
        for adapter in ["postgres", "redis"] {
            let err = config(&[("JWT_SECRET", SECRET), ("CLUSTER_ADAPTER", adapter)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("SQLite is single-node only"), "{err}");
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn allowed_origins_are_split_and_normalised() {
        let c = config(&[
            ("JWT_SECRET", SECRET),
            (
                "ALLOWED_ORIGINS",
                " https://a.example/ ,http://b.example:8080,,",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.allowed_origins.unwrap(),
            vec!["https://a.example", "http://b.example:8080"]
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(config(&[("JWT_SECRET", SECRET), ("BIND_ADDR", "nowhere")]).is_err());
        assert!(config(&[("JWT_SECRET", SECRET), ("DATABASE_URL", "mysql://x")]).is_err());
        assert!(config(&[("JWT_SECRET", SECRET), ("JWT_TTL_SECS", "0")]).is_err());
    }

    #[test]
    fn a_jwt_ttl_over_a_year_is_refused_with_one_line() {
        let year = MAX_JWT_TTL.as_secs().to_string();
        let c = config(&[("JWT_SECRET", SECRET), ("JWT_TTL_SECS", &year)]).unwrap();
        assert_eq!(c.jwt_ttl, MAX_JWT_TTL);
        for huge in ["31536001", "18446744073709551615", "99999999999999999999"] {
            let err = config(&[("JWT_SECRET", SECRET), ("JWT_TTL_SECS", huge)])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("JWT_TTL_SECS") && err.contains("a year"),
                "{err}"
            );
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn sqlite_is_durable_by_default_and_bad_sync_values_are_refused() {
        let c = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(c.sqlite_sync, SqliteSync::Full);
        let c = config(&[("JWT_SECRET", SECRET), ("SQLITE_SYNCHRONOUS", "normal")]).unwrap();
        assert_eq!(c.sqlite_sync, SqliteSync::Normal);
        let err = config(&[("JWT_SECRET", SECRET), ("SQLITE_SYNCHRONOUS", "off")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SQLITE_SYNCHRONOUS must be full"), "{err}");
    }

    #[test]
    fn the_generated_secret_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("jwt.secret");
        let first = load_or_create_secret(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create_secret(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
