//! A server per test: [`TestApp`] runs one in-process on `127.0.0.1:0` over its own
//! database ([`crate::database`]), alone or as a node of a cluster, with a `reqwest`
//! client and the REST calls the suites repeat.

use crate::database::TestDatabase;
use chat_wire::{ConversationId, Message, UserId};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use server::auth::Passwords;
use server::config::{ClusterAdapter, Config};
use server::db::{Db, InsertOutcome, NewMessage};
use server::{AppState, Application};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The JWT secret of every test server (tests forge tokens with it).
pub const JWT_SECRET: &[u8] = b"test secret, at least thirty-two bytes long";

/// Which database a [`TestApp`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

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
                    // Only a graceful stop starts the shutdown. On a kill the sender is
                    // dropped when `block_on` returns, while the runtime still runs: taking
                    // that as a signal made a killed node leave the cluster gracefully in
                    // the moment before its runtime went (its rows deleted, its
                    // `user:offline` lost with it), so the survivor never reaped anything
                    // (the intermittent `a_killed_nodes_users_go_offline_when_its_lease_runs_out`).
                    if signalled.await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }));
                if let Ok(Stop::Graceful) = stopped.await {
                    let _ = graceful.send(());
                    let _ = server.await;
                }
            });
            // Every task (server, sockets, heartbeat, adapter) is dropped where it stands:
            // no disconnect handler, no graceful leave; connections just close. Waiting for
            // that (not `shutdown_background`, which returns while the worker still runs)
            // is what makes `kill` return once the node is gone: a node still half running
            // after `kill` went on with presence work against the database.
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
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

    /// Stores a message from `sender` through the data layer: no rate limit and no
    /// announcement, for tests about what is stored. Asserts it was stored.
    pub async fn store(&self, sender: &TestUser, conversation: i64, text: &str) -> Message {
        let client_message_id = uuid::Uuid::new_v4().to_string();
        let outcome = self
            .db()
            .insert_message(NewMessage {
                conversation_id: ConversationId(conversation),
                sender_id: UserId(sender.id),
                client_message_id: &client_message_id,
                text,
            })
            .await
            .unwrap();
        match outcome {
            InsertOutcome::Inserted(message) => message,
            other => panic!("not stored: {other:?}"),
        }
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

/// A node as the tests configure it, on `database_url`. Suites register and sign in many
/// users from one address, so the per-address, per-user and hashing-queue limits are
/// lifted; the tests of those limits set them back ([`with_default_limits`]).
pub fn test_config(database_url: String) -> Config {
    Config {
        bind_addr: "127.0.0.1:0".parse().unwrap(),
        database_url,
        jwt_secret: JWT_SECRET.to_vec(),
        jwt_ttl: Duration::from_secs(3600),
        allowed_origins: None,
        web_dir: PathBuf::from("/nonexistent/web"),
        cluster_adapter: ClusterAdapter::None,
        cluster_lease: server::cluster::DEFAULT_LEASE,
        sqlite_sync: server::db::SqliteSync::Full,
        redis_ca_cert: None,
        auth_attempts_per_address: LIFTED,
        auth_attempts_per_username: LIFTED,
        password_hash_queue: LIFTED,
        rest_requests_per_user: LIFTED,
        conversations_per_user: LIFTED,
        max_participants: server::config::DEFAULT_MAX_PARTICIPANTS,
        header_read_timeout: server::config::DEFAULT_HEADER_READ_TIMEOUT,
        max_unauthenticated_sessions: LIFTED,
        handshakes_per_user_per_sec: server::config::DEFAULT_HANDSHAKES_PER_USER_PER_SEC,
        resync_spread: server::config::DEFAULT_RESYNC_SPREAD,
    }
}

/// A limit no test reaches.
const LIFTED: u32 = 1_000_000;

/// Puts the production defaults of the abuse limits back into `config`.
pub fn with_default_limits(config: &mut Config) {
    use server::config as c;
    config.auth_attempts_per_address = c::DEFAULT_AUTH_ATTEMPTS_PER_ADDRESS;
    config.auth_attempts_per_username = c::DEFAULT_AUTH_ATTEMPTS_PER_USERNAME;
    config.password_hash_queue = c::DEFAULT_PASSWORD_HASH_QUEUE;
    config.rest_requests_per_user = c::DEFAULT_REST_REQUESTS_PER_USER;
    config.conversations_per_user = c::DEFAULT_CONVERSATIONS_PER_USER;
    config.header_read_timeout = c::DEFAULT_HEADER_READ_TIMEOUT;
    config.max_unauthenticated_sessions = c::DEFAULT_MAX_UNAUTHENTICATED_SESSIONS;
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
