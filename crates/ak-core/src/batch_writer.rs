//! [`BatchWriter`]: a background thread that writes what callers hand it in batches, so that the
//! callers never wait for a disk.
//!
//! The writer owns the thread and the handshakes around it: the wait for the next round (an
//! interval, a wake-up, a flush or the shutdown), [`flush`](BatchWriter::flush) (wait until
//! everything accepted before the call is finished), [`shutdown`](BatchWriter::shutdown) (one
//! last round, then join; also run on drop). What is pending, how it becomes a batch and how a
//! batch is written is the [`BatchJob`]'s: the audit recorder queues events, the usage tracker
//! coalesces last-used times per key.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The batch logic a [`BatchWriter`] runs on its thread. `take` and `settle` run under the
/// writer's lock (keep them short, no I/O); `write` and `between_rounds` run outside it.
pub(crate) trait BatchJob: Send + 'static {
    /// What callers add to between rounds (through [`BatchWriter::intake`]).
    type Pending: Default + Send + 'static;
    /// One round's worth of `Pending`, taken out for writing.
    type Batch;
    /// What a write hands back to [`settle`](Self::settle).
    type Written;

    /// The writer thread's name, also used in its log lines.
    const THREAD: &'static str;
    /// What is lost when the thread cannot start, for the log.
    const WITHOUT_THREAD: &'static str;

    /// Whether `pending` is enough to start a round before the interval ends.
    fn is_urgent(&self, pending: &Self::Pending) -> bool {
        let _ = pending;
        false
    }

    /// Takes this round's batch out of `pending` (possibly empty).
    fn take(&mut self, pending: &mut Self::Pending) -> Self::Batch;

    /// Writes `batch`; `last` is true in the round the shutdown asked for, after which nothing
    /// more is accepted.
    fn write(&mut self, batch: Self::Batch, last: bool) -> Self::Written;

    /// Puts what the write left back into `pending` (a failed batch to retry, say).
    fn settle(&mut self, pending: &mut Self::Pending, written: Self::Written) {
        let _ = (pending, written);
    }

    /// Runs after every round but the last (pruning, say).
    fn between_rounds(&mut self) {}
}

/// A background thread running a [`BatchJob`] every `interval`, sooner when woken, flushed or
/// shut down. Dropping it shuts it down.
pub(crate) struct BatchWriter<J: BatchJob> {
    shared: Arc<Shared<J::Pending>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<J: BatchJob> std::fmt::Debug for BatchWriter<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter")
            .field("thread", &J::THREAD)
            .field("interval", &self.shared.interval)
            .finish_non_exhaustive()
    }
}

struct Shared<P> {
    interval: Duration,
    state: Mutex<State<P>>,
    /// The writer waits on it.
    wake: Condvar,
    /// Flushers wait on it.
    written: Condvar,
}

#[derive(Default)]
struct State<P> {
    pending: P,
    /// Items accepted, ever.
    accepted: u64,
    /// Accepted items the writer has finished with (the `accepted` its last round took).
    finished: u64,
    flush_requested: bool,
    shutdown: bool,
    /// The thread has ended (or never started).
    stopped: bool,
}

impl<P> Shared<P> {
    fn lock(&self) -> MutexGuard<'_, State<P>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What is pending, under the writer's lock: see [`BatchWriter::intake`]. It dereferences to
/// the job's `Pending`.
pub(crate) struct Intake<'a, P> {
    state: MutexGuard<'a, State<P>>,
    wake: &'a Condvar,
}

impl<P> Intake<'_, P> {
    /// Whether the writer still takes items: not shut down, and its thread running.
    pub(crate) fn is_open(&self) -> bool {
        !(self.state.shutdown || self.state.stopped)
    }

    /// Counts one accepted item, so that [`BatchWriter::flush`] waits for the round that takes it.
    pub(crate) fn accept(&mut self) {
        self.state.accepted += 1;
    }

    /// Starts a round now instead of at the end of the interval.
    pub(crate) fn wake_writer(&self) {
        self.wake.notify_one();
    }
}

impl<P> Deref for Intake<'_, P> {
    type Target = P;

    fn deref(&self) -> &P {
        &self.state.pending
    }
}

impl<P> DerefMut for Intake<'_, P> {
    fn deref_mut(&mut self) -> &mut P {
        &mut self.state.pending
    }
}

impl<J: BatchJob> BatchWriter<J> {
    /// Starts the thread running `job` every `interval`. When the thread cannot start, the
    /// failure is logged and the writer is closed from the start ([`Intake::is_open`] is false).
    pub(crate) fn spawn(mut job: J, interval: Duration) -> Self {
        let shared = Arc::new(Shared {
            interval,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            written: Condvar::new(),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(J::THREAD.into())
            .spawn(move || run(&thread_shared, &mut job));
        let thread = match thread {
            Ok(handle) => Some(handle),
            Err(err) => {
                tracing::error!(error = %err, "cannot start the {} thread; {}", J::THREAD, J::WITHOUT_THREAD);
                shared.lock().stopped = true;
                None
            }
        };
        Self {
            shared,
            thread: Mutex::new(thread),
        }
    }

    /// What is pending, locked, for a caller to add to: a short section, no I/O. Adding counts
    /// for [`flush`](Self::flush) only after [`Intake::accept`].
    pub(crate) fn intake(&self) -> Intake<'_, J::Pending> {
        Intake {
            state: self.shared.lock(),
            wake: &self.shared.wake,
        }
    }

    /// Waits until every item accepted before the call is finished (its round has run), or the
    /// thread has stopped.
    pub(crate) fn flush(&self) {
        let mut state = self.shared.lock();
        let target = state.accepted;
        if state.finished >= target {
            return;
        }
        state.flush_requested = true;
        self.shared.wake.notify_one();
        while state.finished < target && !state.stopped {
            state = self
                .shared
                .written
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Closes the intake, runs one last round with everything pending, and waits for the thread
    /// to end. Calling it again does nothing more.
    pub(crate) fn shutdown(&self) {
        {
            let mut state = self.shared.lock();
            state.shutdown = true;
            self.shared.wake.notify_one();
        }
        let handle = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(handle) = handle
            && handle.join().is_err()
        {
            tracing::error!("the {} thread panicked", J::THREAD);
        }
    }
}

impl<J: BatchJob> Drop for BatchWriter<J> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Marks the writer stopped and wakes every waiter when the thread ends, also by a panic (a
/// store that panicked): no `flush` then waits forever, and nothing more is accepted.
struct StopOnExit<'a, P>(&'a Shared<P>);

impl<P> Drop for StopOnExit<'_, P> {
    fn drop(&mut self) {
        self.0.lock().stopped = true;
        self.0.written.notify_all();
    }
}

/// The thread: a round per interval (or wake-up, flush, shutdown) until the shutdown's round.
fn run<J: BatchJob>(shared: &Shared<J::Pending>, job: &mut J) {
    let _stop_on_exit = StopOnExit(shared);
    loop {
        let (batch, through, last) = {
            let mut state = shared.lock();
            if !(state.flush_requested || state.shutdown || job.is_urgent(&state.pending)) {
                state = shared
                    .wake
                    .wait_timeout(state, shared.interval)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            state.flush_requested = false;
            (job.take(&mut state.pending), state.accepted, state.shutdown)
        };
        let written = job.write(batch, last);
        {
            let mut state = shared.lock();
            job.settle(&mut state.pending, written);
            state.finished = through;
            // Once shut down nothing is accepted, so the last round took everything.
            if last {
                state.stopped = true;
            }
            shared.written.notify_all();
            if last {
                return;
            }
        }
        job.between_rounds();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// What the test job saw, in order.
    #[derive(Debug, PartialEq)]
    enum Seen {
        /// A non-empty (or last) round's batch, and whether it was the last.
        Wrote(Vec<u32>, bool),
        Between,
    }

    /// Writes numbers to `seen`; its first write fails when `fail_first`.
    struct Collect {
        seen: mpsc::Sender<Seen>,
        fail_first: bool,
    }

    impl BatchJob for Collect {
        type Pending = Vec<u32>;
        type Batch = Vec<u32>;
        type Written = Option<Vec<u32>>;
        const THREAD: &'static str = "ak-test-writer";
        const WITHOUT_THREAD: &'static str = "nothing is written";

        fn is_urgent(&self, pending: &Vec<u32>) -> bool {
            pending.len() >= 3
        }

        fn take(&mut self, pending: &mut Vec<u32>) -> Vec<u32> {
            std::mem::take(pending)
        }

        fn write(&mut self, batch: Vec<u32>, last: bool) -> Option<Vec<u32>> {
            if batch.is_empty() && !last {
                return None;
            }
            if std::mem::take(&mut self.fail_first) {
                return Some(batch);
            }
            self.seen.send(Seen::Wrote(batch, last)).unwrap();
            None
        }

        fn settle(&mut self, pending: &mut Vec<u32>, written: Option<Vec<u32>>) {
            if let Some(mut failed) = written {
                failed.append(pending);
                *pending = failed;
            }
        }

        fn between_rounds(&mut self) {
            self.seen.send(Seen::Between).unwrap();
        }
    }

    fn writer(fail_first: bool) -> (BatchWriter<Collect>, mpsc::Receiver<Seen>) {
        let (seen, receiver) = mpsc::channel();
        // An hour: no round comes by the interval during a test.
        let writer = BatchWriter::spawn(Collect { seen, fail_first }, Duration::from_secs(3600));
        (writer, receiver)
    }

    fn add(writer: &BatchWriter<Collect>, n: u32) -> bool {
        let mut intake = writer.intake();
        if !intake.is_open() {
            return false;
        }
        intake.push(n);
        intake.accept();
        if intake.len() >= 3 {
            intake.wake_writer();
        }
        true
    }

    /// What was written, in order, leaving out the between-rounds calls.
    fn writes(seen: &mpsc::Receiver<Seen>) -> Vec<Seen> {
        seen.try_iter().filter(|seen| *seen != Seen::Between).collect()
    }

    #[test]
    fn flush_waits_for_the_round_that_takes_what_was_accepted() {
        let (writer, seen) = writer(false);
        writer.flush(); // nothing accepted: returns at once
        assert!(add(&writer, 1) && add(&writer, 2));
        writer.flush();
        assert_eq!(writes(&seen), [Seen::Wrote(vec![1, 2], false)]);
        writer.flush();
        assert_eq!(writes(&seen), [], "nothing new, nothing written");
    }

    #[test]
    fn a_settled_failure_is_written_in_a_later_round() {
        let (writer, seen) = writer(true);
        assert!(add(&writer, 1));
        writer.flush();
        assert_eq!(writes(&seen), [], "the first write failed");
        assert!(add(&writer, 2));
        writer.flush();
        assert_eq!(writes(&seen), [Seen::Wrote(vec![1, 2], false)]);
    }

    #[test]
    fn an_urgent_intake_starts_a_round_without_a_flush() {
        let (writer, seen) = writer(false);
        for n in 1..=3 {
            assert!(add(&writer, n));
        }
        // Not a speed check: the generous bound only keeps a broken wake-up from hanging the run.
        let round = seen.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(round, Seen::Wrote(vec![1, 2, 3], false));
        drop(writer);
    }

    /// A store that panics on every non-empty batch.
    struct Panics;

    impl BatchJob for Panics {
        type Pending = Vec<u32>;
        type Batch = Vec<u32>;
        type Written = ();
        const THREAD: &'static str = "ak-test-panicking-writer";
        const WITHOUT_THREAD: &'static str = "nothing is written";

        fn take(&mut self, pending: &mut Vec<u32>) -> Vec<u32> {
            std::mem::take(pending)
        }

        fn write(&mut self, batch: Vec<u32>, _last: bool) {
            assert!(batch.is_empty(), "the store panicked");
        }
    }

    #[test]
    fn a_panicking_write_stops_the_writer_instead_of_hanging_flush() {
        let writer = BatchWriter::spawn(Panics, Duration::from_secs(3600));
        {
            let mut intake = writer.intake();
            intake.push(1);
            intake.accept();
        }
        writer.flush(); // returns: the thread stopped when the write panicked
        assert!(!writer.intake().is_open(), "a stopped writer accepts nothing");
        writer.shutdown();
    }

    #[test]
    fn shutdown_writes_everything_in_a_last_round_then_closes_the_intake() {
        let (writer, seen) = writer(false);
        assert!(add(&writer, 7));
        writer.flush();
        assert!(add(&writer, 8));
        writer.shutdown();
        assert!(!add(&writer, 9), "closed after shutdown");
        writer.flush(); // the thread has stopped: returns at once
        writer.shutdown(); // again: nothing more
        drop(writer);
        let seen: Vec<Seen> = seen.try_iter().collect();
        let wrote: Vec<&Seen> = seen.iter().filter(|seen| **seen != Seen::Between).collect();
        assert_eq!(wrote, [&Seen::Wrote(vec![7], false), &Seen::Wrote(vec![8], true)]);
        assert_eq!(
            seen.last(),
            Some(&Seen::Wrote(vec![8], true)),
            "no round after the last: {seen:?}"
        );
        assert!(seen.contains(&Seen::Between), "a round before the last: {seen:?}");
    }
}
