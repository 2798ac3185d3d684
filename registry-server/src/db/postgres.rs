//! The production engine: PostgreSQL through sqlx, for large registries and several replicas.
//!
//! Writers lock the `servers` row of every server they touch (`select … for update`, in name order so two
//! writers never wait on each other in a cycle): writes to one server run one after another, and writes to
//! different servers run in parallel. Search runs over `search_documents` (one per distinct searchable
//! text of a server, shared by its versions) with `pg_trgm` indexes for substrings and a `tsvector` built
//! from the words Rust extracted, so hits and tiers are the same as on SQLite.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use registry_schema::Manifest;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use time::OffsetDateTime;

use super::shared::{
    BatchPlan, Filters, LatestMoves, NewVersion, SearchTerm, StoredVersion, acquire_timeout,
    connection_error, cursor_position, cursor_ranked, duplicate_error, json_array, max_connections,
    new_record, next_cursor, page_limit, plan_batch, plan_status_change, pool_usage, remote_urls,
    stored_provenance, touched_names,
};
use super::{
    AuditEntry, AuditQuery, ChangeSignal, DatabaseConfig, ImportOutcome, ListQuery, Page,
    ProvenanceRecord, PublishedVersion, SigningKeyRecord, StatusChange, StatusOutcome, StoreError,
    StoredProvenance, TokenRecord, VersionRecord, VersionSelector, now, redact_url,
};

/// Migrations, embedded so the binary works from any directory.
static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// Rows per `insert … select from unnest(…)` during imports.
const INSERT_CHUNK: usize = 1000;

/// The `NOTIFY` channel every write transaction signals on, so other replicas drop cached responses.
/// Notifications are delivered at commit, and not at all on rollback.
const CHANGES_CHANNEL: &str = "mcp_reg_changes";

/// The change counter: advanced after every committed write, before the write is acknowledged; read by
/// replicas' read fences (`crate::read_fence`). A sequence, so writers never wait on each other for it,
/// and not transactional: `last_value` is the newest value any session drew.
const ADVANCE_CHANGE_COUNTER: &str = "select nextval('mcp_reg_change_seq')";
const READ_CHANGE_COUNTER: &str = "select last_value from mcp_reg_change_seq";

/// Longest a read of the change counter may take, connecting included.
const COUNTER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Back-off between attempts to re-establish the change feed.
const FEED_RETRY_MIN: std::time::Duration = std::time::Duration::from_millis(250);
const FEED_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(10);

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

/// The registry's storage in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Identifies this store's writes in change notifications, so its own feed skips them (the HTTP
    /// layer already invalidated for them, and a late echo would only throw fresh entries away).
    origin: std::sync::Arc<str>,
    /// The highest change-counter value this store's writes drew (0: none yet).
    last_drawn: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl PgStore {
    /// Connects a pool to `url` (`postgres://…`).
    pub async fn connect(url: &str, config: &DatabaseConfig) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|err| {
                StoreError::Config(format!("PostgreSQL URL `{}`: {err}", redact_url(url)))
            })?
            // Every query here is a short keyset or index lookup. With parallel workers allowed, the
            // planner costs a parallel sequential scan of the search documents below the trigram index
            // and a ranked search takes ~1 s at 500k versions instead of ~20 ms.
            .options([("max_parallel_workers_per_gather", "0")]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections(config))
            .acquire_timeout(acquire_timeout(config))
            .connect_with(options)
            .await
            .map_err(connection_error)?;
        Ok(Self {
            pool,
            origin: new_origin().into(),
            last_drawn: std::sync::Arc::default(),
        })
    }

    /// See [`super::Store::spawn_change_feed`].
    pub fn spawn_change_feed(
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
    pub fn change_counter(&self) -> ChangeCounter {
        ChangeCounter {
            options: self.pool.connect_options(),
            connection: None,
        }
    }

    /// Commits a write, then advances the change counter. The counter moves only after the commit: a
    /// replica that sees the new value and re-renders is sure to see the write. The caller acknowledges
    /// the write only after this returns, so a read that arrives later and fences on the counter cannot
    /// be answered from a page rendered before the write.
    async fn commit_change(&self, tx: sqlx::Transaction<'_, Postgres>) -> Result<(), StoreError> {
        tx.commit().await?;
        let drawn: i64 = sqlx::query_scalar(ADVANCE_CHANGE_COUNTER)
            .fetch_one(&self.pool)
            .await?;
        self.last_drawn
            .fetch_max(drawn, std::sync::atomic::Ordering::AcqRel);
        Ok(())
    }

    /// The highest change-counter value this store's writes drew, if any.
    pub fn last_change_drawn(&self) -> Option<i64> {
        let drawn = self.last_drawn.load(std::sync::atomic::Ordering::Acquire);
        (drawn > 0).then_some(drawn)
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
        let mut tx = self.pool.begin().await?;
        let written = write_batch(&mut tx, std::slice::from_ref(manifest), &self.origin).await?;
        if let Some(duplicate) = written.duplicates.first() {
            return Err(duplicate_error(duplicate));
        }
        self.commit_change(tx).await?;
        let is_latest = written.latest_inserted.first().copied().unwrap_or(false);
        Ok(new_record(manifest, written.now, is_latest))
    }

    /// See [`super::Store::publish_gated`].
    pub async fn publish_gated<E>(
        &self,
        manifest: &Manifest,
        provenance: Option<&StoredProvenance>,
        gate: impl FnOnce(&[PublishedVersion]) -> Result<Option<String>, E> + Send,
    ) -> Result<Result<VersionRecord, E>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let name = manifest.name().as_str();
        // The server's row lock (taken again, as a no-op, by `write_batch`) keeps every other writer of
        // this server out between the gate's reading of the history and the insert.
        lock_servers(&mut tx, &[name]).await?;
        let urls = remote_urls(manifest);
        if !urls.is_empty() {
            let taken = sqlx::query(
                "select r.url, v.server_name from remote_urls r \
                 join server_versions v on v.id = r.version_id \
                 where r.url = any($1) and v.server_name <> $2 and v.status <> 'deleted' limit 1",
            )
            .bind(&urls)
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
            "select version, status, manifest from server_versions where server_name = $1 \
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
        let written = write_batch(&mut tx, std::slice::from_ref(manifest), &self.origin).await?;
        if let Some(duplicate) = written.duplicates.first() {
            return Err(duplicate_error(duplicate));
        }
        if let Some(report) = report {
            sqlx::query(
                "update server_versions set compat_report = $1 where server_name = $2 and version = $3",
            )
            .bind(report)
            .bind(name)
            .bind(manifest.version().as_str())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(provenance) = provenance {
            sqlx::query(
                "with v as (update server_versions set provenance = $1 \
                 where server_name = $2 and version = $3 returning id) \
                 insert into provenance_bundles (version_id, bundle) select id, $4 from v",
            )
            .bind(&provenance.summary)
            .bind(name)
            .bind(manifest.version().as_str())
            .bind(&provenance.bundle)
            .execute(&mut *tx)
            .await?;
        }
        self.commit_change(tx).await?;
        let is_latest = written.latest_inserted.first().copied().unwrap_or(false);
        let mut record = new_record(manifest, written.now, is_latest);
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
            "select compat_report from server_versions where server_name = $1 and version = $2",
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
        let mut tx = self.pool.begin().await?;
        // A bulk import can be re-run (it skips what is stored), so it does not wait for each commit to
        // reach the disk; a crash loses at most the last batches, never consistency. Publishes keep
        // synchronous commits.
        sqlx::query("set local synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        let written = write_batch(&mut tx, manifests, &self.origin).await?;
        if written.latest_inserted.is_empty() {
            tx.commit().await?;
        } else {
            self.commit_change(tx).await?;
        }
        self.analyze_if_grown().await;
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
        let mut builder = QueryBuilder::<Postgres>::new("");
        match &search {
            None => {
                builder.push(concat!(
                    "select ",
                    record_columns!(),
                    ", 0 as tier from server_versions v where true"
                ));
                push_filters(&mut builder, &filters);
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
                push_filters(&mut builder, &filters);
                if let Some((tier, server_name, _)) = cursor {
                    // Skips the documents before the cursor without joining their versions.
                    builder.push(" and (d.tier, d.server_name) >= (");
                    builder.push_bind(i32::from(tier));
                    builder.push(", ");
                    builder.push_bind(server_name.to_owned());
                    builder.push(")");
                }
                builder.push(") hits");
                if let Some((tier, server_name, version)) = cursor {
                    builder.push(" where (tier, server_name, version) > (");
                    builder.push_bind(i32::from(tier));
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
            last_tier = row.try_get::<i32, _>(10)?;
        }
        let next_cursor = next_cursor(&items, limit, search.is_some(), i64::from(last_tier))?;
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
            " from server_versions v where v.server_name = $1 and ($2 or v.status <> 'deleted') \
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
                    " from server_versions v where v.server_name = $1 and v.is_latest \
                     and ($2 or v.status <> 'deleted')"
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
                    " from server_versions v where v.server_name = $1 and v.version = $2 \
                     and ($3 or v.status <> 'deleted')"
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
        let exact = match version {
            VersionSelector::Latest => None,
            VersionSelector::Exact(version) => Some(version.as_str()),
        };
        let row = sqlx::query(
            "select v.server_name, v.version, v.manifest, v.provenance, b.bundle \
             from server_versions v left join provenance_bundles b on b.version_id = v.id \
             where v.server_name = $1 and (case when $2::text is null then v.is_latest \
             else v.version = $2 end) and ($3 or v.status <> 'deleted')",
        )
        .bind(server_name)
        .bind(exact)
        .bind(include_deleted)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let summary: Option<String> = row.try_get(3)?;
            let bundle: Option<String> = row.try_get(4)?;
            Ok(ProvenanceRecord {
                server_name: row.try_get(0)?,
                version: row.try_get(1)?,
                manifest: row.try_get(2)?,
                stored: stored_provenance(summary, bundle)?,
            })
        })
        .transpose()
    }

    /// See [`super::Store::insert_signing_key`].
    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "insert into signing_keys \
             (namespace, key_id, algorithm, public_key, created_at, created_by, revoked_at) \
             values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing",
        )
        .bind(&key.namespace)
        .bind(&key.key_id)
        .bind(&key.algorithm)
        .bind(&key.public_key)
        .bind(key.created_at)
        .bind(key.created_by.as_deref())
        .bind(key.revoked_at)
        .execute(&mut *tx)
        .await?;
        // Other replicas cache the key list.
        notify_change(&mut tx, &self.origin).await?;
        self.commit_change(tx).await?;
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
            " from signing_keys where namespace = $1 order by created_at, key_id"
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
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(concat!(
            "update signing_keys set revoked_at = coalesce(revoked_at, $3) \
             where namespace = $1 and key_id = $2 returning ",
            key_columns!()
        ))
        .bind(namespace)
        .bind(key_id)
        .bind(now())
        .fetch_optional(&mut *tx)
        .await?;
        notify_change(&mut tx, &self.origin).await?;
        self.commit_change(tx).await?;
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("select name from servers where name = $1 for update")
            .bind(server_name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut stored = stored_versions(&mut tx, &[server_name])
            .await?
            .remove(server_name)
            .unwrap_or_default();
        let plan = plan_status_change(&mut stored, version, change)?;
        let now = now();
        if !plan.changed.is_empty() {
            sqlx::query(
                "update server_versions set status = $1, status_message = $2, \
                 status_changed_at = case when status <> $1 then $3 else status_changed_at end, \
                 updated_at = $3 where id = any($4)",
            )
            .bind(change.status.as_str())
            .bind(change.message.as_deref())
            .bind(now)
            .bind(&plan.changed)
            .execute(&mut *tx)
            .await?;
        }
        apply_latest_moves(&mut tx, &plan.moves, now).await?;
        notify_change(&mut tx, &self.origin).await?;
        let rows = sqlx::query(concat!(
            "select ",
            record_columns!(),
            ", v.id from server_versions v where v.id = any($1) \
             order by v.published_at desc, v.id desc"
        ))
        .bind(&plan.addressed)
        .fetch_all(&mut *tx)
        .await?;
        self.commit_change(tx).await?;
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
             values ($1, $2, $3, $4, $5)",
        )
        .bind(&token.id)
        .bind(&token.secret_sha256)
        .bind(&token.permissions)
        .bind(token.description.as_deref())
        .bind(token.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// See [`super::Store::count_hit`].
    pub async fn count_hit(&self, key: &str, window_start: i64) -> Result<u32, StoreError> {
        // One atomic upsert: concurrent hits from any process each get their own count.
        let hits: i64 = sqlx::query_scalar(
            "insert into rate_limit_windows (key, window_start, hits) values ($1, $2, 1) \
             on conflict (key) do update set \
             hits = case when rate_limit_windows.window_start = excluded.window_start \
             then rate_limit_windows.hits + 1 else 1 end, \
             window_start = excluded.window_start \
             returning hits::bigint",
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
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry.at)
        .bind(entry.actor.as_deref())
        .bind(&entry.action)
        .bind(entry.server_name.as_deref())
        .bind(entry.version.as_deref())
        .bind(entry.remote_addr.as_deref())
        .bind(i32::from(entry.status))
        .bind(&entry.outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// See [`super::Store::audit_entries`].
    pub async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut builder = QueryBuilder::<Postgres>::new(
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
            builder.push(" and (false");
            for pattern in patterns {
                match pattern.strip_suffix('*') {
                    // left() compares characters literally: `%` and `_` in names need no escaping.
                    Some(prefix) => {
                        builder
                            .push(" or left(server_name, char_length(")
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
        builder
            .push(" order by id desc limit ")
            .push_bind(i64::from(query.limit));
        let rows = builder.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get(0)?,
                    at: row.try_get(1)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    server_name: row.try_get(4)?,
                    version: row.try_get(5)?,
                    remote_addr: row.try_get(6)?,
                    status: u16::try_from(row.try_get::<i32, _>(7)?).unwrap_or(0),
                    outcome: row.try_get(8)?,
                })
            })
            .collect()
    }

    /// See [`super::Store::find_token`].
    pub async fn find_token(&self, secret_sha256: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(
            "select id, secret_sha256, permissions, description, created_at from api_tokens \
             where secret_sha256 = $1",
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
                created_at: row.try_get(4)?,
            })
        })
        .transpose()
    }

    /// (in use, idle) connections.
    pub fn pool_usage(&self) -> (u32, u32) {
        pool_usage(self.pool.size(), self.pool.num_idle())
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

/// What [`write_batch`] did.
struct Written<'m> {
    /// When the rows were written (read after the locks were granted, so publish order and time agree).
    now: OffsetDateTime,
    /// Whether each inserted version became latest, in insert order.
    latest_inserted: Vec<bool>,
    /// Versions left out because the same precedence is stored (or came earlier in the batch).
    duplicates: Vec<&'m Manifest>,
}

/// Reads the change counter that [`PgStore::commit_change`] advances.
#[derive(Debug)]
pub struct ChangeCounter {
    options: std::sync::Arc<PgConnectOptions>,
    /// Opened on first use and again after any failure.
    connection: Option<PgConnection>,
}

impl ChangeCounter {
    /// The counter's current value, read on a query that starts after this call.
    pub async fn read(&mut self) -> Result<i64, StoreError> {
        let read = tokio::time::timeout(COUNTER_READ_TIMEOUT, self.read_once()).await;
        let outcome = match read {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Unavailable(
                "reading the change counter timed out".to_owned(),
            )),
        };
        if outcome.is_err() {
            // A connection in an unknown state is not reused.
            self.connection = None;
        }
        outcome
    }

    async fn read_once(&mut self) -> Result<i64, StoreError> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self.connection.insert(
                sqlx::ConnectOptions::connect(self.options.as_ref())
                    .await
                    .map_err(connection_error)?,
            ),
        };
        let value: i64 = sqlx::query_scalar(READ_CHANGE_COUNTER)
            .fetch_one(&mut *connection)
            .await?;
        Ok(value)
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
            Ok(Some(notification)) if notification.payload() == own_origin => {}
            Ok(Some(_)) => on_signal(ChangeSignal::Changed),
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

/// Records the remote URLs of freshly inserted versions.
async fn insert_remote_urls(
    tx: &mut PgConnection,
    rows: &[NewVersion<'_>],
) -> Result<(), StoreError> {
    let mut names = Vec::new();
    let mut keys = Vec::new();
    let mut urls = Vec::new();
    for row in rows {
        for url in remote_urls(row.manifest) {
            names.push(row.manifest.name().as_str());
            keys.push(row.precedence_key.as_str());
            urls.push(url);
        }
    }
    if urls.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into remote_urls (url, version_id) \
         select r.url, v.id from unnest($1::text[], $2::text[], $3::text[]) as r (server_name, precedence_key, url) \
         join server_versions v on v.server_name = r.server_name and v.precedence_key = r.precedence_key \
         on conflict do nothing",
    )
    .bind(&names)
    .bind(&keys)
    .bind(&urls)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Creates the `servers` rows of `names` if needed and locks them, in name order.
async fn lock_servers(tx: &mut PgConnection, names: &[&str]) -> Result<(), StoreError> {
    // Creating the rows first means a new server is locked like an existing one; a concurrent creator of
    // the same name makes this wait until it commits.
    sqlx::query(
        "insert into servers (name, created_at) select name, $2 from unnest($1::text[]) as t (name) \
         on conflict (name) do nothing",
    )
    .bind(names)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    sqlx::query("select name from servers where name = any($1) order by name for update")
        .bind(names)
        .fetch_all(&mut *tx)
        .await?;
    Ok(())
}

/// Tells every listening replica, at commit, that the registry changed.
async fn notify_change(tx: &mut PgConnection, origin: &str) -> Result<(), StoreError> {
    sqlx::query("select pg_notify($1, $2)")
        .bind(CHANGES_CHANNEL)
        .bind(origin)
        .execute(&mut *tx)
        .await?;
    Ok(())
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

/// Locks the touched servers, inserts `manifests` (skipping duplicates) and moves the latest flags,
/// inside the caller's transaction.
async fn write_batch<'m>(
    tx: &mut PgConnection,
    manifests: &'m [Manifest],
    origin: &str,
) -> Result<Written<'m>, StoreError> {
    let names = touched_names(manifests);
    lock_servers(tx, &names).await?;
    let now = now();
    let stored = stored_versions(tx, &names).await?;
    let plan: BatchPlan<'m> = plan_batch(manifests, &stored);
    apply_latest_moves(tx, &plan.moves, now).await?;
    for chunk in plan.inserts.chunks(INSERT_CHUNK) {
        let documents = ensure_documents(tx, chunk).await?;
        insert_versions(tx, chunk, &documents, now)
            .await
            .map_err(|err| map_duplicate(err, chunk[0].manifest))?;
        insert_remote_urls(tx, chunk).await?;
    }
    if !plan.inserts.is_empty() {
        notify_change(tx, origin).await?;
    }
    Ok(Written {
        now,
        latest_inserted: plan.inserts.iter().map(|row| row.is_latest).collect(),
        duplicates: plan.duplicates,
    })
}

/// The search document id of every digest the new versions need, inserting the documents that are not
/// stored yet. Digests include the server name, so documents are never shared between servers, and the
/// servers are locked: no other writer inserts these documents concurrently.
async fn ensure_documents(
    tx: &mut PgConnection,
    rows: &[NewVersion<'_>],
) -> Result<HashMap<String, i64>, StoreError> {
    let mut seen = HashSet::new();
    let (mut digests, mut server_names) = (vec![], vec![]);
    let (mut names, mut texts, mut words) = (vec![], vec![], vec![]);
    for row in rows {
        if seen.insert(row.fields.digest.as_str()) {
            digests.push(row.fields.digest.as_str());
            server_names.push(row.manifest.name().as_str());
            names.push(row.fields.name.as_str());
            texts.push(row.fields.text.as_str());
            words.push(row.fields.words.as_str());
        }
    }
    sqlx::query(
        "insert into search_documents (digest, server_name, search_name, search_text, \
         search_vector) \
         select d.digest, d.server_name, d.search_name, d.search_text, \
         array_to_tsvector(string_to_array(d.words, ' ')) \
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as d (digest, \
         server_name, search_name, search_text, words) \
         on conflict (digest) do nothing",
    )
    .bind(&digests)
    .bind(&server_names)
    .bind(&names)
    .bind(&texts)
    .bind(&words)
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query("select digest, id from search_documents where digest = any($1)")
        .bind(&digests)
        .fetch_all(&mut *tx)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// Inserts versions with one statement: each column is bound as an array and unnested, in order (ids,
/// and so publish order, follow `rows`).
async fn insert_versions(
    tx: &mut PgConnection,
    rows: &[NewVersion<'_>],
    documents: &HashMap<String, i64>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut server_names = Vec::with_capacity(rows.len());
    let mut versions = Vec::with_capacity(rows.len());
    let mut precedence_keys = Vec::with_capacity(rows.len());
    let mut latest = Vec::with_capacity(rows.len());
    let mut document_ids = Vec::with_capacity(rows.len());
    let mut registry_types = Vec::with_capacity(rows.len());
    let mut transports = Vec::with_capacity(rows.len());
    let mut manifests = Vec::with_capacity(rows.len());
    for row in rows {
        server_names.push(row.manifest.name().as_str());
        versions.push(row.manifest.version().as_str());
        precedence_keys.push(row.precedence_key.as_str());
        latest.push(row.is_latest);
        document_ids.push(
            documents
                .get(&row.fields.digest)
                .copied()
                .ok_or_else(|| StoreError::Corrupt("search document not written".to_owned()))?,
        );
        registry_types.push(row.fields.registry_types.as_str());
        transports.push(row.fields.transports.as_str());
        manifests.push(row.manifest.raw());
    }
    sqlx::query(
        "insert into server_versions (server_name, version, precedence_key, status_changed_at, \
         published_at, updated_at, is_latest, document_id, registry_types, transports, manifest) \
         select r.server_name, r.version, r.precedence_key, $1, $1, $1, r.is_latest, r.document_id, \
         r.registry_types::jsonb, r.transports::jsonb, r.manifest \
         from unnest($2::text[], $3::text[], $4::text[], $5::bool[], $6::int8[], $7::text[], \
         $8::text[], $9::text[]) with ordinality as r (server_name, version, precedence_key, \
         is_latest, document_id, registry_types, transports, manifest, position) \
         order by r.position",
    )
    .bind(now)
    .bind(&server_names)
    .bind(&versions)
    .bind(&precedence_keys)
    .bind(&latest)
    .bind(&document_ids)
    .bind(&registry_types)
    .bind(&transports)
    .bind(&manifests)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Every stored version of the named servers, each server's in publish order.
async fn stored_versions(
    tx: &mut PgConnection,
    names: &[&str],
) -> Result<BTreeMap<String, Vec<StoredVersion>>, StoreError> {
    // One index lookup per name whatever the statistics say: `= any($1)` is planned as a sequential scan
    // while the table has not been analyzed (a first bulk import), and `offset 0` keeps the planner from
    // turning the lateral lookup back into a hash join.
    let rows = sqlx::query(
        "select v.server_name, v.id, v.version, v.precedence_key, v.status, v.status_message, \
         v.is_latest from unnest($1::text[]) as n (name) \
         cross join lateral (select * from server_versions where server_name = n.name offset 0) v \
         order by v.server_name, v.published_at, v.id",
    )
    .bind(names)
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
    tx: &mut PgConnection,
    moves: &LatestMoves,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for (ids, flag) in [(&moves.clear, false), (&moves.set, true)] {
        if ids.is_empty() {
            continue;
        }
        sqlx::query(
            "update server_versions set is_latest = $1, updated_at = $2 where id = any($3)",
        )
        .bind(flag)
        .bind(now)
        .bind(ids)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Appends the list filters (each `and …`) to a query over `server_versions v`.
fn push_filters(builder: &mut QueryBuilder<Postgres>, filters: &Filters<'_>) {
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
        builder.push(" and v.updated_at > ");
        builder.push_bind(since);
    }
    for (column, value) in [
        ("registry_types", filters.registry_type.as_deref()),
        ("transports", filters.transport.as_deref()),
    ] {
        if let Some(value) = value {
            builder.push(format_args!(" and v.{column} @> "));
            builder.push_bind(json_array([value]));
            builder.push("::jsonb");
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
/// title/description (trigram indexes), or all its words are in the `tsvector`.
fn push_search_condition(builder: &mut QueryBuilder<Postgres>, term: &SearchTerm) {
    let pattern = term.like_pattern();
    builder.push("(d.search_name like ");
    builder.push_bind(pattern.clone());
    builder.push(" escape '\\' or d.search_text like ");
    builder.push_bind(pattern);
    builder.push(" escape '\\'");
    if let Some(tsquery) = term.tsquery() {
        builder.push(" or d.search_vector @@ ");
        builder.push_bind(tsquery);
        builder.push("::tsquery");
    }
    builder.push(")");
}

/// The [`super::SearchTier`] of search document `d`, as an SQL `case` (must match `sqlite.rs`).
fn push_tier(builder: &mut QueryBuilder<Postgres>, term: &SearchTerm) {
    let local = "substr(d.search_name, strpos(d.search_name, '/') + 1)";
    builder.push("case when d.search_name = ");
    builder.push_bind(term.folded.clone());
    builder.push(format_args!(" or {local} = "));
    builder.push_bind(term.folded.clone());
    builder.push(" then 0 when strpos(d.search_name, ");
    builder.push_bind(term.folded.clone());
    builder.push(format_args!(") = 1 or strpos({local}, "));
    builder.push_bind(term.folded.clone());
    builder.push(") = 1 then 1 when strpos(d.search_name, ");
    builder.push_bind(term.folded.clone());
    builder.push(") > 0 then 2 when strpos(d.search_text, ");
    builder.push_bind(term.folded.clone());
    builder.push(") > 0 then 3 else 4 end");
}

/// Reads the columns of [`key_columns!`].
fn signing_key(row: &PgRow) -> Result<SigningKeyRecord, StoreError> {
    Ok(SigningKeyRecord {
        namespace: row.try_get(0)?,
        key_id: row.try_get(1)?,
        algorithm: row.try_get(2)?,
        public_key: row.try_get(3)?,
        created_at: row.try_get(4)?,
        created_by: row.try_get(5)?,
        revoked_at: row.try_get(6)?,
    })
}

/// Reads the columns of [`record_columns!`].
fn record(row: &PgRow) -> Result<VersionRecord, StoreError> {
    Ok(VersionRecord {
        server_name: row.try_get(0)?,
        version: row.try_get(1)?,
        manifest: row.try_get(2)?,
        status: row.try_get::<&str, _>(3)?.parse()?,
        status_message: row.try_get(4)?,
        status_changed_at: row.try_get(5)?,
        published_at: row.try_get(6)?,
        updated_at: row.try_get(7)?,
        is_latest: row.try_get(8)?,
        provenance: row.try_get(9)?,
    })
}

/// A unique violation on the precedence constraint is a duplicate version; anything else stays an error.
fn map_duplicate(err: StoreError, manifest: &Manifest) -> StoreError {
    if let StoreError::Database(sqlx::Error::Database(db_err)) = &err
        && db_err.constraint() == Some("server_versions_precedence_key")
    {
        return duplicate_error(manifest);
    }
    err
}

// ---- Mirror (`registry-server mirror`): the SQL of `Store::mirror_*` ----------------------------------
// Kept apart from the rest of the engine; see `super::MirrorState`.

impl PgStore {
    /// See [`super::Store::mirror_state`].
    pub async fn mirror_state(
        &self,
        upstream: &str,
    ) -> Result<Option<super::MirrorState>, StoreError> {
        let row = sqlx::query(
            "select updated_since, pass_cursor, pass_max, pass_started from mirror_state \
             where upstream = $1",
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
             pass_started, updated_at) values ($1, $2, $3, $4, $5, $6) \
             on conflict (upstream) do update set updated_since = excluded.updated_since, \
             pass_cursor = excluded.pass_cursor, pass_max = excluded.pass_max, \
             pass_started = excluded.pass_started, updated_at = excluded.updated_at",
        )
        .bind(upstream)
        .bind(state.updated_since.as_deref())
        .bind(state.pass_cursor.as_deref())
        .bind(state.pass_max.as_deref())
        .bind(state.pass_started.as_deref())
        .bind(now())
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
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "update server_versions set published_at = $1, \
             status_changed_at = coalesce($2, status_changed_at), updated_at = $3 \
             where server_name = $4 and version = $5 \
             and (published_at <> $1 or status_changed_at <> coalesce($2, status_changed_at))",
        )
        .bind(times.published_at)
        .bind(times.status_changed_at)
        .bind(now())
        .bind(server_name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        let changed = done.rows_affected() > 0;
        if changed {
            // Other replicas drop cached responses that show the old `publishedAt`.
            notify_change(&mut tx, &self.origin).await?;
            self.commit_change(tx).await?;
        } else {
            tx.commit().await?;
        }
        Ok(changed)
    }
}
