//! Read fences: strict read-after-write for cached responses across replicas.
//!
//! Replicas on one PostgreSQL each cache rendered reads. A change notification from another replica's
//! write arrives milliseconds after that write was acknowledged, and a read in those milliseconds would
//! get the old page. So, before a cached response is served, the replica reads the database's change
//! counter (which every write advances after its commit and before it is acknowledged) on a query that
//! began after the request arrived; if the counter moved since the last read, the cache is dropped first.
//! Any write acknowledged before the request arrived is then either in the cached page or has emptied
//! the cache.
//!
//! One read serves every request waiting at the time it starts (as Raft's read index batches reads):
//! under load a replica reads the counter about once per database round trip, whatever its request
//! rate, and not at all while idle. Misses go to the database anyway and skip the fence.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::db::ChangeCounter;

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

/// The fence of one server process; its task stops when this is dropped.
#[derive(Debug)]
pub struct ReadFence {
    /// The number of the newest round that has started.
    started: Arc<Mutex<u64>>,
    finished: watch::Receiver<Round>,
    demand: Arc<Notify>,
    /// The highest counter value the cache is known to reflect: read by a round (after which the cache
    /// was dropped if it had moved), or drawn by a local write before the cache was dropped for it.
    covered: Arc<AtomicI64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReadFence {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReadFence {
    /// Starts the task that reads `counter`: first until a read succeeds, then once per demand.
    /// `on_change` runs after the first successful read and whenever a read finds a value above
    /// everything covered so far, each time before any waiting request is released; it must drop the
    /// cache (and, the first time, may start caching: nothing cached before then is trusted).
    pub fn spawn(mut counter: ChangeCounter, on_change: impl Fn() + Send + Sync + 'static) -> Self {
        let started = Arc::new(Mutex::new(0_u64));
        let (report, finished) = watch::channel(Round::default());
        let demand = Arc::new(Notify::new());
        let covered = Arc::new(AtomicI64::new(0));
        let task = {
            let started = Arc::clone(&started);
            let demand = Arc::clone(&demand);
            let covered = Arc::clone(&covered);
            tokio::spawn(async move {
                let mut retry = PRIME_RETRY_MIN;
                loop {
                    match counter.read().await {
                        Ok(value) => {
                            covered.fetch_max(value, Ordering::AcqRel);
                            on_change();
                            break;
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "read fence: the change counter cannot be read yet; the response cache stays off");
                            tokio::time::sleep(retry).await;
                            retry = (retry * 2).min(PRIME_RETRY_MAX);
                        }
                    }
                }
                loop {
                    demand.notified().await;
                    let number = {
                        let mut started = started.lock().unwrap_or_else(PoisonError::into_inner);
                        *started += 1;
                        *started
                    };
                    let succeeded = match counter.read().await {
                        Ok(value) => {
                            if covered.fetch_max(value, Ordering::AcqRel) < value {
                                on_change();
                            }
                            true
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "read fence: reading the change counter failed; cached responses are bypassed");
                            false
                        }
                    };
                    if report.send(Round { number, succeeded }).is_err() {
                        return;
                    }
                }
            })
        };
        Self {
            started,
            finished,
            demand,
            covered,
            task,
        }
    }

    /// Waits for a counter read that starts after this call; true if it succeeded, so anything still
    /// cached may be served.
    pub async fn pass(&self) -> bool {
        let needed = *self.started.lock().unwrap_or_else(PoisonError::into_inner) + 1;
        let mut finished = self.finished.clone();
        self.demand.notify_one();
        let round =
            tokio::time::timeout(FENCE_WAIT, finished.wait_for(|r| r.number >= needed)).await;
        matches!(round, Ok(Ok(round)) if round.succeeded)
    }

    /// Records that the cache was dropped after a local write drew `value` from the counter: a later
    /// read of `value` (or less) need not drop it again.
    pub fn cover(&self, value: i64) {
        self.covered.fetch_max(value, Ordering::AcqRel);
    }
}
