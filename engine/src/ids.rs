//! The engine's own ids: client message ids (UUID v4 from the engine's seeded RNG),
//! sockets and HTTP requests the driver carries out.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A message's `clientMessageId`: a UUID v4 in its lowercase hyphenated form.
///
/// Built from the engine's seeded RNG, never from the OS, so one seed gives one run.
/// (No `uuid` dependency: sixteen bytes and two bit masks are all a v4 UUID is.)
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientMessageId(String);

impl ClientMessageId {
    /// A fresh random UUID v4.
    pub fn generate(rng: &mut fastrand::Rng) -> Self {
        let mut bytes = rng.u128(..).to_be_bytes();
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
        let mut text = String::with_capacity(36);
        for (i, byte) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                text.push('-');
            }
            text.push(hex_digit(byte >> 4));
            text.push(hex_digit(byte & 0x0f));
        }
        ClientMessageId(text)
    }

    /// Accepts any hyphenated UUID (36 characters, hex digits and four hyphens), as
    /// stored data or a caller may carry one; normalises to lowercase.
    pub fn parse(text: &str) -> Result<Self, InvalidClientMessageId> {
        let valid = text.len() == 36
            && text.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        if valid {
            Ok(ClientMessageId(text.to_ascii_lowercase()))
        } else {
            Err(InvalidClientMessageId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

impl fmt::Display for ClientMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ClientMessageId {
    type Error = InvalidClientMessageId;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        ClientMessageId::parse(&text)
    }
}

impl From<ClientMessageId> for String {
    fn from(id: ClientMessageId) -> String {
        id.0
    }
}

/// A string that is not a hyphenated UUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidClientMessageId;

impl fmt::Display for InvalidClientMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a UUID")
    }
}

impl std::error::Error for InvalidClientMessageId {}

/// One WebSocket the engine asked the driver to open. Inputs name the socket they come
/// from, so a late event of a socket the engine already gave up on is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketId(pub u64);

/// One HTTP request the engine asked the driver to make; the response names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_v4_uuids_and_reproducible_from_the_seed() {
        let mut a = fastrand::Rng::with_seed(7);
        let mut b = fastrand::Rng::with_seed(7);
        let id = ClientMessageId::generate(&mut a);
        assert_eq!(id, ClientMessageId::generate(&mut b));
        assert_eq!(ClientMessageId::parse(id.as_str()), Ok(id.clone()));
        let text = id.as_str();
        assert_eq!(&text[14..15], "4");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, ClientMessageId::generate(&mut a));
    }

    #[test]
    fn parse_refuses_what_is_not_a_uuid() {
        assert!(ClientMessageId::parse("").is_err());
        assert!(ClientMessageId::parse("not-a-uuid").is_err());
        assert!(ClientMessageId::parse("0123456789abcdef0123456789abcdef0123").is_err());
        assert_eq!(
            ClientMessageId::parse("ABCDEF01-2345-4678-89AB-CDEF01234567").map(|id| id.to_string()),
            Ok("abcdef01-2345-4678-89ab-cdef01234567".into())
        );
    }
}
