//! Which server a name on the command line means, shared by `install`, `show`, `verify` (names in
//! the registry) and `upgrade`, `uninstall` (names mcp-reg installed).
//!
//! A full name (`namespace/name`) is taken as it is. A short name is ranked by [`rank`] against the
//! registry's search results for it; when it stays ambiguous, the best few candidates are listed
//! with their descriptions, and on a terminal the user picks one by number.

mod rank;

use std::collections::BTreeSet;
use std::fmt::Write as _;

pub use rank::{Entry, MAX_CANDIDATES, Outcome, is_boilerplate, near_misses, rank};

use crate::UserError;
use crate::client::{Client, ListQuery, ServerResponse};
use crate::commands::{Ui, truncate};

/// Pages of results read per search term (of [`PAGE_SIZE`] servers each).
const MAX_PAGES: usize = 5;
const PAGE_SIZE: u32 = 100;

/// How to settle an ambiguous name.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The subcommand, for the hint (`mcp-reg install io.github.acme/memory`).
    pub command: &'a str,
    /// The user can pick a candidate on this terminal.
    pub interactive: bool,
}

impl<'a> Ask<'a> {
    /// Interactive when stdin and stderr are terminals and `--yes` was not given.
    pub fn new(command: &'a str, yes: bool) -> Self {
        Self {
            command,
            interactive: !yes && crate::output::interactive(),
        }
    }
}

/// Where names are looked up, for the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Registry,
    Installed,
}

/// The full name `query` means in the registry. A name with `/` is returned as it is (whether
/// the registry has it is the caller's next request).
pub fn registry_name(
    client: &Client,
    query: &str,
    ask: Ask<'_>,
    ui: &Ui,
) -> anyhow::Result<String> {
    let query = query.trim();
    if query.contains('/') {
        return Ok(query.to_owned());
    }
    if is_boilerplate(query) {
        return Err(boilerplate(query, ask));
    }
    let entries = {
        let _spinner = ui.spinner("looking up the name");
        search(client, query)?
    };
    let outcome = rank(query, &entries);
    if matches!(&outcome, Outcome::NoMatch { similar, .. } if similar.is_empty()) {
        // Nothing even mentions it: perhaps a typo.
        let all = {
            let _spinner = ui.spinner("looking for similar names");
            listing(client)?
        };
        let similar = near_misses(query, &all);
        let outcome = Outcome::NoMatch {
            similar,
            boilerplate: false,
        };
        return settle(query, &all, outcome, ask, Scope::Registry).map(|i| all[i].name.clone());
    }
    let name =
        settle(query, &entries, outcome, ask, Scope::Registry).map(|i| entries[i].name.clone())?;
    if name != query {
        ui.info(&format!("`{query}` is {name}"));
    }
    Ok(name)
}

/// The full name `query` means among `names` (installed servers): the name itself when listed,
/// else ranked like a registry name.
pub fn installed_name(names: &[String], query: &str, ask: Ask<'_>) -> anyhow::Result<String> {
    let query = query.trim();
    if names.iter().any(|name| name == query) {
        return Ok(query.to_owned());
    }
    let entries: Vec<Entry> = names.iter().map(Entry::new).collect();
    let outcome = if query.contains('/') || is_boilerplate(query) {
        Outcome::NoMatch {
            similar: near_misses(query.rsplit('/').next().unwrap_or(query), &entries),
            boilerplate: false,
        }
    } else {
        match rank(query, &entries) {
            Outcome::NoMatch {
                similar,
                boilerplate,
            } if similar.is_empty() => Outcome::NoMatch {
                similar: near_misses(query, &entries),
                boilerplate,
            },
            other => other,
        }
    };
    settle(query, &entries, outcome, ask, Scope::Installed).map(|i| entries[i].name.clone())
}

/// One version of a server named in full, or the user error that says what exists instead.
pub fn version(client: &Client, name: &str, version: &str) -> anyhow::Result<ServerResponse> {
    if let Some(response) = client.version(name, version)? {
        return Ok(response);
    }
    if version != "latest" && client.versions(name)?.is_some() {
        return Err(
            UserError::new(format!("`{name}` has no version `{version}`"))
                .with_hint(format!("list its versions with `mcp-reg versions {name}`"))
                .into(),
        );
    }
    let guess = did_you_mean(client, name);
    Err(
        UserError::new(format!("the registry has no server `{name}`"))
            .with_hint(if guess.is_empty() {
                "find the exact name with `mcp-reg search WORD`".to_owned()
            } else {
                guess
            })
            .into(),
    )
}

/// A "did you mean" hint for a full name the registry does not have, from its search for the
/// name's local part (empty when nothing is close).
pub fn did_you_mean(client: &Client, name: &str) -> String {
    let local = name.rsplit('/').next().unwrap_or(name);
    if is_boilerplate(local) {
        return String::new();
    }
    let Ok(mut entries) = search(client, local) else {
        return String::new();
    };
    entries.retain(|e| e.name != name);
    let mut picks: Vec<usize> = match rank(local, &entries) {
        Outcome::One(i) => vec![i],
        Outcome::Ambiguous { candidates, .. } => candidates,
        Outcome::NoMatch { similar, .. } => similar,
    };
    if picks.is_empty() {
        // Nothing mentions it: perhaps a typo.
        if let Ok(all) = listing(client) {
            entries = all;
            entries.retain(|e| e.name != name);
            picks = near_misses(local, &entries);
        }
    }
    let names: Vec<String> = picks
        .iter()
        .take(3)
        .map(|i| format!("`{}`", entries[*i].name))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!("did you mean {}?", names.join(" or "))
    }
}

fn entry_of(server: &ServerResponse) -> Entry {
    Entry {
        name: server.name().to_owned(),
        title: server.server["title"].as_str().map(str::to_owned),
        description: server.description().to_owned(),
    }
}

/// The registry's servers a short name may mean: its search for the name as typed, for the name
/// without MCP affixes, and for the namespace owner (`NAME/`), at most [`MAX_PAGES`] pages each.
fn search(client: &Client, query: &str) -> anyhow::Result<Vec<Entry>> {
    let core = rank::core_of(query);
    let mut terms = vec![(query.to_owned(), MAX_PAGES)];
    if !core.is_empty() && core != query.to_lowercase() {
        terms.push((core.clone(), MAX_PAGES));
    }
    if !core.is_empty() && !query.contains('.') {
        // Ranked first by name, the owner's servers are on the first page.
        terms.push((format!("{core}/"), 1));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (term, pages) in terms {
        for server in pages_of(client, Some(&term), pages)? {
            if seen.insert(server.name().to_owned()) {
                out.push(entry_of(&server));
            }
        }
    }
    Ok(out)
}

/// The registry's first servers (latest versions), for typo suggestions.
fn listing(client: &Client) -> anyhow::Result<Vec<Entry>> {
    Ok(pages_of(client, None, MAX_PAGES)?
        .iter()
        .map(entry_of)
        .collect())
}

fn pages_of(
    client: &Client,
    search: Option<&str>,
    pages: usize,
) -> anyhow::Result<Vec<ServerResponse>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..pages {
        let page = client.list_servers(&ListQuery {
            search,
            limit: Some(PAGE_SIZE),
            version: Some("latest"),
            cursor: cursor.as_deref(),
            ..ListQuery::default()
        })?;
        out.extend(page.servers);
        match page.metadata.next_cursor {
            Some(next) if !next.is_empty() => cursor = Some(next),
            _ => break,
        }
    }
    Ok(out)
}

/// Turns an outcome into the chosen index, or the error that lists the candidates.
fn settle(
    query: &str,
    entries: &[Entry],
    outcome: Outcome,
    ask: Ask<'_>,
    scope: Scope,
) -> anyhow::Result<usize> {
    let (candidates, more, headline) = match outcome {
        Outcome::One(index) => return Ok(index),
        Outcome::Ambiguous { candidates, more } => (
            candidates,
            more,
            format!("`{query}` is ambiguous; it could be:"),
        ),
        Outcome::NoMatch {
            boilerplate: true, ..
        } => return Err(boilerplate(query, ask)),
        Outcome::NoMatch { similar, .. } if similar.is_empty() => {
            return Err(match scope {
                Scope::Registry => UserError::new(format!("no server matches `{query}`"))
                    .with_hint(format!(
                        "search with `mcp-reg search WORD` and use the full name, e.g. `mcp-reg {} NAMESPACE/NAME`",
                        ask.command
                    )),
                Scope::Installed => UserError::new(format!("`{query}` is not installed"))
                    .with_hint("see what mcp-reg installed with `mcp-reg list`"),
            }
            .into());
        }
        Outcome::NoMatch { similar, .. } => {
            let headline = match scope {
                Scope::Registry => format!("no server is called `{query}`; did you mean:"),
                Scope::Installed => format!("`{query}` is not installed; did you mean:"),
            };
            (similar, 0, headline)
        }
    };
    let lines = candidate_lines(entries, &candidates);
    if ask.interactive
        && let Some(choice) = pick(&headline, &lines)?
        && let Some(index) = candidates.get(choice)
    {
        return Ok(*index);
    }
    let mut message = headline;
    for line in &lines {
        message.push_str("\n  ");
        message.push_str(line);
    }
    if more > 0 {
        let _ = write!(message, "\n  … and {more} more");
    }
    let first = candidates
        .first()
        .map_or("NAMESPACE/NAME", |i| entries[*i].name.as_str());
    Err(UserError::new(message)
        .with_hint(format!(
            "use the full name, e.g. `mcp-reg {} {first}`",
            ask.command
        ))
        .into())
}

fn boilerplate(query: &str, ask: Ask<'_>) -> anyhow::Error {
    UserError::new(format!(
        "`{query}` is only namespace boilerplate (every server's name starts like that); it names no server"
    ))
    .with_hint(format!(
        "give the server's name, e.g. `mcp-reg {} github`, or find it with `mcp-reg search WORD`",
        ask.command
    ))
    .into()
}

/// `name  title: description`, one line each, names aligned; registry text is cleaned of control
/// characters.
fn candidate_lines(entries: &[Entry], candidates: &[usize]) -> Vec<String> {
    let width = candidates
        .iter()
        .map(|i| entries[*i].name.chars().count())
        .max()
        .unwrap_or(0);
    candidates
        .iter()
        .map(|i| {
            let entry = &entries[*i];
            // Some registries fill a missing description with the name: say nothing then.
            let description = Some(entry.description.trim()).filter(|d| *d != entry.name);
            let about = match (&entry.title, description.unwrap_or_default()) {
                (Some(title), "") => title.clone(),
                (Some(title), description) if !description.starts_with(title.as_str()) => {
                    format!("{title}: {description}")
                }
                (_, description) => description.to_owned(),
            };
            let line = format!(
                "{:<width$}  {}",
                truncate(&entry.name, usize::MAX),
                truncate(&about, 80)
            );
            line.trim_end().to_owned()
        })
        .collect()
}

/// Lists the candidates numbered on stderr and reads a choice from stdin; `None` when the user
/// picks nothing.
fn pick(headline: &str, lines: &[String]) -> anyhow::Result<Option<usize>> {
    let mut list = format!("{headline}\n");
    for (number, line) in lines.iter().enumerate() {
        let _ = writeln!(list, "  {}) {line}", number + 1);
    }
    crate::output::err(&list);
    let answer =
        crate::output::prompt(&format!("pick one [1-{}] (Enter for none): ", lines.len()))?;
    Ok(answer
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=lines.len()).contains(n))
        .map(|n| n - 1))
}
