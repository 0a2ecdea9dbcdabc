//! Names people see (usernames, group titles): what they may contain, and when two
//! usernames are the same name.
//!
//! Format characters (Unicode general category Cf: bidi overrides and isolates,
//! zero-width spaces and joiners, soft hyphens…) are invisible or reorder what is shown,
//! so "alice" and "al\u{200B}ice" would look alike; control characters (Cc) have no place
//! in a name either. Both are refused.
//!
//! Uniqueness is on [`username_key`]: the NFKC normal form, case-folded, so "Alice",
//! "ALICE" and "Ａｌｉｃｅ" (fullwidth) are one name. The name is stored and shown as
//! registered; login accepts any spelling with the same key.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Whether `name` holds a control (Cc) or format (Cf) character.
pub fn has_invisible(name: &str) -> bool {
    name.chars().any(|c| {
        matches!(
            c.general_category(),
            GeneralCategory::Control | GeneralCategory::Format
        )
    })
}

/// The key usernames are unique on: NFKC, case-folded, NFKC again (folding can leave a
/// string that is not normalised).
pub fn username_key(name: &str) -> String {
    let normalised: String = name.nfkc().collect();
    caseless::default_case_fold_str(&normalised)
        .nfkc()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differing_in_case_or_width_share_a_key() {
        assert_eq!(username_key("Alice"), "alice");
        assert_eq!(username_key("ALICE"), "alice");
        assert_eq!(username_key("Ａｌｉｃｅ"), "alice");
        assert_eq!(username_key("Straße"), username_key("STRASSE"));
        assert_ne!(username_key("alice"), username_key("alicia"));
    }

    #[test]
    fn format_and_control_characters_are_invisible() {
        for name in [
            "al\u{200B}ice", // zero-width space
            "al\u{200D}ice", // zero-width joiner
            "\u{202E}ecila", // right-to-left override
            "alice\u{2066}", // left-to-right isolate
            "al\u{AD}ice",   // soft hyphen
            "\u{FEFF}alice", // byte order mark
            "al\u{7}ice",    // bell
            "al\u{85}ice",   // next line (C1)
        ] {
            assert!(has_invisible(name), "{name:?}");
        }
        assert!(!has_invisible("Ünïcødé ok"));
        assert!(!has_invisible("مرحبا"));
    }
}
