//! Time as the engine sees it: a monotonic millisecond count passed in by the driver.
//!
//! The engine never reads a clock. The driver picks any origin (`performance.now()` in a
//! browser, `Instant::now() - start` natively, a counter in tests) and must never let it go
//! backwards; the engine clamps a backwards step to the last value it saw.

use std::fmt;
use std::ops::Add;

/// An instant: milliseconds since the driver's chosen origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<u64> for Millis {
    type Output = Millis;

    fn add(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        assert_eq!(Millis(u64::MAX) + 5, Millis(u64::MAX));
        assert_eq!(Millis(3).since(Millis(10)), 0);
        assert_eq!(Millis(10).since(Millis(3)), 7);
    }
}
