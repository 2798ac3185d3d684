//! The in-memory search index of one replica: which servers a term matches and at which
//! [`SearchTier`](crate::db::SearchTier), without touching every hit in the database. It holds, per
//! server, the folded name; per search document (see `db/search.rs`), its server, its folded
//! title/description (interned: versions and copies share it) and its word ids. Substrings are found
//! through trigram posting lists and checked exactly; words through word → document lists; exact
//! and prefix name matches through the names sorted (by boilerplate length, then name; by local
//! part).
//!
//! The index only ranks servers. Which of their versions are listed (status, latest, filters) is read
//! from the database for the servers of the page (`db/ranked.rs`), so it is never stale. Search
//! documents are immutable and only ever added, so staying current is adding the documents committed
//! since the last look. On PostgreSQL `db/ranked.rs` asks before every search (one index-only query
//! when nothing changed), which keeps strict consistency across replicas sharing a database. On
//! SQLite one process serves the file: it asks after its own commits that added documents, and
//! otherwise at least once a second for other processes on the file (an `import` into a served data
//! directory).

mod grams;
mod tiers;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use grams::Grams;
pub(crate) use tiers::{Hits, Scope, ServerDocs};

/// How long an id below the highest seen may stay missing before it is taken for a rolled-back
/// insert (PostgreSQL hands out identity values before commit, so a slower transaction can commit a
/// lower id after a higher one was read).
const PENDING_FOR: Duration = Duration::from_mins(2);
/// The unit of [`SearchIndex::listed_per_server`]: one version.
pub(crate) const SIXTEENTHS: usize = 16;
/// Most missing ids remembered (a rolled-back bulk insert can skip many).
const MAX_PENDING: usize = 10_000;

/// One search document, as derived by `db/search.rs` (`SearchFields`).
#[derive(Debug)]
pub(crate) struct NewDocument {
    pub id: i64,
    pub server_name: String,
    /// Folded name.
    pub name: String,
    /// Folded title and description.
    pub text: String,
    /// Distinct words, space-separated.
    pub words: String,
}

#[derive(Debug)]
struct Server {
    name: Arc<str>,
    docs: Vec<u32>,
}

#[derive(Debug)]
struct Doc {
    id: i64,
    server: u32,
    text: u32,
    /// Sorted word ids.
    words: Box<[u32]>,
}

#[derive(Debug, Default)]
struct Inner {
    servers: Vec<Server>,
    /// Every server's folded name, back to back (`folded_ends[id]` is where server `id`'s ends), and
    /// how many of its bytes are reverse-DNS boilerplate (`io.github.`, `com.`: a match inside them
    /// says nothing about the server). Contiguous, because a common term checks most names.
    folded: String,
    folded_ends: Vec<u32>,
    boilerplate: Vec<u16>,
    /// Where each folded name's local part starts (after the namespace's `/`).
    local_at: Vec<u16>,
    server_ids: HashMap<Arc<str>, u32>,
    /// Server ids in name order (bytewise, as both engines order names), and each server's position.
    /// Shared with the [`Hits`] of searches in flight, which map their positions through it.
    order: Arc<Vec<u32>>,
    position: Vec<u32>,
    /// Server ids by boilerplate length, then folded name; and by folded local part. A term's
    /// exact and prefix name tiers are ranges of these (`tiers::prefixed`), so a common term need
    /// not classify every name to know them.
    by_boilerplate_then_name: Vec<u32>,
    by_local_part: Vec<u32>,
    name_grams: Grams,
    docs: Vec<Doc>,
    doc_ids: HashMap<i64, u32>,
    texts: Vec<Arc<str>>,
    text_ids: HashMap<Arc<str>, u32>,
    text_docs: Vec<Vec<u32>>,
    text_grams: Grams,
    word_ids: HashMap<Box<str>, u32>,
    word_docs: Vec<Vec<u32>>,
    /// Highest document id seen, and lower ids not seen yet (with when they were first missed).
    max_id: i64,
    pending: Vec<(i64, Instant)>,
    /// When the last completed refresh started: a search that arrived before it needs no other.
    refreshed_at: Option<Instant>,
    /// The engine's count of committed document-adding transactions read before that refresh
    /// (`Engine::documents_committed`), where it keeps one.
    documents_committed: Option<u64>,
}

/// The index; shared by every clone of a store.
#[derive(Debug, Default)]
pub struct SearchIndex {
    inner: RwLock<Inner>,
    refresh: tokio::sync::Mutex<()>,
    /// Versions listed per candidate server by recent searches without a version filter, in
    /// sixteenths (0 before the first): `db/ranked.rs` sizes its batches of candidates by it.
    listed_per_server: AtomicU32,
}

/// Where reverse-DNS boilerplate ends in a folded name: `io.github.` or `com.` before the owner
/// label (the CLI's `resolve/rank.rs` has the same notion). The namespace's last label is the owner
/// and never boilerplate.
fn boilerplate_len(folded: &str) -> usize {
    const TOP_LEVEL: &[&str] = &[
        "io", "com", "ai", "dev", "org", "net", "app", "co", "me", "sh", "so", "xyz", "tech",
        "cloud",
    ];
    const HOSTS: &[&str] = &["github", "gitlab", "bitbucket", "codeberg"];
    let namespace = folded
        .split_once('/')
        .map_or(folded, |(namespace, _)| namespace);
    let labels: Vec<&str> = namespace.split('.').collect();
    let owner = labels.len().saturating_sub(1);
    let mut len = 0;
    for (index, label) in labels.iter().enumerate().take(owner) {
        let boilerplate = match index {
            0 => TOP_LEVEL.contains(label),
            1 => TOP_LEVEL.contains(&labels[0]) && HOSTS.contains(label),
            _ => false,
        };
        if !boilerplate {
            break;
        }
        len += label.len() + 1;
    }
    len
}

fn read(lock: &RwLock<Inner>) -> std::sync::RwLockReadGuard<'_, Inner> {
    // The data stays consistent even if a writer panicked (each insert completes or is not seen).
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

impl SearchIndex {
    /// Serializes refreshes, so concurrent searches do not load the same documents twice.
    pub(crate) async fn refresh_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.refresh.lock().await
    }

    /// Whether a refresh that started after `arrived` already completed.
    pub(crate) fn fresh_since(&self, arrived: Instant) -> bool {
        read(&self.inner)
            .refreshed_at
            .is_some_and(|at| at >= arrived)
    }

    /// The lowest id a refresh must look above (the oldest pending one, else the highest seen).
    pub(crate) fn watermark(&self) -> i64 {
        let inner = read(&self.inner);
        let lowest_pending = inner.pending.iter().map(|(id, _)| id - 1).min();
        lowest_pending.map_or(inner.max_id, |low| low.min(inner.max_id))
    }

    /// Whether the index holds every document up to `max_id` (the highest stored) already.
    pub(crate) fn settled(&self, max_id: i64) -> bool {
        let inner = read(&self.inner);
        inner.pending.is_empty() && max_id <= inner.max_id
    }

    /// Of `ids` (read from the database), those the index does not hold yet.
    pub(crate) fn unknown(&self, ids: &[i64]) -> Vec<i64> {
        let inner = read(&self.inner);
        ids.iter()
            .copied()
            .filter(|id| !inner.doc_ids.contains_key(id))
            .collect()
    }

    /// Adds documents (ones already held are skipped).
    pub(crate) fn add(&self, docs: Vec<NewDocument>) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let servers_before = inner.servers.len();
        for doc in docs {
            inner.add(doc);
        }
        inner.place_servers(servers_before);
    }

    /// Whether the index holds every document of the `committed` document-adding commits counted
    /// by the engine (those of this process), and a refresh started less than `foreign` before
    /// `arrived` (other processes' commits are not counted).
    pub(crate) fn current_as_of(
        &self,
        committed: u64,
        arrived: Instant,
        foreign: Duration,
    ) -> bool {
        let inner = read(&self.inner);
        inner.documents_committed == Some(committed)
            && inner
                .refreshed_at
                .is_some_and(|at| arrived.saturating_duration_since(at) < foreign)
    }

    /// Records a refresh that started at `started` and saw `ids` above the watermark it was given
    /// (their documents already added), after the engine had counted `committed` document-adding
    /// commits.
    pub(crate) fn refreshed(&self, ids: &[i64], started: Instant, committed: Option<u64>) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        // Refreshes may finish out of order of their counts; a higher one already covered more.
        inner.documents_committed = inner.documents_committed.max(committed);
        let seen: HashSet<i64> = ids.iter().copied().collect();
        let previous_max = inner.max_id;
        let new_max = ids
            .iter()
            .copied()
            .max()
            .unwrap_or(previous_max)
            .max(previous_max);
        inner.pending.retain(|(id, since)| {
            !seen.contains(id) && started.duration_since(*since) < PENDING_FOR
        });
        let missing = ((previous_max + 1)..new_max).filter(|id| !seen.contains(id));
        let room = MAX_PENDING.saturating_sub(inner.pending.len());
        let missing: Vec<(i64, Instant)> = missing.take(room).map(|id| (id, started)).collect();
        inner.pending.extend(missing);
        inner.max_id = new_max;
        inner.refreshed_at = Some(started);
    }

    /// The servers `term` (folded; `words` its words, `None` when it has none) matches, by tier.
    pub(crate) fn hits(&self, term: &str, words: Option<&[String]>, scope: Scope<'_>) -> Hits {
        tiers::hits(&read(&self.inner), term, words, scope)
    }

    /// The next (at most `most`) servers of `tier` in `hits`, in name order.
    pub(crate) fn next_servers(&self, hits: &mut Hits, tier: u8, most: usize) -> Vec<u32> {
        tiers::next_servers(&read(&self.inner), hits, tier, most)
    }

    /// For the given servers (ids from [`Hits`]): the name and every document's tier.
    pub(crate) fn documents_of(
        &self,
        servers: &[u32],
        term: &str,
        words: Option<&[String]>,
    ) -> Vec<ServerDocs> {
        let inner = read(&self.inner);
        tiers::documents_of(&inner, servers, term, words)
    }

    /// Versions a candidate server lists, on average over recent searches, in sixteenths (one
    /// version before any search).
    pub(crate) fn listed_per_server(&self) -> usize {
        match self.listed_per_server.load(Ordering::Relaxed) {
            0 => SIXTEENTHS,
            sixteenths => sixteenths as usize,
        }
    }

    /// Records that `servers` candidates listed `rows` versions (a moving average of the last few
    /// searches: the mix of servers changes slowly).
    pub(crate) fn observe_listed(&self, servers: usize, rows: usize) {
        if servers == 0 {
            return;
        }
        // At least one sixteenth, so 0 keeps meaning "not seen yet".
        let sample = u64::try_from(rows.saturating_mul(SIXTEENTHS) / servers)
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = self
            .listed_per_server
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                let next = match old {
                    0 => sample,
                    old => (u64::from(old) * 7 + sample) / 8,
                };
                Some(u32::try_from(next).unwrap_or(u32::MAX))
            });
    }

    /// Approximate heap bytes held, and how many documents.
    pub fn stats(&self) -> (usize, usize) {
        let inner = read(&self.inner);
        let texts: usize = inner.texts.iter().map(|text| text.len() + 32).sum();
        let docs = inner.docs.len() * 48
            + inner
                .docs
                .iter()
                .map(|doc| doc.words.len() * 4)
                .sum::<usize>();
        let words = inner
            .word_ids
            .keys()
            .map(|word| word.len() + 40)
            .sum::<usize>()
            + inner
                .word_docs
                .iter()
                .map(|l| l.capacity() * 4)
                .sum::<usize>();
        // Per server: its entry (40) and name (16 + its length), the folded copy, the per-name
        // vectors (8), the id map's entry (~32), and the name order, positions and the two sorted
        // name lists (16).
        let servers = inner.servers.len() * (40 + 16 + 8 + 32 + 16) + inner.folded.len() * 2;
        let bytes = texts
            + docs
            + words
            + inner.name_grams.heap_bytes()
            + inner.text_grams.heap_bytes()
            + servers;
        (bytes, inner.docs.len())
    }
}

/// A server's folded name and where its parts are, as the name tiers need them.
#[derive(Debug, Clone, Copy)]
struct Folded<'a> {
    name: &'a [u8],
    /// Bytes of reverse-DNS boilerplate at its start.
    boilerplate: usize,
    /// Where its local part starts (0 without a namespace).
    local_at: usize,
}

impl<'a> Folded<'a> {
    /// The part after the namespace's `/` (the whole name without one); `None` when its start is
    /// past the end.
    fn local_part(self) -> Option<&'a [u8]> {
        self.name.get(self.local_at..)
    }
}

/// Inserts servers `added` into `list`, kept sorted by `key` (servers without one are left out).
/// The added ones are sorted on their own and merged in from the back, so loading the index in
/// chunks costs one pass over the list per chunk, not a sort of all of it (issue 19: startup). Returns
/// the first index whose entry may have moved.
fn place<K: Ord>(
    list: &mut Vec<u32>,
    added: std::ops::Range<usize>,
    key: impl Fn(u32) -> Option<K>,
) -> usize {
    let mut new: Vec<u32> = added
        .filter_map(|id| u32::try_from(id).ok())
        .filter(|&id| key(id).is_some())
        .collect();
    new.sort_unstable_by_key(|&id| key(id));
    let Some(&smallest) = new.first() else {
        return list.len();
    };
    let first = list.partition_point(|&other| key(other) < key(smallest));
    let mut old = list.len();
    list.resize(old + new.len(), 0);
    // Each entry at or past `first` moves once; on equal keys the entry already listed stays first.
    for write in (first..list.len()).rev() {
        let Some(&id) = new.last() else { break };
        let own = key(id);
        if old > first && key(list[old - 1]) > own {
            list[write] = list[old - 1];
            old -= 1;
        } else {
            list[write] = id;
            new.pop();
        }
    }
    first
}

/// `u32` index of a vector about to grow (the index holds far fewer than 2^32 items).
fn next_index<T>(items: &[T]) -> u32 {
    u32::try_from(items.len()).unwrap_or(u32::MAX)
}

impl Inner {
    /// Server `id`'s folded name, with where its boilerplate ends and its local part starts.
    fn folded(&self, id: u32) -> Folded<'_> {
        let id = id as usize;
        let start = match id {
            0 => 0,
            _ => self.folded_ends.get(id - 1).map_or(0, |&end| end as usize),
        };
        let end = self.folded_ends.get(id).map_or(start, |&end| end as usize);
        Folded {
            name: self.folded.as_bytes().get(start..end).unwrap_or_default(),
            boilerplate: self.boilerplate.get(id).map_or(0, |&len| usize::from(len)),
            local_at: self.local_at.get(id).map_or(0, |&at| usize::from(at)),
        }
    }

    fn add(&mut self, doc: NewDocument) {
        if self.doc_ids.contains_key(&doc.id) {
            return;
        }
        let server = self.server(&doc.server_name, &doc.name);
        let text = self.text(doc.text);
        let mut words: Vec<u32> = doc
            .words
            .split(' ')
            .filter(|word| !word.is_empty())
            .map(|word| self.word(word))
            .collect();
        words.sort_unstable();
        words.dedup();
        let index = next_index(&self.docs);
        for &word in &words {
            self.word_docs[word as usize].push(index);
        }
        self.text_docs[text as usize].push(index);
        self.servers[server as usize].docs.push(index);
        self.doc_ids.insert(doc.id, index);
        self.docs.push(Doc {
            id: doc.id,
            server,
            text,
            words: words.into_boxed_slice(),
        });
    }

    fn server(&mut self, name: &str, folded: &str) -> u32 {
        if let Some(&id) = self.server_ids.get(name) {
            return id;
        }
        let id = next_index(&self.servers);
        let name: Arc<str> = Arc::from(name);
        self.name_grams.add(id, folded);
        self.position.push(0);
        self.servers.push(Server {
            name: Arc::clone(&name),
            docs: Vec::new(),
        });
        self.folded.push_str(folded);
        self.folded_ends
            .push(u32::try_from(self.folded.len()).unwrap_or(u32::MAX));
        self.boilerplate
            .push(u16::try_from(boilerplate_len(folded)).unwrap_or(u16::MAX));
        // Past the end when the name is too long to say: such a name never matches at its local part.
        self.local_at
            .push(u16::try_from(folded.find('/').map_or(0, |slash| slash + 1)).unwrap_or(u16::MAX));
        self.server_ids.insert(name, id);
        id
    }

    /// Puts the servers added since `from` (ids `from..`) into name order.
    fn place_servers(&mut self, from: usize) {
        let added = from..self.servers.len();
        if added.is_empty() {
            return;
        }
        let servers = &self.servers;
        // Copied only while a search still maps positions through the old order.
        let order = Arc::make_mut(&mut self.order);
        let first = place(order, added.clone(), |id| Some(&*servers[id as usize].name));
        for (position, &server) in order.iter().enumerate().skip(first) {
            self.position[server as usize] = u32::try_from(position).unwrap_or(u32::MAX);
        }
        let mut by_name = std::mem::take(&mut self.by_boilerplate_then_name);
        place(&mut by_name, added.clone(), |id| {
            let folded = self.folded(id);
            Some((folded.boilerplate, folded.name))
        });
        self.by_boilerplate_then_name = by_name;
        let mut by_local = std::mem::take(&mut self.by_local_part);
        // A name whose local part starts past its end (too long to say) never matches there.
        place(&mut by_local, added, |id| self.folded(id).local_part());
        self.by_local_part = by_local;
    }

    fn text(&mut self, text: String) -> u32 {
        if let Some(&id) = self.text_ids.get(text.as_str()) {
            return id;
        }
        let id = next_index(&self.texts);
        self.text_grams.add(id, &text);
        let text: Arc<str> = Arc::from(text);
        self.texts.push(Arc::clone(&text));
        self.text_docs.push(Vec::new());
        self.text_ids.insert(text, id);
        id
    }

    fn word(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.word_ids.get(word) {
            return id;
        }
        let id = next_index(&self.word_docs);
        self.word_docs.push(Vec::new());
        self.word_ids.insert(word.into(), id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::{boilerplate_len, place};

    /// Chunks of every size, keys with ties and ids without a key: the list ends sorted, holds each
    /// keyed id once, and nothing before the returned index changed.
    #[test]
    fn place_merges_chunks_into_sorted_order() {
        // A fixed pseudo-random key per id; every seventh id has none.
        let key = |id: u32| (id % 7 != 3).then(|| id.wrapping_mul(2_654_435_761) % 97);
        let mut list = Vec::new();
        let mut from = 0_usize;
        for size in [0, 1, 5, 64, 65, 300, 2, 1_000, 1] {
            let before = list.clone();
            let first = place(&mut list, from..from + size, key);
            from += size;
            assert_eq!(
                list.get(..first),
                before.get(..first),
                "moved before {first}"
            );
            let keys: Vec<u32> = list.iter().map(|&id| key(id).unwrap()).collect();
            assert!(keys.is_sorted(), "unsorted after a chunk of {size}");
            let mut ids = list.clone();
            ids.sort_unstable();
            let expected: Vec<u32> = (0..u32::try_from(from).unwrap())
                .filter(|&id| key(id).is_some())
                .collect();
            assert_eq!(ids, expected);
        }
    }

    #[test]
    fn boilerplate_stops_before_the_owner() {
        assert_eq!(boilerplate_len("io.github.github/github-mcp-server"), 10);
        assert_eq!(boilerplate_len("io.github.13rac1/videocapture-mcp"), 10);
        assert_eq!(boilerplate_len("com.microsoft/playwright"), 4);
        assert_eq!(boilerplate_len("ai.smithery/x"), 3);
        assert_eq!(boilerplate_len("com.github/x"), 4);
        assert_eq!(boilerplate_len("example/x"), 0);
        assert_eq!(boilerplate_len("net.example.sub/x"), 4);
    }
}
