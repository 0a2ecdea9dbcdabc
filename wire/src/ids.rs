//! Typed ids. On the wire each is a plain JSON number; in Rust they cannot be mixed up.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user's id (`users.id`).
    UserId
);
id_type!(
    /// A conversation's id (`conversations.id`).
    ConversationId
);
id_type!(
    /// A stored message's id (`messages.id`); unsent messages have none yet.
    MessageId
);
