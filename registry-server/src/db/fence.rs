//! The database's side of strict cache consistency across replicas on PostgreSQL (the replica's side is
//! `crate::read_fence`): the change counter every write advances before it is acknowledged, and the
//! read leases (`replica_leases`) writers wait on.
//!
//! A replica that holds a live lease serves cached responses without asking the database. A writer,
//! after its commit has advanced the counter to `c`, waits before acknowledging until every live lease
//! covers `c` (its replica dropped its cache after `c` was drawn, and said so) or has run out. Each
//! replica hears of `c` through the change feed and covers it within a round trip or two; one that does
//! not (its feed is down, it hangs, it crashed) costs writers at most a lease term.
//!
//! Why a reader may trust its lease: it extends its lease in the database first, then reads the counter
//! on a query that starts after that commit (dropping its cache if the counter moved), and only then
//! counts the lease as held, until the time it sent the extension plus the term (less a margin). A
//! writer that found the lease ended (by the database's clock) either saw the last extension, which
//! ended before, or the extension committed after the writer's counter had moved and the reader's
//! following read dropped the cache for it. Clocks are never compared across machines: the database
//! sets `expires_at` by its own clock, and each replica measures its own lease on its monotonic clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgPool};

use super::StoreError;
use super::shared::connection_error;

/// How long a lease lasts after its extension was sent. Writers wait at most this long for a replica
/// that stopped covering changes.
pub const LEASE_TERM: Duration = Duration::from_secs(2);

/// How often a replica extends its lease (so a lease is never close to running out while it is used).
pub const LEASE_RENEWAL: Duration = Duration::from_millis(500);

/// Taken off each lease, for the difference between the rates of the replica's and the database's
/// clocks and for scheduling: far more than either needs over one term.
pub const LEASE_MARGIN: Duration = Duration::from_millis(250);

/// Longest a read of the change counter (or a lease statement) may take, connecting included.
const COUNTER_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a writer looks at the leases it waits for back to back: replicas usually cover a change
/// within a millisecond, and the runtime's timers cannot pause for less.
const WAIT_SPIN: Duration = Duration::from_millis(2);
/// Pauses between later looks (doubling).
const WAIT_POLL_MIN: Duration = Duration::from_millis(1);
const WAIT_POLL_MAX: Duration = Duration::from_millis(20);

const READ_CHANGE_COUNTER: &str = "select last_value from mcp_reg_change_seq";

/// After a writer drew `drawn`: how many live leases (its own replica's included: the change feed
/// drops that cache too) do not cover it yet, and in how many seconds the last of them runs out.
const UNCOVERED_LEASES: &str = "select count(*), \
     coalesce(extract(epoch from max(expires_at) - now())::float8, 0) \
     from replica_leases where covered < $1 and expires_at > now()";

/// Waits, after a commit advanced the change counter to `drawn`, until every live read lease covers it
/// or has run out (see the module's comment). Best effort once the write is committed: if the database
/// cannot be asked, the write is acknowledged anyway and leases run out within a term.
pub(crate) async fn await_read_leases(pool: &PgPool, drawn: i64) {
    let started = Instant::now();
    let deadline = started + LEASE_TERM + LEASE_MARGIN;
    let mut pause = WAIT_POLL_MIN;
    loop {
        let uncovered: Result<(i64, f64), sqlx::Error> = sqlx::query_as(UNCOVERED_LEASES)
            .bind(drawn)
            .fetch_one(pool)
            .await;
        let remaining = match uncovered {
            Ok((0, _)) => return,
            Ok((_, seconds)) => Duration::try_from_secs_f64(seconds).unwrap_or_default(),
            Err(err) => {
                tracing::warn!(error = %err, "a committed write could not check the replicas' read leases; replicas that missed it may serve older pages until their leases run out");
                return;
            }
        };
        let now = Instant::now();
        if now >= deadline {
            // Every lease extended before `drawn` has run out by now, and one extended later was
            // followed by a counter read that dropped its cache: nothing can still be stale.
            return;
        }
        if now.duration_since(started) < WAIT_SPIN {
            continue;
        }
        let pause_until = now + pause.min(remaining + WAIT_POLL_MIN);
        tokio::time::sleep_until(pause_until.min(deadline).into()).await;
        pause = (pause * 2).min(WAIT_POLL_MAX);
    }
}

/// What one replica's caches are known to reflect, and whether it holds its read lease: kept by its
/// read fence (`crate::read_fence`), read by its cache and by its search (`super::ranked::refresh`).
#[derive(Debug)]
pub struct Coverage {
    /// The highest change-counter value the caches were dropped for (or read before they were filled).
    covered: AtomicI64,
    /// Until when the lease is held, in nanoseconds after `epoch` (0: not held).
    lease_until: AtomicU64,
    epoch: Instant,
}

impl Default for Coverage {
    fn default() -> Self {
        Self {
            covered: AtomicI64::new(0),
            lease_until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl Coverage {
    /// The highest counter value covered.
    pub fn covered(&self) -> i64 {
        self.covered.load(Ordering::Acquire)
    }

    /// Records that the caches were dropped after the counter reached `value` (or that `value` was read
    /// before they were filled); true if that covers more than before.
    pub fn raise(&self, value: i64) -> bool {
        self.covered.fetch_max(value, Ordering::AcqRel) < value
    }

    /// Whether the lease is held now.
    pub fn holds_lease(&self) -> bool {
        let until = self.lease_until.load(Ordering::Acquire);
        until != 0 && self.nanos(Instant::now()) < until
    }

    /// Counts the lease as held until `until` (see the module's comment for when that is allowed).
    pub fn hold_lease_until(&self, until: Instant) {
        self.lease_until
            .store(self.nanos(until).max(1), Ordering::Release);
    }

    /// Stops counting the lease as held.
    pub fn give_lease_up(&self) {
        self.lease_until.store(0, Ordering::Release);
    }

    /// What is covered, while the lease is held: every write acknowledged before now is at or below
    /// it, and dropped caches were refilled only after it was reached.
    pub(crate) fn covered_under_lease(&self) -> Option<i64> {
        // Covered first: a value read while the lease is held is one writers waited for.
        let covered = self.covered();
        self.holds_lease().then_some(covered)
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// One replica's connection for its read fence and lease: outside the pool, so busy readers of the
/// pool never delay it. Reads the counter that `PgStore::commit_change` advances, and keeps the lease.
#[derive(Debug)]
pub struct ChangeCounter {
    options: Arc<PgConnectOptions>,
    /// The lease's key: the store's origin, which its change notifications carry too.
    replica: Arc<str>,
    /// The store's coverage, which this connection's reads and lease keep.
    coverage: Arc<Coverage>,
    /// Opened on first use and again after any failure.
    connection: Option<PgConnection>,
}

impl ChangeCounter {
    pub(crate) fn new(
        options: Arc<PgConnectOptions>,
        replica: Arc<str>,
        coverage: Arc<Coverage>,
    ) -> Self {
        Self {
            options,
            replica,
            coverage,
            connection: None,
        }
    }

    /// The store's coverage, shared with its search.
    pub fn coverage(&self) -> Arc<Coverage> {
        Arc::clone(&self.coverage)
    }

    /// The counter's current value, read on a query that starts after this call.
    pub async fn read(&mut self) -> Result<i64, StoreError> {
        let outcome = within_timeout(async {
            let connection = self.connection().await?;
            Ok(sqlx::query_scalar(READ_CHANGE_COUNTER)
                .fetch_one(connection)
                .await?)
        })
        .await;
        self.keep_unless_failed(outcome)
    }

    /// Extends this replica's lease to a term from now (by the database's clock), saying it covers
    /// `covered`. The lease may be counted as held only after a counter read that starts after this
    /// returns (see the module's comment).
    pub async fn extend_lease(&mut self, covered: i64) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(EXTEND_LEASE)
                .bind(self.replica.to_string())
                .bind(covered)
                .bind(LEASE_TERM.as_secs_f64()),
        )
        .await
    }

    /// Tells writers that this replica's cache holds nothing older than `covered`.
    pub async fn cover(&mut self, covered: i64) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "update replica_leases set covered = greatest(covered, $2) where replica = $1",
            )
            .bind(self.replica.to_string())
            .bind(covered),
        )
        .await
    }

    /// Gives the lease up, so writers stop waiting for this replica at once.
    pub async fn release_lease(&mut self) -> Result<(), StoreError> {
        self.execute(
            sqlx::query("delete from replica_leases where replica = $1")
                .bind(self.replica.to_string()),
        )
        .await
    }

    async fn execute(
        &mut self,
        statement: sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<(), StoreError> {
        let outcome = within_timeout(async {
            let connection = self.connection().await?;
            statement.execute(connection).await?;
            Ok(())
        })
        .await;
        self.keep_unless_failed(outcome)
    }

    /// The open connection, or a new one.
    async fn connection(&mut self) -> Result<&mut PgConnection, StoreError> {
        if self.connection.is_none() {
            let opened = sqlx::ConnectOptions::connect(self.options.as_ref())
                .await
                .map_err(connection_error)?;
            self.connection = Some(opened);
        }
        self.connection
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("the change counter's connection".to_owned()))
    }

    /// A connection in an unknown state (after any failure) is not reused.
    fn keep_unless_failed<T>(&mut self, outcome: Result<T, StoreError>) -> Result<T, StoreError> {
        if outcome.is_err() {
            self.connection = None;
        }
        outcome
    }
}

async fn within_timeout<T>(
    attempt: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(COUNTER_READ_TIMEOUT, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the change counter's connection timed out".to_owned(),
            ))
        })
}

/// Extends (or takes) a lease; also deletes other replicas' leases that ended an hour ago or more
/// (replicas gone for good).
const EXTEND_LEASE: &str = "with gone as (delete from replica_leases \
     where expires_at < now() - interval '1 hour' and replica <> $1) \
     insert into replica_leases (replica, covered, expires_at) \
     values ($1, $2, now() + make_interval(secs => $3)) \
     on conflict (replica) do update set covered = greatest(replica_leases.covered, excluded.covered), \
     expires_at = excluded.expires_at";
