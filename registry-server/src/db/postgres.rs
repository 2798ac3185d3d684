//! The production engine: PostgreSQL through sqlx, for large registries and several replicas.
//!
//! Writers lock the `servers` row of every server they touch (`select … for update`, in name order so two
//! writers never wait on each other in a cycle): writes to one server run one after another, and writes to
//! different servers run in parallel. Search runs on the in-memory index (`crate::search_index`), fed
//! from `search_documents` (one per distinct searchable text of a server, shared by its versions) and the
//! manifests, the same on both engines. Every write to registry
//! data notifies the other replicas at commit and advances the change counter before it is acknowledged.
//!
//! The flows themselves are engine-neutral (see `engine.rs`); this file holds what only PostgreSQL has.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgListener, PgPool, PgQueryResult, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row as _, Transaction};
use time::OffsetDateTime;

use super::engine::{ChangedScan, Engine, VersionsOrder};
use super::fence::{self, ChangeCounter, Coverage};
use super::plan::{NewVersion, text_column};
use super::search::json_array;
use super::shared::{connection_error, max_connections, pool_options, pool_usage};
use super::sql::{self, Cell, Columns, Dialect, Row, RowsAffected, Sql, Values};
use super::{ChangeSignal, DatabaseConfig, StoreError, redact_url};

/// Migrations, embedded so the binary works from any directory.
static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// The `NOTIFY` channel every write transaction signals on, so other replicas drop cached responses.
/// Notifications are delivered at commit, and not at all on rollback.
const CHANGES_CHANNEL: &str = "mcp_reg_changes";

/// The change counter: advanced after every committed write, before the write is acknowledged; read by
/// replicas' read fences (`crate::read_fence`). A sequence, so writers never wait on each other for it,
/// and not transactional: `last_value` is the newest value any session drew.
/// Also announces the value drawn (`<origin>@<value>`), so replicas holding read leases can tell the
/// writer they dropped their caches for it (`super::fence`). The notification leaves at this statement's
/// commit, after the value was drawn.
/// (A volatile CTE runs once, and a referenced one always runs.)
const ADVANCE_CHANGE_COUNTER: &str = "with drawn as (select nextval('mcp_reg_change_seq') as value), \
     announced as (select pg_notify($1, $2::text || '@' || value) from drawn) \
     select value from drawn, announced";

/// Back-off between attempts to re-establish the change feed.
const FEED_RETRY_MIN: Duration = Duration::from_millis(250);
const FEED_RETRY_MAX: Duration = Duration::from_secs(10);

/// The registry's storage in a PostgreSQL database.
#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pool: PgPool,
    /// Identifies this store's writes in change notifications, so its own feed skips them (the HTTP
    /// layer already invalidated for them, and a late echo would only throw fresh entries away).
    origin: Arc<str>,
    /// The highest change-counter value this store's writes drew (0: none yet).
    last_drawn: Arc<AtomicI64>,
    /// What this replica's caches reflect, kept by its read fence if it has one (strict consistency).
    coverage: Arc<Coverage>,
}

impl PgStore {
    /// Connects a pool to `url` (`postgres://…`).
    pub(crate) async fn connect(url: &str, config: &DatabaseConfig) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|err| {
                StoreError::Config(format!("PostgreSQL URL `{}`: {err}", redact_url(url)))
            })?
            // Every query here is a short keyset or index lookup. With parallel workers allowed, the
            // planner costs a parallel sequential scan of the search documents below the trigram index
            // and a ranked search takes ~1 s at 500k versions instead of ~20 ms.
            .options([("max_parallel_workers_per_gather", "0")]);
        let pool = pool_options::<Postgres>(config, max_connections(config))
            .connect_with(options)
            .await
            .map_err(connection_error)?;
        Ok(Self {
            pool,
            origin: new_origin().into(),
            last_drawn: Arc::default(),
            coverage: Arc::default(),
        })
    }

    /// See [`super::Store::migrate`].
    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// (in use, idle) connections.
    pub(crate) fn pool_usage(&self) -> (u32, u32) {
        pool_usage(self.pool.size(), self.pool.num_idle())
    }

    /// See [`super::Store::spawn_change_feed`].
    pub(crate) fn spawn_change_feed(
        &self,
        on_signal: impl Fn(ChangeSignal) + Send + Sync + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let pool = self.pool.clone();
        let origin = self.origin.clone();
        tokio::spawn(async move {
            let mut retry_delay = FEED_RETRY_MIN;
            loop {
                match listen_for_changes(&pool, &origin, &on_signal).await {
                    // The pool was closed: the store is shutting down.
                    Ok(()) => return,
                    Err(err) => {
                        on_signal(ChangeSignal::Lost);
                        tracing::warn!(error = %err, "change feed lost; retrying in {retry_delay:?}");
                        tokio::time::sleep(retry_delay).await;
                        retry_delay = (retry_delay * 2).min(FEED_RETRY_MAX);
                    }
                }
                if pool.is_closed() {
                    return;
                }
            }
        })
    }

    /// A reader of the change counter on a connection of its own (outside the pool, so busy readers of
    /// the pool never delay it).
    pub(crate) fn change_counter(&self) -> ChangeCounter {
        ChangeCounter::new(
            self.pool.connect_options(),
            Arc::clone(&self.origin),
            Arc::clone(&self.coverage),
        )
    }

    /// See [`super::Store::await_read_leases`].
    pub(crate) async fn await_read_leases(&self, drawn: i64) {
        fence::await_read_leases(&self.pool, drawn).await;
    }

    /// The highest change-counter value this store's writes drew, if any.
    pub(crate) fn last_change_drawn(&self) -> Option<i64> {
        let drawn = self.last_drawn.load(Ordering::Acquire);
        (drawn > 0).then_some(drawn)
    }

    /// Refreshes planner statistics once a bulk import has more than doubled the table since they were
    /// last taken. Autovacuum would, but it may be off or behind, and plans made without statistics are
    /// badly wrong (sequential scans, JIT compilation of trivial lookups). Doubling keeps the number of
    /// `analyze` runs logarithmic in the import size. Best effort: a failure only leaves stale statistics.
    async fn analyze_if_grown(&self) {
        let stale: Result<bool, sqlx::Error> = sqlx::query_scalar(
            "select coalesce(s.n_mod_since_analyze, 0) > greatest(c.reltuples, 1000) \
             from pg_class c left join pg_stat_user_tables s on s.relid = c.oid \
             where c.oid = 'server_versions'::regclass",
        )
        .fetch_one(&self.pool)
        .await;
        let result = match stale {
            Ok(true) => sqlx::query("analyze servers, search_documents, server_versions")
                .execute(&self.pool)
                .await
                .map(drop),
            Ok(false) => Ok(()),
            Err(err) => Err(err),
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "could not refresh planner statistics after an import");
        }
    }
}

impl Engine for PgStore {
    type Tx = Transaction<'static, Postgres>;

    /// Columns are bound as arrays, so a statement can carry many rows.
    const ROWS_PER_STATEMENT: usize = 1000;
    const LOCK_ROWS: &'static str = " for update";

    async fn fetch(&self, tx: Option<&mut Self::Tx>, sql: Sql<'_>) -> Result<Vec<Row>, StoreError> {
        sql::fetch(&self.pool, tx, &sql).await
    }

    async fn execute(&self, tx: Option<&mut Self::Tx>, sql: Sql<'_>) -> Result<u64, StoreError> {
        sql::execute(&self.pool, tx, &sql).await
    }

    async fn begin_write(&self) -> Result<Self::Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }

    async fn begin_import(&self) -> Result<Self::Tx, StoreError> {
        let mut tx = self.pool.begin().await?;
        // A bulk import can be re-run (it skips what is stored), so it does not wait for each commit to
        // reach the disk; a crash loses at most the last batches, never consistency. Publishes keep
        // synchronous commits.
        sqlx::query("set local synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    async fn commit(&self, tx: Self::Tx) -> Result<(), StoreError> {
        Ok(tx.commit().await?)
    }

    /// Tells every listening replica, at commit, that the registry changed; commits; then advances the
    /// change counter. The counter moves after the commit: a replica that sees the new value and
    /// re-renders is sure to see the write. The caller acknowledges the write only after this returns,
    /// so a read that arrives later and fences on the counter cannot be answered from a page rendered
    /// before the write; before returning it also waits for the replicas holding read leases to drop
    /// their caches for the write (`super::fence`).
    ///
    /// Once the commit succeeded the write is acknowledged whatever follows: answering 503 for a stored
    /// write would make the client's retry look like a conflict (and, before identical retries were
    /// answered 200, it did). So a failure to advance the counter after the commit (the database gone
    /// in between) is only logged; replicas then rely on the commit's notification and their cache
    /// lifetime, as they would for a lost notification. (The counter is not drawn inside the
    /// transaction as well: a value that moves before the commit is visible broke the strict
    /// read-after-write test, tests/tests/cache.rs.)
    async fn commit_change(&self, mut tx: Self::Tx) -> Result<(), StoreError> {
        sqlx::query("select pg_notify($1, $2)")
            .bind(CHANGES_CHANNEL)
            .bind(self.origin.as_ref())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        match sqlx::query_scalar::<_, i64>(ADVANCE_CHANGE_COUNTER)
            .bind(CHANGES_CHANNEL)
            .bind(self.origin.as_ref())
            .fetch_one(&self.pool)
            .await
        {
            Ok(drawn) => {
                self.last_drawn.fetch_max(drawn, Ordering::AcqRel);
                fence::await_read_leases(&self.pool, drawn).await;
            }
            Err(err) => tracing::warn!(
                error = %err,
                "a committed write could not advance the change counter after its commit; other \
                 replicas may serve pages cached before it until their cache expires"
            ),
        }
        Ok(())
    }

    async fn after_import(&self) {
        self.analyze_if_grown().await;
    }

    /// While this replica holds its read lease, the change counter's value its caches cover: every
    /// write acknowledged so far, this process's and other replicas', is at or below it (writers wait
    /// for that), so the search index need not ask the database while it has not moved.
    fn documents_committed(&self) -> Option<u64> {
        self.coverage
            .covered_under_lease()
            .and_then(|covered| u64::try_from(covered).ok())
    }

    fn push_json_rows(sql: &mut Sql<'_>, items: &str) {
        sql.push(&format!(
            "coalesce(json_agg(json_build_array({items})), '[]')::text"
        ));
    }

    /// `extract` gives an exact numeric (PostgreSQL 14 and later), so no microsecond is lost.
    fn micros(column: &str) -> String {
        format!("(extract(epoch from {column}) * 1000000)::bigint")
    }

    fn push_in<'a>(sql: &mut Sql<'a>, list: Values<'a>) {
        sql.push(" = any(").bind(list).push(")");
    }

    fn push_rows<'a>(sql: &mut Sql<'a>, columns: Columns<'a>) {
        let (mut outputs, mut arrays, mut names) = (Vec::new(), Vec::new(), Vec::new());
        for (name, values) in columns {
            let (array_type, cast) = match &values {
                Values::Text(_) | Values::OptText(_) => ("text[]", ""),
                Values::Json(_) => ("text[]", "::jsonb"),
                Values::Int(_) => ("int8[]", ""),
                Values::Bool(_) => ("bool[]", ""),
                Values::Time(_) => ("timestamptz[]", ""),
            };
            outputs.push(format!("u.{name}{cast} as {name}"));
            arrays.push(format!("{}::{array_type}", sql.param(values)));
            names.push(name);
        }
        sql.push(&format!(
            "(select {} from unnest({}) as u ({}))",
            outputs.join(", "),
            arrays.join(", "),
            names.join(", ")
        ));
    }

    /// One form for both orders: PostgreSQL sorts for an `order by` what the lookups return.
    fn push_versions_of<'a>(sql: &mut Sql<'a>, names: &[&'a str], _order: VersionsOrder) {
        // One index lookup per name whatever the statistics say: `= any($1)` is planned as a sequential
        // scan while the table has not been analyzed (a first bulk import), and `offset 0` keeps the
        // planner from turning the lateral lookup back into a hash join.
        sql.push("unnest(")
            .bind(Values::texts(names.iter().copied()))
            .push(
                "::text[]) as n (name) cross join lateral \
                 (select * from server_versions where server_name = n.name offset 0) v where true",
            );
    }

    fn push_contains<'a>(sql: &mut Sql<'a>, column: &str, value: &'a str) {
        sql.push(" and ")
            .push(column)
            .push(" @> ")
            .bind(json_array([value]))
            .push("::jsonb");
    }

    async fn insert_documents(
        &self,
        tx: &mut Self::Tx,
        versions: &[&NewVersion<'_>],
    ) -> Result<(), StoreError> {
        let all = || versions.iter().copied();
        let mut sql = Sql::new(
            "insert into search_documents (digest, server_name) select r.digest, r.server_name from ",
        );
        Self::push_rows(
            &mut sql,
            vec![
                ("digest", text_column(all(), |v| &v.fields.digest)),
                (
                    "server_name",
                    text_column(all(), |v| v.manifest.name().as_str()),
                ),
            ],
        );
        sql.push(" r on conflict (digest) do nothing");
        self.execute(Some(tx), sql).await?;
        Ok(())
    }

    fn is_duplicate_version(err: &StoreError) -> bool {
        matches!(err, StoreError::Database(sqlx::Error::Database(db_err))
            if db_err.constraint() == Some("server_versions_precedence_key"))
    }

    async fn changed_since_scan(&self, _since: OffsetDateTime) -> Result<ChangedScan, StoreError> {
        Ok(ChangedScan::PLAIN)
    }
}

impl Dialect for Postgres {
    fn bind_time(
        query: Query<'_, Self, PgArguments>,
        at: Option<OffsetDateTime>,
    ) -> Query<'_, Self, PgArguments> {
        query.bind(at)
    }

    fn bind_list<'q>(
        query: Query<'q, Self, PgArguments>,
        values: &Values<'_>,
    ) -> Query<'q, Self, PgArguments> {
        match values {
            Values::Text(texts) | Values::Json(texts) => {
                query.bind(texts.iter().map(AsRef::as_ref).collect::<Vec<&str>>())
            }
            Values::OptText(texts) => {
                query.bind(texts.iter().map(Option::as_deref).collect::<Vec<_>>())
            }
            Values::Int(values) => query.bind(values.as_slice()),
            Values::Bool(values) => query.bind(values.as_slice()),
            Values::Time(values) => query.bind(values.as_slice()),
        }
    }

    fn cell(row: &PgRow, index: usize, type_name: &str) -> Result<Cell, StoreError> {
        match type_name {
            "TIMESTAMPTZ" => Ok(Cell::Time(row.try_get(index)?)),
            other => Err(StoreError::Corrupt(format!(
                "column {index} has the unexpected type {other}"
            ))),
        }
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}

/// Holds one connection in `LISTEN` and reports until the connection fails (`Err`) or the pool closes.
async fn listen_for_changes(
    pool: &PgPool,
    own_origin: &str,
    on_signal: &(impl Fn(ChangeSignal) + Send + Sync),
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    on_signal(ChangeSignal::Listening);
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                // `<origin>` at a commit; `<origin>@<value>` once the counter was advanced after it.
                let payload = notification.payload();
                match payload.split_once('@') {
                    Some((_, value)) => match value.parse() {
                        Ok(value) => on_signal(ChangeSignal::Advanced(value)),
                        Err(_) => on_signal(ChangeSignal::Changed),
                    },
                    None if payload == own_origin => {}
                    None => on_signal(ChangeSignal::Changed),
                }
            }
            // The connection dropped and was re-established: whatever was sent meanwhile is lost.
            Ok(None) => {
                on_signal(ChangeSignal::Lost);
                on_signal(ChangeSignal::Listening);
            }
            Err(sqlx::Error::PoolClosed) => return Ok(()),
            Err(err) => return Err(err),
        }
    }
}

/// A random id for one store (one server process).
fn new_origin() -> String {
    let mut random = [0u8; 8];
    if getrandom::fill(&mut random).is_err() {
        // Practically unreachable on supported systems; the process id is a weaker but usable id.
        random[..4].copy_from_slice(&std::process::id().to_le_bytes());
    }
    hex::encode(random)
}
