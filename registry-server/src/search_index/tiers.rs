//! Matching and tiers, exactly as `SearchTier` documents them: a document is a hit when the folded
//! term is a substring of its folded name or title/description, or when it holds every word of the
//! term. Its tier is the best that applies: exact name (0), name prefix (1), name substring (2),
//! title/description substring (3), else (4). A name match that lies wholly inside the reverse-DNS
//! boilerplate (`io.github.`, `com.`) keeps the hit but not the name tier.

use std::sync::Arc;

use memchr::memmem;

use super::{Doc, Folded, Inner};

const TIERS: usize = 5;
pub(super) const TEXT_TIER: u8 = 3;
const WORDS_TIER: u8 = 4;
/// Above one candidate in this many servers, the names are searched in one pass (see
/// `NameMatcher::scan`) instead of one by one.
const SCAN_FRACTION: usize = 8;

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
    /// What the text and word tiers still need, until [`complete`] sets them.
    pending: Option<Pending>,
}

/// The query and its name hits, kept for the text and word tiers.
#[derive(Debug)]
struct Pending {
    term: String,
    words: Option<Vec<String>>,
    names: NameHits,
}

/// One tier's matching positions, and the positions `[start, high)` a page may use.
#[derive(Debug)]
struct TierHits {
    positions: Bits,
    start: usize,
    high: usize,
}

impl Hits {
    /// Whether the tiers from `tier` on still need [`super::SearchIndex::complete`].
    pub(crate) fn incomplete_at(&self, tier: u8) -> bool {
        tier >= TEXT_TIER && self.pending.is_some()
    }

    /// Server ids with a document of `tier`, in name order (the text and word tiers once complete).
    pub(crate) fn servers(&self, tier: u8) -> impl Iterator<Item = u32> + '_ {
        debug_assert!(
            !self.incomplete_at(tier),
            "tier {tier} read before it was complete"
        );
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

/// The occurrences of the term in one name, as far as they decide its [`NameMatch`]: the best class
/// of any occurrence so far (0 the whole name or local part, 1 a prefix of either, 2 past the
/// boilerplate, 3 inside it).
#[derive(Debug, Default, Clone, Copy)]
struct Occurrences(Option<u8>);

impl Occurrences {
    /// Adds an occurrence at `at` of a term `len` bytes long in `name`.
    fn add(&mut self, at: usize, len: usize, name: Folded<'_>) {
        // The local part always lies beyond the boilerplate, which is part of the namespace.
        let past = at + len > name.boilerplate;
        let class = if (at == 0 || at == name.local_at) && at + len == name.name.len() {
            0
        } else if (at == 0 && past) || at == name.local_at {
            1
        } else if past {
            2
        } else {
            3
        };
        self.0 = Some(self.0.map_or(class, |best| best.min(class)));
    }

    /// Whether nothing further can improve the match.
    fn decided(self) -> bool {
        self.0 == Some(0)
    }

    fn result(self) -> NameMatch {
        match self.0 {
            Some(class @ 0..=2) => NameMatch::Tier(class),
            Some(_) => NameMatch::Boilerplate,
            None => NameMatch::No,
        }
    }
}

/// The term's searcher over names (and texts), built once per query: names are short and many, so
/// per-name set-up would cost more than the search.
struct NameMatcher<'t> {
    needle: &'t [u8],
    finder: memmem::Finder<'t>,
}

impl<'t> NameMatcher<'t> {
    fn new(term: &'t str) -> Self {
        Self {
            needle: term.as_bytes(),
            finder: memmem::Finder::new(term.as_bytes()),
        }
    }

    /// Whether the term occurs in `text` (a folded title and description).
    fn occurs_in(&self, text: &str) -> bool {
        self.finder.find(text.as_bytes()).is_some()
    }

    /// Where the term occurs in `haystack` from `from` on, overlapping occurrences included.
    fn next(&self, haystack: &[u8], from: usize) -> Option<usize> {
        let found = self.finder.find(haystack.get(from..)?)?;
        Some(from + found)
    }

    /// How a folded name matches the term.
    fn classify(&self, folded: Folded<'_>) -> NameMatch {
        let name = folded.name;
        if self.needle.is_empty() {
            // The empty term is a prefix of every local part, and the whole of an empty one.
            return if folded.local_at == name.len() {
                NameMatch::Tier(0)
            } else {
                NameMatch::Tier(1)
            };
        }
        let mut occurrences = Occurrences::default();
        let mut from = 0;
        while let Some(at) = self.next(name, from) {
            occurrences.add(at, self.needle.len(), folded);
            if occurrences.decided() {
                break;
            }
            from = at + 1;
        }
        occurrences.result()
    }

    /// Every server whose name holds the term, with how it matches, in id order: one pass of the
    /// searcher over all names back to back, cheaper than a search per name when most are candidates.
    fn scan(&self, inner: &Inner, mut each: impl FnMut(u32, NameMatch)) {
        /// The server whose name the last occurrence was in, and where its name starts.
        struct Reading<'a> {
            id: u32,
            start: usize,
            name: Folded<'a>,
            occurrences: Occurrences,
        }
        if self.needle.is_empty() {
            return;
        }
        let haystack = inner.folded.as_bytes();
        let ends = &inner.folded_ends;
        let mut server = 0_usize;
        let mut reading: Option<Reading> = None;
        let mut from = 0;
        while let Some(at) = self.next(haystack, from) {
            from = at + 1;
            while ends.get(server).is_some_and(|&end| end as usize <= at) {
                server += 1;
            }
            let id = u32::try_from(server).unwrap_or(u32::MAX);
            if reading.as_ref().is_none_or(|reading| reading.id != id) {
                if let Some(done) = reading.take() {
                    each(done.id, done.occurrences.result());
                }
                let Some(&end) = ends.get(server) else {
                    break;
                };
                let name = inner.folded(id);
                reading = Some(Reading {
                    id,
                    start: end as usize - name.name.len(),
                    name,
                    occurrences: Occurrences::default(),
                });
            }
            let Some(current) = reading.as_mut() else {
                break;
            };
            let end = current.start + current.name.name.len();
            if at + self.needle.len() > end {
                // Runs into the next name.
                continue;
            }
            current
                .occurrences
                .add(at - current.start, self.needle.len(), current.name);
            if current.occurrences.decided() {
                from = end;
            }
        }
        if let Some(done) = reading {
            each(done.id, done.occurrences.result());
        }
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

    /// Whether any position is set.
    fn any(&self) -> bool {
        self.0.iter().any(|&word| word != 0)
    }

    /// Set positions, ascending.
    fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.ones_in(0, usize::MAX)
    }
}

/// What the names say about a term: see [`name_hits`].
#[derive(Debug)]
struct NameHits {
    /// Servers whose name holds the term (their name decides every document's tier).
    by_name: Bits,
    /// Servers whose name holds it only inside the boilerplate: their documents rank by text.
    boilerplate: Bits,
}

/// Sets the name tiers (0–2) of the servers whose name matches `term`, by name-order position.
fn name_hits(inner: &Inner, term: &str, tiers: &mut [Bits; TIERS]) -> NameHits {
    let servers = inner.servers.len();
    let position = |server: u32| inner.position[server as usize] as usize;
    let mut by_name = Bits::new(servers);
    let mut boilerplate = Bits::new(servers);
    let mut record = |id: u32, name_match: NameMatch| match name_match {
        NameMatch::Tier(tier) => {
            by_name.set(id as usize);
            tiers[usize::from(tier)].set(position(id));
        }
        NameMatch::Boilerplate => {
            by_name.set(id as usize);
            boilerplate.set(id as usize);
        }
        NameMatch::No => {}
    };
    let matcher = NameMatcher::new(term);
    // Candidates come back only when there are at most one in SCAN_FRACTION servers.
    match inner.name_grams.candidates(term, servers / SCAN_FRACTION) {
        Some(candidates) => {
            for id in candidates {
                record(id, matcher.classify(inner.folded(id)));
            }
        }
        // The empty term matches every name.
        None if term.is_empty() => {
            for id in 0..super::next_index(&inner.servers) {
                record(id, matcher.classify(inner.folded(id)));
            }
        }
        // Most names are candidates (a common or short term): one pass over all of them.
        _ => matcher.scan(inner, &mut record),
    }
    NameHits {
        by_name,
        boilerplate,
    }
}

/// See [`super::SearchIndex::hits`]: the name tiers (0–2) now, the text and word tiers (3–4) when a
/// page reaches them ([`complete`]): a common term fills most pages from names alone, and the text
/// tiers of a term found in most names' boilerplate touch every document.
pub(super) fn hits(inner: &Inner, term: &str, words: Option<&[String]>, scope: Scope<'_>) -> Hits {
    let servers = inner.servers.len();
    let mut tiers: [Bits; TIERS] = std::array::from_fn(|_| Bits::new(servers));
    // Servers whose name decides the tier of every document (all of a server's documents share
    // its name), and those whose name holds the term only inside the boilerplate.
    let names = name_hits(inner, term, &mut tiers);
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
        pending: Some(Pending {
            term: term.to_owned(),
            words: words.map(<[String]>::to_vec),
            names,
        }),
    }
}

/// See [`super::SearchIndex::complete`]: sets the text and word tiers of `hits`, once.
pub(super) fn complete(inner: &Inner, hits: &mut Hits) {
    let Some(Pending { term, words, names }) = hits.pending.take() else {
        return;
    };
    // Positions in the order the hits were taken in: the index's own while no server was added
    // since, else mapped from the hits' order (servers added since are left out).
    let remapped = (!Arc::ptr_eq(&inner.order, &hits.order)).then(|| positions_in(&hits.order));
    let position = |server: u32| -> Option<usize> {
        let at = match &remapped {
            None => *inner.position.get(server as usize)?,
            Some(taken) => *taken.get(server as usize)?,
        };
        (at != u32::MAX).then_some(at as usize)
    };
    let tiers = &mut hits.tiers;
    let mut set = |tier: u8, server: u32| {
        if let (Some(hits), Some(at)) = (tiers.get_mut(usize::from(tier)), position(server)) {
            hits.positions.set(at);
        }
    };

    let mut text_hit = Bits::new(inner.texts.len());
    let texts: Box<dyn Iterator<Item = u32>> = match inner.text_grams.candidates(&term, usize::MAX)
    {
        Some(candidates) => Box::new(candidates.into_iter()),
        None => Box::new(0..super::next_index(&inner.texts)),
    };
    let matcher = NameMatcher::new(&term);
    for text in texts {
        if matcher.occurs_in(&inner.texts[text as usize]) {
            text_hit.set(text as usize);
        }
    }

    if names.boilerplate.any() {
        // One sequential pass over the documents rather than a lookup per server.
        for doc in &inner.docs {
            if names.boilerplate.get(doc.server as usize) {
                let tier = if text_hit.get(doc.text as usize) {
                    TEXT_TIER
                } else {
                    WORDS_TIER
                };
                set(tier, doc.server);
            }
        }
    }

    for text in text_hit.ones() {
        for &doc in &inner.text_docs[text] {
            let server = inner.docs[doc as usize].server;
            if !names.by_name.get(server as usize) {
                set(TEXT_TIER, server);
            }
        }
    }

    if let Some(words) = word_ids(inner, words.as_deref()) {
        let shortest = words
            .iter()
            .map(|&word| &inner.word_docs[word as usize])
            .min_by_key(|docs| docs.len());
        for &doc in shortest.into_iter().flatten() {
            let doc = &inner.docs[doc as usize];
            if !names.by_name.get(doc.server as usize)
                && !text_hit.get(doc.text as usize)
                && has_words(doc, &words)
            {
                set(WORDS_TIER, doc.server);
            }
        }
    }
}

/// Each server's position in `order` (`u32::MAX` for servers it does not hold: added since).
fn positions_in(order: &[u32]) -> Vec<u32> {
    let mut positions = vec![u32::MAX; order.len()];
    for (at, &server) in order.iter().enumerate() {
        if let Some(slot) = positions.get_mut(server as usize) {
            *slot = u32::try_from(at).unwrap_or(u32::MAX);
        }
    }
    positions
}

/// See [`super::SearchIndex::documents_of`].
pub(super) fn documents_of(
    inner: &Inner,
    servers: &[u32],
    term: &str,
    words: Option<&[String]>,
) -> Vec<ServerDocs> {
    let words = word_ids(inner, words);
    let matcher = NameMatcher::new(term);
    servers
        .iter()
        .filter_map(|&id| Some((id, inner.servers.get(id as usize)?)))
        .map(|(id, server)| {
            let name = matcher.classify(inner.folded(id));
            let docs = server
                .docs
                .iter()
                .map(|&doc| {
                    let doc = &inner.docs[doc as usize];
                    let tier = match name {
                        NameMatch::Tier(tier) => Some(tier),
                        _ if matcher.occurs_in(&inner.texts[doc.text as usize]) => Some(TEXT_TIER),
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

#[cfg(test)]
mod tests {
    use super::super::{Inner, NewDocument, SearchIndex};
    use super::{NameMatch, NameMatcher, Scope, TEXT_TIER};

    /// The definition, one position at a time: what the searcher must agree with.
    fn reference(name: &[u8], boilerplate: usize, term: &str) -> NameMatch {
        let needle = term.as_bytes();
        let local_at = name
            .iter()
            .position(|&b| b == b'/')
            .map_or(0, |slash| slash + 1);
        if name == needle || name.get(local_at..) == Some(needle) {
            return NameMatch::Tier(0);
        }
        if needle.is_empty() {
            return NameMatch::Tier(1);
        }
        let (mut found, mut beyond) = (false, false);
        for at in 0..(name.len() + 1).saturating_sub(needle.len()) {
            if &name[at..at + needle.len()] != needle {
                continue;
            }
            found = true;
            let past = at + needle.len() > boilerplate;
            if (at == 0 && past) || at == local_at {
                return NameMatch::Tier(1);
            }
            beyond |= past;
        }
        match (beyond, found) {
            (true, _) => NameMatch::Tier(2),
            (false, true) => NameMatch::Boilerplate,
            (false, false) => NameMatch::No,
        }
    }

    #[test]
    fn one_pass_over_all_names_agrees_with_one_search_per_name_and_the_definition() {
        let names = [
            "io.github.github/github-mcp-server",
            "io.github.13rac1/videocapture-mcp",
            "com.example/ababa",
            "com.aba/ba",
            "ab/a",
            "ai.smithery/x",
            "example/x",
            "a/aa",
            "aa/a",
            "io.github.gitgit/git",
            "net.example.sub/aba-aba",
        ];
        let mut inner = Inner::default();
        for (id, name) in (1..).zip(names) {
            inner.add(NewDocument {
                id,
                server_name: name.to_owned(),
                name: name.to_owned(),
                text: String::new(),
                words: String::new(),
            });
        }
        let terms = [
            "github",
            "git",
            "io.github.",
            "aba",
            "a",
            "aa",
            "a/a",
            "ab",
            "ba",
            "b/a",
            "x",
            "mcp",
            "-",
            "/",
            ".",
            "com.",
            "io.github.github/github-mcp-server",
            "zzz",
            "ub/a",
            "videocapture-mcp",
            "sub/aba",
        ];
        for term in terms {
            let matcher = NameMatcher::new(term);
            let mut scanned = vec![NameMatch::No; names.len()];
            matcher.scan(&inner, |id, found| scanned[id as usize] = found);
            for (id, name) in (0..).zip(names) {
                let folded = inner.folded(id);
                let expected = reference(folded.name, folded.boilerplate, term);
                assert_eq!(matcher.classify(folded), expected, "{term:?} in {name}");
                assert_eq!(
                    scanned[id as usize], expected,
                    "{term:?} in {name} (one pass)"
                );
            }
        }
    }

    fn document(id: i64, name: &str, text: &str) -> NewDocument {
        NewDocument {
            id,
            server_name: name.to_owned(),
            name: name.to_owned(),
            text: text.to_owned(),
            words: String::new(),
        }
    }

    fn names(index: &SearchIndex, servers: impl Iterator<Item = u32>) -> Vec<String> {
        let inner = index.inner.read().unwrap();
        servers
            .map(|id| inner.servers[id as usize].name.to_string())
            .collect()
    }

    #[test]
    fn text_tiers_completed_after_a_server_was_added_keep_the_order_they_were_taken_in() {
        let index = SearchIndex::default();
        index.add(vec![
            document(1, "io.github.a/one", "weather tools"),
            document(2, "io.github.c/three", "weather"),
            document(3, "io.github.b/two", "other"),
        ]);
        let mut hits = index.hits("weather", None, Scope::default());
        assert!(hits.incomplete_at(TEXT_TIER));
        // A publish lands between the name tiers and the text tiers: the name order moves.
        index.add(vec![document(4, "io.github.aa/new", "weather too")]);
        index.complete(&mut hits);
        assert!(!hits.incomplete_at(TEXT_TIER));
        assert_eq!(
            names(&index, hits.servers(TEXT_TIER)),
            ["io.github.a/one", "io.github.c/three"]
        );
        let mut fresh = index.hits("weather", None, Scope::default());
        index.complete(&mut fresh);
        assert_eq!(
            names(&index, fresh.servers(TEXT_TIER)),
            ["io.github.a/one", "io.github.aa/new", "io.github.c/three"]
        );
    }
}
