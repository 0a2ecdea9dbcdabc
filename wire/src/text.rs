//! The message-text rule (SPEC.md section 2): 1 to 1000 characters after trimming, no
//! control characters other than newline and tab. Text is stored as given, so its raw
//! size is bounded too: at most [`MAX_TEXT_BYTES`] before trimming.

use crate::limits::{MAX_TEXT_BYTES, MAX_TEXT_CHARS};
use std::fmt;

/// Why a text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextError {
    Empty,
    TooLong,
    ControlCharacter,
}

impl TextError {
    /// The wire code for this refusal (`too_long` or `bad_request`).
    pub fn code(self) -> crate::ErrorCode {
        match self {
            TextError::TooLong => crate::ErrorCode::TooLong,
            TextError::Empty | TextError::ControlCharacter => crate::ErrorCode::BadRequest,
        }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TextError::Empty => "text must not be empty",
            TextError::TooLong => "text is longer than 1000 characters or 4096 bytes",
            TextError::ControlCharacter => "text contains control characters",
        })
    }
}

impl std::error::Error for TextError {}

/// Checks a message text against the rule.
pub fn validate_text(text: &str) -> Result<(), TextError> {
    // First, and in bytes: one character and 60 KiB of spaces is not a short message.
    if text.len() > MAX_TEXT_BYTES {
        return Err(TextError::TooLong);
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty);
    }
    if trimmed.chars().count() > MAX_TEXT_CHARS {
        return Err(TextError::TooLong);
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(TextError::ControlCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_text_up_to_the_limit_after_trimming() {
        assert_eq!(validate_text("hello"), Ok(()));
        let at_limit = format!("  {}  ", "é".repeat(MAX_TEXT_CHARS));
        assert_eq!(validate_text(&at_limit), Ok(()));
        assert_eq!(validate_text("line one\nline\ttwo"), Ok(()));
    }

    #[test]
    fn refuses_empty_whitespace_long_and_control_text() {
        assert_eq!(validate_text(""), Err(TextError::Empty));
        assert_eq!(validate_text(" \n\t "), Err(TextError::Empty));
        assert_eq!(
            validate_text(&"a".repeat(MAX_TEXT_CHARS + 1)),
            Err(TextError::TooLong)
        );
        assert_eq!(validate_text("bell\u{7}"), Err(TextError::ControlCharacter));
        assert_eq!(validate_text("nul\0"), Err(TextError::ControlCharacter));
        assert_eq!(validate_text("c1\u{85}"), Err(TextError::ControlCharacter));
    }

    #[test]
    fn the_raw_size_is_bounded_before_trimming() {
        let padded = format!("a{}", " ".repeat(MAX_TEXT_BYTES));
        assert_eq!(validate_text(&padded), Err(TextError::TooLong));
        let at_limit = format!("a{}", " ".repeat(MAX_TEXT_BYTES - 1));
        assert_eq!(validate_text(&at_limit), Ok(()));
        // The longest text the character limit allows fits in bytes too.
        let widest = "\u{1F600}".repeat(MAX_TEXT_CHARS);
        assert_eq!(validate_text(&widest), Ok(()));
    }

    #[test]
    fn markup_is_ordinary_text() {
        assert_eq!(validate_text("<img src=x onerror=alert(1)>"), Ok(()));
    }
}
