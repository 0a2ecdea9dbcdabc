//! A TCP proxy between the clients and one server node that the harness can break: cut
//! every current connection, refuse new ones for a while, and delay every byte.
//!
//! It forwards bytes, nothing more, so WebSockets and the engine's HTTP requests (history
//! backfill) both pass through it and both suffer its faults.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// A connection to the server not made by then is given up (the client sees it closed).
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A running proxy; dropping it stops accepting and closes every connection it carries.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    target: SocketAddr,
    /// Added to every chunk in both directions, in milliseconds.
    latency_ms: AtomicU64,
    /// New connections are closed at once while set.
    refusing: AtomicBool,
    /// Bumped to cut every connection open at that moment.
    cut: watch::Sender<u64>,
    open: AtomicUsize,
    accepted: AtomicU64,
    refused: AtomicU64,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target,
            latency_ms: AtomicU64::new(0),
            refusing: AtomicBool::new(false),
            cut: watch::channel(0).0,
            open: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Proxy {
            addr,
            shared,
            accept,
        })
    }

    /// `http://127.0.0.1:PORT`, the base URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes every connection open now; returns how many there were.
    pub fn cut_all(&self) -> usize {
        let open = self.open_connections();
        self.shared.cut.send_modify(|generation| *generation += 1);
        open
    }

    /// While `refusing`, every new connection is closed as soon as it is accepted.
    pub fn refuse_new(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// Delays every chunk by `latency` in each direction (so a round trip gains twice it).
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.shared.latency_ms.store(ms, Ordering::SeqCst);
    }

    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Connections accepted and forwarded, and refused, since the start.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.shared.accepted.load(Ordering::SeqCst),
            self.shared.refused.load(Ordering::SeqCst),
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.cut.send_modify(|generation| *generation += 1);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if shared.refusing.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            drop(client);
            continue;
        }
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(relay(client, shared.clone()));
    }
}

/// Counts a connection as open for as long as it lives.
struct OpenGuard(Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn relay(client: TcpStream, shared: Arc<Shared>) {
    // Subscribe before connecting upstream: a cut from now on ends this connection too.
    let mut cut = shared.cut.subscribe();
    shared.open.fetch_add(1, Ordering::SeqCst);
    let _open = OpenGuard(shared.clone());
    let connect = tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(shared.target));
    let upstream = tokio::select! {
        connected = connect => match connected {
            Ok(Ok(upstream)) => upstream,
            // The server is down: the client sees its connection closed, as it would if
            // the server refused it.
            _ => return,
        },
        _ = cut.changed() => return,
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    // Either direction ending (EOF or error) ends the connection: neither HTTP/1.1 nor
    // WebSocket clients half-close.
    tokio::select! {
        () = pump(client_read, upstream_write, &shared) => {}
        () = pump(upstream_read, client_write, &shared) => {}
        _ = cut.changed() => {}
    }
}

/// Copies one direction, holding each chunk until its due time (order is kept: a later
/// chunk is never written before an earlier one).
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, shared: &Shared) {
    let (chunks, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buffer = vec![0_u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let delay = Duration::from_millis(shared.latency_ms.load(Ordering::SeqCst));
            if chunks
                .send((Instant::now() + delay, buffer[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    };
    let write = async move {
        while let Some((at, bytes)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An echo server on a free port.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0_u8; 1024];
                    while let Ok(n) = stream.read(&mut buffer).await {
                        if n == 0 || stream.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, text: &[u8]) -> Vec<u8> {
        stream.write_all(text).await.unwrap();
        let mut answer = vec![0_u8; text.len()];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut answer))
            .await
            .unwrap()
            .unwrap();
        answer
    }

    /// Reads until the peer closes (0) or the wait runs out (None).
    async fn closed(stream: &mut TcpStream) -> bool {
        let mut buffer = [0_u8; 16];
        matches!(
            tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    #[tokio::test]
    async fn forwards_bytes_both_ways() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"hello").await, b"hello");
        assert_eq!(proxy.open_connections(), 1);
    }

    #[tokio::test]
    async fn a_cut_closes_every_open_connection_and_new_ones_work() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut first = TcpStream::connect(proxy.addr).await.unwrap();
        let mut second = TcpStream::connect(proxy.addr).await.unwrap();
        round_trip(&mut first, b"a").await;
        round_trip(&mut second, b"b").await;
        assert_eq!(proxy.cut_all(), 2);
        assert!(closed(&mut first).await);
        assert!(closed(&mut second).await);
        let mut third = TcpStream::connect(proxy.addr).await.unwrap();
        assert_eq!(round_trip(&mut third, b"c").await, b"c");
    }

    #[tokio::test]
    async fn refused_connections_are_closed_until_it_accepts_again() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        proxy.refuse_new(true);
        let mut refused = TcpStream::connect(proxy.addr).await.unwrap();
        assert!(closed(&mut refused).await);
        proxy.refuse_new(false);
        let mut accepted = TcpStream::connect(proxy.addr).await.unwrap();
        assert_eq!(round_trip(&mut accepted, b"x").await, b"x");
        assert_eq!(proxy.counts(), (1, 1));
    }

    #[tokio::test]
    async fn latency_delays_each_direction_and_keeps_order() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
        proxy.set_latency(Duration::from_millis(100));
        let started = Instant::now();
        assert_eq!(round_trip(&mut stream, b"slow").await, b"slow");
        assert!(started.elapsed() >= Duration::from_millis(200));
        proxy.set_latency(Duration::ZERO);
        assert_eq!(round_trip(&mut stream, b"fast").await, b"fast");
    }

    #[tokio::test]
    async fn a_dead_server_closes_the_client_connection() {
        let unused = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = unused.local_addr().unwrap();
        drop(unused);
        let proxy = Proxy::start(target).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
        assert!(closed(&mut stream).await);
    }
}
