//! Engine-neutral storage pieces used by both `sqlite.rs` and `postgres.rs`: pool settings, cursors,
//! search folding and terms, list filters, and the write plans (which versions move the latest flag).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use registry_schema::Manifest;
use registry_schema::version::{LatestCandidate, pick_latest, precedence_key};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{
    Cursor, DEFAULT_PAGE_SIZE, DatabaseConfig, ListQuery, MAX_PAGE_SIZE, Status, StatusChange,
    StoreError, VersionRecord, VersionSelector,
};

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
        provenance: None,
    }
}

/// A version's stored provenance from its two nullable columns: both or neither.
pub(super) fn stored_provenance(
    summary: Option<String>,
    bundle: Option<String>,
) -> Result<Option<super::StoredProvenance>, StoreError> {
    match (summary, bundle) {
        (Some(summary), Some(bundle)) => Ok(Some(super::StoredProvenance { summary, bundle })),
        (None, None) => Ok(None),
        _ => Err(StoreError::Corrupt(
            "a version has a provenance summary without its bundle, or the reverse".to_owned(),
        )),
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
pub(super) fn json_string(value: &str) -> String {
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
        // A published tool surface makes the server findable by what it can do.
        if let Some(Ok(surface)) = registry_schema::compat::surface_of(server) {
            for tool in surface.tools.iter().flatten() {
                let texts = [tool.title.as_deref(), tool.description.as_deref()];
                for source in std::iter::once(tool.name.as_str()).chain(texts.into_iter().flatten())
                {
                    words.extend(words_of(source).filter(|word| word.len() <= MAX_WORD_BYTES));
                }
            }
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
    pub(super) fn haystack(&self) -> String {
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
    pub(super) fn fts_words(&self) -> Option<String> {
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
    pub(super) fn fts_phrase(&self) -> String {
        format!("\"{}\"", self.folded.replace('"', "\"\""))
    }

    /// The trigram index can only find terms of three or more characters.
    pub(super) fn trigram_indexable(&self) -> bool {
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

/// The concrete remote URLs of a manifest; templated ones (`{var}`) name no single endpoint.
pub(super) fn remote_urls(manifest: &Manifest) -> Vec<&str> {
    let mut urls: Vec<&str> = manifest
        .server()
        .remotes()
        .iter()
        .filter_map(|remote| remote.url.as_deref())
        .filter(|url| !url.contains('{'))
        .collect();
    urls.sort_unstable();
    urls.dedup();
    urls
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

/// Connection failures are the database being unavailable, not a bug.
pub(super) fn connection_error(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => StoreError::Unavailable(err.to_string()),
        other => other.into(),
    }
}
