use super::super::{Inner, NewDocument, SearchIndex};
use super::{Hits, NameMatch, NameMatcher, Reading, Scope, TEXT_TIER};

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

fn names(index: &SearchIndex, servers: &[u32]) -> Vec<String> {
    let inner = index.inner.read().unwrap();
    servers
        .iter()
        .map(|&id| inner.servers[id as usize].name.to_string())
        .collect()
}

/// Every server of `tier`, read `chunk` at a time as `db/ranked.rs` does.
fn read_tier(index: &SearchIndex, hits: &mut Hits, tier: u8, chunk: usize) -> Vec<u32> {
    let mut all = Vec::new();
    loop {
        let next = index.next_servers(hits, tier, chunk);
        assert!(next.len() <= chunk);
        if next.is_empty() {
            return all;
        }
        all.extend(next);
    }
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
    let text = read_tier(&index, &mut hits, TEXT_TIER, 10);
    assert!(!hits.incomplete_at(TEXT_TIER));
    assert_eq!(
        names(&index, &text),
        ["io.github.a/one", "io.github.c/three"]
    );
    let mut fresh = index.hits("weather", None, Scope::default());
    assert_eq!(
        names(&index, &read_tier(&index, &mut fresh, TEXT_TIER, 10)),
        ["io.github.a/one", "io.github.aa/new", "io.github.c/three"]
    );
}

/// Servers (name, folded name, texts of its documents) for the tier tests: mixed case, names
/// without a namespace, boilerplate of several lengths, names inside others.
const SERVERS: &[(&str, &[&str])] = &[
    (
        "io.github.github/github-mcp-server",
        &["GitHub's own server"],
    ),
    (
        "io.github.13rac1/videocapture-mcp",
        &["capture video", "capture"],
    ),
    ("io.github.Zed/Zed-tools", &["tools for zed"]),
    ("io.github.zedd/tools", &["more tools"]),
    ("io.gitlab.zed/x", &["x"]),
    ("zed/zed", &["the zed editor"]),
    ("com.zed/zedd", &["zedd"]),
    ("com.example/ababa", &["aba aba"]),
    ("com.aba/ba", &["ba"]),
    ("ab/a", &["a"]),
    ("ai.ai/ai", &["ai things"]),
    ("ai.smithery/x", &["hosted on smithery"]),
    ("io.github.io/io", &["io"]),
    ("io.github.gitgit/git", &["git tools", "git"]),
    ("gitgit", &["no namespace"]),
    ("io.github.x", &["no local part"]),
    ("io.", &["odd"]),
    ("net.example.sub/aba-aba", &["sub aba"]),
    ("a/aa", &["aa"]),
    ("aa/a", &["a a"]),
    ("example/mcp", &["an mcp server"]),
    ("io.github.mcp/mcp-server", &["mcp"]),
    ("io.github.someone/weather-mcp", &["weather over mcp"]),
];

fn tier_index(servers: &[(&str, &[&str])]) -> SearchIndex {
    let index = SearchIndex::default();
    let mut id = 0;
    for (name, texts) in servers {
        for text in *texts {
            id += 1;
            index.add(vec![NewDocument {
                id,
                server_name: (*name).to_owned(),
                name: name.to_lowercase(),
                text: text.to_lowercase(),
                words: words_of(text).join(" "),
            }]);
        }
    }
    index
}

/// The distinct words of `text`, lower-cased (as `db/search.rs` splits them, near enough here).
fn words_of(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect();
    words.sort();
    words.dedup();
    words
}

/// The tiers by definition, one server at a time: per tier, the servers in name order with a
/// document of that tier, within `scope`.
fn expected_tiers(servers: &[(&str, &[&str])], term: &str, scope: Scope<'_>) -> Vec<Vec<String>> {
    let mut sorted: Vec<&(&str, &[&str])> = servers.iter().collect();
    sorted.sort_by_key(|(name, _)| name.as_bytes());
    (0..5_u8)
        .map(|tier| {
            sorted
                .iter()
                .filter(|(name, _)| match scope.from {
                    Some((from, _)) if tier < from => false,
                    Some((from, after)) if tier == from => *name >= after,
                    _ => true,
                })
                .filter(|(name, _)| {
                    scope
                        .name_range
                        .is_none_or(|(low, high)| *name >= low && *name < high)
                })
                .filter(|(name, texts)| {
                    let folded = name.to_lowercase();
                    let boilerplate = super::super::boilerplate_len(&folded);
                    let by_name = reference(folded.as_bytes(), boilerplate, term);
                    texts.iter().any(|text| {
                        let in_text = text.to_lowercase().contains(term);
                        let doc_tier = match by_name {
                            NameMatch::Tier(name_tier) => Some(name_tier),
                            _ if in_text => Some(TEXT_TIER),
                            NameMatch::Boilerplate => Some(4),
                            NameMatch::No => {
                                let words = words_of(term);
                                let held = words_of(text);
                                (!words.is_empty() && words.iter().all(|word| held.contains(word)))
                                    .then_some(4)
                            }
                        };
                        doc_tier == Some(tier)
                    })
                })
                .map(|(name, _)| (*name).to_owned())
                .collect()
        })
        .collect()
}

/// Every way of reading names: all at once, in order from the candidates, in order from all
/// names with budgets that run out at once, early, or never.
fn readings() -> Vec<Reading> {
    let mut readings = vec![
        Reading {
            candidates_most: usize::MAX,
            eager_candidates: usize::MAX,
            budget: 0,
        },
        Reading {
            candidates_most: usize::MAX,
            eager_candidates: 0,
            budget: 0,
        },
    ];
    for budget in [0, 1, 3, usize::MAX] {
        readings.push(Reading {
            candidates_most: 0,
            eager_candidates: 0,
            budget,
        });
    }
    readings
}

#[test]
fn tiers_read_name_by_name_agree_with_the_definition_whatever_the_budget_and_chunk() {
    let index = tier_index(SERVERS);
    let terms = [
        "github",
        "git",
        "io.github.",
        "io.github.g",
        "io.github.zed",
        "io",
        "i",
        "zed",
        "z",
        "mcp",
        "aba",
        "a",
        "aa",
        "ab",
        "ba",
        "a/a",
        "x",
        "-",
        "/",
        ".",
        "com.",
        "ai",
        "io.",
        "gitgit",
        "zed/zed",
        "weather",
        "tools",
        "capture",
        "zzz",
        "ub/a",
        // Words in any order: the word tier.
        "editor zed",
        "video capture",
        "tools zed",
        "server own",
        "mcp over weather",
        "part local no",
        "a a",
        "github tools",
    ];
    let scopes = [
        Scope::default(),
        Scope {
            from: Some((1, "io.github")),
            name_range: None,
        },
        Scope {
            from: Some((2, "com.zed/zedd")),
            name_range: None,
        },
        Scope {
            from: Some((3, "io")),
            name_range: None,
        },
        Scope {
            from: Some((4, "com")),
            name_range: None,
        },
        Scope {
            from: None,
            name_range: Some(("io.github.", "io.github/")),
        },
    ];
    for term in terms {
        let words = words_of(term);
        let words = (!words.is_empty()).then_some(words.as_slice());
        for scope in scopes {
            let expected = expected_tiers(SERVERS, term, scope);
            for reading in readings() {
                for chunk in [1, 2, 7] {
                    let mut hits = {
                        let inner = index.inner.read().unwrap();
                        super::hits_reading(&inner, term, words, scope, reading)
                    };
                    for (tier, expected) in (0..5_u8).zip(&expected) {
                        let found = read_tier(&index, &mut hits, tier, chunk);
                        assert_eq!(
                            &names(&index, &found),
                            expected,
                            "{term:?} tier {tier}, {scope:?}, {reading:?}, chunk {chunk}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn tier_two_read_name_by_name_keeps_the_order_it_was_taken_in_when_a_server_is_added() {
    for reading in readings() {
        let index = tier_index(SERVERS);
        let mut hits = {
            let inner = index.inner.read().unwrap();
            super::hits_reading(&inner, "mcp", None, Scope::default(), reading)
        };
        let first = index.next_servers(&mut hits, 2, 1);
        // A publish lands between two chunks: the name order moves.
        index.add(vec![document(100, "example/new-mcp", "mcp")]);
        let rest = read_tier(&index, &mut hits, 2, 1);
        let all: Vec<u32> = first.into_iter().chain(rest).collect();
        assert_eq!(
            names(&index, &all),
            [
                "io.github.13rac1/videocapture-mcp",
                "io.github.github/github-mcp-server",
                "io.github.someone/weather-mcp"
            ],
            "{reading:?}"
        );
    }
}
