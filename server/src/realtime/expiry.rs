//! One timer for every socket's token expiry.
//!
//! A socket is closed when its token's `exp` passes (SPEC.md section 2). A task per
//! socket sleeping until then cost about 300 bytes per idle socket (the task, its future
//! and its timer entry, measured with heaptrack; docs/BENCHMARKS.md); here one task keeps
//! every deadline in an ordered map and sleeps until the earliest, about 50 bytes each.

use chat_wire::UserId;
use socketioxide::socket::Sid;
use std::collections::BTreeMap;
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Debug)]
enum Command {
    Arm(Instant, Sid, UserId),
    Disarm(Instant, Sid),
}

/// The handle of the expiry task. The task ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Expiries {
    commands: mpsc::UnboundedSender<Command>,
}

impl Expiries {
    /// Starts the task (on the current tokio runtime); `on_expiry` runs for each socket
    /// whose deadline passed while it was armed.
    pub fn start(on_expiry: impl Fn(Sid, UserId) + Send + 'static) -> Expiries {
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(receiver, on_expiry));
        Expiries { commands }
    }

    /// Calls `on_expiry(sid, user)` at `at`, unless disarmed first.
    pub fn arm(&self, at: Instant, sid: Sid, user: UserId) {
        // Fails only once the runtime is shutting down, when nothing is due any more.
        let _ = self.commands.send(Command::Arm(at, sid, user));
    }

    /// Forgets what [`arm`](Self::arm) set for (`at`, `sid`); nothing if it already ran.
    pub fn disarm(&self, at: Instant, sid: Sid) {
        let _ = self.commands.send(Command::Disarm(at, sid));
    }
}

async fn run(
    mut commands: mpsc::UnboundedReceiver<Command>,
    on_expiry: impl Fn(Sid, UserId) + Send + 'static,
) {
    let mut deadlines: BTreeMap<(Instant, Sid), UserId> = BTreeMap::new();
    loop {
        let next = deadlines.first_key_value().map(|((at, _), _)| *at);
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Arm(at, sid, user)) => {
                    deadlines.insert((at, sid), user);
                }
                Some(Command::Disarm(at, sid)) => {
                    deadlines.remove(&(at, sid));
                }
                None => return,
            },
            () = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                let now = Instant::now();
                while let Some(entry) = deadlines.first_entry()
                    && entry.key().0 <= now
                {
                    let ((_, sid), user) = entry.remove_entry();
                    on_expiry(sid, user);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn started() -> (Expiries, mpsc::UnboundedReceiver<(Sid, UserId)>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let expiries = Expiries::start(move |sid, user| {
            let _ = sender.send((sid, user));
        });
        (expiries, receiver)
    }

    #[tokio::test(start_paused = true)]
    async fn each_socket_expires_at_its_own_deadline_in_order() {
        let (expiries, mut expired) = started();
        let start = Instant::now();
        let (late, early) = (Sid::new(), Sid::new());
        expiries.arm(start + Duration::from_secs(10), late, UserId(1));
        // Armed after a later one, it must still come first.
        expiries.arm(start + Duration::from_secs(3), early, UserId(2));

        assert_eq!(expired.recv().await, Some((early, UserId(2))));
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        assert_eq!(expired.recv().await, Some((late, UserId(1))));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_disarmed_socket_never_expires() {
        let (expiries, mut expired) = started();
        let start = Instant::now();
        let (gone, staying) = (Sid::new(), Sid::new());
        expiries.arm(start + Duration::from_secs(2), gone, UserId(1));
        expiries.arm(start + Duration::from_secs(5), staying, UserId(1));
        expiries.disarm(start + Duration::from_secs(2), gone);

        assert_eq!(expired.recv().await, Some((staying, UserId(1))));
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert!(expired.try_recv().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_task_ends_with_its_last_handle() {
        let (expiries, mut expired) = started();
        expiries.arm(
            Instant::now() + Duration::from_secs(60),
            Sid::new(),
            UserId(1),
        );
        drop(expiries);
        // The callback (holding the sender) is dropped with the task: nothing ever fires.
        assert_eq!(expired.recv().await, None);
    }
}
