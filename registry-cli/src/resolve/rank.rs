//! Which of a list of servers a short name means, without I/O.
//!
//! Everything compares case-insensitively, with spaces and `_` read as `-`. For each server, in
//! order of strength:
//!
//! 1. its title or the part of its name after `/` is the name, as typed or with the usual MCP
//!    affixes stripped on both sides (`github-mcp-server`, `server-filesystem`, "GitHub MCP
//!    Server");
//! 2. its namespace owner is the name: the last label of the reverse-DNS namespace
//!    (`io.github.github` → `github`, `com.slack` → `slack`), or the whole namespace when the name
//!    has dots;
//! 3. the name's words are words of its local name or title;
//! 4. the name is part of a word of its local name, title or owner, or its description says it.
//!
//! A server that is both (1) and (2) is what people mean (`github` → `io.github.github/github-mcp-server`
//! even when someone else publishes `io.github.someone/github`). When (1) and (2) pick different
//! servers, the name is ambiguous rather than silently someone else's. (4) never decides alone: it
//! only offers candidates. The reverse-DNS boilerplate (`io.github.`, `com.`, …) never matches
//! anything.

use std::cmp::Ordering;

/// How many candidates an ambiguous name lists.
pub const MAX_CANDIDATES: usize = 5;

/// What the ranking knows about one server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The full name, `namespace/local`.
    pub name: String,
    pub title: Option<String>,
    pub description: String,
}

impl Entry {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// The answer for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The one server the name means (an index into the entries).
    One(usize),
    /// Several servers fit equally well: the best ones, best first (at most [`MAX_CANDIDATES`]),
    /// and how many more fit as well.
    Ambiguous { candidates: Vec<usize>, more: usize },
    /// No server is called that. `similar` lists servers that only mention the name (best first,
    /// at most [`MAX_CANDIDATES`]); `boilerplate` says the name is only reverse-DNS boilerplate.
    NoMatch {
        similar: Vec<usize>,
        boilerplate: bool,
    },
}

/// The first label of reverse-DNS namespaces, which says nothing about a server.
const TOP_LEVEL: &[&str] = &[
    "io", "com", "ai", "dev", "org", "net", "app", "co", "me", "sh", "so", "xyz", "tech", "cloud",
];
/// The second label of namespaces derived from a code host's account (`io.github.<account>`).
const HOSTS: &[&str] = &["github", "gitlab", "bitbucket", "codeberg"];
/// Affixes servers add to their names; stripped (repeatedly) before comparing.
const PREFIXES: &[&str] = &["mcp-server-", "server-mcp-", "mcp-", "server-"];
const SUFFIXES: &[&str] = &["-mcp-server", "-server-mcp", "-mcp", "-server"];
/// Affixes organisations add to their account names.
const OWNER_SUFFIXES: &[&str] = &[
    "-io",
    "-ai",
    "-dev",
    "-hq",
    "-inc",
    "-labs",
    "-lab",
    "-oss",
    "-org",
    "-official",
    "-public",
    "-community",
    "-team",
];

/// How strongly one server matches; lower is stronger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    /// Title or local name, and the owner.
    OwnName,
    /// Title or local name as typed.
    Name,
    /// Title or local name with affixes stripped.
    CoreName,
    /// Only the namespace owner.
    Owner,
    /// The name's words are words of the local name or title.
    Words,
    /// Part of a word, or only the description.
    Mention,
}

/// The name as typed, folded.
struct Query {
    text: String,
    core: String,
    words: Vec<String>,
}

impl Query {
    fn new(text: &str) -> Self {
        let text = fold(text);
        let core = core(&text);
        let words = words(&core);
        Self { text, core, words }
    }
}

/// One server's folded parts.
struct Parts {
    name: String,
    namespace: String,
    owner: String,
    local: String,
    title: String,
}

impl Parts {
    fn new(entry: &Entry) -> Self {
        let name = fold(&entry.name);
        let (namespace, local) = name
            .split_once('/')
            .map_or((String::new(), name.clone()), |(ns, local)| {
                (ns.to_owned(), local.to_owned())
            });
        let owner = namespace.rsplit('.').next().unwrap_or_default().to_owned();
        let title = entry.title.as_deref().map(fold).unwrap_or_default();
        Self {
            name,
            namespace,
            owner,
            local,
            title,
        }
    }
}

/// Lowercase; whitespace and `_` become `-`; no leading, trailing or doubled `-`.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_whitespace() || c == '_' {
            '-'
        } else {
            c
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A folded name without the usual MCP affixes (`mcp-github-server` → `github`); never empty
/// unless the name is.
fn core(folded: &str) -> String {
    let mut text = folded;
    loop {
        let before = text;
        for prefix in PREFIXES {
            if let Some(rest) = text.strip_prefix(prefix).filter(|r| !r.is_empty()) {
                text = rest;
            }
        }
        for suffix in SUFFIXES {
            if let Some(rest) = text.strip_suffix(suffix).filter(|r| !r.is_empty()) {
                text = rest;
            }
        }
        if text == before {
            return text.to_owned();
        }
    }
}

/// `text` folded and without MCP affixes: what the search looks for besides the name as typed.
pub fn core_of(text: &str) -> String {
    core(&fold(text))
}

fn owner_core(owner: &str) -> &str {
    OWNER_SUFFIXES
        .iter()
        .find_map(|suffix| owner.strip_suffix(suffix).filter(|r| !r.is_empty()))
        .unwrap_or(owner)
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `text` is only reverse-DNS boilerplate (`io.github.`, `io`, `com.`) or empty.
pub fn is_boilerplate(text: &str) -> bool {
    let folded = fold(text);
    let labels: Vec<&str> = folded
        .split('.')
        .filter(|label| !label.is_empty())
        .collect();
    match labels.as_slice() {
        [] => true,
        [top] => TOP_LEVEL.contains(top),
        [top, host] => TOP_LEVEL.contains(top) && HOSTS.contains(host),
        _ => false,
    }
}

/// How `entry` matches `query`, with a tie-break (0 before 1); `None` when it does not.
fn strength(query: &Query, entry: &Entry) -> Option<(Strength, u8)> {
    let parts = Parts::new(entry);
    let q = &query.text;
    let exact = parts.local == *q || parts.title == *q || parts.name == *q;
    let core_match = !query.core.is_empty()
        && (core(&parts.local) == query.core
            || (!parts.title.is_empty() && core(&parts.title) == query.core));
    let owner = !parts.owner.is_empty()
        && (parts.owner == *q
            || parts.owner == query.core
            || owner_core(&parts.owner) == query.core
            || parts.namespace == *q);
    if exact || core_match {
        let tie = u8::from(!exact);
        return Some(if owner {
            (Strength::OwnName, tie)
        } else if exact {
            (Strength::Name, 0)
        } else {
            (Strength::CoreName, 0)
        });
    }
    if owner {
        return Some((Strength::Owner, 0));
    }
    if query.words.is_empty() {
        return None;
    }
    let mut name_words = words(&parts.local);
    name_words.extend(words(&parts.title));
    let all_in = |haystack: &[String]| query.words.iter().all(|w| haystack.contains(w));
    if all_in(&name_words) {
        return Some((Strength::Words, 0));
    }
    let part_of = query.core.chars().count() >= 3
        && [&parts.local, &parts.title, &parts.owner]
            .iter()
            .any(|field| field.contains(&query.core));
    if part_of {
        return Some((Strength::Mention, 0));
    }
    // Descriptions often repeat the name or a URL, whose boilerplate must not count.
    let prose: String = entry
        .description
        .split_whitespace()
        .filter(|chunk| !chunk.contains('/'))
        .collect::<Vec<_>>()
        .join(" ");
    if all_in(&words(&prose.to_lowercase())) {
        return Some((Strength::Mention, 1));
    }
    None
}

/// The servers `query` may mean, best first, with how they match.
fn scored(query: &Query, entries: &[Entry]) -> Vec<(Strength, u8, usize)> {
    let mut scored: Vec<(Strength, u8, usize)> = entries
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| strength(query, entry).map(|(s, tie)| (s, tie, index)))
        .collect();
    scored.sort_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| by_name(&entries[a.2], &entries[b.2]))
    });
    scored
}

/// Shorter local names first (the plain one before its variants), then by name.
fn by_name(a: &Entry, b: &Entry) -> Ordering {
    let local = |e: &Entry| e.name.rsplit('/').next().unwrap_or_default().len();
    local(a).cmp(&local(b)).then_with(|| a.name.cmp(&b.name))
}

/// Which of `entries` the short name `query` means.
pub fn rank(query: &str, entries: &[Entry]) -> Outcome {
    if is_boilerplate(query) {
        return Outcome::NoMatch {
            similar: Vec::new(),
            boilerplate: true,
        };
    }
    let query = Query::new(query);
    let scored = scored(&query, entries);
    let with = |wanted: &[Strength]| -> Vec<(Strength, u8, usize)> {
        scored
            .iter()
            .copied()
            .filter(|(s, _, _)| wanted.contains(s))
            .collect()
    };
    let Some(&(best, _, _)) = scored.first() else {
        return Outcome::NoMatch {
            similar: Vec::new(),
            boilerplate: false,
        };
    };
    match best {
        Strength::OwnName => decide(&with(&[Strength::OwnName])),
        Strength::Name | Strength::CoreName => {
            let owners = with(&[Strength::Owner]);
            if !owners.is_empty() {
                // The owner's servers are not called that, someone else's is: ask.
                return ambiguous(&with(&[
                    Strength::Name,
                    Strength::CoreName,
                    Strength::Owner,
                ]));
            }
            let named = with(&[Strength::Name]);
            if named.is_empty() {
                decide(&with(&[Strength::CoreName]))
            } else {
                decide(&named)
            }
        }
        Strength::Owner => {
            let owners = with(&[Strength::Owner]);
            if owners.len() == 1 {
                return Outcome::One(owners[0].2);
            }
            // The owner's best match: the one whose name mentions the owner.
            let mentions: Vec<(Strength, u8, usize)> = owners
                .iter()
                .copied()
                .filter(|&(_, _, i)| {
                    let parts = Parts::new(&entries[i]);
                    parts.local.contains(&query.core) || parts.title.contains(&query.core)
                })
                .collect();
            if mentions.len() == 1 {
                return Outcome::One(mentions[0].2);
            }
            ambiguous(&owners)
        }
        Strength::Words => decide(&with(&[Strength::Words])),
        Strength::Mention => Outcome::NoMatch {
            similar: scored
                .iter()
                .take(MAX_CANDIDATES)
                .map(|&(_, _, i)| i)
                .collect(),
            boilerplate: false,
        },
    }
}

/// One when the best tie-break is unique, else ambiguous among the tied.
fn decide(tied: &[(Strength, u8, usize)]) -> Outcome {
    match tied {
        [] => Outcome::NoMatch {
            similar: Vec::new(),
            boilerplate: false,
        },
        [one] => Outcome::One(one.2),
        [first, second, ..] if first.1 < second.1 => Outcome::One(first.2),
        _ => ambiguous(tied),
    }
}

fn ambiguous(tied: &[(Strength, u8, usize)]) -> Outcome {
    Outcome::Ambiguous {
        candidates: tied
            .iter()
            .take(MAX_CANDIDATES)
            .map(|&(_, _, i)| i)
            .collect(),
        more: tied.len().saturating_sub(MAX_CANDIDATES),
    }
}

/// Servers spelled like `query` (a typo away from its local name, title or owner), closest first,
/// at most [`MAX_CANDIDATES`].
pub fn near_misses(query: &str, entries: &[Entry]) -> Vec<usize> {
    if is_boilerplate(query) {
        return Vec::new();
    }
    let query = Query::new(query);
    let length = query.core.chars().count();
    let limit = match length {
        0..=2 => return Vec::new(),
        3..=5 => 1,
        6..=9 => 2,
        _ => 3,
    };
    let mut close: Vec<(usize, usize)> = entries
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| {
            let parts = Parts::new(entry);
            let mut fields = vec![core(&parts.local), parts.local.clone(), parts.owner.clone()];
            if !parts.title.is_empty() {
                fields.push(core(&parts.title));
            }
            fields
                .iter()
                .map(|field| distance(&query.core, field))
                .min()
                .filter(|d| *d <= limit)
                .map(|d| (d, index))
        })
        .collect();
    close.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| by_name(&entries[a.1], &entries[b.1]))
    });
    close
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(_, i)| i)
        .collect()
}

/// Edit distance with adjacent transpositions (optimal string alignment).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in d.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, title: Option<&str>, description: &str) -> Entry {
        Entry {
            name: name.to_owned(),
            title: title.map(str::to_owned),
            description: description.to_owned(),
        }
    }

    /// A small registry shaped like the real one: everything under `io.github.`, descriptions
    /// that repeat names and URLs, affixes everywhere.
    fn registry() -> Vec<Entry> {
        vec![
            entry(
                "io.github.github/github-mcp-server",
                Some("GitHub MCP Server"),
                "Connect AI assistants to GitHub",
            ),
            entry(
                "io.github.ko1ynnky/github-actions-mcp-server",
                None,
                "GitHub Actions Model Context Protocol Server",
            ),
            entry(
                "io.github.clickhouse/mcp-clickhouse",
                None,
                "io.github.clickhouse/mcp-clickhouse",
            ),
            entry(
                "io.github.mark3labs/mcp-filesystem-server",
                None,
                "Go server implementing Model Context Protocol (MCP) for filesystem operations.",
            ),
            entry(
                "io.github.rust-mcp-stack/rust-mcp-filesystem",
                None,
                "Blazing-fast, asynchronous MCP server for seamless filesystem operations.",
            ),
            entry(
                "io.github.korotovsky/slack-mcp-server",
                None,
                "The most powerful MCP Slack Server",
            ),
            entry(
                "io.github.greptimeteam/greptimedb",
                None,
                "Open-source, cloud-native, unified observability database",
            ),
            entry(
                "io.github.kukapay/crypto-feargreed-mcp",
                None,
                "Providing real-time and historical Crypto Fear & Greed Index data",
            ),
            entry(
                "io.github.stripe/agent-toolkit",
                None,
                "Integrating the Stripe API into agentic workflows",
            ),
            entry("io.github.atharvagupta2003/mcp-stripe", None, "Stripe MCP"),
            entry(
                "io.github.redis/mcp-redis",
                None,
                "The official Redis MCP Server",
            ),
            entry("io.github.redis/mcp-redis-cloud", None, "Redis Cloud"),
            entry(
                "io.github.gongrzhe/redis-mcp-server",
                None,
                "A Redis MCP server",
            ),
            entry("io.github.apify/actors-mcp-server", None, "Apify actors"),
            entry(
                "io.github.apify/mcp-server-rag-web-browser",
                None,
                "RAG web browser",
            ),
            entry("com.slack/workspace", None, "Slack's own server"),
        ]
    }

    fn name_of(outcome: &Outcome, entries: &[Entry]) -> Option<String> {
        match outcome {
            Outcome::One(i) => Some(entries[*i].name.clone()),
            _ => None,
        }
    }

    fn names(indices: &[usize], entries: &[Entry]) -> Vec<String> {
        indices.iter().map(|i| entries[*i].name.clone()).collect()
    }

    #[test]
    fn folding_and_affixes() {
        assert_eq!(fold("  GitHub MCP_Server "), "github-mcp-server");
        assert_eq!(core("github-mcp-server"), "github");
        assert_eq!(core("server-filesystem"), "filesystem");
        assert_eq!(core("mcp-filesystem-server"), "filesystem");
        assert_eq!(core("mcp-server"), "server");
        assert_eq!(core("mcp"), "mcp");
        assert_eq!(owner_core("pinecone-io"), "pinecone");
        assert!(is_boilerplate("io.github."));
        assert!(is_boilerplate("com."));
        assert!(is_boilerplate("io.github"));
        assert!(is_boilerplate("com"));
        assert!(is_boilerplate(" "));
        assert!(!is_boilerplate("github"));
        assert!(!is_boilerplate("io.github.github"));
        assert_eq!(distance("githb", "github"), 1);
        assert_eq!(distance("gihtub", "github"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn short_names_resolve_the_way_people_mean_them() {
        let entries = registry();
        for (query, expected) in [
            ("github", "io.github.github/github-mcp-server"),
            ("GitHub", "io.github.github/github-mcp-server"),
            ("github-mcp-server", "io.github.github/github-mcp-server"),
            ("GitHub MCP Server", "io.github.github/github-mcp-server"),
            ("io.github.github", "io.github.github/github-mcp-server"),
            ("filesystem", "io.github.mark3labs/mcp-filesystem-server"),
            (
                "server-filesystem",
                "io.github.mark3labs/mcp-filesystem-server",
            ),
            ("clickhouse", "io.github.clickhouse/mcp-clickhouse"),
            // The owner's own server beats same-named servers of others.
            ("redis", "io.github.redis/mcp-redis"),
            (
                "github-actions",
                "io.github.ko1ynnky/github-actions-mcp-server",
            ),
            (
                "rag-web-browser",
                "io.github.apify/mcp-server-rag-web-browser",
            ),
        ] {
            let outcome = rank(query, &entries);
            assert_eq!(
                name_of(&outcome, &entries).as_deref(),
                Some(expected),
                "{query}: {outcome:?}"
            );
        }
    }

    #[test]
    fn someone_elses_server_named_like_an_owner_does_not_win() {
        let mut entries = registry();
        entries.push(entry("io.github.mallory/github", None, "not GitHub's"));
        let outcome = rank("github", &entries);
        assert_eq!(
            name_of(&outcome, &entries).as_deref(),
            Some("io.github.github/github-mcp-server")
        );
        // Slack's own namespace and korotovsky's `slack-mcp-server` disagree: ask.
        let Outcome::Ambiguous { candidates, more } = rank("slack", &entries) else {
            panic!("slack should be ambiguous");
        };
        assert_eq!(more, 0);
        let listed = names(&candidates, &entries);
        assert!(
            listed.contains(&"com.slack/workspace".to_owned()),
            "{listed:?}"
        );
        assert!(
            listed.contains(&"io.github.korotovsky/slack-mcp-server".to_owned()),
            "{listed:?}"
        );
        // Titled "Slack", Slack's own server is both named so and owned by `slack`.
        let slack = entries
            .iter()
            .position(|e| e.name == "com.slack/workspace")
            .unwrap_or(0);
        entries[slack].title = Some("Slack".to_owned());
        assert_eq!(
            name_of(&rank("slack", &entries), &entries).as_deref(),
            Some("com.slack/workspace")
        );
        // Without Slack's own server, korotovsky's is the only one called that.
        entries.remove(slack);
        assert_eq!(
            name_of(&rank("slack", &entries), &entries).as_deref(),
            Some("io.github.korotovsky/slack-mcp-server")
        );
    }

    #[test]
    fn an_owner_with_several_servers_needs_a_choice() {
        let entries = registry();
        let Outcome::Ambiguous { candidates, .. } = rank("apify", &entries) else {
            panic!("apify should be ambiguous");
        };
        assert_eq!(candidates.len(), 2);
        let Outcome::Ambiguous { candidates, .. } = rank("stripe", &entries) else {
            panic!("stripe: the owner's server and another's `mcp-stripe` disagree");
        };
        assert_eq!(candidates.len(), 2);
    }

    #[test]
    fn boilerplate_and_mentions_never_decide() {
        let entries = registry();
        assert_eq!(
            rank("io.github.", &entries),
            Outcome::NoMatch {
                similar: Vec::new(),
                boilerplate: true
            }
        );
        assert!(matches!(
            rank("com", &entries),
            Outcome::NoMatch { ref similar, .. } if similar.is_empty()
        ));
        // `time` is only part of `greptimedb` and a description's "real-time": no server is
        // called that, so nothing is picked; they are offered.
        let Outcome::NoMatch {
            similar,
            boilerplate,
        } = rank("time", &entries)
        else {
            panic!("time must not resolve");
        };
        assert!(!boilerplate);
        assert_eq!(
            names(&similar, &entries),
            [
                "io.github.greptimeteam/greptimedb",
                "io.github.kukapay/crypto-feargreed-mcp"
            ]
        );
        assert_eq!(
            rank("postgres", &entries),
            Outcome::NoMatch {
                similar: Vec::new(),
                boilerplate: false
            }
        );
    }

    #[test]
    fn ambiguity_lists_at_most_five() {
        let entries: Vec<Entry> = (0..8)
            .map(|i| entry(&format!("io.github.owner{i}/memory"), None, "Memory"))
            .collect();
        let Outcome::Ambiguous { candidates, more } = rank("memory", &entries) else {
            panic!("memory should be ambiguous");
        };
        assert_eq!(candidates.len(), MAX_CANDIDATES);
        assert_eq!(more, 3);
    }

    #[test]
    fn typos_find_near_misses() {
        let entries = registry();
        assert_eq!(
            names(&near_misses("githb", &entries), &entries),
            ["io.github.github/github-mcp-server"]
        );
        assert_eq!(
            names(&near_misses("slakc", &entries), &entries),
            [
                "com.slack/workspace",
                "io.github.korotovsky/slack-mcp-server"
            ]
        );
        assert!(near_misses("postgres", &entries).is_empty());
        assert!(near_misses("io.github.", &entries).is_empty());
    }
}
