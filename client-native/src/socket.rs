//! One WebSocket per engine socket: a task that connects, forwards received text frames to
//! the run loop and writes the frames the engine sends, until either side closes.

use chat_engine::SocketId;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// What a socket task tells the run loop.
#[derive(Debug)]
pub(crate) enum SocketEvent {
    Opened(SocketId),
    Frame(SocketId, String),
    /// The socket ended (closed by the server, failed to connect, or broke).
    Closed(SocketId),
}

/// The run loop's handle on a socket: frames to write. Dropping it closes the socket.
#[derive(Debug)]
pub(crate) struct SocketHandle {
    pub(crate) frames: mpsc::UnboundedSender<String>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

/// Connects to `url` and runs the socket until it ends or its handle is dropped.
pub(crate) fn open(
    socket: SocketId,
    url: String,
    events: mpsc::UnboundedSender<SocketEvent>,
) -> SocketHandle {
    let (frames, mut outgoing) = mpsc::unbounded_channel::<String>();
    let task = tokio::spawn(async move {
        let stream = match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((stream, _response)) => stream,
            Err(_) => {
                let _ = events.send(SocketEvent::Closed(socket));
                return;
            }
        };
        let _ = events.send(SocketEvent::Opened(socket));
        let (mut sink, mut source) = stream.split();
        loop {
            tokio::select! {
                frame = outgoing.recv() => match frame {
                    Some(text) => {
                        if sink.send(Message::text(text)).await.is_err() {
                            break;
                        }
                    }
                    // The engine closed this socket and has already forgotten it.
                    None => {
                        let _ = sink.close().await;
                        return;
                    }
                },
                received = source.next() => match received {
                    Some(Ok(Message::Text(text))) => {
                        let _ = events.send(SocketEvent::Frame(socket, text.to_string()));
                    }
                    // Engine.IO over WebSocket is text only; pings are answered by tungstenite.
                    Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                },
            }
        }
        let _ = events.send(SocketEvent::Closed(socket));
    });
    SocketHandle { frames, task }
}
