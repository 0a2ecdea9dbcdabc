//! The cap on Engine.IO sessions that have not signed in (`MAX_UNAUTHENTICATED_SESSIONS`).
//!
//! Opening an Engine.IO session costs a request and no token; socketioxide then keeps it
//! for up to its connect timeout ([`CONNECT_TIMEOUT`]) waiting for a Socket.IO CONNECT.
//! Without a cap, anyone could hold any number of them open.
//!
//! Each handshake (a request to `/socket.io/` without `sid`) takes a slot, stamped with
//! its time; a socket that signs in frees the oldest slot; a slot older than the connect
//! timeout is free (socketioxide has closed that session, or it signed in). A handshake
//! finding every slot taken is refused with 429 `rate_limited`, until the oldest frees.
//! Freeing the oldest rather than the session's own slot keeps the count exact at any
//! moment where each session has either signed in or timed out, without following
//! Engine.IO session ids through both transports.

use crate::rate_limit::RetryAfter;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long socketioxide waits for a Socket.IO CONNECT after an Engine.IO handshake (its
/// default, set explicitly so that the slots expire with the sessions).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(45);

/// The sessions waiting to sign in, on this node.
#[derive(Debug)]
pub struct UnauthenticatedSessions {
    cap: usize,
    /// When each slot was taken, oldest first.
    opened: Mutex<VecDeque<Instant>>,
}

impl UnauthenticatedSessions {
    pub fn new(cap: u32) -> UnauthenticatedSessions {
        UnauthenticatedSessions {
            cap: (cap as usize).max(1),
            opened: Mutex::new(VecDeque::new()),
        }
    }

    /// A new Engine.IO session: takes a slot, or says when one frees.
    pub fn open(&self) -> Result<(), RetryAfter> {
        self.open_at(Instant::now())
    }

    /// [`Self::open`] at a given instant (tests drive the clock).
    pub fn open_at(&self, now: Instant) -> Result<(), RetryAfter> {
        let mut opened = self.locked();
        while opened
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= CONNECT_TIMEOUT)
        {
            opened.pop_front();
        }
        if opened.len() >= self.cap {
            let oldest = opened.front().copied().unwrap_or(now);
            metrics::counter!("chat_unauthenticated_sessions_refused_total").increment(1);
            return Err(RetryAfter::new(
                (oldest + CONNECT_TIMEOUT).saturating_duration_since(now),
            ));
        }
        opened.push_back(now);
        Ok(())
    }

    /// A socket signed in: frees a slot.
    pub fn signed_in(&self) {
        self.locked().pop_front();
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, VecDeque<Instant>> {
        // A poisoned lock only means a panic elsewhere mid-update of a plain queue.
        self.opened.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_free_when_a_socket_signs_in_or_the_connect_timeout_passes() {
        let sessions = UnauthenticatedSessions::new(2);
        let t0 = Instant::now();
        sessions.open_at(t0).unwrap();
        sessions.open_at(t0 + Duration::from_secs(5)).unwrap();
        let refused = sessions.open_at(t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(refused.millis(), 35_000, "until the oldest times out");
        sessions.signed_in();
        sessions.open_at(t0 + Duration::from_secs(10)).unwrap();
        assert!(sessions.open_at(t0 + Duration::from_secs(11)).is_err());
        // The slot taken at 5 s is free at 50 s.
        sessions.open_at(t0 + Duration::from_secs(50)).unwrap();
    }
}
