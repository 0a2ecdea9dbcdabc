//! The connection's timer table (quinn-proto's `TimerTable`): one slot per kind, the
//! engine's `poll_timeout` is the minimum of these and of per-item deadlines (ack
//! timeouts, retries, typing) which live beside the items they belong to.

use crate::time::Millis;

/// The connection-level timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The attempt under way must have reached the Socket.IO CONNECT ack by then.
    Connect,
    /// No frame from the server by then: it is gone (pingInterval + pingTimeout).
    Heartbeat,
    /// Time to try connecting again.
    Reconnect,
}

impl Timer {
    const VALUES: [Timer; 3] = [Timer::Connect, Timer::Heartbeat, Timer::Reconnect];

    fn index(self) -> usize {
        match self {
            Timer::Connect => 0,
            Timer::Heartbeat => 1,
            Timer::Reconnect => 2,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    slots: [Option<Millis>; 3],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Millis) {
        self.slots[timer.index()] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.slots[timer.index()] = None;
    }

    pub(crate) fn deadline(&self, timer: Timer) -> Option<Millis> {
        self.slots[timer.index()]
    }

    pub(crate) fn next_timeout(&self) -> Option<Millis> {
        self.slots.iter().flatten().min().copied()
    }

    /// Removes and returns a timer that has expired at `now`, if any.
    pub(crate) fn take_expired(&mut self, now: Millis) -> Option<Timer> {
        let timer = Timer::VALUES
            .into_iter()
            .find(|t| self.slots[t.index()].is_some_and(|at| at <= now))?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_timeout_is_the_earliest_slot_and_expired_ones_are_taken_once() {
        let mut table = TimerTable::default();
        assert_eq!(table.next_timeout(), None);
        table.set(Timer::Heartbeat, Millis(50));
        table.set(Timer::Connect, Millis(20));
        assert_eq!(table.next_timeout(), Some(Millis(20)));
        assert_eq!(table.take_expired(Millis(10)), None);
        assert_eq!(table.take_expired(Millis(60)), Some(Timer::Connect));
        assert_eq!(table.take_expired(Millis(60)), Some(Timer::Heartbeat));
        assert_eq!(table.take_expired(Millis(60)), None);
        assert_eq!(table.deadline(Timer::Reconnect), None);
    }
}
