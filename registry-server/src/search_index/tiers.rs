//! Matching and tiers, exactly as `SearchTier` documents them: a document is a hit when the folded
//! term is a substring of its folded name or title/description, or when it holds every word of the
//! term. Its tier is the best that applies: exact name (0), name prefix (1), name substring (2),
//! title/description substring (3), else (4). A name match that lies wholly inside the reverse-DNS
//! boilerplate (`io.github.`, `com.`) keeps the hit but not the name tier.

use std::sync::Arc;

use memchr::memmem;

use super::{Doc, Folded, Inner};

const TIERS: usize = 5;
/// The tier read name by name for a common term.
const IN_ORDER_TIER: u8 = 2;
pub(super) const TEXT_TIER: u8 = 3;
const WORDS_TIER: u8 = 4;
/// Above one candidate in this many servers, tier 2 reads every name in order, not the candidates.
const SCAN_FRACTION: usize = 8;
/// How many names reading every name in order may classify before all are classified in one pass.
const IN_ORDER_BUDGET: usize = 2_048;
/// Up to this many candidates are classified at once.
const EAGER_CANDIDATES: usize = 64;

/// The servers a term matches: per tier, in name order, the servers with a matching document of
/// exactly that tier (a server's listed tier is the best among its listed versions' documents, which
/// the database's filters decide).
///
/// Kept as bit sets over name-order positions and read lazily: a common term matches most servers,
/// of which a page consumes a few dozen, and collecting them all cost more than the matching.
///
/// Names are classified as a page needs them, too. The exact and prefix tiers (0, 1) come from the
/// index's sorted names. Tier 2 is read in name order, classifying the trigrams' candidates, or every
/// name when the term is common (see `SCAN_FRACTION`): a page then takes its servers from the first
/// few dozen names. Every name's answer is needed only when a page reaches the text tiers, or when
/// reading every name in order passes `IN_ORDER_BUDGET` names (a term found in many names but past
/// the boilerplate in few): then the candidates are classified at once, or all names in one pass
/// (`NameMatcher::scan`).
#[derive(Debug)]
pub(crate) struct Hits {
    tiers: [TierHits; TIERS],
    /// The index's name order when the hits were taken (positions map through it).
    order: Arc<Vec<u32>>,
    /// What the text and word tiers still need, until [`complete`] sets them.
    pending: Option<Pending>,
}

/// How far names were classified.
#[derive(Debug)]
enum Names {
    /// Tier 2 is read name by name: no pass over every name was made yet.
    InOrder(InOrder),
    /// Every name was classified.
    Settled(NameHits),
}

/// Which names tier 2 reads in name order (see `SCAN_FRACTION`).
#[derive(Debug)]
enum InOrder {
    /// Every name, until `budget` more were classified.
    All { budget: usize },
    /// The trigrams' candidates, by ascending position; `next` is the first one not read.
    Candidates { positions: Vec<u32>, next: usize },
}

/// How a search reads names (see `SCAN_FRACTION`): in tests, every way on a small index.
#[derive(Debug, Clone, Copy)]
struct Reading {
    /// Above this many candidates, every name is read instead.
    candidates_most: usize,
    eager_candidates: usize,
    budget: usize,
}

/// The query and its name hits, kept for the text and word tiers.
#[derive(Debug)]
struct Pending {
    term: String,
    words: Option<Vec<String>>,
    names: Names,
}

/// One tier's matching positions, and the positions `[start, high)` a page may still use (`start`
/// moves on as the tier is read).
#[derive(Debug)]
struct TierHits {
    positions: Bits,
    start: usize,
    high: usize,
}

impl Hits {
    /// Whether the tiers from `tier` on still need [`complete`].
    pub(super) fn incomplete_at(&self, tier: u8) -> bool {
        tier >= TEXT_TIER && self.pending.is_some()
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

/// Where each server lies in the name order some hits were taken in: the index's own positions
/// while no server was added since, else mapped from the hits' order (servers added since have
/// none).
struct Positions<'a> {
    own: &'a [u32],
    remapped: Option<Vec<u32>>,
}

impl<'a> Positions<'a> {
    fn of(inner: &'a Inner, order: &Arc<Vec<u32>>) -> Self {
        Self {
            own: &inner.position,
            remapped: (!Arc::ptr_eq(&inner.order, order)).then(|| positions_in(order)),
        }
    }

    fn get(&self, server: u32) -> Option<usize> {
        let positions = self.remapped.as_deref().unwrap_or(self.own);
        let at = *positions.get(server as usize)?;
        (at != u32::MAX).then_some(at as usize)
    }
}

/// Sets the name tiers (0–2) of the servers whose name matches `term`, at their `positions`;
/// `candidates` are the name trigrams' (`None` to check every name).
fn name_hits(
    inner: &Inner,
    term: &str,
    candidates: Option<Vec<u32>>,
    positions: &Positions<'_>,
    tiers: &mut [TierHits; TIERS],
) -> NameHits {
    let servers = inner.servers.len();
    let mut by_name = Bits::new(servers);
    let mut boilerplate = Bits::new(servers);
    let mut record = |id: u32, name_match: NameMatch| match name_match {
        NameMatch::Tier(tier) => {
            by_name.set(id as usize);
            if let (Some(hits), Some(at)) = (tiers.get_mut(usize::from(tier)), positions.get(id)) {
                hits.positions.set(at);
            }
        }
        NameMatch::Boilerplate => {
            by_name.set(id as usize);
            boilerplate.set(id as usize);
        }
        NameMatch::No => {}
    };
    let matcher = NameMatcher::new(term);
    match candidates {
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
        None => matcher.scan(inner, &mut record),
    }
    NameHits {
        by_name,
        boilerplate,
    }
}

/// The ids of `list` (sorted by `key`) whose key starts with `prefix`.
fn prefix_range<'l, 'k>(
    list: &'l [u32],
    prefix: &[u8],
    key: impl Fn(u32) -> &'k [u8],
) -> &'l [u32] {
    let low = list.partition_point(|&id| key(id) < prefix);
    let rest = list.get(low..).unwrap_or_default();
    let len = rest.partition_point(|&id| key(id).starts_with(prefix));
    rest.get(..len).unwrap_or_default()
}

/// Sets the exact and prefix name tiers (0, 1) of a non-empty `term` from the index's sorted
/// names: they are the servers whose folded name starts with the term and runs past its
/// boilerplate with it, and those whose local part starts with it (see `Occurrences::add`).
fn prefixed(inner: &Inner, term: &str, tiers: &mut [TierHits; TIERS]) {
    let term = term.as_bytes();
    let mut set = |id: u32| {
        let folded = inner.folded(id);
        let whole = folded.name == term || folded.local_part() == Some(term);
        if let (Some(hits), Some(&at)) = (
            tiers.get_mut(usize::from(!whole)),
            inner.position.get(id as usize),
        ) {
            hits.positions.set(at as usize);
        }
    };
    // By boilerplate length: only names whose boilerplate is shorter than the term can match at
    // their start past it.
    let by_name = &inner.by_boilerplate_then_name;
    let boilerplate = |id: u32| inner.folded(id).boilerplate;
    let mut group = 0;
    while let Some(&first) = by_name.get(group) {
        let length = boilerplate(first);
        if length >= term.len() {
            break;
        }
        let rest = by_name.get(group..).unwrap_or_default();
        let members = rest.get(..rest.partition_point(|&id| boilerplate(id) <= length));
        let members = members.unwrap_or_default();
        for &id in prefix_range(members, term, |id| inner.folded(id).name) {
            set(id);
        }
        group += members.len().max(1);
    }
    let local = |id: u32| inner.folded(id).local_part().unwrap_or_default();
    for &id in prefix_range(&inner.by_local_part, term, local) {
        set(id);
    }
}

/// See [`super::SearchIndex::hits`]: the name tiers (0–2) now, the text and word tiers (3–4) when a
/// page reaches them ([`complete`]): a common term fills most pages from names alone, and the text
/// tiers of a term found in most names' boilerplate touch every document. Unless the term has few
/// candidates, tier 2 is read name by name as pages need it (see [`Hits`]).
pub(super) fn hits(inner: &Inner, term: &str, words: Option<&[String]>, scope: Scope<'_>) -> Hits {
    let reading = Reading {
        candidates_most: inner.servers.len() / SCAN_FRACTION,
        eager_candidates: EAGER_CANDIDATES,
        budget: IN_ORDER_BUDGET,
    };
    hits_reading(inner, term, words, scope, reading)
}

/// [`hits`], reading names as `reading` says.
fn hits_reading(
    inner: &Inner,
    term: &str,
    words: Option<&[String]>,
    scope: Scope<'_>,
    reading: Reading,
) -> Hits {
    let servers = inner.servers.len();
    let first = |name: &str| {
        inner
            .order
            .partition_point(|&id| &*inner.servers[id as usize].name < name)
    };
    let (low, high) = match scope.name_range {
        Some((low, high)) => (first(low), first(high)),
        None => (0, inner.order.len()),
    };
    let mut tiers: [TierHits; TIERS] = std::array::from_fn(|tier| TierHits {
        positions: Bits::new(servers),
        start: match scope.from {
            Some((from, _)) if tier < usize::from(from) => usize::MAX,
            Some((from, name)) if tier == usize::from(from) => first(name).max(low),
            _ => low,
        },
        high,
    });
    let candidates = inner.name_grams.candidates(term, reading.candidates_most);
    let names = match candidates {
        None if !term.is_empty() => Names::InOrder(InOrder::All {
            budget: reading.budget,
        }),
        Some(candidates) if candidates.len() > reading.eager_candidates => {
            let mut positions: Vec<u32> = candidates
                .iter()
                .filter_map(|&id| inner.position.get(id as usize).copied())
                .collect();
            positions.sort_unstable();
            Names::InOrder(InOrder::Candidates { positions, next: 0 })
        }
        candidates => {
            let positions = Positions::of(inner, &inner.order);
            Names::Settled(name_hits(inner, term, candidates, &positions, &mut tiers))
        }
    };
    // Past a cursor beyond tier 1 (a later page), its tiers are not read.
    if matches!(names, Names::InOrder(_)) && tiers[1].start != usize::MAX {
        prefixed(inner, term, &mut tiers);
    }
    Hits {
        tiers,
        order: Arc::clone(&inner.order),
        pending: Some(Pending {
            term: term.to_owned(),
            words: words.map(<[String]>::to_vec),
            names,
        }),
    }
}

/// See [`super::SearchIndex::next_servers`].
pub(super) fn next_servers(inner: &Inner, hits: &mut Hits, tier: u8, most: usize) -> Vec<u32> {
    if hits.incomplete_at(tier) {
        complete(inner, hits);
    }
    let mut servers = Vec::new();
    // Once the budget is spent, every name is classified in one pass, and the rest of the tier is
    // read from its positions (which then hold it).
    if tier == IN_ORDER_TIER && read_in_order(inner, hits, most, &mut servers) {
        settle_names(inner, hits);
    }
    let wanted = most - servers.len();
    let Hits { tiers, order, .. } = hits;
    let Some(tier_hits) = tiers.get_mut(usize::from(tier)) else {
        return servers;
    };
    if wanted == 0 {
        return servers;
    }
    let mut last = None;
    for at in tier_hits
        .positions
        .ones_in(tier_hits.start, tier_hits.high)
        .take(wanted)
    {
        servers.extend(order.get(at));
        last = Some(at);
    }
    tier_hits.start = match last {
        Some(at) if servers.len() == most => at + 1,
        _ => tier_hits.high,
    };
    servers
}

/// While tier 2 is read name by name: classifies the next names in name order until `servers`
/// holds `most` or the tier ends. Returns whether it stopped because the budget of
/// [`InOrder::All`] was spent.
fn read_in_order(inner: &Inner, hits: &mut Hits, most: usize, servers: &mut Vec<u32>) -> bool {
    let Hits {
        tiers,
        order,
        pending,
    } = hits;
    let Some(Pending {
        term,
        names: Names::InOrder(in_order),
        ..
    }) = pending
    else {
        return false;
    };
    let matcher = NameMatcher::new(term);
    let tier = &mut tiers[usize::from(IN_ORDER_TIER)];
    while servers.len() < most && tier.start < tier.high {
        let at = match in_order {
            InOrder::All { budget: 0 } => return true,
            InOrder::All { budget } => {
                *budget -= 1;
                tier.start
            }
            InOrder::Candidates { positions, next } => {
                let Some(&at) = positions.get(*next) else {
                    tier.start = tier.high;
                    break;
                };
                *next += 1;
                at as usize
            }
        };
        if at < tier.start {
            continue;
        }
        let Some(&id) = order.get(at).filter(|_| at < tier.high) else {
            tier.start = tier.high;
            break;
        };
        tier.start = at + 1;
        if matcher.classify(inner.folded(id)) == NameMatch::Tier(IN_ORDER_TIER) {
            servers.push(id);
        }
    }
    false
}

/// Classifies every name in one pass, once: the name tiers' positions and what the text tiers
/// need (tier 2 is no longer read name by name).
fn settle_names(inner: &Inner, hits: &mut Hits) {
    let Some(pending) = hits
        .pending
        .as_mut()
        .filter(|pending| matches!(pending.names, Names::InOrder(_)))
    else {
        return;
    };
    let positions = Positions::of(inner, &hits.order);
    let term = &pending.term;
    let candidates = inner
        .name_grams
        .candidates(term, inner.servers.len() / SCAN_FRACTION);
    let names = name_hits(inner, term, candidates, &positions, &mut hits.tiers);
    pending.names = Names::Settled(names);
}

/// Sets the text and word tiers of `hits`, once.
fn complete(inner: &Inner, hits: &mut Hits) {
    settle_names(inner, hits);
    let Some(Pending {
        term,
        words,
        names: Names::Settled(names),
    }) = hits.pending.take()
    else {
        return;
    };
    let positions = Positions::of(inner, &hits.order);
    let tiers = &mut hits.tiers;
    let mut set = |tier: u8, server: u32| {
        if let (Some(hits), Some(at)) = (tiers.get_mut(usize::from(tier)), positions.get(server)) {
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
mod tests;
