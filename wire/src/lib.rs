//! The chat wire contract: the names and shapes that cross the network.
//!
//! Both `server` and `chat-engine` depend on this crate, so an event name or a field
//! cannot be spelled two ways. It follows `SPEC.md` exactly (camelCase JSON).
//!
//! # Layout
//!
//! - [`event`]: Socket.IO event names (section 2).
//! - [`ids`]: typed ids ([`UserId`], [`ConversationId`], [`MessageId`]).
//! - [`socket`]: Socket.IO payloads and acks.
//! - [`rest`]: REST bodies and answers (section 3).
//! - [`text`]: the message-text rule both ends apply.
//! - [`limits`]: numbers of the contract (payload size, rate, page sizes).
//!
//! The crate depends only on `serde`; it is compiled into the wasm engine, where every
//! dependency costs bytes.

pub mod event;
pub mod ids;
pub mod limits;
pub mod rest;
pub mod socket;
pub mod text;

pub use ids::{ConversationId, MessageId, UserId};
pub use socket::{ErrorCode, Message};
