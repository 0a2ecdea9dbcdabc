//! Finds PostgreSQL for the suites that need it, starting the local cluster if it is
//! installed but stopped. Without it those suites skip visibly, except in CI.

use crate::process::output;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::Command;
use std::time::{Duration, Instant};

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The admin URL the PostgreSQL suites create their databases with, if it answers.
pub fn admin_url() -> Option<String> {
    let url =
        std::env::var("CHAT_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let address = host_port(&url);
    if reachable(&address) {
        return Some(url);
    }
    if start_local_cluster() && wait_until_reachable(&address, Duration::from_secs(15)) {
        println!("    started the local PostgreSQL cluster");
        return Some(url);
    }
    println!(
        "skipped: PostgreSQL not reachable at {address} (start it with `pg_ctlcluster 15 main start`, or set CHAT_TEST_POSTGRES_URL)"
    );
    None
}

/// `host:port` of a `postgres://user[:password]@host[:port]/db` URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    match authority {
        "" => "127.0.0.1:5432".to_owned(),
        a if a.contains(':') => a.to_owned(),
        a => format!("{a}:5432"),
    }
}

fn reachable(address: &str) -> bool {
    let Ok(addresses) = address.to_socket_addrs() else {
        return false;
    };
    addresses
        .into_iter()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

fn wait_until_reachable(address: &str, limit: Duration) -> bool {
    let started = Instant::now();
    // Polling a port that is coming up: there is no event to wait on from outside.
    while started.elapsed() < limit {
        if reachable(address) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

/// Starts the Debian cluster (`pg_ctlcluster <version> main start`) if one is installed.
fn start_local_cluster() -> bool {
    let Ok(versions) = std::fs::read_dir("/etc/postgresql") else {
        return false;
    };
    versions.flatten().any(|version| {
        let version = version.file_name().to_string_lossy().into_owned();
        println!("    PostgreSQL is not answering: running pg_ctlcluster {version} main start");
        output(Command::new("pg_ctlcluster").args([
            "--skip-systemctl-redirect",
            &version,
            "main",
            "start",
        ]))
        .is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn finds_host_and_port_in_postgres_urls() {
        assert_eq!(
            host_port("postgres://postgres@127.0.0.1:5432/postgres"),
            "127.0.0.1:5432"
        );
        assert_eq!(
            host_port("postgres://u:p@db.internal/chat?sslmode=off"),
            "db.internal:5432"
        );
        assert_eq!(host_port("postgres:///chat"), "127.0.0.1:5432");
    }
}
