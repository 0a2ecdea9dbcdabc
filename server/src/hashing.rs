//! The threads that hash passwords: a fixed few, at the lowest CPU priority.
//!
//! An Argon2 hash is a core's worth of CPU for tens of milliseconds. On tokio's blocking
//! pool a sign-in flood competes on equal terms with the workers that deliver messages
//! (and, on a small machine, with the database), and delivery latency follows the flood.
//! These threads run at the lowest priority of the normal scheduler (nice 19 on Linux):
//! they use the CPU that delivery leaves and give it up as soon as a worker wakes. When
//! the machine is busy, sign-ins wait longer instead of messages; the admission queue in
//! [`crate::auth::Passwords`] bounds how many wait.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

/// A handle to the hashing threads. Clones share them; the threads end when the last
/// handle is dropped.
#[derive(Clone, Debug)]
pub struct HashingThreads {
    jobs: Sender<Job>,
    count: usize,
}

/// Why a hash did not run.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("the password hashing threads have stopped")]
    Stopped,
    #[error("password hashing panicked")]
    Panicked,
}

impl HashingThreads {
    /// Starts `count` threads (at least one). A thread the system refuses is logged; with
    /// none started, every [`Self::run`] answers [`HashingError::Stopped`].
    pub fn start(count: usize) -> HashingThreads {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut started = 0;
        for n in 0..count.max(1) {
            let queue = queue.clone();
            match thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || run(&queue))
            {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "could not start a password hashing thread"),
            }
        }
        HashingThreads {
            jobs,
            count: started,
        }
    }

    /// How many threads hash at once.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Runs `work` on a hashing thread and returns its result. Jobs run in the order they
    /// were given; one whose caller stopped waiting is dropped without running (with
    /// whatever it holds, such as its place in the admission queue).
    pub async fn run<T, F>(&self, work: F) -> Result<T, HashingError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A caller that went away (its request was cancelled) costs no hash.
            if answer.is_closed() {
                return;
            }
            // A panic drops `answer` unsent, which the caller sees as `Panicked`.
            let _ = answer.send(work());
        });
        self.jobs.send(job).map_err(|_| HashingError::Stopped)?;
        result.await.map_err(|_| HashingError::Panicked)
    }
}

fn run(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let next = match queue.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        // Keep the thread for the next job if this one panics.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Nice 19 for this thread (Linux keeps a nice value per thread). Where that is refused
/// or unsupported, hashing still runs, at normal priority.
fn lower_priority() {
    if let Err(e) =
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::warn!(error = ?e, "could not lower the priority of a password hashing thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_work_and_returns_its_result() {
        let threads = HashingThreads::start(2);
        let results: Vec<u64> = futures_util::future::join_all((0..8u64).map(|n| {
            let threads = threads.clone();
            async move { threads.run(move || n * n).await.expect("runs") }
        }))
        .await;
        assert_eq!(results, (0..8u64).map(|n| n * n).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn work_whose_caller_went_away_is_dropped_unrun() {
        let threads = HashingThreads::start(1);
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let (started, busy_now) = tokio::sync::oneshot::channel::<()>();
        let busy = tokio::spawn({
            let threads = threads.clone();
            async move {
                threads
                    .run(move || {
                        let _ = started.send(());
                        blocked.recv().is_ok()
                    })
                    .await
            }
        });
        busy_now.await.expect("the thread took the busy job");
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let abandoned = {
            let ran = ran.clone();
            threads.run(move || ran.store(true, std::sync::atomic::Ordering::SeqCst))
        };
        // Queued behind the busy job, then given up before the thread is free.
        let gave_up = tokio::time::timeout(std::time::Duration::from_millis(10), abandoned).await;
        assert!(gave_up.is_err(), "the only thread is held by the busy job");
        release.send(()).expect("the busy job waits");
        assert!(busy.await.expect("joins").expect("runs"));
        // Jobs run in order: once this one has run, the abandoned one was reached.
        assert_eq!(threads.run(|| 1).await.expect("runs"), 1);
        assert!(
            !ran.load(std::sync::atomic::Ordering::SeqCst),
            "abandoned work ran"
        );
    }

    #[tokio::test]
    async fn a_panic_is_an_error_and_the_thread_serves_the_next_job() {
        let threads = HashingThreads::start(1);
        let panicked = threads.run(|| -> u8 { panic!("hash failed") }).await;
        assert!(
            matches!(panicked, Err(HashingError::Panicked)),
            "{panicked:?}"
        );
        assert_eq!(
            threads.run(|| 7).await.expect("the thread is still there"),
            7
        );
    }

    /// The point of these threads: they run at the lowest priority, below the async
    /// workers that deliver messages.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_nice_19() {
        let threads = HashingThreads::start(1);
        let nice = threads
            .run(|| {
                // Field 19 of /proc/thread-self/stat is the thread's nice value; the
                // fields after the command name (in parentheses) start at 3.
                let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
                let after_name = &stat[stat.rfind(')').expect("a command name") + 2..];
                after_name
                    .split(' ')
                    .nth(19 - 3)
                    .expect("a nice field")
                    .to_owned()
            })
            .await
            .expect("runs");
        assert_eq!(nice, "19");
    }
}
