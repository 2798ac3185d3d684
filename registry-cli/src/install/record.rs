//! What mcp-reg installed where: one small JSON file under mcp-reg's data directory, so `uninstall` and
//! sync touch only entries mcp-reg wrote, and notice when the user has changed one since.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use registry_provenance::key_log::LogHead;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{InstallError, atomic};
use crate::provenance::Signer;

/// File name of the install record inside the data directory.
pub const RECORD_FILE: &str = "installed.json";

/// One entry mcp-reg wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRecord {
    /// [`super::Host::id`].
    pub host: String,
    /// The config file (absolute).
    pub config: PathBuf,
    /// The entry's name in that file.
    pub entry: String,
    /// The registry server name and version installed.
    pub server: String,
    pub version: String,
    /// Digest of the manifest installed, when the caller knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Digest of the server's tool surface (tool names, descriptions, schemas) when installed: the pin
    /// later trust checks compare against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface_digest: Option<String>,
    /// Who signed the version when its provenance verified before installing (then `digest` is the
    /// verified digest); absent for unsigned installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// [`fingerprint`] of the entry as written; a different entry under the same name is not ours.
    pub fingerprint: String,
    /// VS Code `inputs` ids mcp-reg added for this entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Who added the entry: `None` for the user (`mcp-reg install`); `lan:<DNS-SD full name>` for
    /// `mcp-reg discover --sync`, which removes only entries carrying its own marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RecordFile {
    version: u32,
    installs: Vec<InstallRecord>,
    /// The signer pinned for each server name (trust on first use): kept after uninstalling, like SSH's
    /// known_hosts, so a reinstall is held to the same signer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    signers: BTreeMap<String, Signer>,
    /// The last key-log head seen per registry and namespace (`"<registry> <namespace>"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    key_logs: BTreeMap<String, LogHead>,
}

/// The record file; read on demand, written atomically.
#[derive(Debug, Clone)]
pub struct RecordStore {
    path: PathBuf,
}

impl RecordStore {
    /// The store in `data_dir` (e.g. `~/.local/share/mcp-reg`).
    pub fn new(data_dir: impl AsRef<Path>) -> Self {
        Self {
            path: data_dir.as_ref().join(RECORD_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every record; an absent file means none.
    pub fn load(&self) -> Result<Vec<InstallRecord>, InstallError> {
        Ok(self.load_file()?.installs)
    }

    fn load_file(&self) -> Result<RecordFile, InstallError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RecordFile::default());
            }
            Err(err) => return Err(InstallError::io("read", &self.path, err)),
        };
        serde_json::from_slice(&bytes).map_err(|err| InstallError::Record {
            path: self.path.clone(),
            message: err.to_string(),
        })
    }

    /// The signer pinned for `server`, if any.
    pub fn signer(&self, server: &str) -> Result<Option<Signer>, InstallError> {
        Ok(self.load_file()?.signers.remove(server))
    }

    /// Pins `signer` for `server` (replacing an earlier pin). Takes the install lock, so callers must not
    /// hold it.
    pub fn pin_signer(&self, server: &str, signer: Signer) -> Result<(), InstallError> {
        let _lock = super::txn::lock(self)?;
        let mut file = self.load_file()?;
        file.signers.insert(server.to_owned(), signer);
        self.save_file(file)
    }

    /// The last head seen of `namespace`'s key log at `registry`.
    pub fn key_log_head(
        &self,
        registry: &str,
        namespace: &str,
    ) -> Result<Option<LogHead>, InstallError> {
        Ok(self
            .load_file()?
            .key_logs
            .remove(&format!("{registry} {namespace}")))
    }

    /// Remembers `head` as the last seen of `namespace`'s key log at `registry`. Takes the install lock.
    pub fn remember_key_log_head(
        &self,
        registry: &str,
        namespace: &str,
        head: LogHead,
    ) -> Result<(), InstallError> {
        let _lock = super::txn::lock(self)?;
        let mut file = self.load_file()?;
        file.key_logs
            .insert(format!("{registry} {namespace}"), head);
        self.save_file(file)
    }

    /// The record for one entry. The key is the file and entry name, not the host: hosts can share a
    /// file (VS Code and VS Code Insiders both read `.vscode/mcp.json`).
    pub fn find(&self, config: &Path, entry: &str) -> Result<Option<InstallRecord>, InstallError> {
        Ok(self
            .load()?
            .into_iter()
            .find(|r| r.config == config && r.entry == entry))
    }

    /// Adds `record`, replacing the one for the same file and entry.
    pub fn upsert(&self, record: InstallRecord) -> Result<(), InstallError> {
        let mut file = self.load_file()?;
        file.installs
            .retain(|r| !(r.config == record.config && r.entry == record.entry));
        file.installs.push(record);
        self.save_file(file)
    }

    /// Forgets the entry `entry` of `config`.
    pub fn remove(&self, config: &Path, entry: &str) -> Result<(), InstallError> {
        let mut file = self.load_file()?;
        let before = file.installs.len();
        file.installs
            .retain(|r| !(r.config == config && r.entry == entry));
        if file.installs.len() == before {
            return Ok(());
        }
        self.save_file(file)
    }

    fn save_file(&self, mut file: RecordFile) -> Result<(), InstallError> {
        file.version = 1;
        let mut text = serde_json::to_string_pretty(&file).map_err(|err| InstallError::Record {
            path: self.path.clone(),
            message: err.to_string(),
        })?;
        text.push('\n');
        atomic::replace(&self.path, text.as_bytes(), false)?;
        Ok(())
    }
}

/// A short, stable hash of an entry's content (member order ignored): FNV-1a 64 over canonical JSON.
/// Not a security measure; it only tells "the entry we wrote" from "something else".
pub fn fingerprint(entry: &Value) -> String {
    let mut text = String::new();
    canonical(entry, &mut text);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fingerprint_ignores_member_order() {
        assert_eq!(
            fingerprint(&json!({"a": 1, "b": [1, 2]})),
            fingerprint(&json!({"b": [1, 2], "a": 1}))
        );
        assert_ne!(fingerprint(&json!({"a": 1})), fingerprint(&json!({"a": 2})));
    }
}
