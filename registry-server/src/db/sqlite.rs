//! The embedded engine: SQLite through sqlx, one file (`registry.db`) in the data directory.
//!
//! Writers start with `BEGIN IMMEDIATE`, which takes SQLite's single write lock up front, so what a
//! writer reads inside its transaction stays true until it commits. Within the process writers first
//! queue, in arrival order, for the one writer slot (`SqliteStore::writer`): SQLite's busy handler
//! polls the lock with growing sleeps, which under concurrent publishers made the tail wait for
//! sleeps, not for work; `busy_timeout` remains for other processes on the file (the CLI). Timestamps are INTEGER microseconds since the epoch, so
//! ordering and `updated_since` comparisons are exact. Search runs on the in-memory index
//! (`crate::search_index`), fed from `search_documents` (one per distinct searchable text of a server,
//! shared by its versions) and the manifests.
//!
//! The flows themselves are engine-neutral (see `engine.rs`); this file holds what only SQLite has.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteQueryResult,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::engine::{ChangedScan, Engine, VersionsOrder};
use super::plan::{NewVersion, text_column};
use super::search::{json_array, json_string};
use super::shared::{connection_error, pool_options, pool_usage, sqlite_max_connections};
use super::sql::{self, Arg, Cell, Columns, Dialect, Row, RowsAffected, Sql, Values, to_micros};
use super::{DatabaseConfig, StoreError};

/// Migrations, embedded so the binary works from any directory.
static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

/// File name of the embedded database inside the data directory.
pub(super) const DATABASE_FILE: &str = "registry.db";
/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Rows a statement may run ahead of its reader (sqlx's default is 50, which makes the SQLite worker
/// thread and the reading task hand over every 50 rows: 5 ms instead of 1-2 ms for the 1,000 versions
/// a publish reads). Every read here collects all its rows anyway, so this bounds no memory.
const ROW_BUFFER: usize = 1024;
/// Below this many rows changed since `updated_since`, a list sorts them instead of walking the keyset
/// index (about the square root of page size × a large registry's row count).
const UPDATED_SINCE_PROBE: i64 = 4096;

/// The registry's storage in an SQLite file.
#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    /// The one writer slot: held by a write transaction until it ends, and by each statement that
    /// writes outside one, so in-process writers take SQLite's lock in turn.
    writer: Arc<Semaphore>,
    /// How many of this process's transactions that added search documents have committed (see
    /// `Engine::documents_committed`).
    documents_committed: Arc<AtomicU64>,
}

/// A write transaction, holding the writer slot.
pub(crate) struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    _writer: OwnedSemaphorePermit,
    /// Whether it added search documents.
    added_documents: bool,
}

impl SqliteStore {
    async fn writer_slot(&self) -> Result<OwnedSemaphorePermit, StoreError> {
        // The semaphore is never closed.
        Arc::clone(&self.writer)
            .acquire_owned()
            .await
            .map_err(|err| StoreError::Unavailable(format!("writer queue closed: {err}")))
    }
}

impl SqliteStore {
    /// Opens the database a `sqlite:` URL names (created when missing).
    pub(crate) async fn connect_url(
        url: &str,
        config: &DatabaseConfig,
    ) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| StoreError::Config(format!("SQLite URL `{url}`: {err}")))?;
        Self::open(options, config).await
    }

    /// Opens (creating both when missing) `registry.db` in `dir`.
    pub(crate) async fn open_in_dir(
        dir: &Path,
        config: &DatabaseConfig,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|err| {
            StoreError::Config(format!(
                "cannot create data directory {}: {err}",
                dir.display()
            ))
        })?;
        Self::open(
            SqliteConnectOptions::new().filename(dir.join(DATABASE_FILE)),
            config,
        )
        .await
    }

    async fn open(
        options: SqliteConnectOptions,
        config: &DatabaseConfig,
    ) -> Result<Self, StoreError> {
        let options = options
            .create_if_missing(true)
            .foreign_keys(true)
            // WAL: readers never wait for the writer; NORMAL sync is durable across process crashes and
            // much faster for bulk imports (a power loss may drop the last commits, never corrupt).
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            // 1 MiB page cache per connection (the default is 2 MiB): every pooled connection keeps its
            // own, so with 16 connections this is at most 16 MiB of the server's memory; reads
            // take a handful of pages each (search itself runs on the in-memory index) and the OS page
            // cache holds the file anyway. Imports raise it on their connection (`begin_import`).
            .pragma("cache_size", "-1024")
            .pragma("temp_store", "memory")
            .row_buffer_size(ROW_BUFFER);
        let pool = pool_options::<Sqlite>(config, sqlite_max_connections(config))
            .connect_with(options)
            .await
            .map_err(connection_error)?;
        Ok(Self {
            pool,
            writer: Arc::new(Semaphore::new(1)),
            documents_committed: Arc::new(AtomicU64::new(0)),
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
}

impl Engine for SqliteStore {
    type Tx = SqliteTx;

    /// Rows are bound value by value (`values (…), (…)`), well below SQLite's parameter limit.
    const ROWS_PER_STATEMENT: usize = 64;
    /// `begin immediate` already holds the database's only write lock.
    const LOCK_ROWS: &'static str = "";

    async fn fetch(&self, tx: Option<&mut Self::Tx>, sql: Sql<'_>) -> Result<Vec<Row>, StoreError> {
        sql::fetch(&self.pool, tx.map(|tx| &mut tx.tx), &sql).await
    }

    /// Outside a transaction a statement that changes rows writes: it waits for the writer slot.
    async fn execute(&self, tx: Option<&mut Self::Tx>, sql: Sql<'_>) -> Result<u64, StoreError> {
        if let Some(tx) = tx {
            sql::execute(&self.pool, Some(&mut tx.tx), &sql).await
        } else {
            let _writer = self.writer_slot().await?;
            sql::execute(&self.pool, None, &sql).await
        }
    }

    /// Holds SQLite's write lock from the first statement, so concurrent writers wait (up to the busy
    /// timeout) instead of failing when they upgrade from reading to writing.
    async fn begin_write(&self) -> Result<Self::Tx, StoreError> {
        // The slot before a connection: queued writers hold no connection readers need.
        let writer = self.writer_slot().await?;
        let tx = self
            .pool
            .begin_with("begin immediate")
            .await
            .map_err(|err| match &err {
                // Still locked after the busy timeout: overloaded, not broken.
                sqlx::Error::Database(db_err)
                    if db_err
                        .code()
                        .is_some_and(|code| code == "5" || code == "517") =>
                {
                    StoreError::Unavailable(format!("database is busy: {db_err}"))
                }
                _ => err.into(),
            })?;
        Ok(SqliteTx {
            tx,
            _writer: writer,
            added_documents: false,
        })
    }

    async fn begin_import(&self) -> Result<Self::Tx, StoreError> {
        let mut tx = self.begin_write().await?;
        // Imports touch several indexes: 16 MiB of cache on the importing connection.
        self.execute(Some(&mut tx), Sql::new("pragma cache_size = -16384"))
            .await?;
        Ok(tx)
    }

    async fn commit(&self, tx: Self::Tx) -> Result<(), StoreError> {
        let added_documents = tx.added_documents;
        tx.tx.commit().await?;
        if added_documents {
            // After the commit: a search that reads the new count finds the documents in the file.
            self.documents_committed.fetch_add(1, Ordering::Release);
        }
        Ok(())
    }

    /// One process serves the file: its own writes invalidate its caches directly.
    async fn commit_change(&self, tx: Self::Tx) -> Result<(), StoreError> {
        self.commit(tx).await
    }

    async fn after_import(&self) {}

    fn push_in<'a>(sql: &mut Sql<'a>, list: Values<'a>) {
        sql.push(" in (select value from json_each(")
            .bind(list)
            .push("))");
    }

    fn push_rows<'a>(sql: &mut Sql<'a>, columns: Columns<'a>) {
        let outputs: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(index, (name, _))| format!("column{} as {name}", index + 1))
            .collect();
        sql.push(&format!("(select {} from (values ", outputs.join(", ")));
        let rows = columns.first().map_or(0, |(_, values)| values.len());
        for row in 0..rows {
            sql.push(if row == 0 { "(" } else { ", (" });
            for (index, (_, values)) in columns.iter().enumerate() {
                if index > 0 {
                    sql.push(", ");
                }
                sql.bind(values.get(row).unwrap_or(Arg::OptText(None)));
            }
            sql.push(")");
        }
        sql.push("))");
    }

    fn push_json_rows(sql: &mut Sql<'_>, items: &str) {
        sql.push(&format!("json_group_array(json_array({items}))"));
    }

    fn micros(column: &str) -> String {
        column.to_owned()
    }

    /// In any order, the list drives the join (`cross join` fixes the join order): one index lookup
    /// per name, without the temporary b-tree `in (select … json_each(…))` builds for every statement.
    /// By name, `in` reads the names sorted from that b-tree, so the index gives the order unsorted.
    fn push_versions_of<'a>(sql: &mut Sql<'a>, names: &[&'a str], order: VersionsOrder) {
        let names = Values::texts(names.iter().copied());
        match order {
            VersionsOrder::Any => {
                sql.push("json_each(")
                    .bind(names)
                    .push(") as n cross join server_versions v where v.server_name = n.value");
            }
            VersionsOrder::ByName => {
                sql.push("server_versions v where v.server_name");
                Self::push_in(sql, names);
            }
        }
    }

    /// `instr` on the JSON text is a cheap pre-check (same serializer, same escaping); the `json_each`
    /// test is the exact element match.
    fn push_contains<'a>(sql: &mut Sql<'a>, column: &str, value: &'a str) {
        sql.push(&format!(" and instr({column}, "))
            .bind(json_string(value))
            .push(&format!(
                ") > 0 and exists (select 1 from json_each({column}) where value = "
            ))
            .bind(value)
            .push(")");
    }

    /// Ids are assigned here (the write lock is held): ascending in commit order, as the search index
    /// reads new documents above its watermark.
    async fn insert_documents(
        &self,
        tx: &mut Self::Tx,
        versions: &[&NewVersion<'_>],
    ) -> Result<(), StoreError> {
        let next = Sql::new("select coalesce(max(id), 0) + 1 from search_documents");
        let rows = self.fetch(Some(&mut *tx), next).await?;
        let first = rows
            .into_iter()
            .next()
            .map(|mut row| row.int(0))
            .transpose()?
            .unwrap_or(1);
        let ids = Values::Int((first..).take(versions.len()).collect());
        let all = || versions.iter().copied();
        let mut sql =
            Sql::new("insert into search_documents (id, digest, server_name) select * from ");
        Self::push_rows(
            &mut sql,
            vec![
                ("id", ids),
                ("digest", text_column(all(), |v| &v.fields.digest)),
                (
                    "server_name",
                    text_column(all(), |v| v.manifest.name().as_str()),
                ),
            ],
        );
        self.execute(Some(&mut *tx), sql).await?;
        tx.added_documents = true;
        Ok(())
    }

    fn documents_committed(&self) -> Option<u64> {
        Some(self.documents_committed.load(Ordering::Acquire))
    }

    fn is_duplicate_version(err: &StoreError) -> bool {
        matches!(err, StoreError::Database(sqlx::Error::Database(db_err))
            if db_err.is_unique_violation()
                // SQLite names a unique index's columns, not the index, in its message.
                && db_err.message().contains("server_versions.precedence_key"))
    }

    /// Few rows changed since `since`: collect them through the `changed_at` index and sort them.
    /// Otherwise walk the keyset index and filter (`+` keeps the planner off the `changed_at` index),
    /// which stops as soon as the page is full. The probe counts at most [`UPDATED_SINCE_PROBE`] index
    /// entries.
    async fn changed_since_scan(&self, since: OffsetDateTime) -> Result<ChangedScan, StoreError> {
        let sql = Sql::new(
            "select count(*) from (select 1 from server_versions where changed_at > $1 limit $2)",
        )
        .arg(since)
        .arg(UPDATED_SINCE_PROBE);
        let rows = self.fetch(None, sql).await?;
        let count = match rows.into_iter().next() {
            Some(mut row) => row.int(0)?,
            None => 0,
        };
        Ok(if count < UPDATED_SINCE_PROBE {
            ChangedScan {
                from_hint: " indexed by server_versions_changed_at",
                column: "v.changed_at",
            }
        } else {
            ChangedScan {
                from_hint: "",
                column: "+v.changed_at",
            }
        })
    }
}

impl Dialect for Sqlite {
    const POSITIONAL_PLACEHOLDERS: bool = true;

    fn bind_time(
        query: Query<'_, Self, SqliteArguments>,
        at: Option<OffsetDateTime>,
    ) -> Query<'_, Self, SqliteArguments> {
        query.bind(at.map(to_micros))
    }

    /// A JSON array, read back with `json_each`.
    fn bind_list<'q>(
        query: Query<'q, Self, SqliteArguments>,
        values: &Values<'_>,
    ) -> Query<'q, Self, SqliteArguments> {
        let json = match values {
            Values::Text(texts) | Values::Json(texts) => {
                json_array(texts.iter().map(AsRef::as_ref))
            }
            Values::OptText(texts) => serde_json::Value::from(
                texts.iter().map(|text| text.as_deref()).collect::<Vec<_>>(),
            )
            .to_string(),
            Values::Int(values) => serde_json::Value::from(values.clone()).to_string(),
            Values::Bool(values) => serde_json::Value::from(values.clone()).to_string(),
            Values::Time(values) => {
                serde_json::Value::from(values.iter().copied().map(to_micros).collect::<Vec<_>>())
                    .to_string()
            }
        };
        query.bind(json)
    }

    fn cell(_row: &SqliteRow, index: usize, type_name: &str) -> Result<Cell, StoreError> {
        Err(StoreError::Corrupt(format!(
            "column {index} has the unexpected type {type_name}"
        )))
    }
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}
