//! `registry-server import FILE`: bulk-load manifests from a JSON list of server.json objects or an
//! official `ServerList` response (`{"servers": [{"server": …, "_meta": …}]}`).
//!
//! When an entry carries the official registry metadata
//! (`_meta["io.modelcontextprotocol.registry/official"]`, beside the server in a `ServerList`, or inside
//! a server.json of an older export), its `status`, `statusMessage`, `publishedAt`, `statusChangedAt`
//! and `updatedAt` are kept instead of the import time (`isLatest` is recomputed here). Imports never
//! run the compatibility gate: what the source registry accepted is copied as it is.

use std::path::Path;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use registry_schema::{Error as SchemaError, Manifest, Policy};
use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::db::{ImportEntry, ImportOutcome, MirrorTimes, SourceMeta, Status, StatusChange, Store};

/// Manifests written per transaction.
pub const BATCH_SIZE: usize = 1000;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub inserted: u64,
    pub skipped: u64,
    /// `(index in the file, reason)` for every entry that failed validation.
    pub rejected: Vec<(usize, String)>,
}

/// One entry of an import file: the exact server.json text, and the official metadata the source
/// registry served with it, if any.
#[derive(Debug)]
pub struct FileEntry {
    pub server: Box<RawValue>,
    official: Option<Official>,
}

/// The `_meta` of a `ServerResponse` (or of an older export's server.json), as far as it is read here.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResponseMeta {
    #[serde(rename = "io.modelcontextprotocol.registry/official", default)]
    pub official: Option<Official>,
}

/// `_meta["io.modelcontextprotocol.registry/official"]` as the official registry serves it; read by
/// imports and the mirror alike.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Official {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    status_message: Option<String>,
    #[serde(default)]
    status_changed_at: Option<String>,
    #[serde(default)]
    published_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl Official {
    /// The status and its message (`active` when absent); an error for a status this registry does
    /// not know.
    pub(crate) fn status_change(&self) -> Result<StatusChange, String> {
        let status = match self.status.as_deref() {
            None => Status::Active,
            Some(text) => text
                .parse::<Status>()
                .map_err(|_| format!("unknown status `{text}`"))?,
        };
        let message = self.status_message.clone().filter(|m| !m.is_empty());
        Ok(StatusChange { status, message })
    }

    /// The source's timestamps, when it gave a usable `publishedAt`.
    pub(crate) fn times(&self) -> Option<MirrorTimes> {
        Some(MirrorTimes {
            published_at: self.published_at.as_deref().and_then(parse_time)?,
            status_changed_at: self.status_changed_at.as_deref().and_then(parse_time),
            updated_at: self.updated_at(),
        })
    }

    /// `updatedAt`, at the store's precision.
    pub(crate) fn updated_at(&self) -> Option<OffsetDateTime> {
        self.updated_at.as_deref().and_then(parse_time)
    }

    /// What an import keeps (`isLatest` is recomputed here).
    pub(crate) fn source_meta(&self) -> Result<SourceMeta, String> {
        let change = self.status_change()?;
        Ok(SourceMeta {
            status: change.status,
            status_message: change.message,
            times: self.times(),
        })
    }
}

/// An RFC 3339 time at the store's precision (microseconds, UTC).
fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000).ok()
}

impl FileEntry {
    /// An element of the file: a bare server.json (its own `_meta` may hold the official metadata), or
    /// a `ServerResponse` (`{"server": …, "_meta": …}`).
    fn read(element: Box<RawValue>) -> Self {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(default)]
            server: Option<Box<RawValue>>,
            #[serde(rename = "_meta", default)]
            meta: Option<serde_json::Value>,
            /// A server.json has a `name`; a `ServerResponse` does not.
            #[serde(default)]
            name: Option<serde::de::IgnoredAny>,
        }
        // An entry that is not even an object is left for validation to report.
        let Ok(probe) = serde_json::from_str::<Probe>(element.get()) else {
            return Self {
                server: element,
                official: None,
            };
        };
        let official = probe
            .meta
            .and_then(|meta| serde_json::from_value::<ResponseMeta>(meta).ok())
            .and_then(|meta| meta.official);
        match (probe.server, probe.name) {
            (Some(server), None) => Self { server, official },
            _ => Self {
                server: element,
                official,
            },
        }
    }
}

/// Reads the entries of an import file, keeping each server.json's exact text.
pub fn read_entries(text: &str) -> anyhow::Result<Vec<FileEntry>> {
    #[derive(Deserialize)]
    struct ServerList {
        servers: Vec<Box<RawValue>>,
    }
    let trimmed = text.trim_start();
    let elements: Vec<Box<RawValue>> = if trimmed.starts_with('[') {
        serde_json::from_str(text).context("reading the list of server.json objects")?
    } else if trimmed.starts_with('{') {
        let list: ServerList = serde_json::from_str(text).context(
            "reading a ServerList ({\"servers\": [{\"server\": …}]}); a single server.json should be published, not imported",
        )?;
        list.servers
    } else {
        bail!("expected a JSON array of server.json objects or a ServerList object")
    };
    Ok(elements.into_iter().map(FileEntry::read).collect())
}

/// An entry ready to store, or why it is refused.
fn check_entry(entry: &FileEntry, policy: Policy) -> Result<ImportEntry, String> {
    let manifest = match Manifest::parse(entry.server.get().as_bytes(), &policy) {
        Ok(manifest) => manifest,
        Err(SchemaError::Invalid(problems)) => {
            return Err(problems
                .errors()
                .next()
                .map_or_else(String::new, ToString::to_string));
        }
        Err(other) => return Err(other.to_string()),
    };
    let source = match &entry.official {
        Some(official) => Some(official.source_meta()?),
        None => None,
    };
    // The store refuses text with NUL (PostgreSQL cannot hold it): refuse the entry, not the batch.
    let remotes = manifest.server().remotes().iter();
    let texts = std::iter::once(manifest.version().as_str())
        .chain(remotes.filter_map(|remote| remote.url.as_deref()))
        .chain(source.iter().filter_map(|s| s.status_message.as_deref()));
    if texts.into_iter().any(|text| text.contains('\0')) {
        return Err("the entry contains a NUL character (U+0000)".to_owned());
    }
    Ok(ImportEntry { manifest, source })
}

/// Validates every entry and imports the valid ones in batches, calling `progress` with the number of
/// entries handled so far. No compatibility gate runs: a version the source accepted is imported.
pub async fn import_entries(
    store: &Store,
    entries: &[FileEntry],
    policy: &Policy,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<ImportReport> {
    let mut report = ImportReport::default();
    let mut done = 0u64;
    for (batch_index, batch) in entries.chunks(BATCH_SIZE).enumerate() {
        let mut accepted = Vec::with_capacity(batch.len());
        for (offset, entry) in batch.iter().enumerate() {
            match check_entry(entry, *policy) {
                Ok(entry) => accepted.push(entry),
                Err(reason) => report
                    .rejected
                    .push((batch_index * BATCH_SIZE + offset, reason)),
            }
        }
        let ImportOutcome { inserted, skipped } = store
            .import_entries(&accepted)
            .await
            .with_context(|| format!("importing entries {}..", batch_index * BATCH_SIZE))?;
        report.inserted += inserted;
        report.skipped += skipped;
        done += batch.len() as u64;
        progress(done);
    }
    Ok(report)
}

/// The command: read, validate, import with a progress bar on stderr.
pub async fn run(store: &Store, path: &Path, policy: &Policy) -> anyhow::Result<ImportReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?;
    let entries = read_entries(&text).with_context(|| format!("in `{}`", path.display()))?;
    let bar = ProgressBar::new(entries.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} manifests ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = import_entries(store, &entries, policy, |done| bar.set_position(done)).await;
    bar.finish_and_clear();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_carry_the_official_metadata_in_either_place() {
        let text = r#"{"servers": [
            {"server": {"name": "io.x/a", "version": "1.0.0", "description": "A"},
             "_meta": {"io.modelcontextprotocol.registry/official": {
                 "status": "deprecated", "publishedAt": "2025-09-30T12:34:56.987654321Z",
                 "updatedAt": "2025-10-02T08:00:00Z", "isLatest": true}}},
            {"server": {"name": "io.x/b", "version": "1.0.0", "description": "B"}}
        ]}"#;
        let entries = read_entries(text).unwrap_or_default();
        assert_eq!(entries.len(), 2);
        assert!(entries[0].server.get().starts_with(r#"{"name": "io.x/a""#));
        let meta = entries[0].official.as_ref().map(Official::source_meta);
        let Some(Ok(SourceMeta {
            status,
            times: Some(times),
            ..
        })) = meta
        else {
            panic!("no metadata: {meta:?}");
        };
        assert_eq!(status, Status::Deprecated);
        assert_eq!(times.published_at.nanosecond(), 987_654_000);
        assert!(times.updated_at.is_some());
        assert!(entries[1].official.is_none());

        let bare = r#"[{"name": "io.x/c", "version": "2.0.0", "description": "C",
            "_meta": {"io.modelcontextprotocol.registry/official": {"publishedAt": "2025-01-01T00:00:00Z"}}}]"#;
        let entries = read_entries(bare).unwrap_or_default();
        assert!(entries[0].server.get().contains("io.x/c"));
        let meta = entries[0].official.as_ref().map(Official::source_meta);
        assert!(matches!(
            meta,
            Some(Ok(SourceMeta {
                status: Status::Active,
                times: Some(_),
                ..
            }))
        ));

        let unknown = Official {
            status: Some("gone".into()),
            published_at: Some("2025-01-01T00:00:00Z".into()),
            ..Official::default()
        };
        assert!(unknown.source_meta().is_err());
        let nothing = Official::default().source_meta();
        assert!(matches!(
            nothing,
            Ok(SourceMeta {
                status: Status::Active,
                status_message: None,
                times: None
            })
        ));
    }
}
