//! `registry-server import FILE`: bulk-load manifests from a JSON list of server.json objects or an
//! official `ServerList` response (`{"servers": [{"server": …, "_meta": …}]}`).

use std::path::Path;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use registry_schema::{Error as SchemaError, Manifest, Policy};
use serde_json::value::RawValue;

use crate::db::{ImportOutcome, Store};

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

/// Reads the manifests of an import file, keeping each entry's exact text.
pub fn read_entries(text: &str) -> anyhow::Result<Vec<Box<RawValue>>> {
    #[derive(serde::Deserialize)]
    struct ServerList {
        servers: Vec<ServerEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ServerEntry {
        server: Box<RawValue>,
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str(text).context("reading the list of server.json objects");
    }
    if trimmed.starts_with('{') {
        let list: ServerList = serde_json::from_str(text).context(
            "reading a ServerList ({\"servers\": [{\"server\": …}]}); a single server.json should be published, not imported",
        )?;
        return Ok(list.servers.into_iter().map(|entry| entry.server).collect());
    }
    bail!("expected a JSON array of server.json objects or a ServerList object")
}

/// Validates every entry and imports the valid ones in batches, calling `progress` with the number of
/// entries handled so far.
pub async fn import_entries(
    store: &Store,
    entries: &[Box<RawValue>],
    policy: &Policy,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<ImportReport> {
    let mut report = ImportReport::default();
    let mut done = 0u64;
    for (batch_index, batch) in entries.chunks(BATCH_SIZE).enumerate() {
        let mut manifests = Vec::with_capacity(batch.len());
        for (offset, entry) in batch.iter().enumerate() {
            let index = batch_index * BATCH_SIZE + offset;
            match Manifest::parse(entry.get().as_bytes(), policy) {
                Ok(manifest) => manifests.push(manifest),
                Err(SchemaError::Invalid(problems)) => {
                    let first = problems
                        .errors()
                        .next()
                        .map_or_else(String::new, ToString::to_string);
                    report.rejected.push((index, first));
                }
                Err(other) => report.rejected.push((index, other.to_string())),
            }
        }
        let ImportOutcome { inserted, skipped } = store
            .import(&manifests)
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
