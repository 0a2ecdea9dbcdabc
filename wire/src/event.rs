//! Socket.IO event names (SPEC.md section 2). Namespace `/`, path `/socket.io/`.

// Client -> server.
pub const CONVERSATION_JOIN: &str = "conversation:join";
pub const CONVERSATION_LEAVE: &str = "conversation:leave";
pub const MESSAGE_SEND: &str = "message:send";
/// Client -> server (a conversation id) and server -> client ([`crate::socket::Typing`]).
pub const TYPING_START: &str = "typing:start";
/// Client -> server (a conversation id) and server -> client ([`crate::socket::Typing`]).
pub const TYPING_STOP: &str = "typing:stop";
/// Client -> server (a message id) and server -> client ([`crate::socket::ReadReceipt`]).
pub const MESSAGE_READ: &str = "message:read";
/// Client -> server (a conversation id and a seq: "read up to here", acked with
/// [`crate::socket::ReadAck`]) and server -> client ([`crate::socket::ConversationRead`],
/// when a watermark moves). SPEC.md section 9.
pub const CONVERSATION_READ: &str = "conversation:read";

// Server -> client.
pub const MESSAGE_NEW: &str = "message:new";
pub const USER_ONLINE: &str = "user:online";
pub const USER_OFFLINE: &str = "user:offline";
pub const CONVERSATION_NEW: &str = "conversation:new";

/// CONNECT_ERROR `data.message` when the handshake carries no token.
pub const AUTH_TOKEN_REQUIRED: &str = "Authentication token required";
/// CONNECT_ERROR `data.message` for any other authentication failure.
pub const AUTH_INVALID_TOKEN: &str = "Invalid or expired token";

/// The room every socket of a user joins: `user:{id}`.
pub fn user_room(user: crate::UserId) -> String {
    format!("user:{}", user.0)
}

/// The room of a conversation: `conversation:{id}`.
pub fn conversation_room(conversation: crate::ConversationId) -> String {
    format!("conversation:{}", conversation.0)
}
