//! Storage: the only place with SQL. One interface ([`Store`]) over two engines (`sqlite.rs`, the
//! embedded default; `postgres.rs`, for production and many replicas), migrations under
//! `migrations/<engine>/`. Handlers hold a `Store` and never learn which engine is behind it.
//!
//! The storage logic is written once: the flows (`write.rs`: publish, import, the mirror's times;
//! `status.rs`; `read.rs`: lists and lookups; `admin.rs`: tokens, audit, rate limits, keys, mirror
//! progress, compatibility policies) run over the small [`engine::Engine`] trait, with one statement
//! layer (`sql.rs`) and one row-mapping layer (`rows.rs`). The engine files hold only what differs:
//! connections and transactions, how values are encoded, a few SQL fragments, and the search indexes.
//!
//! Rules both engines follow, so behaviour cannot drift:
//! - timestamps are produced here in Rust ([`now`]), truncated to microseconds, and stored as UTC;
//! - which version is latest is decided by `registry_schema::version::pick_latest`, in Rust, inside the
//!   write transaction (`plan.rs`), and the database enforces at most one latest row per server;
//! - duplicates are versions with the same `registry_schema::version::precedence_key`, refused by a
//!   unique index, so concurrent publishes of one version leave exactly one row;
//! - a version's `updated_at` moves only when its own data or status changes; `changed_at` (what
//!   `updated_since` reads) also moves when the latest flag does;
//! - search relevance is an integer tier computed the same way on both engines (see [`SearchTier`]);
//! - text holding NUL is refused on both engines ([`StoreError::InvalidInput`]).

mod admin;
mod engine;
mod fence;
mod history;
mod key_log;
mod plan;
mod postgres;
mod ranked;
mod read;
mod review;
mod rows;
mod search;
mod shared;
mod sql;
mod sqlite;
mod status;
mod types;
mod write;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use registry_schema::Manifest;
use time::OffsetDateTime;

use crate::search_index::SearchIndex;
use plan::Incoming;
use postgres::PgStore;
use sqlite::SqliteStore;

pub use fence::{ChangeCounter, Coverage, LEASE_MARGIN, LEASE_RENEWAL, LEASE_TERM};
pub use types::*;

/// Largest page a list may return.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Page size when the client does not ask for one.
pub const DEFAULT_PAGE_SIZE: u32 = 30;

/// Where the registry keeps its data.
#[derive(Debug, Clone, Default)]
pub struct DatabaseConfig {
    /// `postgres://…` or `sqlite://…`; `None` means the embedded SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Folder for the embedded database; `None` means the platform data dir (`~/.local/share/mcp-reg`).
    pub data_dir: Option<PathBuf>,
    /// Connection pool size (per replica).
    pub max_connections: u32,
    /// Connections the pool keeps open (opened in the background from the start, and replaced in the
    /// background when they age out), so a request rarely waits while one is opened (TLS set-up and a
    /// cold PostgreSQL backend). At most `max_connections`.
    pub min_connections: u32,
    /// How long a request may wait for a pooled connection before the store reports itself unavailable.
    pub acquire_timeout: Duration,
}

/// The storage engine behind a [`Store`]; for logs and `/health`, never for branching in handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The current time as both engines store it: UTC, microsecond precision.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

/// The registry's storage, on whichever engine the configuration names.
#[derive(Debug, Clone)]
pub struct Store {
    engine: Engines,
    /// Where the data lives, for people: the SQLite file, or the PostgreSQL URL without its password.
    location: Arc<str>,
    /// The replica's search index, shared by every clone (see `crate::search_index`).
    search: Arc<SearchIndex>,
}

#[derive(Debug, Clone)]
enum Engines {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Runs the same engine-generic flow (`module::function(engine, args…)`) on whichever engine is behind
/// the store.
macro_rules! dispatch {
    ($self:ident, $($flow:ident)::+ ( $($arg:expr),* )) => {
        match &$self.engine {
            Engines::Sqlite(engine) => $($flow)::+(engine, $($arg),*).await,
            Engines::Postgres(engine) => $($flow)::+(engine, $($arg),*).await,
        }
    };
}

impl Store {
    /// Opens (creating, for SQLite) the configured database. Does not migrate; call [`Store::migrate`].
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        let (engine, location) = match config.database_url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => (
                Engines::Postgres(PgStore::connect(url, config).await?),
                redact_url(url),
            ),
            Some(url) if url.starts_with("sqlite:") => (
                Engines::Sqlite(SqliteStore::connect_url(url, config).await?),
                url.to_owned(),
            ),
            Some(other) => {
                return Err(StoreError::Config(format!(
                    "database URL `{}` must start with postgres:// or sqlite:",
                    redact_url(other)
                )));
            }
            None => {
                let dir = match &config.data_dir {
                    Some(dir) => dir.clone(),
                    None => dirs::data_dir()
                        .ok_or_else(|| {
                            StoreError::Config(
                                "no platform data directory; pass --data-dir".to_owned(),
                            )
                        })?
                        .join("mcp-reg"),
                };
                (
                    Engines::Sqlite(SqliteStore::open_in_dir(&dir, config).await?),
                    dir.join(sqlite::DATABASE_FILE).display().to_string(),
                )
            }
        };
        Ok(Self {
            engine,
            location: location.into(),
            search: Arc::default(),
        })
    }

    /// Where the data lives: the SQLite file, or the PostgreSQL URL without its password.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn backend(&self) -> Backend {
        match self.engine {
            Engines::Sqlite(_) => Backend::Sqlite,
            Engines::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations (forward-only).
    /// Then starts the key log of namespaces whose keys predate it.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.engine {
            Engines::Sqlite(engine) => engine.migrate().await?,
            Engines::Postgres(engine) => engine.migrate().await?,
        }
        dispatch!(self, key_log::backfill())?;
        dispatch!(self, history::backfill_order_keys())
    }

    /// Round trip to the database, for `/health`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, read::ping())
    }

    /// Publishes one version after `gate` approved it, atomically: `gate` sees the server's stored
    /// versions (publish order; manifests only of those the compatibility gate reads, see
    /// [`PublishedVersion`]) while no other writer can change them, and returns the report to
    /// keep with the new version, or a refusal, in which case nothing is stored. It is shown a summary
    /// first ([`GateHistory::complete`] false) and every version only when it asks for them
    /// ([`GateDecision::NeedsEveryVersion`]). `provenance` (verified by the caller) is stored with the
    /// version in the same transaction.
    ///
    /// A version with the same precedence as a stored one fails with [`StoreError::Duplicate`] before
    /// the gate runs; when the stored manifest is the one sent (same RFC 8785 digest) the error carries
    /// the stored version (`identical`), so a retried publish can be answered with it.
    pub async fn publish_gated<E>(
        &self,
        manifest: &Manifest,
        extras: PublishExtras<'_>,
        gate: impl FnMut(GateHistory<'_>) -> GateDecision<E> + Send,
    ) -> Result<Result<VersionRecord, E>, StoreError> {
        dispatch!(self, write::publish_gated(manifest, extras, gate))
    }

    /// The security review stored with a version at publish: `None` when the version does not exist
    /// (or is deleted and `include_deleted` is false); `Some((manifest, None))` when it was stored
    /// without one (imported, mirrored, or published with the review off).
    pub async fn review(
        &self,
        server_name: &str,
        version: &VersionSelector,
        include_deleted: bool,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        dispatch!(self, review::review(server_name, version, include_deleted))
    }

    /// A version's provenance: `None` when the version does not exist (or is deleted and
    /// `include_deleted` is false); otherwise the stored summary and bundle, both `None` when unsigned.
    pub async fn provenance(
        &self,
        server_name: &str,
        version: &VersionSelector,
        include_deleted: bool,
    ) -> Result<Option<ProvenanceRecord>, StoreError> {
        dispatch!(
            self,
            read::provenance(server_name, version, include_deleted)
        )
    }

    /// Registers a public key for a namespace. Registering a key that is already registered (even
    /// revoked) fails with [`StoreError::KeyExists`].
    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        dispatch!(self, admin::insert_signing_key(key))
    }

    /// The keys registered for a namespace, revoked ones included, oldest first.
    pub async fn signing_keys(&self, namespace: &str) -> Result<Vec<SigningKeyRecord>, StoreError> {
        dispatch!(self, admin::signing_keys(namespace))
    }

    /// Marks a key revoked; `None` when the namespace has no such key, otherwise the key as stored
    /// (with its first revocation time when it was already revoked).
    /// `actor` (`token:<id>`) goes into the namespace's key log.
    pub async fn revoke_signing_key(
        &self,
        namespace: &str,
        key_id: &str,
        actor: Option<&str>,
    ) -> Result<Option<SigningKeyRecord>, StoreError> {
        dispatch!(self, admin::revoke_signing_key(namespace, key_id, actor))
    }

    /// The namespace's key log (every registration and revocation, hash-chained), oldest first.
    pub async fn key_log(
        &self,
        namespace: &str,
    ) -> Result<Vec<registry_provenance::key_log::KeyLogEntry>, StoreError> {
        dispatch!(self, key_log::entries(namespace))
    }

    /// The gate report kept with a version: `None` when the version does not exist, `Some(None)` when it
    /// was stored without one (imported or mirrored).
    pub async fn compat_report(
        &self,
        server_name: &str,
        version: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        dispatch!(self, read::compat_report(server_name, version))
    }

    /// Counts one hit for `key` in the fixed window starting at `window_start` (Unix seconds) and
    /// returns the hits so far in that window, this one included. Shared by every process on the
    /// database, so limits hold across replicas.
    pub async fn count_hit(&self, key: &str, window_start: i64) -> Result<u32, StoreError> {
        dispatch!(self, admin::count_hit(key, window_start))
    }

    /// Appends an entry to the audit log (`entry.id` is ignored; a NUL in its text is stored as U+FFFD).
    pub async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        dispatch!(self, admin::insert_audit(entry))
    }

    /// Audit entries, newest first.
    pub async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self, admin::audit_entries(query))
    }

    /// Inserts many manifests as fresh versions, skipping versions already present; latest is
    /// recomputed once per server touched. Each call is one transaction. Imports never run the
    /// compatibility gate.
    pub async fn import(&self, manifests: &[Manifest]) -> Result<ImportOutcome, StoreError> {
        let entries: Vec<Incoming<'_>> = manifests
            .iter()
            .map(|manifest| Incoming {
                manifest,
                source: None,
                contract_key: None,
            })
            .collect();
        dispatch!(self, write::import(&entries))
    }

    /// [`Store::import`] for versions copied from another registry: each keeps its source's status and
    /// times (see [`SourceMeta`]).
    pub async fn import_entries(
        &self,
        entries: &[ImportEntry],
    ) -> Result<ImportOutcome, StoreError> {
        let entries: Vec<Incoming<'_>> = entries
            .iter()
            .map(|entry| Incoming {
                manifest: &entry.manifest,
                source: entry.source.as_ref(),
                contract_key: None,
            })
            .collect();
        dispatch!(self, write::import(&entries))
    }

    pub async fn list_servers(&self, query: &ListQuery) -> Result<Page, StoreError> {
        dispatch!(self, read::list_servers(&self.search, query))
    }

    /// Loads the search index with every stored search document (searches also do it, on first use
    /// and for the documents added since). Call at startup so the first search is not the slow one.
    pub async fn warm_search_index(&self) -> Result<(), StoreError> {
        dispatch!(self, ranked::refresh(&self.search))
    }

    /// The search index's approximate heap bytes and document count, for logs.
    pub fn search_index_stats(&self) -> (usize, usize) {
        self.search.stats()
    }

    /// Every version of a server, newest publication first. Empty when the server has none visible.
    pub async fn list_versions(
        &self,
        server_name: &str,
        include_deleted: bool,
    ) -> Result<Vec<VersionRecord>, StoreError> {
        dispatch!(self, read::list_versions(server_name, include_deleted))
    }

    pub async fn find_version(
        &self,
        server_name: &str,
        version: &VersionSelector,
        include_deleted: bool,
    ) -> Result<Option<VersionRecord>, StoreError> {
        dispatch!(
            self,
            read::find_version(server_name, version, include_deleted)
        )
    }

    /// Changes one version's status (NotFound when it does not exist) and recomputes latest.
    pub async fn update_version_status(
        &self,
        server_name: &str,
        version: &str,
        change: &StatusChange,
    ) -> Result<StatusOutcome, StoreError> {
        dispatch!(
            self,
            status::change_status(server_name, Some(version), change)
        )
    }

    /// Changes every version's status in one transaction (NotFound when the server has no versions).
    pub async fn update_server_status(
        &self,
        server_name: &str,
        change: &StatusChange,
    ) -> Result<StatusOutcome, StoreError> {
        dispatch!(self, status::change_status(server_name, None, change))
    }

    pub async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        dispatch!(self, admin::insert_token(token))
    }

    pub async fn find_token(&self, secret_sha256: &str) -> Result<Option<TokenRecord>, StoreError> {
        dispatch!(self, admin::find_token(secret_sha256))
    }

    /// Every token, revoked ones included, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        dispatch!(self, admin::tokens())
    }

    /// Revokes a token; `None` when there is no such token, otherwise the token as stored (with its
    /// first revocation time when it was already revoked). A write: other replicas refuse it from then on.
    pub async fn revoke_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        dispatch!(self, admin::revoke_token(id))
    }

    /// Sets (`Some`) or removes (`None`) the compatibility policy override of `scope`; `actor` (a
    /// `token:<id>`) is kept with it. A write: other replicas see it before this returns.
    pub async fn set_compat_policy(
        &self,
        scope: &PolicyScope,
        policy: Option<CompatPolicy>,
        actor: Option<&str>,
    ) -> Result<(), StoreError> {
        dispatch!(self, admin::set_compat_policy(scope, policy, actor))
    }

    /// The override for `server_name`: its own, else its namespace's (the part before `/`); `None` when
    /// neither is set.
    pub async fn compat_policy_for(
        &self,
        server_name: &str,
    ) -> Result<Option<CompatPolicy>, StoreError> {
        dispatch!(self, admin::compat_policy_for(server_name))
    }

    /// Every override: namespaces first, then servers, each in name order.
    pub async fn compat_policies(&self) -> Result<Vec<(PolicyScope, CompatPolicy)>, StoreError> {
        dispatch!(self, admin::compat_policies())
    }

    /// Starts a task that reports writes committed by any process sharing the database (other replicas,
    /// `registry-server import`), so caches can be dropped. `None` when the engine has no such feed
    /// (SQLite): caches there rely on local invalidation and their time-to-live.
    pub fn spawn_change_feed(
        &self,
        on_signal: impl Fn(ChangeSignal) + Send + Sync + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        match &self.engine {
            Engines::Sqlite(_) => None,
            Engines::Postgres(engine) => Some(engine.spawn_change_feed(on_signal)),
        }
    }

    /// A reader of the counter every committed write advances before it is acknowledged, for replicas'
    /// read fences. `None` on SQLite: one process serves a database file, and its own writes
    /// invalidate its cache directly.
    pub fn change_counter(&self) -> Option<ChangeCounter> {
        match &self.engine {
            Engines::Sqlite(_) => None,
            Engines::Postgres(engine) => Some(engine.change_counter()),
        }
    }

    /// Waits until every replica holding a read lease dropped its cache for the change counter's value
    /// `drawn`, or its lease ran out, as every write does before it is acknowledged (PostgreSQL; on
    /// SQLite there are no other replicas). For writers that advance the counter themselves.
    pub async fn await_read_leases(&self, drawn: i64) {
        if let Engines::Postgres(engine) = &self.engine {
            engine.await_read_leases(drawn).await;
        }
    }

    /// The highest change-counter value this process's own writes advanced the counter to (PostgreSQL).
    /// A cache dropped after such a write holds nothing older than that value.
    pub fn last_change_drawn(&self) -> Option<i64> {
        match &self.engine {
            Engines::Sqlite(_) => None,
            Engines::Postgres(engine) => engine.last_change_drawn(),
        }
    }

    /// (in use, idle) connections, for metrics.
    pub fn pool_usage(&self) -> (u32, u32) {
        match &self.engine {
            Engines::Sqlite(engine) => engine.pool_usage(),
            Engines::Postgres(engine) => engine.pool_usage(),
        }
    }

    // ---- Mirror (`registry-server mirror`, see `crate::mirror`) --------------------------------------

    /// The saved progress of the mirror of `upstream` (`None` before its first page).
    pub async fn mirror_state(&self, upstream: &str) -> Result<Option<MirrorState>, StoreError> {
        dispatch!(self, admin::load_mirror_state(upstream))
    }

    /// Saves the progress of the mirror of `upstream` (replacing what was saved).
    pub async fn save_mirror_state(
        &self,
        upstream: &str,
        state: &MirrorState,
    ) -> Result<(), StoreError> {
        dispatch!(self, admin::save_mirror_state(upstream, state))
    }

    /// Sets a stored version's publication (and status change, and update) time to the upstream's;
    /// `true` when the row changed. Incremental readers of this registry see the row again either way
    /// (its `changed_at` moves). Latest flags are left alone: they follow versions and statuses, which
    /// the mirror applies through [`Store::import`] and [`Store::update_version_status`].
    pub async fn mirror_keep_times(
        &self,
        server_name: &str,
        version: &str,
        times: &MirrorTimes,
    ) -> Result<bool, StoreError> {
        dispatch!(self, write::keep_times(server_name, version, times))
    }
}

/// A database URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_accept_upstream_forms() {
        for cursor in [
            Cursor::Position {
                server_name: "ai.klavis/strata".into(),
                version: "1.0.0".into(),
            },
            Cursor::Position {
                server_name: "io.x/y".into(),
                version: "1:2|3".into(),
            },
            Cursor::Ranked {
                tier: 3,
                rank: 1,
                server_name: "io.x/y".into(),
                version: "1.0.0+b".into(),
            },
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        assert_eq!(
            Cursor::decode("ai.klavis/strata"),
            Some(Cursor::Position {
                server_name: "ai.klavis/strata".into(),
                version: String::new()
            })
        );
        // A ranked cursor without a rank (an older registry's) is at rank 0.
        assert_eq!(
            Cursor::decode("2|io.x/y:1.0.0"),
            Some(Cursor::Ranked {
                tier: 2,
                rank: 0,
                server_name: "io.x/y".into(),
                version: "1.0.0".into()
            })
        );
        assert_eq!(Cursor::decode(""), None);
        assert_eq!(Cursor::decode("x|io.x/y:1"), None);
        assert_eq!(Cursor::decode("1.x|io.x/y:1"), None);
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://a.db"), "sqlite://a.db");
    }
}
