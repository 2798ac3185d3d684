//! Write plans, decided in Rust before a transaction's first write and the same on both engines: which
//! versions a batch inserts (and with which metadata), which are duplicates, and which rows the latest
//! flag moves between.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use registry_schema::Manifest;
use registry_schema::version::{LatestCandidate, order_key, pick_latest, precedence_key};
use time::OffsetDateTime;

use super::search::SearchFields;
use super::sql::Values;
use super::{SourceMeta, Status, StatusChange, StoreError};

/// A stored version, as the duplicate check, the latest rule and status changes see it.
#[derive(Debug, Clone)]
pub(crate) struct StoredVersion {
    pub id: i64,
    pub version: String,
    pub precedence_key: String,
    pub status: Status,
    pub status_message: Option<String>,
    pub published_at: OffsetDateTime,
    pub is_latest: bool,
}

/// Latest flags to clear and to set (clears first, so the one-latest index holds at every statement).
#[derive(Debug, Default)]
pub(crate) struct LatestMoves {
    pub clear: Vec<i64>,
    pub set: Vec<i64>,
}

/// A version the latest rule is about to see for the first time.
struct Added<'a> {
    version: &'a str,
    deleted: bool,
    published_at: OffsetDateTime,
}

/// Runs the latest rule over a server's stored versions (publish order) and `added` new ones, all in
/// publication-time order (stored first on equal times, as their ids are smaller); records the flag
/// moves on stored rows and returns which added version is latest, if any.
fn move_latest(
    stored: &[StoredVersion],
    added: &[Added<'_>],
    moves: &mut LatestMoves,
) -> Option<usize> {
    let mut order: Vec<(OffsetDateTime, usize)> = stored
        .iter()
        .map(|version| version.published_at)
        .chain(added.iter().map(|version| version.published_at))
        .enumerate()
        .map(|(slot, at)| (at, slot))
        .collect();
    // Stable: stored rows are already in (published_at, id) order and added ones in insert order.
    order.sort_by_key(|&(at, _)| at);
    let candidates: Vec<LatestCandidate<'_>> = order
        .iter()
        .map(|&(_, slot)| {
            if let Some(version) = stored.get(slot) {
                LatestCandidate {
                    version: &version.version,
                    deleted: version.status == Status::Deleted,
                }
            } else {
                let version = &added[slot - stored.len()];
                LatestCandidate {
                    version: version.version,
                    deleted: version.deleted,
                }
            }
        })
        .collect();
    let target = pick_latest(&candidates).map(|index| order[index].1);
    for (slot, version) in stored.iter().enumerate() {
        let latest = target == Some(slot);
        if version.is_latest && !latest {
            moves.clear.push(version.id);
        } else if !version.is_latest && latest {
            moves.set.push(version.id);
        }
    }
    target.and_then(|slot| slot.checked_sub(stored.len()))
}

/// A version a write adds, with what the registry it was copied from said about it (imports).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incoming<'m> {
    pub manifest: &'m Manifest,
    pub source: Option<&'m SourceMeta>,
    /// `registry_schema::compat::contract_key` of the manifest, when the write knows it (publishes).
    pub contract_key: Option<&'m str>,
}

/// A version a write will insert.
#[derive(Debug)]
pub(crate) struct NewVersion<'m> {
    pub manifest: &'m Manifest,
    pub precedence_key: String,
    /// `registry_schema::version::order_key`, or '' for a version that is not semver.
    pub order_key: String,
    pub contract_key: Option<&'m str>,
    pub fields: SearchFields,
    pub is_latest: bool,
    pub status: Status,
    pub status_message: Option<&'m str>,
    pub status_changed_at: OffsetDateTime,
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl<'m> NewVersion<'m> {
    fn new(incoming: Incoming<'m>, precedence_key: String, now: OffsetDateTime) -> Self {
        let (status, status_message) = incoming.source.map_or((Status::Active, None), |source| {
            (source.status, source.status_message.as_deref())
        });
        let (published_at, status_changed_at, updated_at) =
            match incoming.source.and_then(|source| source.times.as_ref()) {
                None => (now, now, now),
                Some(times) => (
                    times.published_at,
                    times.status_changed_at.unwrap_or(times.published_at),
                    times.updated_at.unwrap_or(now),
                ),
            };
        Self {
            manifest: incoming.manifest,
            precedence_key,
            order_key: order_key(incoming.manifest.version().as_str()).unwrap_or_default(),
            contract_key: incoming.contract_key,
            fields: SearchFields::of(incoming.manifest),
            is_latest: false,
            status,
            status_message,
            status_changed_at,
            published_at,
            updated_at,
        }
    }
}

/// The concrete remote URLs of a manifest; templated ones (`{var}`) name no single endpoint.
pub(crate) fn remote_urls(manifest: &Manifest) -> Vec<&str> {
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
pub(crate) struct BatchPlan<'m> {
    /// Grouped by server, each server's in batch (insert) order.
    pub inserts: Vec<NewVersion<'m>>,
    /// Same precedence as a stored version or an earlier one in the batch.
    pub duplicates: Vec<&'m Manifest>,
    pub moves: LatestMoves,
}

/// The server names a batch touches, sorted (PostgreSQL locks them in this order, avoiding deadlocks).
pub(crate) fn touched_names<'m>(entries: &[Incoming<'m>]) -> Vec<&'m str> {
    let names: BTreeSet<&str> = entries.iter().map(|e| e.manifest.name().as_str()).collect();
    names.into_iter().collect()
}

/// Plans a batch against the stored versions of the servers it touches (read under the write lock).
pub(crate) fn plan_batch<'m>(
    entries: &[Incoming<'m>],
    stored: &BTreeMap<String, Vec<StoredVersion>>,
    now: OffsetDateTime,
) -> BatchPlan<'m> {
    let mut by_server: BTreeMap<&str, Vec<Incoming<'m>>> = BTreeMap::new();
    for entry in entries {
        by_server
            .entry(entry.manifest.name().as_str())
            .or_default()
            .push(*entry);
    }
    let mut plan = BatchPlan::default();
    for (name, added) in by_server {
        let stored = stored.get(name).map_or(&[][..], Vec::as_slice);
        let mut keys: HashSet<String> = stored.iter().map(|v| v.precedence_key.clone()).collect();
        let mut accepted = Vec::with_capacity(added.len());
        for entry in added {
            let key = precedence_key(entry.manifest.version().as_str());
            if keys.insert(key.clone()) {
                accepted.push(NewVersion::new(entry, key, now));
            } else {
                plan.duplicates.push(entry.manifest);
            }
        }
        if accepted.is_empty() {
            continue;
        }
        let candidates: Vec<Added<'_>> = accepted
            .iter()
            .map(|row| Added {
                version: row.manifest.version().as_str(),
                deleted: row.status == Status::Deleted,
                published_at: row.published_at,
            })
            .collect();
        let latest = move_latest(stored, &candidates, &mut plan.moves);
        if let Some(row) = latest.and_then(|index| accepted.get_mut(index)) {
            row.is_latest = true;
        }
        plan.inserts.extend(accepted);
    }
    plan
}

/// What a status change will write.
#[derive(Debug)]
pub(crate) struct StatusPlan {
    /// Every version the request addresses.
    pub addressed: Vec<i64>,
    /// Addressed versions whose status or message differs from the request.
    pub changed: Vec<i64>,
    pub moves: LatestMoves,
}

/// Plans a status change on `stored` (one server's versions, publish order), updating them in memory.
/// `version: None` addresses every version.
pub(crate) fn plan_status_change(
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

/// One text column of new versions, for binding rows together.
pub(crate) fn text_column<'r, 'm: 'r>(
    versions: impl IntoIterator<Item = &'r NewVersion<'m>>,
    read: impl Fn(&'r NewVersion<'m>) -> &'r str,
) -> Values<'r> {
    Values::texts(versions.into_iter().map(read))
}
