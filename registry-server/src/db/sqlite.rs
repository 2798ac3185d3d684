//! The embedded engine: SQLite through sqlx, one file (`registry.db`) in the data directory.
//!
//! Writers start with `BEGIN IMMEDIATE`, which takes SQLite's single write lock up front: concurrent
//! writers queue on `busy_timeout` instead of failing halfway, and what a writer reads inside its
//! transaction stays true until it commits. Timestamps are INTEGER microseconds since the epoch, so
//! ordering and `updated_since` comparisons are exact. Search runs over `search_documents` (one per
//! distinct searchable text of a server, shared by its versions) with two FTS5 tables: trigrams narrow
//! substring searches, and a word table answers full-text matches.
//!
//! The second half of this file holds the engine-neutral pieces (search columns, search terms, the
//! write plan) that `postgres.rs` uses too, so both engines derive the same data the same way.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use registry_schema::Manifest;
use registry_schema::version::{LatestCandidate, pick_latest, precedence_key};
use sha2::{Digest, Sha256};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite, SqliteConnection};
use time::OffsetDateTime;

use super::{
    Cursor, DEFAULT_PAGE_SIZE, DatabaseConfig, ImportOutcome, ListQuery, MAX_PAGE_SIZE, Page,
    Status, StatusChange, StatusOutcome, StoreError, TokenRecord, VersionRecord, VersionSelector,
    now,
};

/// Migrations, embedded so the binary works from any directory.
static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

/// File name of the embedded database inside the data directory.
const DATABASE_FILE: &str = "registry.db";
/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Rows per multi-row `insert` during imports (at most 11 parameters each, far below SQLite's limit).
const INSERT_CHUNK: usize = 64;
/// Below this many rows changed since `updated_since`, a list sorts them instead of walking the keyset
/// index (about the square root of page size × a large registry's row count).
const UPDATED_SINCE_PROBE: i64 = 4096;

/// The columns a [`VersionRecord`] is read from, in [`record`]'s order.
macro_rules! record_columns {
    () => {
        "v.server_name, v.version, v.manifest, v.status, v.status_message, v.status_changed_at, \
         v.published_at, v.updated_at, v.is_latest"
    };
}

/// The registry's storage in an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens the database a `sqlite:` URL names (created when missing).
    pub async fn connect_url(url: &str, config: &DatabaseConfig) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| StoreError::Config(format!("SQLite URL `{url}`: {err}")))?;
        Self::open(options, config).await
    }

    /// Opens (creating both when missing) `registry.db` in `dir`.
    pub async fn open_in_dir(dir: &Path, config: &DatabaseConfig) -> Result<Self, StoreError> {
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
            // 16 MiB page cache per connection (the default is 2 MiB): imports touch several indexes.
            .pragma("cache_size", "-16384")
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections(config))
            .acquire_timeout(acquire_timeout(config))
            .connect_with(options)
            .await
            .map_err(connection_error)?;
        Ok(Self { pool })
    }

    /// See [`super::Store::migrate`].
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// See [`super::Store::ping`].
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map_err(connection_error)?;
        Ok(())
    }

    /// See [`super::Store::publish`].
    pub async fn publish(&self, manifest: &Manifest) -> Result<VersionRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let now = now();
        let written = write_batch(&mut tx, std::slice::from_ref(manifest), now).await?;
        if let Some(duplicate) = written.duplicates.first() {
            return Err(duplicate_error(duplicate));
        }
        tx.commit().await?;
        let is_latest = written.latest_inserted.first().copied().unwrap_or(false);
        Ok(new_record(manifest, now, is_latest))
    }

    /// See [`super::Store::import`].
    pub async fn import(&self, manifests: &[Manifest]) -> Result<ImportOutcome, StoreError> {
        if manifests.is_empty() {
            return Ok(ImportOutcome::default());
        }
        let mut tx = self.begin_write().await?;
        let written = write_batch(&mut tx, manifests, now()).await?;
        tx.commit().await?;
        Ok(ImportOutcome {
            inserted: written.latest_inserted.len() as u64,
            skipped: written.duplicates.len() as u64,
        })
    }

    /// See [`super::Store::list_servers`].
    pub async fn list_servers(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let limit = page_limit(query.limit);
        let Some(filters) = Filters::new(query) else {
            return Ok(Page::default());
        };
        let search = query.search.as_deref().and_then(SearchTerm::new);
        let mut builder = QueryBuilder::<Sqlite>::new("");
        match &search {
            None => {
                builder.push(concat!(
                    "select ",
                    record_columns!(),
                    ", 0 as tier from server_versions v"
                ));
                // Few rows changed since `updated_since`: collect them through the `updated_at` index
                // and sort them. Otherwise walk the keyset index and filter (`+` keeps the planner off the
                // `updated_at` index), which stops as soon as the page is full.
                let few_updated = match filters.updated_since {
                    Some(since) => self.few_updated_since(since).await?,
                    None => false,
                };
                if few_updated {
                    builder.push(" indexed by server_versions_updated_at");
                }
                builder.push(" where true");
                push_filters(&mut builder, &filters, few_updated);
                if let Some((server_name, version)) = cursor_position(query.cursor.as_ref()) {
                    builder.push(" and (v.server_name, v.version) > (");
                    builder.push_bind(server_name.to_owned());
                    builder.push(", ");
                    builder.push_bind(version.to_owned());
                    builder.push(")");
                }
                builder.push(" order by v.server_name, v.version limit ");
                builder.push_bind(i64::from(limit));
            }
            Some(term) => {
                // Rank and cut the page on narrow rows first; read the wide columns (the manifest) only
                // for the rows on the page.
                let cursor = cursor_ranked(query.cursor.as_ref());
                builder.push(concat!(
                    "select ",
                    record_columns!(),
                    ", h.tier from (select * from (select v.id, d.tier, v.server_name, v.version \
                     from (select d.id, d.server_name, "
                ));
                push_tier(&mut builder, term);
                builder.push(" as tier from search_documents d where ");
                push_search_condition(&mut builder, term);
                builder.push(") d join server_versions v on v.document_id = d.id where true");
                push_filters(&mut builder, &filters, true);
                if let Some((tier, server_name, _)) = cursor {
                    // Skips the documents before the cursor without joining their versions.
                    builder.push(" and (d.tier, d.server_name) >= (");
                    builder.push_bind(i64::from(tier));
                    builder.push(", ");
                    builder.push_bind(server_name.to_owned());
                    builder.push(")");
                }
                builder.push(")");
                if let Some((tier, server_name, version)) = cursor {
                    builder.push(" where (tier, server_name, version) > (");
                    builder.push_bind(i64::from(tier));
                    builder.push(", ");
                    builder.push_bind(server_name.to_owned());
                    builder.push(", ");
                    builder.push_bind(version.to_owned());
                    builder.push(")");
                }
                builder.push(" order by tier, server_name, version limit ");
                builder.push_bind(i64::from(limit));
                builder.push(
                    ") h join server_versions v on v.id = h.id \
                     order by h.tier, h.server_name, h.version",
                );
            }
        }
        let rows = builder.build().fetch_all(&self.pool).await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut last_tier = 0;
        for row in &rows {
            items.push(record(row)?);
            last_tier = row.try_get::<i64, _>(9)?;
        }
        let next_cursor = next_cursor(&items, limit, search.is_some(), last_tier)?;
        Ok(Page { items, next_cursor })
    }

    /// See [`super::Store::list_versions`].
    pub async fn list_versions(
        &self,
        server_name: &str,
        include_deleted: bool,
    ) -> Result<Vec<VersionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "select ",
            record_columns!(),
            " from server_versions v where v.server_name = ?1 and (?2 or v.status <> 'deleted') \
             order by v.published_at desc, v.id desc"
        ))
        .bind(server_name)
        .bind(include_deleted)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    /// See [`super::Store::find_version`].
    pub async fn find_version(
        &self,
        server_name: &str,
        version: &VersionSelector,
        include_deleted: bool,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let row = match version {
            VersionSelector::Latest => {
                sqlx::query(concat!(
                    "select ",
                    record_columns!(),
                    " from server_versions v where v.server_name = ?1 and v.is_latest \
                     and (?2 or v.status <> 'deleted')"
                ))
                .bind(server_name)
                .bind(include_deleted)
                .fetch_optional(&self.pool)
                .await?
            }
            VersionSelector::Exact(version) => {
                sqlx::query(concat!(
                    "select ",
                    record_columns!(),
                    " from server_versions v where v.server_name = ?1 and v.version = ?2 \
                     and (?3 or v.status <> 'deleted')"
                ))
                .bind(server_name)
                .bind(version)
                .bind(include_deleted)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        row.as_ref().map(record).transpose()
    }

    /// See [`super::Store::update_version_status`].
    pub async fn update_version_status(
        &self,
        server_name: &str,
        version: &str,
        change: &StatusChange,
    ) -> Result<StatusOutcome, StoreError> {
        self.change_status(server_name, Some(version), change).await
    }

    /// See [`super::Store::update_server_status`].
    pub async fn update_server_status(
        &self,
        server_name: &str,
        change: &StatusChange,
    ) -> Result<StatusOutcome, StoreError> {
        self.change_status(server_name, None, change).await
    }

    /// Changes the status of one version (`Some`) or of all (`None`), then moves the latest flag.
    async fn change_status(
        &self,
        server_name: &str,
        version: Option<&str>,
        change: &StatusChange,
    ) -> Result<StatusOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut stored = stored_versions(&mut tx, &[server_name])
            .await?
            .remove(server_name)
            .unwrap_or_default();
        let plan = plan_status_change(&mut stored, version, change)?;
        let now = now();
        let now_us = to_micros(now);
        if !plan.changed.is_empty() {
            sqlx::query(
                "update server_versions set status = ?1, status_message = ?2, \
                 status_changed_at = case when status <> ?1 then ?3 else status_changed_at end, \
                 updated_at = ?3 where id in (select value from json_each(?4))",
            )
            .bind(change.status.as_str())
            .bind(change.message.as_deref())
            .bind(now_us)
            .bind(id_list(&plan.changed))
            .execute(&mut *tx)
            .await?;
        }
        apply_latest_moves(&mut tx, &plan.moves, now_us).await?;
        let rows = sqlx::query(concat!(
            "select ",
            record_columns!(),
            ", v.id from server_versions v where v.id in (select value from json_each(?1)) \
             order by v.published_at desc, v.id desc"
        ))
        .bind(id_list(&plan.addressed))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let changed: HashSet<i64> = plan.changed.iter().copied().collect();
        let mut outcome = StatusOutcome {
            changed: Vec::new(),
            versions: Vec::with_capacity(rows.len()),
        };
        for row in &rows {
            let record = record(row)?;
            if changed.contains(&row.try_get::<i64, _>(9)?) {
                outcome.changed.push(record.clone());
            }
            outcome.versions.push(record);
        }
        Ok(outcome)
    }

    /// See [`super::Store::insert_token`].
    pub async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "insert into api_tokens (id, secret_sha256, permissions, description, created_at) \
             values (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&token.id)
        .bind(&token.secret_sha256)
        .bind(&token.permissions)
        .bind(token.description.as_deref())
        .bind(to_micros(token.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// See [`super::Store::find_token`].
    pub async fn find_token(&self, secret_sha256: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(
            "select id, secret_sha256, permissions, description, created_at from api_tokens \
             where secret_sha256 = ?1",
        )
        .bind(secret_sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(TokenRecord {
                id: row.try_get(0)?,
                secret_sha256: row.try_get(1)?,
                permissions: row.try_get(2)?,
                description: row.try_get(3)?,
                created_at: from_micros(row.try_get(4)?)?,
            })
        })
        .transpose()
    }

    /// (in use, idle) connections.
    pub fn pool_usage(&self) -> (u32, u32) {
        pool_usage(self.pool.size(), self.pool.num_idle())
    }

    /// Whether fewer than [`UPDATED_SINCE_PROBE`] rows changed after `since` (counted on the index, so the
    /// probe costs at most that many index entries).
    async fn few_updated_since(&self, since: OffsetDateTime) -> Result<bool, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "select count(*) from (select 1 from server_versions where updated_at > ?1 limit ?2)",
        )
        .bind(to_micros(since))
        .bind(UPDATED_SINCE_PROBE)
        .fetch_one(&self.pool)
        .await?;
        Ok(count < UPDATED_SINCE_PROBE)
    }

    /// A write transaction holding SQLite's write lock from its first statement, so concurrent writers
    /// wait (up to the busy timeout) instead of failing when they upgrade from reading to writing.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        self.pool
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
            })
    }
}

/// What [`write_batch`] did.
struct Written<'m> {
    /// Whether each inserted version became latest, in insert order.
    latest_inserted: Vec<bool>,
    /// Versions left out because the same precedence is stored (or came earlier in the batch).
    duplicates: Vec<&'m Manifest>,
}

/// Inserts `manifests` (skipping duplicates) and moves the latest flags, inside the caller's write
/// transaction.
async fn write_batch<'m>(
    tx: &mut SqliteConnection,
    manifests: &'m [Manifest],
    now: OffsetDateTime,
) -> Result<Written<'m>, StoreError> {
    let now_us = to_micros(now);
    let names = touched_names(manifests);
    let names_json = json_array(names.iter().copied());
    sqlx::query(
        "insert into servers (name, created_at) select value, ?2 from json_each(?1) where true \
         on conflict (name) do nothing",
    )
    .bind(&names_json)
    .bind(now_us)
    .execute(&mut *tx)
    .await?;
    let stored = stored_versions(tx, &names).await?;
    let plan = plan_batch(manifests, &stored);
    apply_latest_moves(tx, &plan.moves, now_us).await?;
    let documents = ensure_documents(tx, &plan.inserts).await?;
    if let Err(err) = insert_versions(tx, &plan.inserts, &documents, now_us).await {
        return Err(match plan.inserts.first() {
            Some(first) => map_duplicate(err, first.manifest),
            None => err,
        });
    }
    Ok(Written {
        latest_inserted: plan.inserts.iter().map(|row| row.is_latest).collect(),
        duplicates: plan.duplicates,
    })
}

/// Multi-row statements (`insert … values (…), (…)`), built once per size and reused.
#[derive(Default)]
struct Statements(BTreeMap<(&'static str, usize), Arc<str>>);

impl Statements {
    /// `head` followed by `rows` copies of `row`.
    fn get(
        &mut self,
        head: &'static str,
        row: &'static str,
        rows: usize,
    ) -> AssertSqlSafe<Arc<str>> {
        let sql = self
            .0
            .entry((head, rows))
            .or_insert_with(|| repeat_values(head, row, rows).into());
        AssertSqlSafe(Arc::clone(sql))
    }
}

/// The search document id of every digest the new versions need, inserting (and indexing) the documents
/// that are not stored yet.
async fn ensure_documents<'a>(
    tx: &mut SqliteConnection,
    inserts: &'a [NewVersion<'_>],
) -> Result<HashMap<&'a str, i64>, StoreError> {
    const DOCUMENT_HEAD: &str = "insert into search_documents (id, digest, server_name, \
        search_name, search_text) values ";
    const DOCUMENT_ROW: &str = "(?, ?, ?, ?, ?)";
    const WORDS_HEAD: &str = "insert into search_documents_words (rowid, words) values ";
    const TRIGRAMS_HEAD: &str = "insert into search_documents_trigrams (rowid, haystack) values ";
    const PAIR_ROW: &str = "(?, ?)";

    let mut ids: HashMap<&'a str, i64> = HashMap::new();
    if inserts.is_empty() {
        return Ok(ids);
    }
    let wanted: BTreeSet<&'a str> = inserts
        .iter()
        .map(|row| row.fields.digest.as_str())
        .collect();
    let rows = sqlx::query(
        "select digest, id from search_documents where digest in (select value from json_each(?1))",
    )
    .bind(json_array(wanted.iter().copied()))
    .fetch_all(&mut *tx)
    .await?;
    for row in &rows {
        if let Some(&digest) = wanted.get(row.try_get::<&str, _>(0)?) {
            ids.insert(digest, row.try_get(1)?);
        }
    }
    // Ids are assigned here (the write lock is held) so the full-text rows can share them without a
    // round trip per document.
    let mut next_id: i64 =
        sqlx::query_scalar("select coalesce(max(id), 0) + 1 from search_documents")
            .fetch_one(&mut *tx)
            .await?;
    let mut missing: Vec<(i64, &NewVersion<'_>)> = Vec::new();
    for insert in inserts {
        let digest = insert.fields.digest.as_str();
        if !ids.contains_key(digest) {
            ids.insert(digest, next_id);
            missing.push((next_id, insert));
            next_id += 1;
        }
    }
    let mut statements = Statements::default();
    for chunk in missing.chunks(INSERT_CHUNK) {
        let mut documents = sqlx::query(statements.get(DOCUMENT_HEAD, DOCUMENT_ROW, chunk.len()));
        let mut words = sqlx::query(statements.get(WORDS_HEAD, PAIR_ROW, chunk.len()));
        let mut trigrams = sqlx::query(statements.get(TRIGRAMS_HEAD, PAIR_ROW, chunk.len()));
        for &(id, insert) in chunk {
            let fields = &insert.fields;
            documents = documents
                .bind(id)
                .bind(fields.digest.as_str())
                .bind(insert.manifest.name().as_str())
                .bind(fields.name.as_str())
                .bind(fields.text.as_str());
            words = words.bind(id).bind(fields.words.as_str());
            trigrams = trigrams.bind(id).bind(fields.haystack());
        }
        documents.execute(&mut *tx).await?;
        words.execute(&mut *tx).await?;
        trigrams.execute(&mut *tx).await?;
    }
    Ok(ids)
}

/// Inserts versions with multi-row statements (row ids, and so publish order, follow `rows`).
async fn insert_versions(
    tx: &mut SqliteConnection,
    rows: &[NewVersion<'_>],
    documents: &HashMap<&str, i64>,
    now_us: i64,
) -> Result<(), StoreError> {
    const VERSION_HEAD: &str = "insert into server_versions (server_name, version, \
        precedence_key, status_changed_at, published_at, updated_at, is_latest, document_id, \
        registry_types, transports, manifest) values ";
    const VERSION_ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

    let mut statements = Statements::default();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut insert = sqlx::query(statements.get(VERSION_HEAD, VERSION_ROW, chunk.len()));
        for row in chunk {
            let server = row.manifest.server();
            let document = documents
                .get(row.fields.digest.as_str())
                .copied()
                .ok_or_else(|| StoreError::Corrupt("search document not written".to_owned()))?;
            insert = insert
                .bind(server.name.as_str())
                .bind(server.version.as_str())
                .bind(row.precedence_key.as_str())
                .bind(now_us)
                .bind(now_us)
                .bind(now_us)
                .bind(row.is_latest)
                .bind(document)
                .bind(row.fields.registry_types.as_str())
                .bind(row.fields.transports.as_str())
                .bind(row.manifest.raw());
        }
        insert.execute(&mut *tx).await?;
    }
    Ok(())
}

/// `head` followed by `count` copies of `row`, comma-separated.
fn repeat_values(head: &str, row: &str, count: usize) -> String {
    let mut sql = String::with_capacity(head.len() + count * (row.len() + 2));
    sql.push_str(head);
    for index in 0..count {
        if index > 0 {
            sql.push_str(", ");
        }
        sql.push_str(row);
    }
    sql
}

/// Every stored version of the named servers, each server's in publish order.
async fn stored_versions(
    tx: &mut SqliteConnection,
    names: &[&str],
) -> Result<BTreeMap<String, Vec<StoredVersion>>, StoreError> {
    let rows = sqlx::query(
        "select server_name, id, version, precedence_key, status, status_message, is_latest \
         from server_versions where server_name in (select value from json_each(?1)) \
         order by server_name, published_at, id",
    )
    .bind(json_array(names.iter().copied()))
    .fetch_all(&mut *tx)
    .await?;
    let mut stored: BTreeMap<String, Vec<StoredVersion>> = BTreeMap::new();
    for row in rows {
        stored
            .entry(row.try_get(0)?)
            .or_default()
            .push(StoredVersion {
                id: row.try_get(1)?,
                version: row.try_get(2)?,
                precedence_key: row.try_get(3)?,
                status: row.try_get::<&str, _>(4)?.parse()?,
                status_message: row.try_get(5)?,
                is_latest: row.try_get(6)?,
            });
    }
    Ok(stored)
}

/// Clears, then sets, latest flags (in that order, so the one-latest index holds after every statement).
/// A flag change is an update: it bumps `updated_at` so incremental sync sees the new latest.
async fn apply_latest_moves(
    tx: &mut SqliteConnection,
    moves: &LatestMoves,
    now_us: i64,
) -> Result<(), StoreError> {
    for (ids, flag) in [(&moves.clear, false), (&moves.set, true)] {
        if ids.is_empty() {
            continue;
        }
        sqlx::query(
            "update server_versions set is_latest = ?1, updated_at = ?2 \
             where id in (select value from json_each(?3))",
        )
        .bind(flag)
        .bind(now_us)
        .bind(id_list(ids))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Appends the list filters (each `and …`) to a query over `server_versions v`.
/// `updated_at_index`: whether the `updated_at` condition may use its index.
fn push_filters(builder: &mut QueryBuilder<Sqlite>, filters: &Filters<'_>, updated_at_index: bool) {
    match filters.version {
        Some(VersionSelector::Latest) => {
            builder.push(" and v.is_latest");
        }
        Some(VersionSelector::Exact(version)) => {
            builder.push(" and v.version = ");
            builder.push_bind(version.clone());
        }
        None => {}
    }
    if !filters.include_deleted {
        builder.push(" and v.status <> 'deleted'");
    }
    if let Some(since) = filters.updated_since {
        builder.push(if updated_at_index {
            " and v.updated_at > "
        } else {
            " and +v.updated_at > "
        });
        builder.push_bind(to_micros(since));
    }
    for (column, value) in [
        ("registry_types", filters.registry_type.as_deref()),
        ("transports", filters.transport.as_deref()),
    ] {
        if let Some(value) = value {
            // `instr` on the JSON text is a cheap pre-check (same serializer, same escaping); the
            // `json_each` test is the exact element match.
            builder.push(format_args!(" and instr(v.{column}, "));
            builder.push_bind(json_string(value));
            builder.push(format_args!(
                ") > 0 and exists (select 1 from json_each(v.{column}) where value = "
            ));
            builder.push_bind(value.to_owned());
            builder.push(")");
        }
    }
    if let Some((low, high)) = &filters.name_range {
        builder.push(" and v.server_name >= ");
        builder.push_bind(low.clone());
        builder.push(" and v.server_name < ");
        builder.push_bind(high.clone());
    }
}

/// `(hit condition)` on search document `d`: the term is a substring of the folded name or
/// title/description, or all its words are in the word index. Terms of three or more characters are looked
/// up in the trigram index first.
fn push_search_condition(builder: &mut QueryBuilder<Sqlite>, term: &SearchTerm) {
    let words = term.fts_words();
    builder.push("(");
    if term.trigram_indexable() {
        builder.push(
            "d.id in (select rowid from search_documents_trigrams \
             where search_documents_trigrams match ",
        );
        builder.push_bind(term.fts_phrase());
        if let Some(words) = &words {
            builder.push(
                " union select rowid from search_documents_words \
                 where search_documents_words match ",
            );
            builder.push_bind(words.clone());
        }
        builder.push(") and ");
    }
    builder.push("(instr(d.search_name, ");
    builder.push_bind(term.folded.clone());
    builder.push(") > 0 or instr(d.search_text, ");
    builder.push_bind(term.folded.clone());
    builder.push(") > 0");
    if let Some(words) = words {
        builder.push(
            " or d.id in (select rowid from search_documents_words \
             where search_documents_words match ",
        );
        builder.push_bind(words);
        builder.push(")");
    }
    builder.push("))");
}

/// The [`super::SearchTier`] of search document `d`, as an SQL `case` (must match `postgres.rs`).
fn push_tier(builder: &mut QueryBuilder<Sqlite>, term: &SearchTerm) {
    let local = "substr(d.search_name, instr(d.search_name, '/') + 1)";
    builder.push("case when d.search_name = ");
    builder.push_bind(term.folded.clone());
    builder.push(format_args!(" or {local} = "));
    builder.push_bind(term.folded.clone());
    builder.push(" then 0 when instr(d.search_name, ");
    builder.push_bind(term.folded.clone());
    builder.push(format_args!(") = 1 or instr({local}, "));
    builder.push_bind(term.folded.clone());
    builder.push(") = 1 then 1 when instr(d.search_name, ");
    builder.push_bind(term.folded.clone());
    builder.push(") > 0 then 2 when instr(d.search_text, ");
    builder.push_bind(term.folded.clone());
    builder.push(") > 0 then 3 else 4 end");
}

/// Reads the columns of [`record_columns!`].
fn record(row: &SqliteRow) -> Result<VersionRecord, StoreError> {
    Ok(VersionRecord {
        server_name: row.try_get(0)?,
        version: row.try_get(1)?,
        manifest: row.try_get(2)?,
        status: row.try_get::<&str, _>(3)?.parse()?,
        status_message: row.try_get(4)?,
        status_changed_at: from_micros(row.try_get(5)?)?,
        published_at: from_micros(row.try_get(6)?)?,
        updated_at: from_micros(row.try_get(7)?)?,
        is_latest: row.try_get(8)?,
    })
}

/// Microseconds since the epoch, as SQLite stores timestamps.
fn to_micros(at: OffsetDateTime) -> i64 {
    // Saturates only for dates beyond ±292,000 years, which `time` cannot produce from `now()`.
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn from_micros(micros: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|err| StoreError::Corrupt(format!("timestamp {micros}: {err}")))
}

/// A JSON array of ids, bound as one parameter and read back with `json_each`.
fn id_list(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

/// Connection failures are the database being unavailable, not a bug.
pub(super) fn connection_error(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => StoreError::Unavailable(err.to_string()),
        other => other.into(),
    }
}

/// A unique violation on the precedence index is a duplicate version; anything else stays an error.
fn map_duplicate(err: StoreError, manifest: &Manifest) -> StoreError {
    if let StoreError::Database(sqlx::Error::Database(db_err)) = &err
        && db_err.is_unique_violation()
        // SQLite names a unique index's columns, not the index, in its message.
        && db_err.message().contains("server_versions.precedence_key")
    {
        return duplicate_error(manifest);
    }
    err
}

// ---------------------------------------------------------------------------------------------------
// Engine-neutral pieces, shared with `postgres.rs` (kept here because `db/mod.rs` declares only the two
// engine modules).
// ---------------------------------------------------------------------------------------------------

/// Pool size when the configuration says 0.
const DEFAULT_MAX_CONNECTIONS: u32 = 16;
/// Pool wait when the configuration says 0.
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest word kept in the word index (PostgreSQL refuses lexemes over 2 KiB); longer query words
/// cannot match on either engine.
const MAX_WORD_BYTES: usize = 255;

pub(super) fn max_connections(config: &DatabaseConfig) -> u32 {
    if config.max_connections == 0 {
        DEFAULT_MAX_CONNECTIONS
    } else {
        config.max_connections
    }
}

pub(super) fn acquire_timeout(config: &DatabaseConfig) -> Duration {
    if config.acquire_timeout.is_zero() {
        DEFAULT_ACQUIRE_TIMEOUT
    } else {
        config.acquire_timeout
    }
}

/// (in use, idle) from a pool's size and idle count.
pub(super) fn pool_usage(size: u32, idle: usize) -> (u32, u32) {
    let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
    (size - idle, idle)
}

/// The page size to use: the handler validates `limit`, this only keeps a bad value harmless.
pub(super) fn page_limit(limit: u32) -> u32 {
    match limit {
        0 => DEFAULT_PAGE_SIZE,
        limit => limit.min(MAX_PAGE_SIZE),
    }
}

/// `(server_name, version)` a plain list continues after. A ranked cursor (from a search) keeps its
/// position; only the tier is ignored.
pub(super) fn cursor_position(cursor: Option<&Cursor>) -> Option<(&str, &str)> {
    match cursor? {
        Cursor::Position {
            server_name,
            version,
        }
        | Cursor::Ranked {
            server_name,
            version,
            ..
        } => Some((server_name, version)),
    }
}

/// `(tier, server_name, version)` a search continues after. A plain position cursor is read as being in
/// the best tier, so it never skips a hit of a later tier.
pub(super) fn cursor_ranked(cursor: Option<&Cursor>) -> Option<(u8, &str, &str)> {
    match cursor? {
        Cursor::Position {
            server_name,
            version,
        } => Some((0, server_name, version)),
        Cursor::Ranked {
            tier,
            server_name,
            version,
        } => Some((*tier, server_name, version)),
    }
}

/// The cursor of a full page's last row; `None` when the page is not full.
pub(super) fn next_cursor(
    items: &[VersionRecord],
    limit: u32,
    ranked: bool,
    last_tier: i64,
) -> Result<Option<String>, StoreError> {
    let Some(last) = items.last() else {
        return Ok(None);
    };
    if items.len() < limit as usize {
        return Ok(None);
    }
    let cursor = if ranked {
        Cursor::Ranked {
            tier: u8::try_from(last_tier)
                .map_err(|_| StoreError::Corrupt(format!("search tier {last_tier}")))?,
            server_name: last.server_name.clone(),
            version: last.version.clone(),
        }
    } else {
        Cursor::Position {
            server_name: last.server_name.clone(),
            version: last.version.clone(),
        }
    };
    Ok(Some(cursor.encode()))
}

/// The record a publish just inserted, built without reading it back.
pub(super) fn new_record(
    manifest: &Manifest,
    now: OffsetDateTime,
    is_latest: bool,
) -> VersionRecord {
    VersionRecord {
        server_name: manifest.name().as_str().to_owned(),
        version: manifest.version().as_str().to_owned(),
        manifest: manifest.raw().to_owned(),
        status: Status::Active,
        status_message: None,
        status_changed_at: now,
        published_at: now,
        updated_at: now,
        is_latest,
    }
}

pub(super) fn duplicate_error(manifest: &Manifest) -> StoreError {
    StoreError::Duplicate {
        server_name: manifest.name().as_str().to_owned(),
        version: manifest.version().as_str().to_owned(),
    }
}

/// A JSON array of strings (the format of the filter columns and of list parameters).
pub(super) fn json_array<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::Value::from(values.into_iter().collect::<Vec<_>>()).to_string()
}

/// One JSON string, escaped exactly as in [`json_array`].
fn json_string(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

/// Case folding for search: per character, so a substring of the text stays a substring once folded
/// (no context rules such as a final sigma). NUL is dropped: PostgreSQL text cannot hold it.
pub(super) fn fold(text: &str) -> String {
    if text.is_ascii() {
        // The common case, without the per-character Unicode tables.
        let mut folded = text.replace('\0', "");
        folded.make_ascii_lowercase();
        return folded;
    }
    text.chars()
        .filter(|&c| c != '\0')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A filter value as the filter columns hold it (without NUL, which PostgreSQL's jsonb refuses).
fn filter_value(value: &str) -> String {
    value.replace('\0', "")
}

/// The words of `text` as both word indexes hold them: runs of letters and digits, folded.
pub(super) fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(fold)
}

/// Search and filter columns of one manifest, derived the same way for both engines.
#[derive(Debug)]
pub(super) struct SearchFields {
    /// The folded name.
    pub name: String,
    /// The folded title and description, one per line.
    pub text: String,
    /// Distinct words of the name, title, description and package identifiers, space-separated.
    pub words: String,
    /// JSON array of the distinct package `registryType`s.
    pub registry_types: String,
    /// JSON array of the distinct package and remote transport types.
    pub transports: String,
    /// SHA-256 (hex) of the server name, `text` and `words`: versions of a server with equal digests
    /// share one search document.
    pub digest: String,
}

impl SearchFields {
    pub(super) fn of(manifest: &Manifest) -> Self {
        let server = manifest.server();
        let mut text = String::new();
        if let Some(title) = &server.title {
            text.push_str(&fold(title));
            text.push('\n');
        }
        text.push_str(&fold(&server.description));
        let mut words = BTreeSet::new();
        let sources = [server.name.as_str(), &server.description]
            .into_iter()
            .chain(server.title.as_deref())
            .chain(
                server
                    .packages()
                    .iter()
                    .map(|package| package.identifier.as_str()),
            );
        for source in sources {
            words.extend(words_of(source).filter(|word| word.len() <= MAX_WORD_BYTES));
        }
        let registry_types: BTreeSet<String> = server
            .packages()
            .iter()
            .map(|package| filter_value(&package.registry_type))
            .collect();
        let transports: BTreeSet<&str> = server
            .packages()
            .iter()
            .map(|package| &package.transport)
            .chain(server.remotes())
            .map(|transport| transport.r#type.as_str())
            .collect();
        let name = fold(server.name.as_str());
        let words = words.into_iter().collect::<Vec<_>>().join(" ");
        let mut hasher = Sha256::new();
        // NUL separates the fields: names cannot contain it and `fold` removes it from the others.
        for field in [server.name.as_str(), &text, &words] {
            hasher.update(field.as_bytes());
            hasher.update([0]);
        }
        Self {
            digest: hex::encode(hasher.finalize()),
            name,
            text,
            words,
            registry_types: json_array(registry_types.iter().map(String::as_str)),
            transports: json_array(transports),
        }
    }

    /// Name and text in one string, for SQLite's trigram index (hits are re-checked per column).
    fn haystack(&self) -> String {
        format!("{}\n{}", self.name, self.text)
    }
}

/// A search term prepared for both engines.
#[derive(Debug)]
pub(super) struct SearchTerm {
    /// The folded term, compared with the folded search columns.
    pub folded: String,
    /// The term's distinct words; `None` when it has none (or one too long to be indexed), so no row can
    /// match it by words.
    pub words: Option<Vec<String>>,
}

impl SearchTerm {
    /// `None` for an empty term, which does not filter.
    pub(super) fn new(term: &str) -> Option<Self> {
        if term.is_empty() {
            return None;
        }
        let words: BTreeSet<String> = words_of(term).collect();
        let words = (!words.is_empty() && words.iter().all(|word| word.len() <= MAX_WORD_BYTES))
            .then(|| words.into_iter().collect());
        Some(Self {
            folded: fold(term),
            words,
        })
    }

    /// `%term%` for `like … escape '\'`, with `%`, `_` and `\` taken literally.
    pub(super) fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.folded.len() + 2);
        pattern.push('%');
        for c in self.folded.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }

    /// PostgreSQL `tsquery` text requiring every word (`'a' & 'b'`); words hold no quotes.
    pub(super) fn tsquery(&self) -> Option<String> {
        let words = self.words.as_ref()?;
        Some(
            words
                .iter()
                .map(|word| format!("'{word}'"))
                .collect::<Vec<_>>()
                .join(" & "),
        )
    }

    /// FTS5 query requiring every word (`"a" "b"`).
    fn fts_words(&self) -> Option<String> {
        let words = self.words.as_ref()?;
        Some(
            words
                .iter()
                .map(|word| format!("\"{word}\""))
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// FTS5 phrase of the whole term, for the trigram index.
    fn fts_phrase(&self) -> String {
        format!("\"{}\"", self.folded.replace('"', "\"\""))
    }

    /// The trigram index can only find terms of three or more characters.
    fn trigram_indexable(&self) -> bool {
        self.folded.chars().nth(2).is_some()
    }
}

/// List filters other than search and cursor, checked once for both engines.
pub(super) struct Filters<'q> {
    pub version: Option<&'q VersionSelector>,
    pub include_deleted: bool,
    pub updated_since: Option<OffsetDateTime>,
    pub registry_type: Option<String>,
    pub transport: Option<String>,
    /// `[low, high)` bounds on `server_name` selecting one namespace: every name in it starts with
    /// `namespace/` (bytewise order on both engines, and `0` follows `/`), so the filter is an index range.
    pub name_range: Option<(String, String)>,
}

impl<'q> Filters<'q> {
    /// `None` when the filters cannot match anything (a namespace containing `/`).
    pub(super) fn new(query: &'q ListQuery) -> Option<Self> {
        let name_range = match query.namespace.as_deref() {
            Some(namespace) if namespace.contains('/') => return None,
            Some(namespace) => Some((format!("{namespace}/"), format!("{namespace}0"))),
            None => None,
        };
        Some(Self {
            version: query.version.as_ref(),
            include_deleted: query.include_deleted,
            updated_since: query.updated_since,
            registry_type: query.registry_type.as_deref().map(filter_value),
            transport: query.transport.as_deref().map(filter_value),
            name_range,
        })
    }
}

/// A stored version, as the duplicate check, the latest rule and status changes see it.
#[derive(Debug, Clone)]
pub(super) struct StoredVersion {
    pub id: i64,
    pub version: String,
    pub precedence_key: String,
    pub status: Status,
    pub status_message: Option<String>,
    pub is_latest: bool,
}

/// Latest flags to clear and to set (clears first, so the one-latest index holds at every statement).
#[derive(Debug, Default)]
pub(super) struct LatestMoves {
    pub clear: Vec<i64>,
    pub set: Vec<i64>,
}

/// Runs the latest rule over a server's stored versions (publish order) followed by `added` new, active
/// versions; records the flag moves on stored rows and returns which added version is latest, if any.
fn move_latest(stored: &[StoredVersion], added: &[&str], moves: &mut LatestMoves) -> Option<usize> {
    let candidates: Vec<LatestCandidate<'_>> = stored
        .iter()
        .map(|version| LatestCandidate {
            version: &version.version,
            deleted: version.status == Status::Deleted,
        })
        .chain(added.iter().map(|&version| LatestCandidate {
            version,
            deleted: false,
        }))
        .collect();
    let target = pick_latest(&candidates);
    for (index, version) in stored.iter().enumerate() {
        let latest = target == Some(index);
        if version.is_latest && !latest {
            moves.clear.push(version.id);
        } else if !version.is_latest && latest {
            moves.set.push(version.id);
        }
    }
    target.and_then(|index| index.checked_sub(stored.len()))
}

/// A version a write will insert.
#[derive(Debug)]
pub(super) struct NewVersion<'m> {
    pub manifest: &'m Manifest,
    pub precedence_key: String,
    pub fields: SearchFields,
    pub is_latest: bool,
}

/// Everything one write transaction does, decided before its first write.
#[derive(Debug, Default)]
pub(super) struct BatchPlan<'m> {
    /// Grouped by server, each server's in batch (publish) order.
    pub inserts: Vec<NewVersion<'m>>,
    /// Same precedence as a stored version or an earlier one in the batch.
    pub duplicates: Vec<&'m Manifest>,
    pub moves: LatestMoves,
}

/// The server names a batch touches, sorted (PostgreSQL locks them in this order, avoiding deadlocks).
pub(super) fn touched_names(manifests: &[Manifest]) -> Vec<&str> {
    let names: BTreeSet<&str> = manifests.iter().map(|m| m.name().as_str()).collect();
    names.into_iter().collect()
}

/// Plans a batch against the stored versions of the servers it touches (read under the write lock).
pub(super) fn plan_batch<'m>(
    manifests: &'m [Manifest],
    stored: &BTreeMap<String, Vec<StoredVersion>>,
) -> BatchPlan<'m> {
    let mut by_server: BTreeMap<&str, Vec<&'m Manifest>> = BTreeMap::new();
    for manifest in manifests {
        by_server
            .entry(manifest.name().as_str())
            .or_default()
            .push(manifest);
    }
    let mut plan = BatchPlan::default();
    for (name, added) in by_server {
        let stored = stored.get(name).map_or(&[][..], Vec::as_slice);
        let mut keys: HashSet<String> = stored.iter().map(|v| v.precedence_key.clone()).collect();
        let mut accepted = Vec::with_capacity(added.len());
        for manifest in added {
            let key = precedence_key(manifest.version().as_str());
            if keys.insert(key.clone()) {
                accepted.push((manifest, key));
            } else {
                plan.duplicates.push(manifest);
            }
        }
        if accepted.is_empty() {
            continue;
        }
        let versions: Vec<&str> = accepted
            .iter()
            .map(|(manifest, _)| manifest.version().as_str())
            .collect();
        let latest = move_latest(stored, &versions, &mut plan.moves);
        for (index, (manifest, precedence_key)) in accepted.into_iter().enumerate() {
            plan.inserts.push(NewVersion {
                manifest,
                precedence_key,
                fields: SearchFields::of(manifest),
                is_latest: latest == Some(index),
            });
        }
    }
    plan
}

/// What a status change will write.
#[derive(Debug)]
pub(super) struct StatusPlan {
    /// Every version the request addresses.
    pub addressed: Vec<i64>,
    /// Addressed versions whose status or message differs from the request.
    pub changed: Vec<i64>,
    pub moves: LatestMoves,
}

/// Plans a status change on `stored` (one server's versions, publish order), updating them in memory.
/// `version: None` addresses every version.
pub(super) fn plan_status_change(
    stored: &mut [StoredVersion],
    version: Option<&str>,
    change: &StatusChange,
) -> Result<StatusPlan, StoreError> {
    let mut addressed = Vec::new();
    let mut changed = Vec::new();
    for row in stored.iter_mut() {
        if version.is_some_and(|version| version != row.version) {
            continue;
        }
        addressed.push(row.id);
        if row.status != change.status || row.status_message != change.message {
            changed.push(row.id);
            row.status = change.status;
            row.status_message.clone_from(&change.message);
        }
    }
    if addressed.is_empty() {
        return Err(StoreError::NotFound);
    }
    let mut moves = LatestMoves::default();
    move_latest(stored, &[], &mut moves);
    Ok(StatusPlan {
        addressed,
        changed,
        moves,
    })
}
