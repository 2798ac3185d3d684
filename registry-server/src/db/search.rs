//! Search, derived in Rust the same way for both engines: case folding, the words of a manifest, the
//! search document of a version, search terms, and the list filters.

use std::collections::BTreeSet;

use registry_schema::Manifest;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{ListQuery, VersionSelector};

/// Longest word kept in the word index (PostgreSQL refuses lexemes over 2 KiB); longer query words
/// cannot match on either engine.
const MAX_WORD_BYTES: usize = 255;

/// A JSON array of strings (the format of the filter columns and of list parameters).
pub(crate) fn json_array<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::Value::from(values.into_iter().collect::<Vec<_>>()).to_string()
}

/// One JSON string, escaped exactly as in [`json_array`].
pub(crate) fn json_string(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

/// Case folding for search: per character, so a substring of the text stays a substring once folded
/// (no context rules such as a final sigma). NUL is dropped: PostgreSQL text cannot hold it.
pub(crate) fn fold(text: &str) -> String {
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
pub(crate) fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(fold)
}

/// Search and filter columns of one manifest, derived the same way for both engines.
#[derive(Debug)]
pub(crate) struct SearchFields {
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
    pub(crate) fn of(manifest: &Manifest) -> Self {
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
}

/// A search term prepared for both engines.
#[derive(Debug)]
pub(crate) struct SearchTerm {
    /// The folded term, compared with the folded search columns.
    pub folded: String,
    /// The term's distinct words; `None` when it has none (or one too long to be indexed), so no row can
    /// match it by words.
    pub words: Option<Vec<String>>,
}

impl SearchTerm {
    /// `None` for an empty term, which does not filter.
    pub(crate) fn new(term: &str) -> Option<Self> {
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
}

/// List filters other than search and cursor, checked once for both engines.
pub(crate) struct Filters<'q> {
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
    pub(crate) fn new(query: &'q ListQuery) -> Option<Self> {
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
