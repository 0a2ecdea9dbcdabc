//! What the engine hands back: [`Output`]s for the driver, [`Event`]s for the app.

use chat_wire::socket::Conversation;
use chat_wire::{ConversationId, ErrorCode, MessageId, UserId};
use std::fmt;
use std::sync::Arc;

use crate::connection::ConnectionState;
use crate::ids::{ClientMessageId, RequestId, SocketId};
use crate::timeline::MessageView;

/// Something the driver must do or tell the app, in the order the engine produced it.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Open a WebSocket to `url`; report with `handle_socket_open` / `_frame` / `_closed`.
    OpenSocket { socket: SocketId, url: String },
    /// Send one text frame on `socket`.
    SendFrame { socket: SocketId, text: String },
    /// Close `socket`; the engine has already forgotten it (no `handle_socket_closed` needed).
    CloseSocket { socket: SocketId },
    /// Ask the app for a fresh token and answer with [`Engine::handle_token`](super::Engine::handle_token).
    RequestToken,
    /// Make an HTTP request; answer with `handle_http_response` or `handle_http_failed`.
    Http(HttpRequest),
    /// Tell the app.
    Event(Event),
}

/// An HTTP request: history pages (`GET`), and sends in the HTTP-only mode (`POST`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub id: RequestId,
    /// `GET` or `POST`.
    pub method: &'static str,
    pub url: String,
    /// Send as `Authorization: Bearer …`.
    pub bearer: Option<String>,
    /// A JSON body (`Content-Type: application/json`), for `POST`.
    pub body: Option<String>,
}

/// What the app hears about.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The connection state changed.
    StateChanged(ConnectionState),
    /// A message arrived that the timeline did not have (from `message:new`).
    MessageReceived(Arc<MessageView>),
    /// A stored message entered a timeline that did not have it, whatever brought it
    /// (`message:new`, a send's ack or echo, a history page): once per message per
    /// engine, as the timeline's deduplication decides (one older than everything a full
    /// window holds is not kept, and not reported). For accounting (the load tool counts
    /// deliveries by it, not by reading timelines back); an app reads the snapshot. Not
    /// in the wasm, whose size budget has no room for what no browser needs.
    #[cfg(not(target_arch = "wasm32"))]
    Stored {
        conversation: ConversationId,
        message: Arc<MessageView>,
    },
    /// The conversation's view was replaced.
    ConversationChanged(ConversationId),
    /// Someone started or stopped typing.
    Typing {
        conversation: ConversationId,
        user: UserId,
        typing: bool,
    },
    /// Someone came online or went offline.
    Presence { user: UserId, online: bool },
    /// A conversation including this user was created (`conversation:new`).
    ConversationNew(Conversation),
    /// Joining failed (e.g. `forbidden`); the conversation is left.
    JoinFailed {
        conversation: ConversationId,
        code: ErrorCode,
    },
    /// One of this client's messages is stored on the server (its ack, echo or a history
    /// page said so): `send`'s promise, so to speak, is kept.
    Sent {
        client_message_id: ClientMessageId,
        conversation: ConversationId,
        message: MessageId,
        seq: i64,
    },
    /// A message is `failed` (tries used up: `code` is `None`; or refused with `code`).
    SendFailed {
        client_message_id: ClientMessageId,
        code: Option<ErrorCode>,
    },
    /// The outbox changed: store [`Engine::save_outbox`](super::Engine::save_outbox) now.
    OutboxChanged,
    /// Something from the network was ignored or ended the connection; for the log.
    Warning(String),
}

/// Why `send` refused a message at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The text breaks the rule of SPEC.md section 2.
    Text(chat_wire::text::TextError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Text(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SendError {}
