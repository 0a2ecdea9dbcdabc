//! A small Socket.IO v5 client over one WebSocket (Engine.IO v4), speaking the text
//! protocol directly so tests can also send what a real client never would.
//!
//! Frames: `0{…}` open, `2`/`3` ping/pong, `40{auth}` connect, `40{sid}` connected,
//! `44{message}` connect error, `41` disconnect, `42[event, …args]` event,
//! `42<id>[event, …]` event with ack, `43<id>[reply]` ack.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(5);

/// Something the server sent, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    Event(String, Vec<Value>),
    /// `41`: the server disconnected the socket.
    Disconnected,
    /// The WebSocket ended (close frame, EOF or error).
    Closed,
}

impl Incoming {
    pub fn name(&self) -> &str {
        match self {
            Incoming::Event(name, _) => name,
            Incoming::Disconnected => "<disconnect>",
            Incoming::Closed => "<closed>",
        }
    }
}

/// How a connection attempt ended badly.
#[derive(Debug)]
pub enum ConnectFailure {
    /// HTTP refused the upgrade (status code).
    Http(u16),
    /// CONNECT_ERROR with this `message`.
    Refused(String),
    Other(String),
}

type Acks = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

#[derive(Debug)]
pub struct SioClient {
    out: mpsc::UnboundedSender<Ws>,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    acks: Acks,
    next_ack: u64,
}

/// Options of a connection.
#[derive(Clone, Debug, Default)]
pub struct Connect {
    /// The CONNECT payload (`40{…}`); `None` sends a bare `40`.
    pub auth: Option<Value>,
    /// Extra query string, e.g. `&token=…`.
    pub query: String,
    pub origin: Option<String>,
}

impl Connect {
    pub fn token(token: &str) -> Connect {
        Connect {
            auth: Some(json!({ "token": token })),
            ..Connect::default()
        }
    }
}

/// `http://host:port` → `ws://host:port/socket.io/?EIO=4&transport=websocket`.
pub fn ws_url(address: &str, query: &str) -> String {
    let host = address.trim_start_matches("http://");
    format!("ws://{host}/socket.io/?EIO=4&transport=websocket{query}")
}

impl SioClient {
    /// Connects with a token in the auth payload, asserting success.
    pub async fn connect(address: &str, token: &str) -> SioClient {
        Self::connect_with(address, Connect::token(token))
            .await
            .expect("the socket connects")
    }

    pub async fn connect_with(
        address: &str,
        options: Connect,
    ) -> Result<SioClient, ConnectFailure> {
        let mut request = ws_url(address, &options.query)
            .into_client_request()
            .map_err(|e| ConnectFailure::Other(e.to_string()))?;
        if let Some(origin) = &options.origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(origin).unwrap());
        }
        let (ws, _) = match tokio_tungstenite::connect_async(request).await {
            Ok(ok) => ok,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                return Err(ConnectFailure::Http(response.status().as_u16()));
            }
            Err(e) => return Err(ConnectFailure::Other(e.to_string())),
        };
        let (mut sink, mut stream) = ws.split();

        // Engine.IO open packet.
        let open = tokio::time::timeout(WAIT, stream.next())
            .await
            .map_err(|_| ConnectFailure::Other("no open packet".into()))?;
        match open {
            Some(Ok(Ws::Text(t))) if t.starts_with('0') => {}
            other => return Err(ConnectFailure::Other(format!("bad open packet: {other:?}"))),
        }
        let connect = match &options.auth {
            Some(auth) => format!("40{auth}"),
            None => "40".to_owned(),
        };
        sink.send(Ws::text(connect))
            .await
            .map_err(|e| ConnectFailure::Other(e.to_string()))?;
        // Socket.IO connect answer (pings may come first in theory; skip them).
        loop {
            let frame = tokio::time::timeout(WAIT, stream.next())
                .await
                .map_err(|_| ConnectFailure::Other("no connect answer".into()))?;
            match frame {
                Some(Ok(Ws::Text(t))) if t.starts_with("40") => break,
                Some(Ok(Ws::Text(t))) if t.starts_with("44") => {
                    let data: Value = serde_json::from_str(&t[2..])
                        .map_err(|e| ConnectFailure::Other(e.to_string()))?;
                    return Err(ConnectFailure::Refused(
                        data["message"].as_str().unwrap_or_default().to_owned(),
                    ));
                }
                Some(Ok(Ws::Text(t))) if t.as_str() == "2" => {
                    sink.send(Ws::text("3")).await.ok();
                }
                other => {
                    return Err(ConnectFailure::Other(format!(
                        "bad connect answer: {other:?}"
                    )));
                }
            }
        }

        let (out, mut out_rx) = mpsc::unbounded_channel::<Ws>();
        let (in_tx, incoming) = mpsc::unbounded_channel();
        let acks: Acks = Arc::default();
        tokio::spawn(async move {
            while let Some(frame) = out_rx.recv().await {
                if sink.send(frame).await.is_err() {
                    break;
                }
            }
        });
        let pong = out.clone();
        let ack_map = acks.clone();
        tokio::spawn(async move {
            loop {
                let frame = stream.next().await;
                let text = match frame {
                    Some(Ok(Ws::Text(t))) => t.to_string(),
                    Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => {
                        let _ = in_tx.send(Incoming::Closed);
                        return;
                    }
                    Some(Ok(_)) => continue,
                };
                if text == "1" {
                    // Engine.IO close.
                    let _ = in_tx.send(Incoming::Closed);
                } else if text == "2" {
                    let _ = pong.send(Ws::text("3"));
                } else if text.starts_with("41") {
                    let _ = in_tx.send(Incoming::Disconnected);
                } else if let Some(rest) = text.strip_prefix("43") {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let id: u64 = digits.parse().expect("an ack id");
                    let args: Vec<Value> =
                        serde_json::from_str(&rest[digits.len()..]).expect("ack args");
                    let waiter = ack_map.lock().unwrap().remove(&id);
                    if let Some(waiter) = waiter {
                        let _ = waiter.send(args.into_iter().next().unwrap_or(Value::Null));
                    }
                } else if let Some(rest) = text.strip_prefix("42") {
                    let mut args: Vec<Value> = serde_json::from_str(rest).expect("event args");
                    let name = args.remove(0).as_str().expect("event name").to_owned();
                    let _ = in_tx.send(Incoming::Event(name, args));
                }
            }
        });
        Ok(SioClient {
            out,
            incoming,
            acks,
            next_ack: 0,
        })
    }

    /// Sends a raw WebSocket text frame.
    pub fn send_raw(&self, frame: impl Into<String>) {
        let _ = self.out.send(Ws::text(frame.into()));
    }

    pub fn send_frame(&self, frame: Ws) {
        let _ = self.out.send(frame);
    }

    /// Emits an event without an ack.
    pub fn emit(&self, event: &str, args: Vec<Value>) {
        let mut all = vec![json!(event)];
        all.extend(args);
        self.send_raw(format!("42{}", Value::Array(all)));
    }

    /// Emits an event with an ack and waits for the answer.
    pub async fn call(&mut self, event: &str, args: Vec<Value>) -> Value {
        let mut all = vec![json!(event)];
        all.extend(args);
        self.call_raw(&Value::Array(all).to_string()).await
    }

    /// Emits an event with an ack without waiting: the ack arrives on the receiver.
    pub fn start_call(&mut self, event: &str, args: Vec<Value>) -> oneshot::Receiver<Value> {
        let mut all = vec![json!(event)];
        all.extend(args);
        self.next_ack += 1;
        let id = self.next_ack;
        let (tx, rx) = oneshot::channel();
        self.acks.lock().unwrap().insert(id, tx);
        self.send_raw(format!("42{id}{}", Value::Array(all)));
        rx
    }

    /// Emits `42<id><json>` and waits for its ack.
    pub async fn call_raw(&mut self, json_args: &str) -> Value {
        self.next_ack += 1;
        let id = self.next_ack;
        let (tx, rx) = oneshot::channel();
        self.acks.lock().unwrap().insert(id, tx);
        self.send_raw(format!("42{id}{json_args}"));
        tokio::time::timeout(WAIT, rx)
            .await
            .unwrap_or_else(|_| panic!("no ack for {json_args}"))
            .expect("ack channel")
    }

    /// The next thing the server sent.
    pub async fn next(&mut self) -> Incoming {
        tokio::time::timeout(WAIT, self.incoming.recv())
            .await
            .expect("something from the server in time")
            .unwrap_or(Incoming::Closed)
    }

    /// The next thing the server sent, however long it takes (wrap it in a timeout).
    pub async fn next_patient(&mut self) -> Incoming {
        self.incoming.recv().await.unwrap_or(Incoming::Closed)
    }

    /// Waits for `event`, returning its arguments and everything received before it.
    pub async fn recv_after(&mut self, event: &str) -> (Vec<Incoming>, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            match self.next().await {
                Incoming::Event(name, args) if name == event => return (before, args),
                other @ (Incoming::Closed | Incoming::Disconnected) => {
                    panic!("closed while waiting for {event}: {before:?} then {other:?}")
                }
                other => before.push(other),
            }
        }
    }

    /// Waits for `event` and returns its first argument.
    pub async fn recv(&mut self, event: &str) -> Value {
        let (_, args) = self.recv_after(event).await;
        args.into_iter().next().unwrap_or(Value::Null)
    }

    /// Waits up to `patience` for `event` (for what waits on a clock longer than [`WAIT`],
    /// such as a cluster lease running out on a loaded machine); its first argument.
    pub async fn recv_within(&mut self, event: &str, patience: Duration) -> Value {
        let wait = async {
            loop {
                match self.next_patient().await {
                    Incoming::Event(name, args) if name == event => {
                        return args.into_iter().next().unwrap_or(Value::Null);
                    }
                    other @ (Incoming::Closed | Incoming::Disconnected) => {
                        panic!("closed while waiting for {event}: {other:?}")
                    }
                    _ => {}
                }
            }
        };
        tokio::time::timeout(patience, wait)
            .await
            .unwrap_or_else(|_| panic!("no {event} within {patience:?}"))
    }

    /// Waits for `event` and asserts nothing named in `forbidden` came before it.
    pub async fn recv_without(&mut self, event: &str, forbidden: &[&str]) -> Value {
        let (before, args) = self.recv_after(event).await;
        for f in forbidden {
            assert!(
                !before.iter().any(|i| i.name() == *f),
                "unexpected {f} before {event}: {before:?}"
            );
        }
        args.into_iter().next().unwrap_or(Value::Null)
    }

    /// Waits until the server disconnects the socket or the connection ends.
    pub async fn closed(&mut self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.incoming.recv())
                .await
                .expect("the socket closes in time");
            match next {
                None | Some(Incoming::Closed | Incoming::Disconnected) => return,
                Some(_) => {}
            }
        }
    }

    /// Closes the connection from the client side (`41` then the WebSocket close).
    pub fn close(&self) {
        self.send_raw("41");
        let _ = self.out.send(Ws::Close(None));
    }
}
