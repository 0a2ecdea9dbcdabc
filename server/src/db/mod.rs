//! The data-access layer: one [`Db`] handle over SQLite or PostgreSQL, used by REST and
//! by the Socket.IO handlers alike.
//!
//! Every query goes through sqlx's runtime API (`query_as` + `FromRow`), so nothing needs
//! a database at compile time. Most SQL is the same on both backends (both accept `$1`
//! placeholders, `RETURNING` and `ON CONFLICT … DO NOTHING`); the one difference is
//! time, which SQLite keeps as INTEGER milliseconds and PostgreSQL as TIMESTAMPTZ. The
//! [`Dialect`] holds those fragments, and the `with_pool!` macro type-checks one body
//! against each backend's pool instead of hiding the backends behind `sqlx::Any`.
//!
//! SQLite has one writer connection and a few readers. A single writer means concurrent
//! senders queue in the pool instead of failing with `SQLITE_BUSY` (which a deferred
//! transaction upgrading to a write can hit even with a busy timeout); WAL lets readers
//! run alongside it.

mod conversations;
mod list;
mod messages;
mod read_state;
mod realtime;
pub(crate) mod sqlite_files;
mod unavailable;
mod users;
mod write;

pub use conversations::{CreateConversationError, CreatedConversation, LeaveOutcome};
pub use list::ListQuery;
pub use messages::{HistoryQuery, ReadOutcome};
pub use read_state::{JoinState, ReadMove};
pub use unavailable::RETRY_AFTER as UNAVAILABLE_RETRY_AFTER;
pub use users::UserCredentials;
pub use write::{InsertOutcome, NewMessage};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// How long a query waits for a pooled connection before the request fails with
/// `unavailable` instead of hanging: a stuck database must show up in `/healthz` and as a
/// retryable answer, not as timeouts. Under the engine's 5 s ack timeout, so that the
/// answer arrives while the client still waits for it.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long SQLite waits for a lock held by another connection (another process on the
/// file) before a statement fails with `SQLITE_BUSY`, answered `unavailable`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(2);
/// SQLite readers. Reads are short; more connections than cores buys nothing.
const SQLITE_READERS: u32 = 4;
/// PostgreSQL connections per node: the group-commit writer's own one, and a pool of the
/// rest for reads and REST (so a slow read never holds up a send, nor a stuck send a
/// read). The peer (Node) uses 10 too, which keeps comparisons fair.
const POSTGRES_CONNECTIONS: u32 = 10;

/// How SQLite commits (`SQLITE_SYNCHRONOUS`). PostgreSQL ignores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// Every commit waits for the disk: an acknowledged message survives a power loss.
    #[default]
    Full,
    /// Commits wait for the disk only at WAL checkpoints: durable across crashes of the
    /// server, but a power loss can drop the last acknowledged messages. Faster.
    Normal,
}

impl SqliteSync {
    /// Parses `full` or `normal` (any case); `None` for anything else.
    pub fn parse(value: &str) -> Option<SqliteSync> {
        match value.trim().to_ascii_lowercase().as_str() {
            "full" => Some(SqliteSync::Full),
            "normal" => Some(SqliteSync::Normal),
            _ => None,
        }
    }

    fn pragma(self) -> SqliteSynchronous {
        match self {
            SqliteSync::Full => SqliteSynchronous::Full,
            SqliteSync::Normal => SqliteSynchronous::Normal,
        }
    }
}

/// Options of [`Db::connect_with`] that do not fit in a URL.
#[derive(Clone, Copy, Debug, Default)]
pub struct DbOptions {
    pub sqlite_sync: SqliteSync,
}

/// Errors of the data layer. Callers map them to `unavailable` when
/// [`DbError::is_unavailable`], else to `internal`: the details are logged, not shown.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported DATABASE_URL (expected sqlite:… or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// A message waited longer than its bound for the group-commit writer (which is
    /// stuck on a slow or unreachable database).
    #[error("the message writer is busy or cannot reach the database: {0}")]
    WriterUnavailable(String),
    #[error("could not create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not create the database file {path}: {source}")]
    CreateFile {
        path: String,
        source: std::io::Error,
    },
}

impl DbError {
    /// The database cannot be reached or did not answer in time: not the request's fault,
    /// and worth trying again (see [`unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Sqlx(e) => unavailable::is_unavailable(e),
            DbError::WriterUnavailable(_) => true,
            _ => false,
        }
    }
}

/// SQL fragments that differ between the backends.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// `created_at` of `messages` as epoch milliseconds, named `created_at_ms`.
    pub created_at_ms: &'static str,
    /// `read_at` of `read_receipts` as epoch milliseconds, named `read_at_ms`.
    pub read_at_ms: &'static str,
    /// A predicate "`created_at` is at or after the epoch milliseconds in `$N`", where
    /// `{}` is replaced by the placeholder.
    pub created_at_since: &'static str,
    /// A timestamp column `{}` as epoch milliseconds.
    pub epoch_ms: &'static str,
    /// The timestamp of the epoch milliseconds in placeholder `{}`, comparable with the
    /// timestamp columns.
    pub from_epoch_ms: &'static str,
    /// A predicate "the id is in the JSON array of integers in placeholder `{}`": one
    /// bind and one cached plan for any number of ids, on both backends.
    pub in_json_ids: &'static str,
}

const SQLITE: Dialect = Dialect {
    created_at_ms: "created_at AS created_at_ms",
    read_at_ms: "read_at AS read_at_ms",
    created_at_since: "created_at >= {}",
    epoch_ms: "{}",
    from_epoch_ms: "{}",
    in_json_ids: "IN (SELECT value FROM json_each({}))",
};

const POSTGRES: Dialect = Dialect {
    created_at_ms: "(EXTRACT(EPOCH FROM created_at) * 1000)::BIGINT AS created_at_ms",
    read_at_ms: "(EXTRACT(EPOCH FROM read_at) * 1000)::BIGINT AS read_at_ms",
    created_at_since: "created_at >= TIMESTAMPTZ 'epoch' + ({}::BIGINT * INTERVAL '1 millisecond')",
    epoch_ms: "(EXTRACT(EPOCH FROM {}) * 1000)::BIGINT",
    from_epoch_ms: "(TIMESTAMPTZ 'epoch' + ({}::BIGINT * INTERVAL '1 millisecond'))",
    in_json_ids: "IN (SELECT value::BIGINT FROM jsonb_array_elements_text({}::JSONB))",
};

#[derive(Clone, Debug)]
enum Backend {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        /// `read` is `write` (an in-memory database).
        shared: bool,
    },
    Postgres(PgPool),
}

/// Which backend a [`Db`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// Connection pool counts, for `/metrics`.
#[derive(Clone, Copy, Debug)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
}

/// The database handle. Cheap to clone (pools are reference-counted).
#[derive(Clone, Debug)]
pub struct Db {
    backend: Backend,
    /// PostgreSQL's message writers. SQLite stores each message in a transaction of its
    /// own (with `synchronous=FULL` each waits for the disk; batching them is not done).
    group_commit: Option<write::GroupCommit>,
}

/// Runs `$body` with `$pool` bound to the backend's pool and `$d` to its [`Dialect`].
/// `read` picks SQLite's reader pool, `write` its single writer; PostgreSQL has one pool.
macro_rules! with_pool {
    ($db:expr, read, |$pool:ident, $d:ident| $body:expr) => {
        match &$db.backend {
            $crate::db::Backend::Sqlite { read: $pool, .. } => {
                let $d = &$crate::db::SQLITE;
                $body
            }
            $crate::db::Backend::Postgres($pool) => {
                let $d = &$crate::db::POSTGRES;
                $body
            }
        }
    };
    ($db:expr, write, |$pool:ident, $d:ident| $body:expr) => {
        match &$db.backend {
            $crate::db::Backend::Sqlite { write: $pool, .. } => {
                let $d = &$crate::db::SQLITE;
                $body
            }
            $crate::db::Backend::Postgres($pool) => {
                let $d = &$crate::db::POSTGRES;
                $body
            }
        }
    };
}
pub(crate) use with_pool;

impl Db {
    /// Connects to `url` (`sqlite:…` or `postgres://…`) with the default options and
    /// applies the migrations.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        Self::connect_with(url, DbOptions::default()).await
    }

    /// Connects to `url` and applies the migrations. A SQLite file and its directory are
    /// created, private to the owner ([`sqlite_files`]), when missing.
    pub async fn connect_with(url: &str, options: DbOptions) -> Result<Db, DbError> {
        let db = if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, options.sqlite_sync).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url).await?
        } else {
            return Err(DbError::UnsupportedUrl(redact(url)));
        };
        // What the username_key migration could not do in SQL.
        let filled = db.fill_username_keys().await?;
        if filled > 0 {
            tracing::info!(filled, "filled the username keys of existing users");
        }
        Ok(db)
    }

    async fn connect_sqlite(url: &str, sync: SqliteSync) -> Result<Db, DbError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sync.pragma())
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let file = options.get_filename().to_owned();
        let in_memory = file.as_os_str().is_empty() || file == Path::new(":memory:");
        if !in_memory
            && let Some(dir) = file.parent()
            && !dir.as_os_str().is_empty()
        {
            sqlite_files::create_private_dir(dir).map_err(|source| DbError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        if !in_memory {
            sqlite_files::create_private_file(&file).map_err(|source| DbError::CreateFile {
                path: file.display().to_string(),
                source,
            })?;
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        SQLITE_MIGRATOR.run(&write).await?;
        // An in-memory database exists once per connection: readers would see another,
        // empty database, so there everything goes through the writer.
        let read = if in_memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(SQLITE_READERS)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options.read_only(true))
                .await?
        };
        Ok(Db {
            backend: Backend::Sqlite {
                read,
                write,
                shared: in_memory,
            },
            group_commit: None,
        })
    }

    async fn connect_postgres(url: &str) -> Result<Db, DbError> {
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS - 1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        // sqlx takes an advisory lock here, so nodes starting together migrate once.
        POSTGRES_MIGRATOR.run(&pool).await?;
        let writer = write::GroupCommit::connect(url).await?;
        Ok(Db {
            group_commit: Some(writer),
            backend: Backend::Postgres(pool),
        })
    }

    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite { .. } => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Answers when the database does (for `/healthz`).
    pub async fn ping(&self) -> Result<(), DbError> {
        with_pool!(self, read, |pool, _d| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Pool sizes (all pools of the backend added up).
    pub fn pool_stats(&self) -> PoolStats {
        match &self.backend {
            Backend::Sqlite {
                write,
                shared: true,
                ..
            } => PoolStats {
                size: write.size(),
                idle: write.num_idle(),
            },
            Backend::Sqlite { read, write, .. } => PoolStats {
                size: read.size() + write.size(),
                idle: read.num_idle() + write.num_idle(),
            },
            Backend::Postgres(pool) => PoolStats {
                size: pool.size(),
                idle: pool.num_idle(),
            },
        }
    }

    /// Closes the pools, waiting for connections in use to come back (shutdown).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { read, write, .. } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// `url` without its password, for error messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// True when `error` is a unique-constraint violation (either backend).
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// Epoch milliseconds as the wire's RFC 3339 UTC with milliseconds.
pub fn format_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/chat"),
            "postgres://app:***@db:5432/chat"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }

    #[test]
    fn format_millis_is_rfc3339_utc_with_milliseconds() {
        assert_eq!(format_millis(1_764_151_200_123), "2025-11-26T10:00:00.123Z");
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
    }

    /// `PRAGMA synchronous` of SQLite's writer: 1 is NORMAL, 2 is FULL.
    async fn writer_synchronous(db: &Db) -> i64 {
        let Backend::Sqlite { write, .. } = &db.backend else {
            panic!("not SQLite");
        };
        let (value,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(write)
            .await
            .unwrap();
        value
    }

    #[tokio::test]
    async fn sqlite_commits_are_durable_unless_configured_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
        let db = Db::connect(&url("full.db")).await.unwrap();
        assert_eq!(writer_synchronous(&db).await, 2, "FULL by default");
        let options = DbOptions {
            sqlite_sync: SqliteSync::Normal,
        };
        let db = Db::connect_with(&url("normal.db"), options).await.unwrap();
        assert_eq!(writer_synchronous(&db).await, 1, "NORMAL when asked");
    }

    #[test]
    fn sqlite_sync_reads_full_or_normal_only() {
        assert_eq!(SqliteSync::parse("full"), Some(SqliteSync::Full));
        assert_eq!(SqliteSync::parse(" NORMAL "), Some(SqliteSync::Normal));
        assert_eq!(SqliteSync::parse("off"), None);
        assert_eq!(SqliteSync::parse(""), None);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_server_creates_the_database_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let file = data.join("chat.db");
        let db = Db::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        // The migrations have written through the WAL, so all four exist now.
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&data.join("chat.db-wal")), 0o600);
        assert_eq!(mode(&data.join("chat.db-shm")), 0o600);
        db.close().await;
    }
}
