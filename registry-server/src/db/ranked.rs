//! Ranked search over the replica's in-memory index (`crate::search_index`), written once for both
//! engines. The index says which servers match and in which tiers; the database says which of their
//! versions are listed (filters, status, latest), for the servers of one page at a time. Rows come in
//! `(tier, server_name, latest_rank, version)` order, the keyset of the ranked cursors.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use registry_schema::Manifest;

use super::engine::{ChangedScan, Engine, VersionsOrder};
use super::read::{cursor_ranked, next_cursor, push_filters};
use super::rows::{RECORD_COLUMNS, RECORD_WIDTH, record};
use super::search::{Filters, SearchFields, SearchTerm};
use super::sql::{Sql, Values};
use super::{Cursor, Page, StoreError, VersionRecord};
use crate::search_index::{NewDocument, SIXTEENTHS, Scope, SearchIndex, ServerDocs};

/// Documents derived per step when loading the index (bounds the manifests held at once).
const LOAD_CHUNK: usize = 2_000;
/// Most servers whose versions one statement reads.
const MAX_BATCH: usize = 1_000;
/// The worst tier (`SearchTier::FullText`).
const LAST_TIER: u8 = 4;
/// On SQLite, how soon a search sees documents another process added to the file (`import` into a
/// served data directory): with no commit of its own since, a replica asks the file at most this
/// rarely. The serving process's own writes are seen by the next search.
const FOREIGN_WRITES_SEEN: Duration = Duration::from_secs(1);

/// Brings the index up to date with every document committed before this call: those above its
/// watermark that it does not hold. One index-only query when nothing changed; a search that waited
/// for a refresh that began after it arrived uses that one. On SQLite the query is skipped while this
/// process committed no documents since the last one, for up to [`FOREIGN_WRITES_SEEN`] (other
/// processes' commits are not counted).
pub(crate) async fn refresh<E: Engine>(
    engine: &E,
    index: &Arc<SearchIndex>,
) -> Result<(), StoreError> {
    let arrived = Instant::now();
    // Read first: a commit counted after this is found by this refresh's query or by the next search.
    let committed = engine.documents_committed();
    if committed
        .is_some_and(|committed| index.current_as_of(committed, arrived, FOREIGN_WRITES_SEEN))
    {
        return Ok(());
    }
    let _guard = index.refresh_guard().await;
    if index.fresh_since(arrived) {
        return Ok(());
    }
    let started = Instant::now();
    // `max(id)` is one index probe on both engines whatever the statistics; the range below is only
    // read when something was added (or an id below the highest is still missing).
    let max = Sql::new("select coalesce(max(id), 0) from search_documents");
    let max = match engine.fetch(None, max).await?.into_iter().next() {
        Some(mut row) => row.int(0)?,
        None => 0,
    };
    if index.settled(max) {
        index.refreshed(&[], started, committed);
        return Ok(());
    }
    let sql = Sql::new("select id from search_documents where id > $1 order by id")
        .arg(index.watermark());
    let ids = engine
        .fetch(None, sql)
        .await?
        .into_iter()
        .map(|mut row| row.int(0))
        .collect::<Result<Vec<i64>, _>>()?;
    // Chunk by chunk, the next chunk is read while the last one's manifests are parsed and added
    // (CPU work, on a blocking thread).
    let unknown = index.unknown(&ids);
    let mut chunks = unknown.chunks(LOAD_CHUNK);
    let mut next = match chunks.next() {
        Some(chunk) => Some(stored_documents(engine, chunk).await?),
        None => None,
    };
    while let Some(rows) = next.take() {
        let index = Arc::clone(index);
        let adding = tokio::task::spawn_blocking(move || derive(rows).map(|docs| index.add(docs)));
        let reading = async {
            match chunks.next() {
                Some(chunk) => stored_documents(engine, chunk).await.map(Some),
                None => Ok(None),
            }
        };
        let (added, read) = tokio::join!(adding, reading);
        added.map_err(|err| StoreError::Corrupt(format!("deriving search documents: {err}")))??;
        next = read?;
    }
    index.refreshed(&ids, started, committed);
    Ok(())
}

/// Documents `ids` with one version's manifest each (every version sharing a document has the same
/// searchable text).
async fn stored_documents<E: Engine>(
    engine: &E,
    ids: &[i64],
) -> Result<Vec<(i64, String, String)>, StoreError> {
    let mut sql = Sql::new(
        "select d.id, d.server_name, (select v.manifest from server_versions v \
         where v.document_id = d.id order by v.id limit 1) from ",
    );
    // A join on the list (not `in`): one primary-key probe per id whatever the statistics.
    E::push_rows(&mut sql, vec![("id", Values::Int(ids.to_vec()))]);
    sql.push(" r join search_documents d on d.id = r.id");
    let mut rows = Vec::with_capacity(ids.len());
    for mut row in engine.fetch(None, sql).await? {
        if let Some(manifest) = row.opt_text(2)? {
            rows.push((row.int(0)?, row.text(1)?, manifest));
        }
    }
    Ok(rows)
}

/// The searchable fields of each document, from a stored manifest (as at publish: `SearchFields`).
fn derive(rows: Vec<(i64, String, String)>) -> Result<Vec<NewDocument>, StoreError> {
    rows.into_iter()
        .map(|(id, server_name, manifest)| {
            let manifest = Manifest::from_stored(manifest)
                .map_err(|err| StoreError::Corrupt(format!("search document {id}: {err}")))?;
            let fields = SearchFields::of(&manifest);
            Ok(NewDocument {
                id,
                server_name,
                name: fields.name,
                text: fields.text,
                words: fields.words,
            })
        })
        .collect()
}

/// One listed row: the version and its place in the ranked order.
struct Pick {
    record: VersionRecord,
    tier: u8,
    rank: u8,
}

/// See [`super::Store::list_servers`] with a search term.
pub(crate) async fn list<E: Engine>(
    engine: &E,
    index: &Arc<SearchIndex>,
    term: &SearchTerm,
    filters: &Filters<'_>,
    cursor: Option<&Cursor>,
    limit: u32,
) -> Result<Page, StoreError> {
    refresh(engine, index).await?;
    let words = term.words.as_deref();
    let after = cursor_ranked(cursor);
    let scope = Scope {
        from: after.map(|(tier, _, name, _)| (tier, name)),
        name_range: filters
            .name_range
            .as_ref()
            .map(|(low, high)| (low.as_str(), high.as_str())),
    };
    let mut hits = index.hits(&term.folded, words, scope);
    let limit_rows = limit as usize;
    let mut picks: Vec<Pick> = Vec::with_capacity(limit_rows);
    let first_tier = after.map_or(0, |(tier, ..)| tier);
    // A version filter lists at most one version per server; otherwise servers list as many as the
    // recent searches saw, so a batch reads about the versions the page needs, not five times more.
    let per_server = if filters.version.is_some() {
        SIXTEENTHS
    } else {
        index.listed_per_server()
    };
    'tiers: for tier in first_tier..=LAST_TIER {
        let mut growth = 1;
        loop {
            let wanted = limit_rows - picks.len();
            // Filters and better-tiered servers may drop some: ask for more each time until it fills.
            let batch = ((wanted * SIXTEENTHS).div_ceil(per_server.max(1)) + 2) * growth;
            growth = (growth * 2).min(MAX_BATCH);
            let chunk = index.next_servers(&mut hits, tier, batch.min(MAX_BATCH));
            if chunk.is_empty() {
                break;
            }
            let documents = index.documents_of(&chunk, &term.folded, words);
            let mut rows = versions_of::<E>(engine, &documents, filters).await?;
            if filters.version.is_none() {
                index.observe_listed(chunk.len(), rows.values().map(Vec::len).sum());
            }
            for ServerDocs { name, docs } in &documents {
                let Some(rows) = rows.remove(&**name) else {
                    continue;
                };
                let tiers: HashMap<i64, u8> = docs
                    .iter()
                    .filter_map(|&(id, tier)| Some((id, tier?)))
                    .collect();
                let mut listed: Vec<(u8, VersionRecord, u8)> = rows
                    .into_iter()
                    .filter_map(|row| {
                        let tier = *tiers.get(&row.document_id)?;
                        Some((u8::from(!row.record.is_latest), row.record, tier))
                    })
                    .collect();
                // A server is listed at the best tier of its listed versions, so once.
                if listed.iter().map(|row| row.2).min() != Some(tier) {
                    continue;
                }
                listed.sort_unstable_by(|a, b| {
                    (a.0, a.1.version.as_bytes()).cmp(&(b.0, b.1.version.as_bytes()))
                });
                for (rank, record, _) in listed {
                    if let Some((from_tier, from_rank, from_name, from_version)) = after
                        && from_tier == tier
                        && from_name == &**name
                        && (rank, record.version.as_bytes()) <= (from_rank, from_version.as_bytes())
                    {
                        continue;
                    }
                    picks.push(Pick { record, tier, rank });
                    if picks.len() == limit_rows {
                        break 'tiers;
                    }
                }
            }
        }
    }
    page(picks, limit)
}

/// A listed version of a candidate server: the page's record itself, so a page is one statement
/// per batch (a few more rows than it lists, rather than a second statement for the records).
struct Row {
    document_id: i64,
    record: VersionRecord,
}

/// The versions of the named servers the filters list, by server name.
async fn versions_of<E: Engine>(
    engine: &E,
    documents: &[ServerDocs],
    filters: &Filters<'_>,
) -> Result<HashMap<String, Vec<Row>>, StoreError> {
    // One index lookup per server, whatever the planner's statistics (see `push_versions_of`).
    let mut sql = Sql::new(&format!("select {RECORD_COLUMNS}, v.document_id from "));
    let names: Vec<&str> = documents.iter().map(|server| &*server.name).collect();
    E::push_versions_of(&mut sql, &names, VersionsOrder::Any);
    push_filters::<E>(&mut sql, filters, ChangedScan::PLAIN.column);
    let mut out: HashMap<String, Vec<Row>> = HashMap::new();
    for mut row in engine.fetch(None, sql).await? {
        let document_id = row.int(RECORD_WIDTH)?;
        let record = record(&mut row)?;
        out.entry(record.server_name.clone())
            .or_default()
            .push(Row {
                document_id,
                record,
            });
    }
    Ok(out)
}

/// The page of the picked records, with the cursor of its last row.
fn page(picks: Vec<Pick>, limit: u32) -> Result<Page, StoreError> {
    let order = picks
        .last()
        .map_or((0, 0), |last| (i64::from(last.tier), i64::from(last.rank)));
    let items: Vec<VersionRecord> = picks.into_iter().map(|pick| pick.record).collect();
    if items.is_empty() {
        return Ok(Page::default());
    }
    let next_cursor = next_cursor(&items, limit, true, order)?;
    Ok(Page { items, next_cursor })
}
