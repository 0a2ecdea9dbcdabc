//! Test harness: every test gets its own server on `127.0.0.1:0` and its own database,
//! a fresh SQLite file or a fresh PostgreSQL database, dropped when the test ends (also
//! when it panics).
//!
//! PostgreSQL contract (the task runner relies on it): the admin URL is
//! `CHAT_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`). When
//! it is not reachable, a test fails if `CI` is set, and otherwise prints
//! `skipped: PostgreSQL not reachable at <url>` to stderr and passes.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use server::auth::Passwords;
use server::config::{ClusterAdapter, Config};
use server::db::Db;
use server::{AppState, Application};
use sqlx::Connection;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const JWT_SECRET: &[u8] = b"test secret, at least thirty-two bytes long";
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Prefix of every database the tests create, so a stray one is recognisable.
const DB_PREFIX: &str = "chat_test_";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Expands each `async fn name(app: TestApp) { … }` into a module `name` with two tests,
/// `sqlite` and `postgres`, running the same body on each backend.
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn body($app: TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    body(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) =
                        $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await
                    {
                        body(app).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

/// A running server and a client for it.
#[derive(Debug)]
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub backend: Backend,
    /// `CLUSTER_ADAPTER` of this node.
    pub cluster_adapter: ClusterAdapter,
    /// Shared by the nodes of a cluster; dropped with the last of them.
    _database: Arc<TestDatabase>,
}

/// A registered user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: i64,
    pub token: String,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with a configuration adjusted by `customize`; `None` when PostgreSQL is
    /// asked for and unreachable outside CI.
    pub async fn spawn_with(
        backend: Backend,
        customize: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await?,
        };
        Some(Self::spawn_on(Arc::new(database), backend, customize).await)
    }

    /// `count` nodes in cluster mode with `adapter`, sharing one fresh PostgreSQL
    /// database; `None` when PostgreSQL is unreachable outside CI.
    pub async fn spawn_cluster(
        count: usize,
        adapter: ClusterAdapter,
        lease: Duration,
    ) -> Option<Vec<TestApp>> {
        let database = Arc::new(TestDatabase::postgres().await?);
        let mut nodes = Vec::new();
        for _ in 0..count {
            let adapter = adapter.clone();
            let node = Self::spawn_on(database.clone(), Backend::Postgres, move |c| {
                c.cluster_adapter = adapter;
                c.cluster_lease = lease;
            })
            .await;
            nodes.push(node);
        }
        Some(nodes)
    }

    /// Another node like this one (same database and configuration adjusted by
    /// `customize`), on a runtime of its own that [`KillableNode::kill`] drops at once.
    pub fn spawn_killable(
        &self,
        customize: impl FnOnce(&mut Config) + Send + 'static,
    ) -> KillableNode {
        let url = self._database.url.clone();
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<Stop>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let mut config = test_config(url);
                customize(&mut config);
                let app = Application::build_with(config, Passwords::for_tests())
                    .await
                    .expect("the node starts");
                let _ = address_tx.send(format!("http://{}", app.local_addr()));
                let (graceful, signalled) = tokio::sync::oneshot::channel::<()>();
                let server = tokio::spawn(app.run_until_stopped(async move {
                    let _ = signalled.await;
                }));
                if let Ok(Stop::Graceful) = stopped.await {
                    let _ = graceful.send(());
                    let _ = server.await;
                }
            });
            // Every task (server, sockets, heartbeat, adapter) is dropped where it stands:
            // no disconnect handler, no graceful leave; connections just close.
            runtime.shutdown_background();
        });
        let address = address_rx.recv().expect("the node's address");
        KillableNode {
            address,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    async fn spawn_on(
        database: Arc<TestDatabase>,
        backend: Backend,
        customize: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = test_config(database.url.clone());
        customize(&mut config);
        let cluster_adapter = config.cluster_adapter.clone();
        let app = Application::build_with(config, Passwords::for_tests())
            .await
            .expect("the server starts");
        let address = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        TestApp {
            address,
            client: reqwest::Client::new(),
            state,
            backend,
            cluster_adapter,
            _database: database,
        }
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// The URL of this node's database.
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    /// Posts `body` as raw bytes with a JSON content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    pub async fn register(&self, username: &str) -> TestUser {
        let response = self
            .post(
                "/api/auth/register",
                None,
                &json!({ "username": username, "password": "correct horse battery" }),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "registering {username}"
        );
        let body: Value = response.json().await.unwrap();
        TestUser {
            id: body["user"]["id"].as_i64().unwrap(),

            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates a conversation as `creator` and returns its body (asserting 200 or 201).
    pub async fn conversation(
        &self,
        creator: &TestUser,
        others: &[&TestUser],
        title: Option<&str>,
    ) -> Value {
        let ids: Vec<i64> = others.iter().map(|u| u.id).collect();
        let mut body = json!({ "participantIds": ids });
        if let Some(title) = title {
            body["title"] = json!(title);
        }
        let response = self
            .post("/api/conversations", Some(&creator.token), &body)
            .await;
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap()
    }

    pub async fn send(&self, user: &TestUser, conversation: i64, text: &str) -> Response {
        self.post(
            &format!("/api/conversations/{conversation}/messages"),
            Some(&user.token),
            &json!({ "clientMessageId": uuid::Uuid::new_v4().to_string(), "text": text }),
        )
        .await
    }
}

/// A node as the tests configure it, on `database_url`.
fn test_config(database_url: String) -> Config {
    Config {
        bind_addr: "127.0.0.1:0".parse().unwrap(),
        database_url,
        jwt_secret: JWT_SECRET.to_vec(),
        jwt_ttl: Duration::from_secs(3600),
        allowed_origins: None,
        web_dir: PathBuf::from("/nonexistent/web"),
        cluster_adapter: ClusterAdapter::None,
        cluster_lease: server::cluster::DEFAULT_LEASE,
    }
}

/// A server node that can be killed as by `kill -9` (see [`TestApp::spawn_killable`]).
#[derive(Debug)]
pub struct KillableNode {
    pub address: String,
    stop: Option<tokio::sync::oneshot::Sender<Stop>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How a [`KillableNode`] ends.
#[derive(Debug)]
enum Stop {
    /// As by SIGTERM: the server's graceful shutdown runs to its end.
    Graceful,
    /// As by `kill -9`.
    Kill,
}

impl KillableNode {
    /// Drops the node's runtime: its sockets and database connections close, nothing
    /// else runs. Returns once it is gone.
    pub fn kill(&mut self) {
        self.end(Stop::Kill);
    }

    /// Runs the node's graceful shutdown (as on SIGTERM) and returns once it is done.
    pub async fn stop(&mut self) {
        let stop = self.stop.take();
        let thread = self.thread.take();
        // Joining blocks: do it off the test's runtime threads.
        tokio::task::spawn_blocking(move || {
            if let Some(stop) = stop {
                let _ = stop.send(Stop::Graceful);
            }
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        })
        .await
        .expect("the node stops");
    }

    fn end(&mut self, how: Stop) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(how);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for KillableNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Asserts the status and the error shape, and returns the code.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("an error body in JSON");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    body
}

/// The database of one test, removed on drop.
#[derive(Debug)]
struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// The directory holding the SQLite file; deleting it removes the database.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

fn admin_url() -> String {
    std::env::var("CHAT_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDatabase {
    fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("chat.db").display());
        TestDatabase {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    async fn postgres() -> Option<TestDatabase> {
        let admin_url = admin_url();
        let connected = tokio::time::timeout(
            Duration::from_secs(5),
            sqlx::PgConnection::connect(&admin_url),
        )
        .await;
        let mut admin = match connected {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return unreachable_postgres(&admin_url, &e.to_string()),
            Err(_) => return unreachable_postgres(&admin_url, "timed out"),
        };
        let name = format!("{DB_PREFIX}{}", uuid::Uuid::new_v4().simple());
        // The name is ours (a prefix and hex digits), never input: safe to interpolate,
        // which CREATE DATABASE requires.
        sqlx::query(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut admin)
            .await
            .expect("CREATE DATABASE");
        let _ = admin.close().await;
        Some(TestDatabase {
            url: with_database(&admin_url, &name),
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }
}

fn unreachable_postgres<T>(url: &str, why: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!(
            "PostgreSQL not reachable at {url} ({why}); CI requires it (set CHAT_TEST_POSTGRES_URL)"
        );
    }
    eprintln!("skipped: PostgreSQL not reachable at {url}");
    None
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop cannot await, and the test's runtime may be unwinding: use a thread with a
        // runtime of its own. FORCE ends the server's still-open pool connections.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                )))
                .execute(&mut admin)
                .await
                .ok()?;
                Some(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test database");
        }
    }
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}
