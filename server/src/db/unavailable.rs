//! Which database errors mean "cannot store now" rather than "this request is wrong".
//!
//! A database that is down, restarting, unreachable or too slow to answer within its
//! timeouts is not the request's fault: those errors are answered `unavailable` with a
//! `retryAfterMs` (SPEC.md section 2, v2), so that clients keep their messages queued and
//! try again, instead of `internal`, which clients treat as a lost try.

use std::time::Duration;

/// How long a client is told to wait before trying again after `unavailable`: long
/// enough not to hammer a database that is coming back, short enough that a blip of a
/// second or two costs about that much.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// True when `error` means the database cannot be reached, is shutting down or
/// restarting, or did not answer in time.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs and SQLite result codes of an unreachable or overloaded database.
fn unavailable_code(code: &str) -> bool {
    // PostgreSQL: class 08 is "connection exception"; 57P01-57P03 are admin shutdown,
    // crash shutdown and "cannot connect now" (starting up or in recovery); 57014 is a
    // statement cancelled by `statement_timeout`; 53300 is "too many connections".
    if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "57014" | "53300") {
        return true;
    }
    // SQLite reports its (extended) result code as a number: SQLITE_BUSY (5) and
    // SQLITE_LOCKED (6) after the busy timeout ran out, in any of their extended forms.
    code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_and_timeouts_are_unavailable() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::PoolClosed));
        assert!(is_unavailable(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        ))));
        for code in [
            "08006", "08001", "57P01", "57P03", "57014", "53300", "5", "517", "6",
        ] {
            assert!(unavailable_code(code), "{code}");
        }
    }

    #[test]
    fn wrong_requests_are_not() {
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::Protocol("bad".into())));
        // Unique and foreign-key violations, on each backend.
        for code in ["23505", "23503", "2067", "787", "1"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
