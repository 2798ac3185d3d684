//! Read fences and leases: strict read-after-write for cached responses across replicas.
//!
//! Replicas on one PostgreSQL each cache rendered reads. A change notification from another replica's
//! write arrives milliseconds after that write was acknowledged, and a read in those milliseconds would
//! get the old page. Two mechanisms close that gap:
//!
//! - **Leases** (the usual path): the replica holds a read lease in the database (`crate::db::fence`),
//!   and writers wait before acknowledging until every live lease covers their change. The replica
//!   covers a change once it has dropped its cache for it, as soon as the change feed announces it (or,
//!   at the latest, at its next lease extension, which reads the counter). While its lease is held a
//!   cache hit is served at once, without touching the database.
//! - **Fences** (while no lease is held: at start, or when the database cannot be reached to extend
//!   it): before a cached response is served, the replica reads the database's change counter (which
//!   every write advances after its commit and before it is acknowledged) on a query that began after
//!   the request arrived; if the counter moved since the last read, the cache is dropped first. One read
//!   serves every request waiting at the time it starts (as Raft's read index batches reads): under load
//!   a replica reads the counter about once per database round trip, and not at all while idle.
//!
//! Either way, any write acknowledged before the request arrived is in the cached page or has emptied
//! the cache. Misses go to the database anyway and skip both.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use crate::db::{ChangeCounter, Coverage, LEASE_MARGIN, LEASE_RENEWAL, LEASE_TERM};

/// Longest a request waits for a fence before it renders from the database instead.
const FENCE_WAIT: Duration = Duration::from_secs(2);

/// Back-off while the first read of the counter fails (the cache stays off until it succeeds).
const PRIME_RETRY_MIN: Duration = Duration::from_millis(100);
const PRIME_RETRY_MAX: Duration = Duration::from_secs(5);

/// A finished counter read.
#[derive(Debug, Clone, Copy, Default)]
struct Round {
    /// Rounds are numbered from 1 in the order they start.
    number: u64,
    succeeded: bool,
}

/// What the fence's task and its users share.
#[derive(Debug)]
struct Shared {
    /// What the cache reflects and whether the lease is held (shared with the store's search).
    coverage: Arc<Coverage>,
    /// Asks the task to tell writers the new coverage.
    to_report: Notify,
    /// Reads of the counter so far (rounds and lease extensions), for tests.
    counter_reads: AtomicU64,
    stop: Notify,
}

impl Shared {
    /// Records a counter value just read; true if it moved past everything covered (the caller then
    /// drops the cache before anything else).
    fn read(&self, value: i64) -> bool {
        self.counter_reads.fetch_add(1, Ordering::Relaxed);
        self.coverage.raise(value)
    }

    /// The cache was dropped after the counter reached `value`: covers it, and has the task tell
    /// writers if that is news.
    fn dropped_for(&self, value: i64) {
        if self.coverage.raise(value) {
            self.to_report.notify_one();
        }
    }
}

/// The fence of one server process; its task releases the lease and stops when this is dropped.
#[derive(Debug)]
pub struct ReadFence {
    /// The number of the newest round that has started.
    started: Arc<Mutex<u64>>,
    finished: watch::Receiver<Round>,
    demand: Arc<Notify>,
    shared: Arc<Shared>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for ReadFence {
    fn drop(&mut self) {
        self.shared.stop.notify_one();
    }
}

/// Lets the change feed report what the cache was dropped for (see [`ReadFence::announcements`]).
#[derive(Debug, Clone)]
pub struct Announcements(Arc<Shared>);

impl Announcements {
    /// The cache was dropped after a notification that the counter reached `value`: nothing older
    /// than it is cached, and writers waiting for it may go on.
    pub fn dropped_for(&self, value: i64) {
        self.0.dropped_for(value);
    }
}

impl ReadFence {
    /// Starts the task that reads `counter` (first until a read succeeds, then once per demand) and
    /// keeps the lease. `on_change` runs after the first successful read and whenever a read finds a
    /// value above everything covered so far, each time before any waiting request is released or the
    /// lease is counted as held; it must drop the cache (and, the first time, may start caching:
    /// nothing cached before then is trusted).
    pub fn spawn(counter: ChangeCounter, on_change: impl Fn() + Send + Sync + 'static) -> Self {
        let started = Arc::new(Mutex::new(0_u64));
        let (report, finished) = watch::channel(Round::default());
        let demand = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            coverage: counter.coverage(),
            to_report: Notify::new(),
            counter_reads: AtomicU64::new(0),
            stop: Notify::new(),
        });
        let task = FenceTask {
            counter,
            on_change,
            started: Arc::clone(&started),
            report,
            demand: Arc::clone(&demand),
            shared: Arc::clone(&shared),
            reported: 0,
        };
        let task = tokio::spawn(task.run());
        Self {
            started,
            finished,
            demand,
            shared,
            task: Mutex::new(Some(task)),
        }
    }

    /// Whether anything still cached may be served: at once while the lease is held, else after a
    /// counter read that starts after this call succeeded.
    pub async fn pass(&self) -> bool {
        if self.shared.coverage.holds_lease() {
            return true;
        }
        let needed = *self.started.lock().unwrap_or_else(PoisonError::into_inner) + 1;
        let mut finished = self.finished.clone();
        self.demand.notify_one();
        let round =
            tokio::time::timeout(FENCE_WAIT, finished.wait_for(|r| r.number >= needed)).await;
        matches!(round, Ok(Ok(round)) if round.succeeded)
    }

    /// Gives the lease up and stops the task (at shutdown, so writers need not wait for the lease to
    /// run out). Dropping the fence does the same without waiting.
    pub async fn release(&self) {
        self.shared.stop.notify_one();
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            // The statement has its own timeout; this only bounds a stuck connect.
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    /// Records that the cache was dropped after a local write drew `value` from the counter: a later
    /// read of `value` (or less) need not drop it again.
    pub fn cover(&self, value: i64) {
        self.shared.dropped_for(value);
    }

    /// For the change feed: what it dropped the cache for.
    pub fn announcements(&self) -> Announcements {
        Announcements(Arc::clone(&self.shared))
    }

    /// Whether the read lease is held now (hits are served without reading the counter).
    pub fn holds_lease(&self) -> bool {
        self.shared.coverage.holds_lease()
    }

    /// How many times the counter was read so far.
    pub fn counter_reads(&self) -> u64 {
        self.shared.counter_reads.load(Ordering::Relaxed)
    }
}

/// The fence's task: the only user of its connection.
struct FenceTask<F> {
    counter: ChangeCounter,
    on_change: F,
    started: Arc<Mutex<u64>>,
    report: watch::Sender<Round>,
    demand: Arc<Notify>,
    shared: Arc<Shared>,
    /// The highest `covered` the lease row says.
    reported: i64,
}

impl<F: Fn() + Send + Sync + 'static> FenceTask<F> {
    async fn run(mut self) {
        let mut retry = PRIME_RETRY_MIN;
        loop {
            match self.counter.read().await {
                Ok(value) => {
                    self.shared.read(value);
                    (self.on_change)();
                    break;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "read fence: the change counter cannot be read yet; the response cache stays off");
                    tokio::select! {
                        () = tokio::time::sleep(retry) => {}
                        () = self.shared.stop.notified() => return,
                    }
                    retry = (retry * 2).min(PRIME_RETRY_MAX);
                }
            }
        }
        let mut renewal = tokio::time::interval(LEASE_RENEWAL);
        renewal.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = Arc::clone(&self.shared);
        let demand = Arc::clone(&self.demand);
        loop {
            // In this order: under load, requests without a lease want a round all the time, and
            // must not starve the extension that would give them one, nor the writers' reports.
            tokio::select! {
                biased;
                () = shared.stop.notified() => break,
                _ = renewal.tick() => self.extend_lease().await,
                () = shared.to_report.notified() => {}
                () = demand.notified() => {
                    if !self.round().await {
                        break;
                    }
                }
            }
            self.report_covered().await;
        }
        self.shared.coverage.give_lease_up();
        if let Err(err) = self.counter.release_lease().await {
            tracing::debug!(error = %err, "read lease: could not release it; it runs out by itself");
        }
    }

    /// Records a counter value just read, dropping the cache first if it moved past what was covered.
    fn take_read(&self, value: i64) {
        if self.shared.read(value) {
            (self.on_change)();
        }
    }

    /// One numbered read for the requests waiting on [`ReadFence::pass`]; false once nobody listens.
    async fn round(&mut self) -> bool {
        let number = {
            let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
            *started += 1;
            *started
        };
        let succeeded = match self.counter.read().await {
            Ok(value) => {
                self.take_read(value);
                true
            }
            Err(err) => {
                tracing::warn!(error = %err, "read fence: reading the change counter failed; cached responses are bypassed");
                false
            }
        };
        self.report.send(Round { number, succeeded }).is_ok()
    }

    /// Extends the lease in the database, then reads the counter (dropping the cache if it moved), and
    /// only then counts the lease as held, from before the extension was sent.
    async fn extend_lease(&mut self) {
        let sent = Instant::now();
        let covered = self.shared.coverage.covered();
        if let Err(err) = self.counter.extend_lease(covered).await {
            tracing::warn!(error = %err, "read lease: could not extend it; cache hits wait for the change counter until it is back");
            return;
        }
        self.reported = self.reported.max(covered);
        match self.counter.read().await {
            Ok(value) => {
                self.take_read(value);
                self.shared
                    .coverage
                    .hold_lease_until(sent + LEASE_TERM.saturating_sub(LEASE_MARGIN));
            }
            Err(err) => {
                tracing::warn!(error = %err, "read lease: reading the change counter after extending it failed; the lease is not used");
            }
        }
    }

    /// Tells writers what the cache was dropped for since the lease row last said.
    async fn report_covered(&mut self) {
        let covered = self.shared.coverage.covered();
        if covered <= self.reported {
            return;
        }
        match self.counter.cover(covered).await {
            Ok(()) => self.reported = covered,
            // The next extension says it (writers wait for it meanwhile).
            Err(err) => {
                tracing::debug!(error = %err, "read lease: could not report what the cache covers");
            }
        }
    }
}
