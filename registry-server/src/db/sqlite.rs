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
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite, SqliteConnection};
use time::OffsetDateTime;

use super::shared::{
    Filters, LatestMoves, NewVersion, SearchTerm, StoredVersion, acquire_timeout, connection_error,
    cursor_position, cursor_ranked, duplicate_error, json_array, json_string, max_connections,
    new_record, next_cursor, page_limit, plan_batch, plan_status_change, pool_usage, remote_urls,
    stored_provenance, touched_names,
};
use super::{
    AuditEntry, AuditQuery, DatabaseConfig, ImportOutcome, ListQuery, Page, ProvenanceRecord,
    PublishedVersion, SigningKeyRecord, StatusChange, StatusOutcome, StoreError, StoredProvenance,
    TokenRecord, VersionRecord, VersionSelector, now,
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
         v.published_at, v.updated_at, v.is_latest, v.provenance"
    };
}

/// The columns a [`SigningKeyRecord`] is read from, in [`signing_key`]'s order.
macro_rules! key_columns {
    () => {
        "namespace, key_id, algorithm, public_key, created_at, created_by, revoked_at"
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

    /// See [`super::Store::publish_gated`].
    pub async fn publish_gated<E>(
        &self,
        manifest: &Manifest,
        provenance: Option<&StoredProvenance>,
        gate: impl FnOnce(&[PublishedVersion]) -> Result<Option<String>, E> + Send,
    ) -> Result<Result<VersionRecord, E>, StoreError> {
        // `begin immediate` holds the write lock: no other writer can publish between the gate's
        // reading of the history and the insert.
        let mut tx = self.begin_write().await?;
        let name = manifest.name().as_str();
        let urls = remote_urls(manifest);
        if !urls.is_empty() {
            let taken = sqlx::query(
                "select r.url, v.server_name from remote_urls r \
                 join server_versions v on v.id = r.version_id \
                 where r.url in (select value from json_each(?1)) and v.server_name <> ?2 \
                 and v.status <> 'deleted' limit 1",
            )
            .bind(json_array(urls.iter().copied()))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = taken {
                return Err(StoreError::RemoteUrlTaken {
                    url: row.try_get(0)?,
                    server_name: row.try_get(1)?,
                });
            }
        }
        let rows = sqlx::query(
            "select version, status, manifest from server_versions where server_name = ?1 \
             order by published_at, id",
        )
        .bind(name)
        .fetch_all(&mut *tx)
        .await?;
        let history = rows
            .iter()
            .map(|row| {
                Ok(PublishedVersion {
                    version: row.try_get(0)?,
                    status: row.try_get::<&str, _>(1)?.parse()?,
                    manifest: row.try_get(2)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let report = match gate(&history) {
            Ok(report) => report,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let now = now();
        let written = write_batch(&mut tx, std::slice::from_ref(manifest), now).await?;
        if let Some(duplicate) = written.duplicates.first() {
            return Err(duplicate_error(duplicate));
        }
        if let Some(report) = report {
            sqlx::query(
                "update server_versions set compat_report = ?1 where server_name = ?2 and version = ?3",
            )
            .bind(report)
            .bind(name)
            .bind(manifest.version().as_str())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(provenance) = provenance {
            sqlx::query(
                "update server_versions set provenance = ?1 where server_name = ?2 and version = ?3",
            )
            .bind(&provenance.summary)
            .bind(name)
            .bind(manifest.version().as_str())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "insert into provenance_bundles (version_id, bundle) \
                 select id, ?1 from server_versions where server_name = ?2 and version = ?3",
            )
            .bind(&provenance.bundle)
            .bind(name)
            .bind(manifest.version().as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let is_latest = written.latest_inserted.first().copied().unwrap_or(false);
        let mut record = new_record(manifest, now, is_latest);
        record.provenance = provenance.map(|p| p.summary.clone());
        Ok(Ok(record))
    }

    /// See [`super::Store::compat_report`].
    pub async fn compat_report(
        &self,
        server_name: &str,
        version: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        let row = sqlx::query(
            "select compat_report from server_versions where server_name = ?1 and version = ?2",
        )
        .bind(server_name)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| row.try_get(0))
            .transpose()
            .map_err(Into::into)
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
            last_tier = row.try_get::<i64, _>(10)?;
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

    /// See [`super::Store::provenance`].
    pub async fn provenance(
        &self,
        server_name: &str,
        version: &VersionSelector,
        include_deleted: bool,
    ) -> Result<Option<ProvenanceRecord>, StoreError> {
        let (exact, version) = match version {
            VersionSelector::Latest => (false, ""),
            VersionSelector::Exact(version) => (true, version.as_str()),
        };
        let row = sqlx::query(
            "select v.server_name, v.version, v.manifest, v.provenance, b.bundle \
             from server_versions v left join provenance_bundles b on b.version_id = v.id \
             where v.server_name = ?1 and (case when ?2 then v.version = ?3 else v.is_latest end) \
             and (?4 or v.status <> 'deleted')",
        )
        .bind(server_name)
        .bind(exact)
        .bind(version)
        .bind(include_deleted)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| provenance_record(&row)).transpose()
    }

    /// See [`super::Store::insert_signing_key`].
    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "insert into signing_keys \
             (namespace, key_id, algorithm, public_key, created_at, created_by, revoked_at) \
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7) on conflict do nothing",
        )
        .bind(&key.namespace)
        .bind(&key.key_id)
        .bind(&key.algorithm)
        .bind(&key.public_key)
        .bind(to_micros(key.created_at))
        .bind(key.created_by.as_deref())
        .bind(key.revoked_at.map(to_micros))
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::KeyExists {
                namespace: key.namespace.clone(),
                key_id: key.key_id.clone(),
            });
        }
        Ok(())
    }

    /// See [`super::Store::signing_keys`].
    pub async fn signing_keys(&self, namespace: &str) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "select ",
            key_columns!(),
            " from signing_keys where namespace = ?1 order by created_at, key_id"
        ))
        .bind(namespace)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(signing_key).collect()
    }

    /// See [`super::Store::revoke_signing_key`].
    pub async fn revoke_signing_key(
        &self,
        namespace: &str,
        key_id: &str,
    ) -> Result<Option<SigningKeyRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "update signing_keys set revoked_at = coalesce(revoked_at, ?3) \
             where namespace = ?1 and key_id = ?2 returning ",
            key_columns!()
        ))
        .bind(namespace)
        .bind(key_id)
        .bind(to_micros(now()))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(signing_key).transpose()
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
            if changed.contains(&row.try_get::<i64, _>(10)?) {
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

    /// See [`super::Store::count_hit`].
    pub async fn count_hit(&self, key: &str, window_start: i64) -> Result<u32, StoreError> {
        // One atomic upsert: concurrent hits from any process each get their own count.
        let hits: i64 = sqlx::query_scalar(
            "insert into rate_limit_windows (key, window_start, hits) values (?1, ?2, 1) \
             on conflict (key) do update set \
             hits = case when rate_limit_windows.window_start = excluded.window_start \
             then rate_limit_windows.hits + 1 else 1 end, \
             window_start = excluded.window_start \
             returning hits",
        )
        .bind(key)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(hits).unwrap_or(u32::MAX))
    }

    /// See [`super::Store::insert_audit`].
    pub async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "insert into audit_log (at, actor, action, server_name, version, remote_addr, status, outcome) \
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(to_micros(entry.at))
        .bind(entry.actor.as_deref())
        .bind(&entry.action)
        .bind(entry.server_name.as_deref())
        .bind(entry.version.as_deref())
        .bind(entry.remote_addr.as_deref())
        .bind(i64::from(entry.status))
        .bind(&entry.outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// See [`super::Store::audit_entries`].
    pub async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut builder = QueryBuilder::<Sqlite>::new(
            "select id, at, actor, action, server_name, version, remote_addr, status, outcome \
             from audit_log where true",
        );
        if let Some(name) = &query.server_name {
            builder.push(" and server_name = ").push_bind(name.clone());
        }
        if let Some(before) = query.before_id {
            builder.push(" and id < ").push_bind(before);
        }
        if let Some(patterns) = &query.patterns {
            push_pattern_filter(&mut builder, patterns);
        }
        builder
            .push(" order by id desc limit ")
            .push_bind(i64::from(query.limit));
        let rows = builder.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get(0)?,
                    at: from_micros(row.try_get(1)?)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    server_name: row.try_get(4)?,
                    version: row.try_get(5)?,
                    remote_addr: row.try_get(6)?,
                    status: u16::try_from(row.try_get::<i64, _>(7)?).unwrap_or(0),
                    outcome: row.try_get(8)?,
                })
            })
            .collect()
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
    insert_remote_urls(tx, &plan.inserts).await?;
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

/// Records the remote URLs of freshly inserted versions.
async fn insert_remote_urls(
    tx: &mut SqliteConnection,
    rows: &[NewVersion<'_>],
) -> Result<(), StoreError> {
    let triples: Vec<[&str; 3]> = rows
        .iter()
        .flat_map(|row| {
            remote_urls(row.manifest).into_iter().map(move |url| {
                [
                    row.manifest.name().as_str(),
                    row.precedence_key.as_str(),
                    url,
                ]
            })
        })
        .collect();
    if triples.is_empty() {
        return Ok(());
    }
    let triples = serde_json::to_string(&triples)
        .map_err(|err| StoreError::Corrupt(format!("remote URLs: {err}")))?;
    sqlx::query(
        "insert or ignore into remote_urls (url, version_id) \
         select json_extract(r.value, '$[2]'), v.id from json_each(?1) r \
         join server_versions v on v.server_name = json_extract(r.value, '$[0]') \
         and v.precedence_key = json_extract(r.value, '$[1]')",
    )
    .bind(triples)
    .execute(&mut *tx)
    .await?;
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

/// Reads the columns of [`SqliteStore::provenance`]'s query.
fn provenance_record(row: &SqliteRow) -> Result<ProvenanceRecord, StoreError> {
    let summary: Option<String> = row.try_get(3)?;
    let bundle: Option<String> = row.try_get(4)?;
    Ok(ProvenanceRecord {
        server_name: row.try_get(0)?,
        version: row.try_get(1)?,
        manifest: row.try_get(2)?,
        stored: stored_provenance(summary, bundle)?,
    })
}

/// Reads the columns of [`key_columns!`].
fn signing_key(row: &SqliteRow) -> Result<SigningKeyRecord, StoreError> {
    Ok(SigningKeyRecord {
        namespace: row.try_get(0)?,
        key_id: row.try_get(1)?,
        algorithm: row.try_get(2)?,
        public_key: row.try_get(3)?,
        created_at: from_micros(row.try_get(4)?)?,
        created_by: row.try_get(5)?,
        revoked_at: row
            .try_get::<Option<i64>, _>(6)?
            .map(from_micros)
            .transpose()?,
    })
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
        provenance: row.try_get(9)?,
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

/// `and (<name matches one of the patterns>)`; no pattern matches nothing.
fn push_pattern_filter(builder: &mut QueryBuilder<Sqlite>, patterns: &[String]) {
    builder.push(" and (false");
    for pattern in patterns {
        match pattern.strip_suffix('*') {
            Some(prefix) => {
                // substr compares bytes literally, so `%` and `_` in names need no escaping.
                builder
                    .push(" or substr(server_name, 1, length(")
                    .push_bind(prefix.to_owned())
                    .push(")) = ")
                    .push_bind(prefix.to_owned());
            }
            None => {
                builder
                    .push(" or server_name = ")
                    .push_bind(pattern.clone());
            }
        }
    }
    builder.push(")");
}

/// A JSON array of ids, bound as one parameter and read back with `json_each`.
fn id_list(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
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

// ---- Mirror (`registry-server mirror`): the SQL of `Store::mirror_*` ----------------------------------
// Kept apart from the rest of the engine; see `super::MirrorState`.

impl SqliteStore {
    /// See [`super::Store::mirror_state`].
    pub async fn mirror_state(
        &self,
        upstream: &str,
    ) -> Result<Option<super::MirrorState>, StoreError> {
        let row = sqlx::query(
            "select updated_since, pass_cursor, pass_max, pass_started from mirror_state \
             where upstream = ?1",
        )
        .bind(upstream)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(super::MirrorState {
                updated_since: row.try_get(0)?,
                pass_cursor: row.try_get(1)?,
                pass_max: row.try_get(2)?,
                pass_started: row.try_get(3)?,
            })
        })
        .transpose()
    }

    /// See [`super::Store::save_mirror_state`].
    pub async fn save_mirror_state(
        &self,
        upstream: &str,
        state: &super::MirrorState,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into mirror_state (upstream, updated_since, pass_cursor, pass_max, \
             pass_started, updated_at) values (?1, ?2, ?3, ?4, ?5, ?6) \
             on conflict (upstream) do update set updated_since = excluded.updated_since, \
             pass_cursor = excluded.pass_cursor, pass_max = excluded.pass_max, \
             pass_started = excluded.pass_started, updated_at = excluded.updated_at",
        )
        .bind(upstream)
        .bind(state.updated_since.as_deref())
        .bind(state.pass_cursor.as_deref())
        .bind(state.pass_max.as_deref())
        .bind(state.pass_started.as_deref())
        .bind(to_micros(now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// See [`super::Store::mirror_keep_times`].
    pub async fn mirror_keep_times(
        &self,
        server_name: &str,
        version: &str,
        times: &super::MirrorTimes,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "update server_versions set published_at = ?1, \
             status_changed_at = coalesce(?2, status_changed_at), updated_at = ?3 \
             where server_name = ?4 and version = ?5 \
             and (published_at <> ?1 or status_changed_at <> coalesce(?2, status_changed_at))",
        )
        .bind(to_micros(times.published_at))
        .bind(times.status_changed_at.map(to_micros))
        .bind(to_micros(now()))
        .bind(server_name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
