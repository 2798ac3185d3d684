//! Storage: the only place with SQL. One interface ([`Store`]), one implementation per engine
//! (`sqlite.rs`, the embedded default; `postgres.rs`, for production and many replicas), migrations under
//! `migrations/<engine>/`. Handlers hold a `Store` and never learn which engine is behind it.
//!
//! Rules both engines follow, so behaviour cannot drift:
//! - timestamps are produced here in Rust ([`now`]), truncated to microseconds, and stored as UTC;
//! - which version is latest is decided by `registry_schema::version::pick_latest`, in Rust, inside the
//!   write transaction, and the database enforces at most one latest row per server;
//! - duplicates are versions with the same `registry_schema::version::precedence_key`, refused by a
//!   unique index, so concurrent publishes of one version leave exactly one row;
//! - search relevance is an integer tier computed the same way on both engines (see [`SearchTier`]).

mod postgres;
mod shared;
mod sqlite;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use registry_schema::Manifest;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use postgres::{ChangeCounter, PgStore};
pub use sqlite::SqliteStore;

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
    /// How long a request may wait for a pooled connection before the store reports itself unavailable.
    pub acquire_timeout: Duration,
}

/// The storage engine behind a [`Store`]; for logs and `/health`, never for branching in handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A version's lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Deprecated,
    Deleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deprecated => "deprecated",
            Self::Deleted => "deleted",
        }
    }
}

impl FromStr for Status {
    type Err = StoreError;
    fn from_str(value: &str) -> Result<Self, StoreError> {
        match value {
            "active" => Ok(Self::Active),
            "deprecated" => Ok(Self::Deprecated),
            "deleted" => Ok(Self::Deleted),
            other => Err(StoreError::Corrupt(format!("unknown status `{other}`"))),
        }
    }
}

/// One stored version of a server, with the registry's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRecord {
    pub server_name: String,
    pub version: String,
    /// The exact JSON text the publisher sent.
    pub manifest: String,
    pub status: Status,
    pub status_message: Option<String>,
    pub status_changed_at: OffsetDateTime,
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub is_latest: bool,
    /// The verified provenance summary (JSON text) when the version was published with a bundle.
    pub provenance: Option<String>,
}

/// Provenance stored with a version at publish: the verified summary and the bundle as sent (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProvenance {
    pub summary: String,
    pub bundle: String,
}

/// What [`Store::provenance`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceRecord {
    pub server_name: String,
    pub version: String,
    /// The exact server.json the publisher sent (what the bundle's digest covers).
    pub manifest: String,
    /// Both `None`: the version was published unsigned.
    pub stored: Option<StoredProvenance>,
}

/// A public key registered for a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub namespace: String,
    /// Hex SHA-256 of the SubjectPublicKeyInfo (DER).
    pub key_id: String,
    /// `ed25519` or `ecdsa-p256`.
    pub algorithm: String,
    /// SPKI PEM.
    pub public_key: String,
    pub created_at: OffsetDateTime,
    /// `token:<id>` of the registering caller.
    pub created_by: Option<String>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Assigned by the store; entries are listed newest (highest id) first.
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// `token:<id>`; absent when the request had no valid credentials.
    pub actor: Option<String>,
    /// `publish`, `status`, `status-all`.
    pub action: String,
    pub server_name: Option<String>,
    pub version: Option<String>,
    pub remote_addr: Option<String>,
    /// The HTTP status of the response.
    pub status: u16,
    pub outcome: String,
}

/// Which audit entries to read.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries about names these permission patterns cover (`*`, `prefix*`, exact); `None`: all.
    pub patterns: Option<Vec<String>>,
    /// Only entries about this server.
    pub server_name: Option<String>,
    /// Keyset cursor: entries with a smaller id.
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// A stored version as the publish gate sees it.
#[derive(Debug, Clone)]
pub struct PublishedVersion {
    pub version: String,
    pub status: Status,
    /// The exact JSON text the publisher sent.
    pub manifest: String,
}

/// `version=` on a list, or the `{version}` path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    Latest,
    Exact(String),
}

impl VersionSelector {
    /// `latest` selects the latest version; anything else is an exact version.
    pub fn parse(value: &str) -> Self {
        if value == "latest" {
            Self::Latest
        } else {
            Self::Exact(value.to_owned())
        }
    }
}

/// How relevant a search hit is; lower is better. Computed identically on both engines so results and
/// cursors agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SearchTier {
    /// The whole name or the part after `/` equals the term (case-insensitive).
    ExactName = 0,
    /// The name, or the part after `/`, starts with the term.
    NamePrefix = 1,
    /// The term is a substring of the name.
    NameSubstring = 2,
    /// The term is a substring of the title or description.
    TextSubstring = 3,
    /// Every word of the term matches the full-text index (name, title, description, package
    /// identifiers) but the term is not a substring of any of them.
    FullText = 4,
}

/// Where a page starts: after this row. Opaque to clients; see [`Cursor::encode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// `name:version`, the official registry's format (rows in `(server_name, version)` text order).
    /// A cursor without `:` (also accepted upstream) is `name` with an empty version.
    Position {
        server_name: String,
        version: String,
    },
    /// Ranked search: `tier|name:version`, rows in `(tier, server_name, version)` order.
    Ranked {
        tier: u8,
        server_name: String,
        version: String,
    },
}

impl Cursor {
    pub fn encode(&self) -> String {
        match self {
            Self::Position {
                server_name,
                version,
            } => format!("{server_name}:{version}"),
            Self::Ranked {
                tier,
                server_name,
                version,
            } => format!("{tier}|{server_name}:{version}"),
        }
    }

    /// Parses a cursor a client sent back. Server names cannot contain `:` or `|`, so the first of each
    /// separates the parts, and versions may contain anything.
    pub fn decode(value: &str) -> Option<Self> {
        if value.is_empty() {
            return None;
        }
        let (tier, rest) = match value.split_once('|') {
            Some((tier, rest)) if !tier.contains(':') => (Some(tier.parse::<u8>().ok()?), rest),
            _ => (None, value),
        };
        let (server_name, version) = rest.split_once(':').unwrap_or((rest, ""));
        let (server_name, version) = (server_name.to_owned(), version.to_owned());
        Some(match tier {
            Some(tier) => Self::Ranked {
                tier,
                server_name,
                version,
            },
            None => Self::Position {
                server_name,
                version,
            },
        })
    }
}

/// `GET /servers`: filters, search and the page window.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub cursor: Option<Cursor>,
    /// 1..=[`MAX_PAGE_SIZE`]; the handler validates it.
    pub limit: u32,
    /// Substring of name or description, or full-text words; ranks results when set.
    pub search: Option<String>,
    /// Only rows with `updated_at` strictly after this.
    pub updated_since: Option<OffsetDateTime>,
    pub version: Option<VersionSelector>,
    pub include_deleted: bool,
    /// Only servers with a package of this `registryType`.
    pub registry_type: Option<String>,
    /// Only servers with a package transport or remote of this type (`stdio`, `streamable-http`, `sse`).
    pub transport: Option<String>,
    /// Only servers in this namespace (the part before `/`, exact).
    pub namespace: Option<String>,
}

/// One page of a list. `next_cursor` is set whenever the page is full (as upstream: a last page of
/// exactly `limit` rows still carries a cursor, and the next request returns an empty page).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<VersionRecord>,
    pub next_cursor: Option<String>,
}

/// A requested status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: Status,
    pub message: Option<String>,
}

/// What a status change did.
#[derive(Debug, Clone)]
pub struct StatusOutcome {
    /// Rows whose status or message actually changed.
    pub changed: Vec<VersionRecord>,
    /// Every version the request addressed, after the change (latest flags recomputed).
    pub versions: Vec<VersionRecord>,
}

/// A publisher API token as stored (only the SHA-256 of the secret, never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub secret_sha256: String,
    /// JSON array of `{"action", "resource"}`; parsed by the auth module.
    pub permissions: String,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
}

/// Result of a bulk import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    pub inserted: u64,
    /// Versions already present (same precedence); left untouched.
    pub skipped: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("version `{version}` of `{server_name}` is already published")]
    Duplicate {
        server_name: String,
        version: String,
    },
    /// A remote URL of the new version is in use by another server (a live version of it).
    #[error("remote URL `{url}` is already used by server `{server_name}`")]
    RemoteUrlTaken { url: String, server_name: String },
    /// The key is already registered for the namespace (possibly revoked: a revoked key stays revoked).
    #[error("key {key_id} is already registered for namespace `{namespace}`")]
    KeyExists { namespace: String, key_id: String },
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => Self::NotFound,
            // The database is down or unreachable: the client may retry (503), it is not our bug (500).
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => Self::Unavailable(err.to_string()),
            other => Self::Database(other),
        }
    }
}

/// What a change feed reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSignal {
    /// The feed is listening (first connection or after a reconnect); changes before it may be unknown.
    Listening,
    /// Some process committed a write.
    Changed,
    /// The feed's connection is gone: changes go unseen until the next `Listening`.
    Lost,
}

/// The current time as both engines store it: UTC, microsecond precision.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

/// The registry's storage, on whichever engine the configuration names.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Calls the same method on whichever engine is behind the store.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Sqlite(store) => store.$method($($arg),*).await,
            Store::Postgres(store) => store.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens (creating, for SQLite) the configured database. Does not migrate; call [`Store::migrate`].
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        match config.database_url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres(PgStore::connect(url, config).await?))
            }
            Some(url) if url.starts_with("sqlite:") => {
                Ok(Self::Sqlite(SqliteStore::connect_url(url, config).await?))
            }
            Some(other) => Err(StoreError::Config(format!(
                "database URL `{}` must start with postgres:// or sqlite:",
                redact_url(other)
            ))),
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
                Ok(Self::Sqlite(SqliteStore::open_in_dir(&dir, config).await?))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations (forward-only).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        dispatch!(self.migrate())
    }

    /// Round trip to the database, for `/health`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self.ping())
    }

    /// Publishes a validated manifest: inserts the version and recomputes latest, in one transaction.
    /// A version with the same precedence as a stored one fails with [`StoreError::Duplicate`].
    pub async fn publish(&self, manifest: &Manifest) -> Result<VersionRecord, StoreError> {
        dispatch!(self.publish(manifest))
    }

    /// Publishes one version after `gate` approved it, atomically: `gate` sees every stored version of
    /// the server (publish order) while no other writer can change them, and returns the report to
    /// keep with the new version, or a refusal, in which case nothing is stored. `provenance` (verified
    /// by the caller) is stored with the version in the same transaction.
    pub async fn publish_gated<E>(
        &self,
        manifest: &Manifest,
        provenance: Option<&StoredProvenance>,
        gate: impl FnOnce(&[PublishedVersion]) -> Result<Option<String>, E> + Send,
    ) -> Result<Result<VersionRecord, E>, StoreError> {
        dispatch!(self.publish_gated(manifest, provenance, gate))
    }

    /// A version's provenance: `None` when the version does not exist (or is deleted and
    /// `include_deleted` is false); otherwise the stored summary and bundle, both `None` when unsigned.
    pub async fn provenance(
        &self,
        server_name: &str,
        version: &VersionSelector,
        include_deleted: bool,
    ) -> Result<Option<ProvenanceRecord>, StoreError> {
        dispatch!(self.provenance(server_name, version, include_deleted))
    }

    /// Registers a public key for a namespace. Registering a key that is already registered (even
    /// revoked) fails with [`StoreError::KeyExists`].
    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        dispatch!(self.insert_signing_key(key))
    }

    /// The keys registered for a namespace, revoked ones included, oldest first.
    pub async fn signing_keys(&self, namespace: &str) -> Result<Vec<SigningKeyRecord>, StoreError> {
        dispatch!(self.signing_keys(namespace))
    }

    /// Marks a key revoked; `None` when the namespace has no such key, otherwise the key as stored
    /// (with its first revocation time when it was already revoked).
    pub async fn revoke_signing_key(
        &self,
        namespace: &str,
        key_id: &str,
    ) -> Result<Option<SigningKeyRecord>, StoreError> {
        dispatch!(self.revoke_signing_key(namespace, key_id))
    }

    /// The gate report kept with a version: `None` when the version does not exist, `Some(None)` when it
    /// was stored without one (imported or mirrored).
    pub async fn compat_report(
        &self,
        server_name: &str,
        version: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        dispatch!(self.compat_report(server_name, version))
    }

    /// Counts one hit for `key` in the fixed window starting at `window_start` (Unix seconds) and
    /// returns the hits so far in that window, this one included. Shared by every process on the
    /// database, so limits hold across replicas.
    pub async fn count_hit(&self, key: &str, window_start: i64) -> Result<u32, StoreError> {
        dispatch!(self.count_hit(key, window_start))
    }

    /// Appends an entry to the audit log (`entry.id` is ignored).
    pub async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        dispatch!(self.insert_audit(entry))
    }

    /// Audit entries, newest first.
    pub async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self.audit_entries(query))
    }

    /// Inserts many manifests, skipping versions already present; latest is recomputed once per
    /// server touched. Each call is one transaction.
    pub async fn import(&self, manifests: &[Manifest]) -> Result<ImportOutcome, StoreError> {
        dispatch!(self.import(manifests))
    }

    pub async fn list_servers(&self, query: &ListQuery) -> Result<Page, StoreError> {
        dispatch!(self.list_servers(query))
    }

    /// Every version of a server, newest publication first. Empty when the server has none visible.
    pub async fn list_versions(
        &self,
        server_name: &str,
        include_deleted: bool,
    ) -> Result<Vec<VersionRecord>, StoreError> {
        dispatch!(self.list_versions(server_name, include_deleted))
    }

    pub async fn find_version(
        &self,
        server_name: &str,
        version: &VersionSelector,
        include_deleted: bool,
    ) -> Result<Option<VersionRecord>, StoreError> {
        dispatch!(self.find_version(server_name, version, include_deleted))
    }

    /// Changes one version's status (NotFound when it does not exist) and recomputes latest.
    pub async fn update_version_status(
        &self,
        server_name: &str,
        version: &str,
        change: &StatusChange,
    ) -> Result<StatusOutcome, StoreError> {
        dispatch!(self.update_version_status(server_name, version, change))
    }

    /// Changes every version's status in one transaction (NotFound when the server has no versions).
    pub async fn update_server_status(
        &self,
        server_name: &str,
        change: &StatusChange,
    ) -> Result<StatusOutcome, StoreError> {
        dispatch!(self.update_server_status(server_name, change))
    }

    pub async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        dispatch!(self.insert_token(token))
    }

    pub async fn find_token(&self, secret_sha256: &str) -> Result<Option<TokenRecord>, StoreError> {
        dispatch!(self.find_token(secret_sha256))
    }

    /// Starts a task that reports writes committed by any process sharing the database (other replicas,
    /// `registry-server import`), so caches can be dropped. `None` when the engine has no such feed
    /// (SQLite): caches there rely on local invalidation and their time-to-live.
    pub fn spawn_change_feed(
        &self,
        on_signal: impl Fn(ChangeSignal) + Send + Sync + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres(store) => Some(store.spawn_change_feed(on_signal)),
        }
    }

    /// A reader of the counter every committed write advances before it is acknowledged, for replicas'
    /// read fences. `None` on SQLite: one process serves a database file, and its own writes
    /// invalidate its cache directly.
    pub fn change_counter(&self) -> Option<ChangeCounter> {
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres(store) => Some(store.change_counter()),
        }
    }

    /// The highest change-counter value this process's own writes advanced the counter to (PostgreSQL).
    /// A cache dropped after such a write holds nothing older than that value.
    pub fn last_change_drawn(&self) -> Option<i64> {
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres(store) => store.last_change_drawn(),
        }
    }

    /// (in use, idle) connections, for metrics.
    pub fn pool_usage(&self) -> (u32, u32) {
        match self {
            Self::Sqlite(store) => store.pool_usage(),
            Self::Postgres(store) => store.pool_usage(),
        }
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
        assert_eq!(Cursor::decode(""), None);
        assert_eq!(Cursor::decode("x|io.x/y:1"), None);
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

// ---- Mirror (`registry-server mirror`, see `crate::mirror`) ------------------------------------------
// Kept apart from the rest of the store: the mirror's progress per upstream, and the upstream's
// timestamps for versions it copied. SQL lives in the engines' own mirror blocks.

/// How far the mirror of one upstream got. Timestamps are the upstream's RFC3339 text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorState {
    /// High-water mark of the last complete pass: the next pass asks for `updated_since` this.
    pub updated_since: Option<String>,
    /// Where an unfinished pass continues (the upstream's `nextCursor` after its last committed page).
    pub pass_cursor: Option<String>,
    /// Largest `updatedAt` applied by the unfinished pass.
    pub pass_max: Option<String>,
    /// The upstream's clock when the unfinished pass began.
    pub pass_started: Option<String>,
}

/// The upstream's timestamps of a mirrored version, kept so `publishedAt` means the same downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirrorTimes {
    pub published_at: OffsetDateTime,
    /// `None` keeps the local value (the upstream did not say).
    pub status_changed_at: Option<OffsetDateTime>,
}

impl Store {
    /// The saved progress of the mirror of `upstream` (`None` before its first page).
    pub async fn mirror_state(&self, upstream: &str) -> Result<Option<MirrorState>, StoreError> {
        dispatch!(self.mirror_state(upstream))
    }

    /// Saves the progress of the mirror of `upstream` (replacing what was saved).
    pub async fn save_mirror_state(
        &self,
        upstream: &str,
        state: &MirrorState,
    ) -> Result<(), StoreError> {
        dispatch!(self.save_mirror_state(upstream, state))
    }

    /// Sets a stored version's publication (and status change) time to the upstream's; `true` when the
    /// row changed (its `updated_at` then moves, so our own incremental readers see it). Latest flags
    /// are left alone: they follow versions and statuses, which the mirror applies through
    /// [`Store::import`] and [`Store::update_version_status`].
    pub async fn mirror_keep_times(
        &self,
        server_name: &str,
        version: &str,
        times: &MirrorTimes,
    ) -> Result<bool, StoreError> {
        dispatch!(self.mirror_keep_times(server_name, version, times))
    }
}
