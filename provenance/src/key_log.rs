//! The append-only, hash-chained log of a namespace's signing keys.
//!
//! Every registration and revocation of a key for a namespace is one entry; each entry's hash covers its
//! fields and the previous entry's hash, so a client that remembers the last head it saw (sequence number
//! and hash) notices a registry that rewrites or drops history, and the set of keys a namespace may sign
//! with is derived from the log itself rather than from whatever the registry lists today. The registry
//! writes the log (`registry-server`), clients check it (`mcp-reg`); both hash with [`entry_hash`].

use serde::{Deserialize, Serialize};

use crate::keys::PublicKey;
use crate::verify::RegisteredKey;

/// What an entry did to the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyAction {
    Register,
    Revoke,
}

impl KeyAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Revoke => "revoke",
        }
    }
}

/// The previous hash of a namespace's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of a namespace's key log, as served (`GET …/namespaces/{ns}/key-log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyLogEntry {
    /// 1 for the namespace's first entry, then one more per entry.
    pub seq: u64,
    pub action: KeyAction,
    /// Hex SHA-256 of the key's SPKI DER.
    pub key_id: String,
    pub algorithm: String,
    /// SPKI PEM.
    pub public_key: String,
    /// RFC 3339 time the registry wrote the entry.
    pub at: String,
    /// Who made the change (`token:<id>`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The previous entry's hash ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// [`entry_hash`] of this entry.
    pub hash: String,
}

/// The last entry of a log a client has seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    pub seq: u64,
    pub hash: String,
}

/// Fields of an entry, before it is hashed.
#[derive(Debug, Clone, Copy)]
pub struct EntryFields<'a> {
    pub namespace: &'a str,
    pub seq: u64,
    pub action: KeyAction,
    pub key_id: &'a str,
    pub algorithm: &'a str,
    pub public_key: &'a str,
    pub at: &'a str,
    pub actor: Option<&'a str>,
    pub prev_hash: &'a str,
}

/// Hex SHA-256 over a JSON array of a version tag and every field: JSON strings escape whatever a field
/// holds, so no two different entries hash the same bytes.
pub fn entry_hash(fields: &EntryFields<'_>) -> String {
    let text = serde_json::json!([
        "mcp-reg key-log v1",
        fields.namespace,
        fields.seq,
        fields.action.as_str(),
        fields.key_id,
        fields.algorithm,
        fields.public_key,
        fields.at,
        fields.actor,
        fields.prev_hash,
    ])
    .to_string();
    hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()))
}

impl KeyLogEntry {
    fn fields<'a>(&'a self, namespace: &'a str) -> EntryFields<'a> {
        EntryFields {
            namespace,
            seq: self.seq,
            action: self.action,
            key_id: &self.key_id,
            algorithm: &self.algorithm,
            public_key: &self.public_key,
            at: &self.at,
            actor: self.actor.as_deref(),
            prev_hash: &self.prev_hash,
        }
    }
}

/// Why a log is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyLogError {
    #[error("entry {seq} is out of order (expected {expected})")]
    OutOfOrder { seq: u64, expected: u64 },
    #[error("entry {seq} does not chain to the entry before it")]
    BrokenChain { seq: u64 },
    #[error("entry {seq}'s hash does not match its content")]
    BadHash { seq: u64 },
    #[error("entry {seq} names key {key_id}, but its public key hashes to another id")]
    KeyMismatch { seq: u64, key_id: String },
    #[error("entry {seq} registers key {key_id} a second time")]
    Reregistered { seq: u64, key_id: String },
    #[error("entry {seq} revokes key {key_id}, which is not registered and active")]
    RevokesUnknown { seq: u64, key_id: String },
    #[error(
        "the registry's key log for `{namespace}` rewrites history: it has {served} entries, and entry {seq} \
         differs from the one seen before ({remembered})"
    )]
    Rewritten {
        namespace: String,
        seq: u64,
        served: u64,
        remembered: String,
    },
}

/// A log that checked out: its head and the keys it leaves active.
#[derive(Debug, Clone)]
pub struct CheckedLog {
    /// `None` for an empty log.
    pub head: Option<LogHead>,
    /// Registered and not revoked, in registration order.
    pub active: Vec<RegisteredKey>,
    /// Every key id the log ever registered (revoked ones included).
    pub ever_registered: Vec<String>,
}

/// Checks a namespace's whole log: sequence numbers, the hash chain, each entry's hash, that each key id is
/// its key's SHA-256, and that registrations and revocations make sense. When `remembered` is given (the
/// head a client saw before), the log must still hold that entry unchanged.
pub fn check_log(
    namespace: &str,
    entries: &[KeyLogEntry],
    remembered: Option<&LogHead>,
) -> Result<CheckedLog, KeyLogError> {
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut active: Vec<RegisteredKey> = Vec::new();
    let mut ever_registered: Vec<String> = Vec::new();
    for (expected, entry) in (1_u64..).zip(entries) {
        if entry.seq != expected {
            return Err(KeyLogError::OutOfOrder {
                seq: entry.seq,
                expected,
            });
        }
        if entry.prev_hash != prev_hash {
            return Err(KeyLogError::BrokenChain { seq: entry.seq });
        }
        if entry_hash(&entry.fields(namespace)) != entry.hash {
            return Err(KeyLogError::BadHash { seq: entry.seq });
        }
        let key_mismatch = || KeyLogError::KeyMismatch {
            seq: entry.seq,
            key_id: entry.key_id.clone(),
        };
        let public_key = PublicKey::from_pem(&entry.public_key).map_err(|_| key_mismatch())?;
        if public_key.key_id() != entry.key_id {
            return Err(key_mismatch());
        }
        match entry.action {
            KeyAction::Register => {
                if ever_registered.contains(&entry.key_id) {
                    return Err(KeyLogError::Reregistered {
                        seq: entry.seq,
                        key_id: entry.key_id.clone(),
                    });
                }
                ever_registered.push(entry.key_id.clone());
                active.push(RegisteredKey {
                    namespace: namespace.to_owned(),
                    public_key,
                });
            }
            KeyAction::Revoke => {
                let before = active.len();
                active.retain(|key| key.public_key.key_id() != entry.key_id);
                if active.len() == before {
                    return Err(KeyLogError::RevokesUnknown {
                        seq: entry.seq,
                        key_id: entry.key_id.clone(),
                    });
                }
            }
        }
        prev_hash.clone_from(&entry.hash);
    }
    if let Some(remembered) = remembered {
        let still_there = usize::try_from(remembered.seq)
            .ok()
            .and_then(|seq| seq.checked_sub(1))
            .and_then(|index| entries.get(index))
            .is_some_and(|entry| entry.hash == remembered.hash);
        if !still_there {
            return Err(KeyLogError::Rewritten {
                namespace: namespace.to_owned(),
                seq: remembered.seq,
                served: entries.len() as u64,
                remembered: short(&remembered.hash),
            });
        }
    }
    Ok(CheckedLog {
        head: entries.last().map(|entry| LogHead {
            seq: entry.seq,
            hash: entry.hash.clone(),
        }),
        active,
        ever_registered,
    })
}

fn short(hash: &str) -> String {
    format!("hash {}…", hash.get(..12).unwrap_or(hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, SigningKey};

    fn append(log: &mut Vec<KeyLogEntry>, namespace: &str, action: KeyAction, key: &PublicKey) {
        let seq = log.len() as u64 + 1;
        let prev_hash = log
            .last()
            .map_or_else(|| GENESIS_HASH.to_owned(), |entry| entry.hash.clone());
        let (key_id, pem) = (key.key_id(), key.to_pem());
        let at = format!("2026-12-06T10:00:{seq:02}Z");
        let hash = entry_hash(&EntryFields {
            namespace,
            seq,
            action,
            key_id: &key_id,
            algorithm: key.algorithm().as_str(),
            public_key: &pem,
            at: &at,
            actor: Some("token:1"),
            prev_hash: &prev_hash,
        });
        log.push(KeyLogEntry {
            seq,
            action,
            key_id,
            algorithm: key.algorithm().as_str().to_owned(),
            public_key: pem,
            at,
            actor: Some("token:1".to_owned()),
            prev_hash,
            hash,
        });
    }

    fn key() -> PublicKey {
        match SigningKey::generate(KeyAlgorithm::Ed25519) {
            Ok(key) => key.public_key(),
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn a_log_derives_the_active_keys_and_detects_every_kind_of_tampering() {
        let (first, second) = (key(), key());
        let mut log = Vec::new();
        append(&mut log, "com.example", KeyAction::Register, &first);
        append(&mut log, "com.example", KeyAction::Register, &second);
        append(&mut log, "com.example", KeyAction::Revoke, &first);
        let checked = check_log("com.example", &log, None).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(checked.active.len(), 1);
        assert_eq!(checked.active[0].public_key.key_id(), second.key_id());
        assert_eq!(checked.head.as_ref().map(|h| h.seq), Some(3));
        let head_after_two = LogHead {
            seq: 2,
            hash: log[1].hash.clone(),
        };
        assert!(check_log("com.example", &log, Some(&head_after_two)).is_ok());

        // The same entries under another namespace do not hash the same.
        assert_eq!(
            check_log("com.other", &log, None).err(),
            Some(KeyLogError::BadHash { seq: 1 })
        );
        // An edited field.
        let mut edited = log.clone();
        edited[1].at = "2020-01-01T00:00:00Z".into();
        assert_eq!(
            check_log("com.example", &edited, None).err(),
            Some(KeyLogError::BadHash { seq: 2 })
        );
        // A dropped entry.
        let mut dropped = log.clone();
        dropped.remove(1);
        assert!(matches!(
            check_log("com.example", &dropped, None),
            Err(KeyLogError::OutOfOrder { .. })
        ));
        // A whole new history (the registry's own key in place of the publisher's), internally consistent,
        // is caught only by the head the client remembers.
        let mut rewritten = Vec::new();
        append(&mut rewritten, "com.example", KeyAction::Register, &key());
        append(&mut rewritten, "com.example", KeyAction::Register, &key());
        assert!(check_log("com.example", &rewritten, None).is_ok());
        assert!(matches!(
            check_log("com.example", &rewritten, Some(&head_after_two)),
            Err(KeyLogError::Rewritten { seq: 2, .. })
        ));
        // A shorter log than the client saw.
        assert!(matches!(
            check_log("com.example", &log[..1], Some(&head_after_two)),
            Err(KeyLogError::Rewritten { served: 1, .. })
        ));
        // A key id that is not its key's.
        let mut lying = Vec::new();
        append(&mut lying, "com.example", KeyAction::Register, &first);
        lying[0].key_id = second.key_id();
        assert!(matches!(
            check_log("com.example", &lying, None),
            Err(KeyLogError::BadHash { .. } | KeyLogError::KeyMismatch { .. })
        ));
        // Revoking a key never registered.
        let mut revoke_unknown = Vec::new();
        append(
            &mut revoke_unknown,
            "com.example",
            KeyAction::Revoke,
            &first,
        );
        assert!(matches!(
            check_log("com.example", &revoke_unknown, None),
            Err(KeyLogError::RevokesUnknown { .. })
        ));
    }
}
