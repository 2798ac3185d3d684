//! What mcp-reg installed where: one small JSON file under mcp-reg's data directory, so `uninstall` and
//! sync touch only entries mcp-reg wrote, and notice when the user has changed one since.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{InstallError, atomic};

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
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(InstallError::io("read", &self.path, err)),
        };
        let file: RecordFile =
            serde_json::from_slice(&bytes).map_err(|err| InstallError::Record {
                path: self.path.clone(),
                message: err.to_string(),
            })?;
        Ok(file.installs)
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
        let mut all = self.load()?;
        all.retain(|r| !(r.config == record.config && r.entry == record.entry));
        all.push(record);
        self.save(all)
    }

    /// Forgets the entry `entry` of `config`.
    pub fn remove(&self, config: &Path, entry: &str) -> Result<(), InstallError> {
        let mut all = self.load()?;
        let before = all.len();
        all.retain(|r| !(r.config == config && r.entry == entry));
        if all.len() == before {
            return Ok(());
        }
        self.save(all)
    }

    fn save(&self, installs: Vec<InstallRecord>) -> Result<(), InstallError> {
        let file = RecordFile {
            version: 1,
            installs,
        };
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
