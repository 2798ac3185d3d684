//! Install transactions. Host files and the install record are two files, and an interruption
//! (SIGKILL, one Ctrl-C, a crash) can fall between their writes; several `mcp-reg` processes can also
//! edit one host file at once. So:
//!
//! - every change takes an advisory lock (`install.lock` beside the record, `File::lock`), so mcp-reg
//!   processes apply one change at a time and a plan is checked against the file it replaces;
//! - before the host file is written, the change's intent (the record change and the SHA-256 of the
//!   new file) is written to `install-intent.json`; it is removed once the record is written. The next
//!   change (or plan) finds a left-over intent and finishes it when the host file holds what the
//!   interrupted write wrote, or drops it when the write never happened, so no entry is left stuck
//!   between "in the file" and "not recorded".

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::InstallError;
use super::record::{InstallRecord, RecordStore};

const LOCK_FILE: &str = "install.lock";
const INTENT_FILE: &str = "install-intent.json";

/// Held while a change is applied; the lock is released when dropped (or when the process dies).
#[derive(Debug)]
pub(crate) struct Locked {
    _file: File,
}

/// Blocks until no other mcp-reg process is applying a change under the same data directory.
pub(crate) fn lock(records: &RecordStore) -> Result<Locked, InstallError> {
    let path = sibling(records, LOCK_FILE);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|err| InstallError::io("create", dir, err))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| InstallError::io("open", &path, err))?;
    file.lock()
        .map_err(|err| InstallError::io("lock", &path, err))?;
    Ok(Locked { _file: file })
}

/// The record change of one host-file edit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(crate) enum RecordChange {
    Upsert { record: Box<InstallRecord> },
    Remove,
}

/// What an edit is about to do, written before the host file.
#[derive(Debug, Serialize, Deserialize)]
struct Intent {
    config: PathBuf,
    entry: String,
    /// SHA-256 (hex) of the host file's content once written.
    written_sha256: String,
    change: RecordChange,
}

/// What a left-over intent turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// The host file was written before the interruption: the record now says so too.
    Finished { config: PathBuf, entry: String },
    /// The host file was never written: nothing changed.
    Dropped { config: PathBuf, entry: String },
}

/// Applies `change` to the record after writing `new_text` to `config`, as one transaction; the
/// caller holds the lock and has checked the file.
pub(crate) fn apply(
    records: &RecordStore,
    config: &Path,
    entry: &str,
    new_text: &str,
    change: &RecordChange,
    write: impl FnOnce() -> Result<Option<PathBuf>, InstallError>,
) -> Result<Option<PathBuf>, InstallError> {
    let intent = Intent {
        config: config.to_path_buf(),
        entry: entry.to_owned(),
        written_sha256: sha256_hex(new_text.as_bytes()),
        change: change.clone(),
    };
    let text = serde_json::to_vec(&intent).map_err(|err| InstallError::Record {
        path: sibling(records, INTENT_FILE),
        message: err.to_string(),
    })?;
    write_intent(&sibling(records, INTENT_FILE), &text)?;
    let backup = write()?;
    finish(records, config, entry, change)?;
    clear(records)?;
    Ok(backup)
}

/// Finishes or drops a change an interrupted process left (the caller holds the lock).
pub(crate) fn recover_locked(records: &RecordStore) -> Result<Option<Recovered>, InstallError> {
    let path = sibling(records, INTENT_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(InstallError::io("read", &path, err)),
    };
    let Ok(intent) = serde_json::from_slice::<Intent>(&bytes) else {
        // Torn or foreign: the write it announced cannot be known, and the host file was never
        // written after an intent that was not fully written.
        clear(records)?;
        return Ok(None);
    };
    let written = match std::fs::read(&intent.config) {
        Ok(current) => sha256_hex(&current) == intent.written_sha256,
        Err(err) if err.kind() == io::ErrorKind::NotFound => false,
        Err(err) => return Err(InstallError::io("read", &intent.config, err)),
    };
    let (config, entry) = (intent.config.clone(), intent.entry.clone());
    let outcome = if written {
        finish(records, &intent.config, &intent.entry, &intent.change)?;
        Recovered::Finished { config, entry }
    } else {
        Recovered::Dropped { config, entry }
    };
    clear(records)?;
    Ok(Some(outcome))
}

/// [`recover_locked`], taking the lock, and only when an intent was left.
pub fn recover(records: &RecordStore) -> Result<Option<Recovered>, InstallError> {
    if !sibling(records, INTENT_FILE).exists() {
        return Ok(None);
    }
    let _locked = lock(records)?;
    recover_locked(records)
}

fn finish(
    records: &RecordStore,
    config: &Path,
    entry: &str,
    change: &RecordChange,
) -> Result<(), InstallError> {
    match change {
        RecordChange::Upsert { record } => records.upsert((**record).clone()),
        RecordChange::Remove => records.remove(config, entry),
    }
}

fn clear(records: &RecordStore) -> Result<(), InstallError> {
    let path = sibling(records, INTENT_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(InstallError::io("remove", &path, err)),
    }
}

/// Writes the intent whole or not at all (temp file, sync, rename): a torn intent is never read.
fn write_intent(path: &Path, text: &[u8]) -> Result<(), InstallError> {
    let temp = path.with_extension("json.tmp");
    let mut file = File::create(&temp).map_err(|err| InstallError::io("create", &temp, err))?;
    file.write_all(text)
        .and_then(|()| file.sync_all())
        .map_err(|err| InstallError::io("write", &temp, err))?;
    std::fs::rename(&temp, path).map_err(|err| InstallError::io("rename", &temp, err))
}

fn sibling(records: &RecordStore, name: &str) -> PathBuf {
    records.path().with_file_name(name)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}
