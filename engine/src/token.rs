//! Reads the `userId` claim of a JWT without verifying it (the server verifies; the
//! engine only needs to recognise its own messages). A token it cannot read is still
//! used: the engine then matches echoes by `clientMessageId` alone.

use chat_wire::UserId;

/// The `userId` claim of `token`, if it is a JWT that has one.
pub fn user_id(token: &str) -> Option<UserId> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64url_decode(payload)?;
    let claims = crate::json::parse(std::str::from_utf8(&bytes).ok()?)?;
    crate::json::user_id(claims.as_object()?.get("userId")?)
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_user_id_claim() {
        // {"alg":"HS256","typ":"JWT"} . {"userId":42,"exp":2000000000} . signature
        let token =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySWQiOjQyLCJleHAiOjIwMDAwMDAwMDB9.sig";
        assert_eq!(user_id(token), Some(UserId(42)));
    }

    #[test]
    fn unreadable_tokens_name_nobody() {
        assert_eq!(user_id(""), None);
        assert_eq!(user_id("a.b.c"), None);
        assert_eq!(user_id("a.!!!.c"), None);
        assert_eq!(user_id("opaque"), None);
    }
}
