//! Matching and tiers, exactly as `SearchTier` documents them: a document is a hit when the folded
//! term is a substring of its folded name or title/description, or when it holds every word of the
//! term. Its tier is the best that applies: exact name (0), name prefix (1), name substring (2),
//! title/description substring (3), else (4). A name match that lies wholly inside the reverse-DNS
//! boilerplate (`io.github.`, `com.`) keeps the hit but not the name tier.

use std::sync::Arc;

use super::{Doc, Inner};

const TIERS: usize = 5;
const TEXT_TIER: u8 = 3;
const WORDS_TIER: u8 = 4;

/// The servers a term matches: per tier, in name order, the servers with a matching document of
/// exactly that tier (a server's listed tier is the best among its listed versions' documents, which
/// the database's filters decide).
///
/// Kept as bit sets over name-order positions and read lazily: a common term matches most servers,
/// of which a page consumes a few dozen, and collecting them all cost more than the matching.
#[derive(Debug)]
pub(crate) struct Hits {
    tiers: [TierHits; TIERS],
    /// The index's name order when the hits were taken (positions map through it).
    order: Arc<Vec<u32>>,
}

/// One tier's matching positions, and the positions `[start, high)` a page may use.
#[derive(Debug)]
struct TierHits {
    positions: Bits,
    start: usize,
    high: usize,
}

impl Hits {
    /// Server ids with a document of `tier`, in name order.
    pub(crate) fn servers(&self, tier: u8) -> impl Iterator<Item = u32> + '_ {
        self.tiers
            .get(usize::from(tier))
            .into_iter()
            .flat_map(|hits| hits.positions.ones_in(hits.start, hits.high))
            .filter_map(|at| self.order.get(at).copied())
    }
}

/// One server's name and its documents as `(database id, tier)`, the tier `None` when the document
/// does not match.
#[derive(Debug)]
pub(crate) struct ServerDocs {
    pub name: Arc<str>,
    pub docs: Vec<(i64, Option<u8>)>,
}

/// Which hits a page can use: none in tiers before a cursor's, none named before it in its tier, and
/// only names in `[low, high)` when a namespace is asked for.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub from: Option<(u8, &'a str)>,
    pub name_range: Option<(&'a str, &'a str)>,
}

/// How a server's name matches a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameMatch {
    Tier(u8),
    /// Only inside the boilerplate: a hit, ranked by its text or else last.
    Boilerplate,
    No,
}

/// One pass over the name's bytes (names are short; this runs for every candidate server, so no
/// per-call searcher setup): where the term occurs decides the tier.
fn name_match((name, boilerplate): (&[u8], usize), term: &str) -> NameMatch {
    let needle = term.as_bytes();
    let local_at = name
        .iter()
        .position(|&b| b == b'/')
        .map_or(0, |slash| slash + 1);
    if name == needle || name.get(local_at..) == Some(needle) {
        return NameMatch::Tier(0);
    }
    let Some(&first) = needle.first() else {
        // The empty term is a prefix of every local name.
        return NameMatch::Tier(1);
    };
    let (mut found, mut beyond) = (false, false);
    for at in 0..(name.len() + 1).saturating_sub(needle.len()) {
        if name[at] != first || &name[at..at + needle.len()] != needle {
            continue;
        }
        found = true;
        // The local part always lies beyond the boilerplate, which is part of the namespace.
        let past = at + needle.len() > boilerplate;
        if (at == 0 && past) || at == local_at {
            return NameMatch::Tier(1);
        }
        beyond |= past;
    }
    if beyond {
        NameMatch::Tier(2)
    } else if found {
        NameMatch::Boilerplate
    } else {
        NameMatch::No
    }
}

/// The term's word ids; `None` when some word is in no document (or the term has none).
fn word_ids(inner: &Inner, words: Option<&[String]>) -> Option<Vec<u32>> {
    let words = words?;
    if words.is_empty() {
        return None;
    }
    words
        .iter()
        .map(|word| inner.word_ids.get(word.as_str()).copied())
        .collect()
}

fn has_words(doc: &Doc, words: &[u32]) -> bool {
    words
        .iter()
        .all(|word| doc.words.binary_search(word).is_ok())
}

/// A fixed-size bit set.
#[derive(Debug)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Self {
        Self(vec![0; len / 64 + 1])
    }

    fn set(&mut self, at: usize) {
        if let Some(word) = self.0.get_mut(at / 64) {
            *word |= 1 << (at % 64);
        }
    }

    fn get(&self, at: usize) -> bool {
        self.0
            .get(at / 64)
            .is_some_and(|word| word & (1 << (at % 64)) != 0)
    }

    /// Set positions in `[start, end)`, ascending.
    fn ones_in(&self, start: usize, end: usize) -> impl Iterator<Item = usize> + '_ {
        self.0
            .iter()
            .enumerate()
            .skip(start / 64)
            .flat_map(|(index, &word)| {
                let mut word = word;
                std::iter::from_fn(move || {
                    if word == 0 {
                        return None;
                    }
                    let bit = word.trailing_zeros() as usize;
                    word &= word - 1;
                    Some(index * 64 + bit)
                })
            })
            .skip_while(move |&at| at < start)
            .take_while(move |&at| at < end)
    }

    /// Set positions, ascending.
    fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.ones_in(0, usize::MAX)
    }
}

/// See [`super::SearchIndex::hits`].
pub(super) fn hits(inner: &Inner, term: &str, words: Option<&[String]>, scope: Scope<'_>) -> Hits {
    let servers = inner.servers.len();
    let mut tiers: [Bits; TIERS] = std::array::from_fn(|_| Bits::new(servers));
    let position = |server: u32| inner.position[server as usize] as usize;

    let mut text_hit = Bits::new(inner.texts.len());
    let texts: Box<dyn Iterator<Item = u32>> = match inner.text_grams.candidates(term) {
        Some(candidates) => Box::new(candidates.into_iter()),
        None => Box::new(0..super::next_index(&inner.texts)),
    };
    for text in texts {
        if inner.texts[text as usize].contains(term) {
            text_hit.set(text as usize);
        }
    }
    let doc_tier = |doc: &Doc| {
        if text_hit.get(doc.text as usize) {
            TEXT_TIER
        } else {
            WORDS_TIER
        }
    };

    // Servers whose name decides the tier of every document (all of a server's documents share
    // its name).
    let mut by_name = Bits::new(servers);
    let names: Box<dyn Iterator<Item = u32>> = match inner.name_grams.candidates(term) {
        Some(candidates) => Box::new(candidates.into_iter()),
        None => Box::new(0..super::next_index(&inner.servers)),
    };
    // Servers whose name holds the term only inside the boilerplate: their documents rank by text.
    let mut boilerplate = Bits::new(servers);
    let mut any_boilerplate = false;
    for id in names {
        match name_match(inner.folded(id), term) {
            NameMatch::Tier(tier) => {
                by_name.set(id as usize);
                tiers[usize::from(tier)].set(position(id));
            }
            NameMatch::Boilerplate => {
                by_name.set(id as usize);
                boilerplate.set(id as usize);
                any_boilerplate = true;
            }
            NameMatch::No => {}
        }
    }
    if any_boilerplate {
        // One sequential pass over the documents rather than a lookup per server.
        for doc in &inner.docs {
            if boilerplate.get(doc.server as usize) {
                tiers[usize::from(doc_tier(doc))].set(position(doc.server));
            }
        }
    }

    for text in text_hit.ones() {
        for &doc in &inner.text_docs[text] {
            let server = inner.docs[doc as usize].server;
            if !by_name.get(server as usize) {
                tiers[usize::from(TEXT_TIER)].set(position(server));
            }
        }
    }

    if let Some(words) = word_ids(inner, words) {
        let shortest = words
            .iter()
            .map(|&word| &inner.word_docs[word as usize])
            .min_by_key(|docs| docs.len());
        for &doc in shortest.into_iter().flatten() {
            let doc = &inner.docs[doc as usize];
            if !by_name.get(doc.server as usize)
                && !text_hit.get(doc.text as usize)
                && has_words(doc, &words)
            {
                tiers[usize::from(WORDS_TIER)].set(position(doc.server));
            }
        }
    }

    let first = |name: &str| {
        inner
            .order
            .partition_point(|&id| &*inner.servers[id as usize].name < name)
    };
    let (low, high) = match scope.name_range {
        Some((low, high)) => (first(low), first(high)),
        None => (0, inner.order.len()),
    };
    let mut tier = 0;
    Hits {
        tiers: tiers.map(|positions| {
            let start = match scope.from {
                Some((from, _)) if tier < from => usize::MAX,
                Some((from, name)) if tier == from => first(name).max(low),
                _ => low,
            };
            tier += 1;
            TierHits {
                positions,
                start,
                high,
            }
        }),
        order: Arc::clone(&inner.order),
    }
}

/// See [`super::SearchIndex::documents_of`].
pub(super) fn documents_of(
    inner: &Inner,
    servers: &[u32],
    term: &str,
    words: Option<&[String]>,
) -> Vec<ServerDocs> {
    let words = word_ids(inner, words);
    servers
        .iter()
        .filter_map(|&id| Some((id, inner.servers.get(id as usize)?)))
        .map(|(id, server)| {
            let name = name_match(inner.folded(id), term);
            let docs = server
                .docs
                .iter()
                .map(|&doc| {
                    let doc = &inner.docs[doc as usize];
                    let tier = match name {
                        NameMatch::Tier(tier) => Some(tier),
                        _ if inner.texts[doc.text as usize].contains(term) => Some(TEXT_TIER),
                        NameMatch::Boilerplate => Some(WORDS_TIER),
                        NameMatch::No => words
                            .as_deref()
                            .is_some_and(|words| has_words(doc, words))
                            .then_some(WORDS_TIER),
                    };
                    (doc.id, tier)
                })
                .collect();
            ServerDocs {
                name: Arc::clone(&server.name),
                docs,
            }
        })
        .collect()
}
