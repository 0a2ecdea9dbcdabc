//! TLS to PostgreSQL (`sslmode=require`) and to Redis (`rediss://`), compiled in with
//! rustls (issue 16, item 13).
//!
//! PostgreSQL: the local cluster (Debian's has `ssl = on` with its snakeoil
//! certificate); `sslmode=require` encrypts without verifying the certificate. A server
//! with `ssl = off` is a skip, printed. Redis: a private `redis-server` with only a TLS
//! port, on a free port, with a CA and server certificate made here; the node trusts the
//! CA through `REDIS_CA_CERT`. Without `redis-server` on the PATH the test is skipped
//! with a line on stderr, or fails under `CI`.

use chat_test_support::socket::SioClient;
use chat_test_support::{Backend, TestApp, new_id, send_args, test_config, users_in_conversation};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::json;
use server::Application;
use server::auth::Passwords;
use server::config::{ClusterAdapter, Config};
use sqlx::Connection;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// `url` with `param` added to its query string.
fn with_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

/// The database name of a PostgreSQL URL.
fn database_name(url: &str) -> String {
    let path = url.split('?').next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_are_encrypted_with_sslmode_require() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |c| {
        c.database_url = with_param(&c.database_url, "sslmode=require");
    })
    .await
    else {
        return;
    };
    let name = database_name(app.database_url());
    let mut admin = sqlx::PgConnection::connect(&app.database_url().replace(&name, "postgres"))
        .await
        .unwrap();
    let (ssl,): (String,) = sqlx::query_as("SHOW ssl")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    if ssl != "on" {
        eprintln!("skipped: PostgreSQL has ssl = {ssl}, so sslmode=require cannot be tested");
        return;
    }
    // Through the server's pool: a user registered, a conversation listed.
    let user = app.register("alice").await;
    assert_eq!(
        app.get("/api/conversations", Some(&user.token))
            .await
            .status(),
        200
    );
    let (encrypted, plain): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
         FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
    )
    .bind(&name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(encrypted > 0, "the server's connections use TLS");
    assert_eq!(plain, 0, "none of them in the clear");
}

/// A CA, and a certificate it signed for `127.0.0.1` and `localhost`, in PEM.
struct Certificates {
    ca: String,
    cert: String,
    key: String,
}

fn certificates() -> Certificates {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    Certificates {
        ca: ca.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// A private `redis-server` listening only on a TLS port; killed on drop.
struct TlsRedis {
    url: String,
    ca_file: PathBuf,
    _process: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl TlsRedis {
    /// `None` (skipped, printed) without `redis-server`, outside CI.
    async fn start() -> Option<TlsRedis> {
        let dir = tempfile::tempdir().unwrap();
        let certificates = certificates();
        let file = |name: &str, contents: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, contents).unwrap();
            path
        };
        let ca_file = file("ca.pem", &certificates.ca);
        let cert_file = file("redis.pem", &certificates.cert);
        let key_file = file("redis.key", &certificates.key);
        // A free port: the OS picks it, then it is handed to redis-server.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let spawned = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
            .arg("--tls-cert-file")
            .arg(&cert_file)
            .arg("--tls-key-file")
            .arg(&key_file)
            .arg("--tls-ca-cert-file")
            .arg(&ca_file)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let mut process = match spawned {
            Ok(process) => process,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "redis-server cannot start ({e}); CI requires it"
                );
                eprintln!("skipped: redis-server cannot start ({e})");
                return None;
            }
        };
        // Ready once it says so; its log goes to stdout.
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "redis-server with TLS did not start");
        // Keep reading, so a full pipe never blocks the server.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Some(TlsRedis {
            url: format!("rediss://127.0.0.1:{port}"),
            ca_file,
            _process: process,
            _dir: dir,
        })
    }

    /// Cluster mode over this Redis, under a fresh prefix.
    fn adapter(&self) -> ClusterAdapter {
        ClusterAdapter::Redis {
            url: self.url.clone(),
            prefix: format!("chat_test_{}", uuid::Uuid::new_v4().simple()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_talk_over_rediss_to_a_redis_with_a_private_ca() {
    let Some(redis) = TlsRedis::start().await else {
        return;
    };
    let adapter = redis.adapter();
    let ca = redis.ca_file.clone();
    let configure = move |c: &mut Config| {
        c.cluster_adapter = adapter;
        c.redis_ca_cert = Some(ca);
    };
    let Some(a) = TestApp::spawn_with(Backend::Postgres, configure.clone()).await else {
        return;
    };
    let b = a.spawn_killable(configure);

    let (users, conversation) = users_in_conversation(&a, &["alice", "bob"]).await;
    let mut alice = SioClient::connect(&a.address, &users[0].token).await;
    let mut bob = SioClient::connect(&b.address, &users[1].token).await;
    let joined = bob
        .call("conversation:join", vec![json!(conversation)])
        .await;
    assert_eq!(joined["success"], true, "{joined}");
    let sent = alice
        .call(
            "message:send",
            send_args(conversation, &new_id(), "over TLS"),
        )
        .await;
    assert_eq!(sent["success"], true, "{sent}");
    let got = bob.recv("message:new").await;
    assert_eq!(got["text"], "over TLS");

    // The certificate is verified: without the CA the node refuses to start.
    let mut untrusting = test_config(a.database_url().to_owned());
    untrusting.cluster_adapter = redis.adapter();
    let err = Application::build_with(untrusting, Passwords::for_tests())
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("cannot connect to Redis"),
        "{err:#}"
    );
}
