//! The store's public data types: what callers pass in and get back, on either engine.

use std::str::FromStr;

use registry_schema::Manifest;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

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
    /// When the version's own data or status last changed (not when another version took or gave
    /// back the latest flag).
    pub updated_at: OffsetDateTime,
    pub is_latest: bool,
    /// The verified provenance summary (JSON text) when the version was published with a bundle.
    pub provenance: Option<String>,
    /// The summary of the security review made at publish (JSON text), when one was made.
    pub review: Option<String>,
}

/// What is stored with a new version besides its manifest.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublishExtras<'a> {
    pub provenance: Option<&'a StoredProvenance>,
    pub review: Option<&'a StoredReview>,
}

/// The security review made at publish: the whole review and its summary (both JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReview {
    pub review: String,
    pub summary: String,
}

/// Provenance stored with a version at publish: the verified summary and the bundle as sent (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProvenance {
    pub summary: String,
    pub bundle: String,
}

/// What [`super::Store::provenance`] reads.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
    /// The exact JSON text the publisher sent, for the versions whose contents the gate reads
    /// (`registry_schema::compat::gate_reads`) and that share them with no earlier one of those.
    pub manifest: Option<String>,
    /// The entry of the same history whose manifest stands for this version's: their contract keys
    /// (`registry_schema::compat::contract_key`) are equal, so the gate compares them alike.
    pub same_as: Option<usize>,
}

/// The stored versions a publish's gate is shown.
#[derive(Debug, Clone, Copy)]
pub struct GateHistory<'a> {
    /// In publish order.
    pub versions: &'a [PublishedVersion],
    /// `false` when `versions` is a summary: the versions the gate reads when it passes (see
    /// `registry_schema::compat::gate_reads`), found by semver order instead of reading them all.
    pub complete: bool,
}

/// What a publish's gate decided.
#[derive(Debug)]
pub enum GateDecision<E> {
    /// The report to keep with the new version (or none), or the refusal.
    Decided(Result<Option<String>, E>),
    /// The gate refused over a summary: it needs every version, to name each one the new version
    /// breaks with. The store shows it the complete history.
    NeedsEveryVersion,
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

/// How relevant a search hit is; lower is better. Computed in Rust by the search index
/// (`crate::search_index`), so both engines agree on results and cursors. A server's versions are
/// ranked together, by the best tier any of its listed versions reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SearchTier {
    /// The whole name or the part after `/` equals the term (case-insensitive).
    ExactName = 0,
    /// The name, or the part after `/`, starts with the term.
    NamePrefix = 1,
    /// The term is a substring of the name. A match lying wholly inside the reverse-DNS boilerplate
    /// before the owner (`io.github.`, `com.`) is not a name match (nor a prefix one): it ranks as
    /// [`Self::TextSubstring`] when the title or description holds the term, else [`Self::FullText`].
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
    /// Ranked search: `tier.rank|name:version`, rows in `(tier, server_name, rank, version)` order,
    /// where `tier` is the server's best [`SearchTier`] and `rank` is 0 for the server's latest
    /// version and 1 for its others (so no other version of a server comes before its latest). A
    /// cursor without `.rank` has rank 0.
    Ranked {
        tier: u8,
        rank: u8,
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
                rank,
                server_name,
                version,
            } => format!("{tier}.{rank}|{server_name}:{version}"),
        }
    }

    /// Parses a cursor a client sent back. Server names cannot contain `:` or `|`, so the first of each
    /// separates the parts, and versions may contain anything.
    pub fn decode(value: &str) -> Option<Self> {
        if value.is_empty() {
            return None;
        }
        let (order, rest) = match value.split_once('|') {
            Some((order, rest)) if !order.contains(':') => {
                let (tier, rank) = order.split_once('.').unwrap_or((order, "0"));
                (
                    Some((tier.parse::<u8>().ok()?, rank.parse::<u8>().ok()?)),
                    rest,
                )
            }
            _ => (None, value),
        };
        let (server_name, version) = rest.split_once(':').unwrap_or((rest, ""));
        let (server_name, version) = (server_name.to_owned(), version.to_owned());
        Some(match order {
            Some((tier, rank)) => Self::Ranked {
                tier,
                rank,
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
    /// 1..=[`super::MAX_PAGE_SIZE`]; the handler validates it.
    pub limit: u32,
    /// Substring of name or description, or full-text words; ranks results when set.
    pub search: Option<String>,
    /// Only rows that changed strictly after this: their own data or status, or their latest flag.
    /// A row whose latest flag moved (or that was imported with its source's times) is listed with
    /// its own, possibly older, `updated_at`.
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
    /// When the token was revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<OffsetDateTime>,
}

/// Result of a bulk import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    pub inserted: u64,
    /// Versions already present (same precedence); left untouched.
    pub skipped: u64,
}

/// One version to import, with what the registry it was copied from said about it.
#[derive(Debug, Clone)]
pub struct ImportEntry {
    pub manifest: Manifest,
    /// `None`: a fresh version (active, published now).
    pub source: Option<SourceMeta>,
}

/// A version's registry metadata as the registry it came from reports it (the official
/// `_meta["io.modelcontextprotocol.registry/official"]`): an import keeps it instead of the import
/// time. `isLatest` is not kept: latest follows this registry's rule over the versions it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMeta {
    pub status: Status,
    pub status_message: Option<String>,
    /// `None` (no usable `publishedAt`): published at the import time.
    pub times: Option<MirrorTimes>,
}

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

/// The source registry's timestamps of a copied version, kept so `publishedAt` (and, when given,
/// `statusChangedAt` and `updatedAt`) mean the same here. Used by imports and the mirror alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirrorTimes {
    pub published_at: OffsetDateTime,
    /// `None` keeps the local value (a fresh import: `published_at`).
    pub status_changed_at: Option<OffsetDateTime>,
    /// `None`: the local time of the write.
    pub updated_at: Option<OffsetDateTime>,
}

/// How the compatibility gate's verdict is applied (`--compat-policy`, or an override per namespace or
/// server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompatPolicy {
    /// Refuse breaks the version number does not announce, unless the publisher accepts them.
    #[default]
    Enforce,
    /// Store them, keep the report, flag the version as breaking.
    Advise,
}

impl CompatPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Advise => "advise",
        }
    }
}

impl FromStr for CompatPolicy {
    type Err = StoreError;

    fn from_str(value: &str) -> Result<Self, StoreError> {
        match value {
            "enforce" => Ok(Self::Enforce),
            "advise" => Ok(Self::Advise),
            other => Err(StoreError::Corrupt(format!(
                "unknown compatibility policy `{other}`"
            ))),
        }
    }
}

/// Where a compatibility policy override applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyScope {
    /// Every server of a namespace (the part of the name before `/`).
    Namespace(String),
    /// One server.
    Server(String),
}

impl PolicyScope {
    /// `namespace` or `server`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Namespace(_) => "namespace",
            Self::Server(_) => "server",
        }
    }

    /// The namespace or server name.
    pub fn value(&self) -> &str {
        match self {
            Self::Namespace(value) | Self::Server(value) => value,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("version `{version}` of `{server_name}` is already published")]
    Duplicate {
        server_name: String,
        version: String,
        /// The stored version when its manifest is the one sent (same RFC 8785 digest): the publish
        /// is a retry, which may be answered with it. `None` when the stored manifest differs.
        identical: Option<Box<VersionRecord>>,
    },
    /// A remote URL of the new version is in use by another server (a live version of it).
    #[error("remote URL `{url}` is already used by server `{server_name}`")]
    RemoteUrlTaken { url: String, server_name: String },
    /// The key is already registered for the namespace (possibly revoked: a revoked key stays revoked).
    #[error("key {key_id} is already registered for namespace `{namespace}`")]
    KeyExists { namespace: String, key_id: String },
    /// A value the database cannot hold (a NUL character in text): the caller's input, not a fault.
    #[error("invalid input: {0}")]
    InvalidInput(String),
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

/// PostgreSQL's "invalid byte sequence" (a NUL in text) and "untranslatable character" (`\u0000` in
/// JSON) errors.
const INVALID_TEXT_STATES: [&str; 2] = ["22021", "22P05"];

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => Self::NotFound,
            // The database is down or unreachable: the client may retry (503), it is not our bug (500).
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => Self::Unavailable(err.to_string()),
            sqlx::Error::Database(db_err)
                if db_err
                    .code()
                    .is_some_and(|code| INVALID_TEXT_STATES.contains(&code.as_ref())) =>
            {
                Self::InvalidInput(db_err.message().to_owned())
            }
            other => Self::Database(other),
        }
    }
}

/// What a change feed reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSignal {
    /// The feed is listening (first connection or after a reconnect); changes before it may be unknown.
    Listening,
    /// Some other process committed a write.
    Changed,
    /// Some process (this one included) advanced the change counter to this value after a commit;
    /// replicas holding read leases cover it (`crate::read_fence`).
    Advanced(i64),
    /// The feed's connection is gone: changes go unseen until the next `Listening`.
    Lost,
}
