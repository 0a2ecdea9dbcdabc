//! Text built from pieces, without `core::fmt`.
//!
//! `format!` links `core::fmt`'s machinery (the formatter, padding, every `Display` impl
//! reached): about 6 KB of the wasm, 2 KB gzipped, for warnings, URLs and frames that only
//! ever join strings and integers. [`text!`](crate::text!) joins the same pieces directly.
//! `Display` impls stay for native callers; the wasm build never reaches them.

use chat_wire::{ConversationId, MessageId, UserId};

/// A value that can be appended to a text.
pub trait Piece {
    fn push_to(&self, out: &mut String);
}

impl Piece for str {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for String {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for char {
    fn push_to(&self, out: &mut String) {
        out.push(*self);
    }
}

impl<T: Piece + ?Sized> Piece for &T {
    fn push_to(&self, out: &mut String) {
        (**self).push_to(out);
    }
}

impl Piece for u64 {
    fn push_to(&self, out: &mut String) {
        push_u64(out, *self);
    }
}

impl Piece for u32 {
    fn push_to(&self, out: &mut String) {
        push_u64(out, u64::from(*self));
    }
}

impl Piece for u16 {
    fn push_to(&self, out: &mut String) {
        push_u64(out, u64::from(*self));
    }
}

impl Piece for usize {
    fn push_to(&self, out: &mut String) {
        push_u64(out, *self as u64);
    }
}

impl Piece for i64 {
    fn push_to(&self, out: &mut String) {
        if *self < 0 {
            out.push('-');
        }
        push_u64(out, self.unsigned_abs());
    }
}

impl Piece for ConversationId {
    fn push_to(&self, out: &mut String) {
        self.0.push_to(out);
    }
}

impl Piece for UserId {
    fn push_to(&self, out: &mut String) {
        self.0.push_to(out);
    }
}

impl Piece for MessageId {
    fn push_to(&self, out: &mut String) {
        self.0.push_to(out);
    }
}

/// `n` in decimal.
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// Joins [`Piece`]s into a `String`: `text!("seq ", seq, " ignored")`.
#[macro_export]
macro_rules! text {
    ($($piece:expr),+ $(,)?) => {{
        let mut out = ::std::string::String::new();
        $( $crate::text::Piece::push_to(&$piece, &mut out); )+
        out
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn integers_read_as_display_writes_them(n: i64, u: u64) {
            prop_assert_eq!(text!(n), n.to_string());
            prop_assert_eq!(text!(u), u.to_string());
        }
    }

    #[test]
    fn pieces_are_joined_in_order() {
        let name = String::from("message:new");
        assert_eq!(
            text!(
                "event ",
                name,
                ": ",
                ConversationId(7),
                '/',
                i64::MIN,
                "/",
                0u32
            ),
            "event message:new: 7/-9223372036854775808/0"
        );
    }
}
