//! The library behind `mcp-reg install` / `uninstall`: turn a `server.json` into a host's config entry
//! and edit the host's config file without losing anything.
//!
//! What an entry is (launch spec, host profiles, entry rendering, standalone snippets and the text
//! editors) lives in `registry-install` (`install-spec/`), shared with the registry's web pages so
//! both show the same bytes; it is re-exported here. This module adds the files: [`plan_install`]
//! prepares the entry ([`registry_install::prepare`]) and edits the file text in memory ([`jsonc`] /
//! [`toml`] / [`yaml`]); the returned [`Plan`] shows a diff (`--dry-run`) or is applied
//! ([`Plan::apply`]): atomic replace with a timestamped backup ([`atomic`]) plus a note in the install
//! record ([`record`]), which is how `uninstall` tells mcp-reg's entries from the user's own.
//! [`install`] / [`uninstall`] do both and re-plan once when another program saved the file in
//! between. Hosts are rows of data in [`hosts::PROFILES`].

pub mod atomic;
pub mod diff;
pub mod record;
mod txn;

use std::io;
use std::path::{Path, PathBuf};

use registry_schema::ServerJson;
use serde_json::Value;

pub use record::{InstallRecord, RecordStore};
pub use registry_install::{
    Choice, Format, Host, HostEnv, HostProfile, InputSpec, InstallError, LaunchSpec, Layout,
    Platform, Resolved, Scope, SnippetOptions, Values, default_entry_name, hosts, jsonc, launch,
    render, toml, yaml,
};

/// What to install and how.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// The entry's name in the host file; default: the server name's part after `/`.
    pub entry_name: Option<String>,
    pub choice: Choice,
    /// Values for inputs, keyed as [`InputSpec::key`] says.
    pub values: Values,
    /// Write secrets in plain text where the host has no indirection (explicit user consent).
    pub allow_plaintext_secrets: bool,
    /// Replace or remove an entry mcp-reg did not write (or that was changed since).
    pub force: bool,
    /// Manifest digest to keep in the install record.
    pub digest: Option<String>,
    /// Tool-surface digest to keep in the install record (the pin later trust checks build on).
    pub surface_digest: Option<String>,
    /// Who signed the version, when its provenance verified locally before installing.
    pub signed_by: Option<String>,
    /// [`snippet`] only: write `<KEY>` for every value nobody gave instead of failing
    /// (`--print --placeholders`, what the registry's web page shows).
    pub placeholders: bool,
}

impl InstallOptions {
    /// The options of the shared renderer.
    fn spec(&self) -> SnippetOptions {
        SnippetOptions {
            entry_name: self.entry_name.clone(),
            choice: self.choice,
            values: self.values.clone(),
            allow_plaintext_secrets: self.allow_plaintext_secrets,
            placeholders: self.placeholders,
        }
    }
}

/// A prepared edit of one config file; nothing is written until [`Plan::apply`].
#[derive(Debug, Clone)]
pub struct Plan {
    pub host: Host,
    pub entry_name: String,
    /// The config file (absolute).
    pub path: PathBuf,
    original: Option<String>,
    new_text: String,
    record: RecordChange,
    /// What was installed (`None` for uninstall).
    pub resolved: Option<Resolved>,
    /// Environment variables the host must see (secrets passed by reference).
    pub env_to_set: Vec<String>,
    /// Secrets written in plain text, with consent.
    pub plaintext_secrets: Vec<String>,
    /// Hints for the user (restart the host, approve the server, ...).
    pub notes: Vec<String>,
}

use txn::RecordChange;
pub use txn::{Recovered, recover};

/// The outcome of [`Plan::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub path: PathBuf,
    /// The copy of the previous content, if the file existed and changed.
    pub backup: Option<PathBuf>,
    /// Whether the config file was rewritten (false when it already held this entry).
    pub changed: bool,
}

impl Plan {
    /// The file's content before the edit (`None`: no file yet).
    pub fn original(&self) -> Option<&str> {
        self.original.as_deref()
    }

    /// The full new file text (`--dry-run` can print this).
    pub fn new_text(&self) -> &str {
        &self.new_text
    }

    /// Whether applying changes the config file.
    pub fn changes_file(&self) -> bool {
        self.original.as_deref() != Some(self.new_text.as_str())
    }

    /// A unified diff from the current file to the new text (empty when unchanged).
    pub fn diff(&self) -> String {
        let shown = self.path.display().to_string();
        let old_name = if self.original.is_some() {
            shown.clone()
        } else {
            "/dev/null".to_owned()
        };
        diff::unified(
            self.original.as_deref().unwrap_or_default(),
            &self.new_text,
            &old_name,
            &shown,
        )
    }

    /// Writes the file (atomic, with a timestamped backup of the previous content) and updates the install
    /// record. Fails with [`InstallError::ConcurrentModification`], writing nothing, if the file changed
    /// since the plan was made (checked again right before the rename).
    ///
    /// Runs as a transaction (see [`txn`]): under the install lock, after finishing any change an
    /// interrupted process left, with an intent written before the file so an interruption at any
    /// point leaves a state the next run repairs.
    pub fn apply(&self, records: &RecordStore) -> Result<Applied, InstallError> {
        let _locked = txn::lock(records)?;
        txn::recover_locked(records)?;
        let current = read_config(&self.path)?;
        if current != self.original {
            return Err(InstallError::ConcurrentModification {
                path: self.path.clone(),
            });
        }
        let changed = self.changes_file();
        let backup = txn::apply(
            records,
            &self.path,
            &self.entry_name,
            &self.new_text,
            &self.record,
            || {
                if !changed {
                    return Ok(None);
                }
                atomic::replace_if(
                    &self.path,
                    self.new_text.as_bytes(),
                    self.original.is_some(),
                    self.original.as_deref().map(str::as_bytes),
                )
            },
        )?;
        Ok(Applied {
            path: self.path.clone(),
            backup,
            changed,
        })
    }
}

/// Plans and applies an install; when the file changes between reading and writing (another program
/// or mcp-reg process saved it), plans again against the new content, a few times, before giving up.
pub fn install(
    server: &ServerJson,
    host: Host,
    scope: Scope,
    env: &HostEnv,
    opts: &InstallOptions,
    records: &RecordStore,
) -> Result<(Plan, Applied), InstallError> {
    retry_on_conflict(|| {
        let plan = plan_install(server, host, scope, env, opts, records)?;
        let applied = plan.apply(records)?;
        Ok((plan, applied))
    })
}

/// [`plan_uninstall`] + [`Plan::apply`], with the same retries as [`install`].
pub fn uninstall(
    host: Host,
    scope: Scope,
    env: &HostEnv,
    name: &str,
    force: bool,
    records: &RecordStore,
) -> Result<(Plan, Applied), InstallError> {
    retry_on_conflict(|| {
        let plan = plan_uninstall(host, scope, env, name, force, records)?;
        let applied = plan.apply(records)?;
        Ok((plan, applied))
    })
}

/// How often a change is planned again when the file changed under it: other mcp-reg processes
/// apply one at a time, so each attempt waits for at most the ones ahead of it.
pub const ATTEMPTS: usize = 16;

fn retry_on_conflict<T>(
    mut attempt: impl FnMut() -> Result<T, InstallError>,
) -> Result<T, InstallError> {
    let mut tries = 1;
    loop {
        match attempt() {
            Err(InstallError::ConcurrentModification { .. }) if tries < ATTEMPTS => tries += 1,
            other => return other,
        }
    }
}

/// Reads a config file; `None` if it does not exist.
fn read_config(path: &Path) -> Result<Option<String>, InstallError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| InstallError::InvalidConfig {
                path: path.to_path_buf(),
                message: "the file is not UTF-8 text".to_owned(),
            }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(InstallError::io("read", path, err)),
    }
}

/// The host's entry for `server` as a copy-paste snippet (`--print`); touches no file. The web
/// page shows the same text ([`registry_install::snippet`]).
pub fn snippet(
    server: &ServerJson,
    host: Host,
    platform: Platform,
    opts: &InstallOptions,
) -> Result<String, InstallError> {
    registry_install::snippet(server, host, platform, &opts.spec())
}

/// Prepares installing `server` into `host`'s `scope` config file on the machine `env` describes.
/// Refuses to replace an entry of the same name that mcp-reg did not write, unless `opts.force`.
pub fn plan_install(
    server: &ServerJson,
    host: Host,
    scope: Scope,
    env: &HostEnv,
    opts: &InstallOptions,
    records: &RecordStore,
) -> Result<Plan, InstallError> {
    recover(records)?;
    let profile = host.profile();
    let path = config_path(host, scope, env)?;
    let registry_install::Prepared {
        name,
        resolved,
        mut entry,
    } = registry_install::prepare(
        server,
        host,
        env.platform,
        &SnippetOptions {
            placeholders: false,
            ..opts.spec()
        },
    )?;
    let original = read_config(&path)?;
    let previous = records.find(&path, &name)?;
    let text = original.as_deref().unwrap_or_default();
    let (new_text, added_inputs) = edit_install(
        profile,
        scope,
        text,
        &path,
        &name,
        &mut entry,
        previous.as_ref(),
        opts.force,
    )?;
    let record = InstallRecord {
        host: host.id().to_owned(),
        config: path.clone(),
        entry: name.clone(),
        server: server.name.as_str().to_owned(),
        version: server.version.as_str().to_owned(),
        digest: opts.digest.clone(),
        surface_digest: opts.surface_digest.clone(),
        signed_by: opts.signed_by.clone(),
        fingerprint: record::fingerprint(&entry.value),
        inputs: added_inputs,
        origin: None,
    };
    let mut notes = host.notes(scope);
    if !entry.env_to_set.is_empty() {
        notes.push(format!(
            "set {} in the environment {} starts from",
            entry.env_to_set.join(", "),
            host.name()
        ));
    }
    if !record.inputs.is_empty() {
        notes.push(format!(
            "{} will ask for the secret values on first start",
            host.name()
        ));
    }
    Ok(Plan {
        host,
        entry_name: name,
        path,
        original,
        new_text,
        record: RecordChange::Upsert {
            record: Box::new(record),
        },
        resolved: Some(resolved),
        env_to_set: entry.env_to_set,
        plaintext_secrets: entry.plaintext_secrets,
        notes,
    })
}

/// The text edit of [`plan_install`] in the host's format: the new text and the VS Code inputs added.
#[allow(clippy::too_many_arguments)]
fn edit_install(
    profile: &HostProfile,
    scope: Scope,
    text: &str,
    path: &Path,
    name: &str,
    entry: &mut render::Entry,
    previous: Option<&InstallRecord>,
    force: bool,
) -> Result<(String, Vec<String>), InstallError> {
    Ok(match profile.format {
        Format::Toml => {
            let root = profile.root[0];
            let mut doc =
                toml::parse(text).map_err(|e| parse_error(path, e.line, e.column, e.message))?;
            let existing = toml::get(&doc, root, name).map_err(|m| invalid(path, m))?;
            check_owner(existing.as_ref(), previous, force, path, name)?;
            toml::set(&mut doc, root, name, &entry.value).map_err(|m| invalid(path, m))?;
            (doc.to_string(), Vec::new())
        }
        Format::Yaml => {
            let root = profile.root[0];
            let existing =
                yaml::get(text, root, profile.layout, name).map_err(|e| yaml_error(path, e))?;
            check_owner(existing.as_ref(), previous, force, path, name)?;
            let header = match scope {
                Scope::User => profile.new_user_file,
                Scope::Project => profile.new_project_file,
            };
            let new = yaml::set(text, root, profile.layout, name, &entry.value, header)
                .map_err(|e| yaml_error(path, e))?;
            (new, Vec::new())
        }
        Format::Json | Format::Jsonc => {
            let root = json_root(profile, text);
            if let (Some(alt), Value::Object(map)) = (profile.alt_root, &mut entry.value)
                && root == alt.root
            {
                for key in alt.drop {
                    map.shift_remove(*key);
                }
            }
            edit_json_install(text, path, root, name, entry, previous, force)?
        }
    })
}

/// The JSON(C) half of [`plan_install`]: the new text and the VS Code inputs it added.
fn edit_json_install(
    text: &str,
    path: &Path,
    root: &[&str],
    name: &str,
    entry: &render::Entry,
    previous: Option<&InstallRecord>,
    force: bool,
) -> Result<(String, Vec<String>), InstallError> {
    let mut added_inputs = Vec::new();
    let mut doc =
        jsonc::Document::parse(text).map_err(|e| parse_error(path, e.line, e.column, e.message))?;
    let mut entry_path: Vec<&str> = root.to_vec();
    entry_path.push(name);
    doc.check_object_path(root).map_err(|m| invalid(path, m))?;
    let existing = doc.value_at(&entry_path);
    check_owner(existing.as_ref(), previous, force, path, name)?;
    // Inputs this entry used before (ours) go; new ones are added unless the id already exists.
    let old_inputs: Vec<String> = previous.map(|r| r.inputs.clone()).unwrap_or_default();
    if !old_inputs.is_empty() {
        remove_inputs(&mut doc, &old_inputs, path)?;
    }
    for input in &entry.inputs {
        let id = input["id"].as_str().unwrap_or_default().to_owned();
        let taken = doc
            .value_at(&["inputs"])
            .and_then(|v| v.as_array().cloned())
            .is_some_and(|items| items.iter().any(|i| i["id"] == id.as_str()));
        if !taken {
            doc.push(&["inputs"], input).map_err(|m| invalid(path, m))?;
            added_inputs.push(id);
        }
    }
    doc.set(&entry_path, &entry.value)
        .map_err(|m| invalid(path, m))?;
    Ok((doc.into_text(), added_inputs))
}

/// Prepares removing the entry `name` that mcp-reg added to `host`'s `scope` file. An entry mcp-reg did
/// not write, or that was changed since, is left alone unless `force`.
pub fn plan_uninstall(
    host: Host,
    scope: Scope,
    env: &HostEnv,
    name: &str,
    force: bool,
    records: &RecordStore,
) -> Result<Plan, InstallError> {
    recover(records)?;
    let profile = host.profile();
    let path = config_path(host, scope, env)?;
    let original = read_config(&path)?;
    let previous = records.find(&path, name)?;
    let text = original.as_deref().unwrap_or_default();
    let not_found = || InstallError::NotFound {
        name: name.to_owned(),
        path: path.clone(),
    };
    let new_text = match profile.format {
        Format::Toml => {
            let root = profile.root[0];
            let mut doc =
                toml::parse(text).map_err(|e| parse_error(&path, e.line, e.column, e.message))?;
            let existing = toml::get(&doc, root, name).map_err(|m| invalid(&path, m))?;
            if existing.is_none() && previous.is_none() {
                return Err(not_found());
            }
            check_owner(existing.as_ref(), previous.as_ref(), force, &path, name)?;
            if existing.is_some() {
                toml::remove(&mut doc, root, name).map_err(|m| invalid(&path, m))?;
                doc.to_string()
            } else {
                text.to_owned()
            }
        }
        Format::Yaml => {
            let root = profile.root[0];
            let existing =
                yaml::get(text, root, profile.layout, name).map_err(|e| yaml_error(&path, e))?;
            if existing.is_none() && previous.is_none() {
                return Err(not_found());
            }
            check_owner(existing.as_ref(), previous.as_ref(), force, &path, name)?;
            yaml::remove(text, root, profile.layout, name)
                .map_err(|e| yaml_error(&path, e))?
                .unwrap_or_else(|| text.to_owned())
        }
        Format::Json | Format::Jsonc => {
            let mut doc = jsonc::Document::parse(text)
                .map_err(|e| parse_error(&path, e.line, e.column, e.message))?;
            let mut entry_path: Vec<&str> = json_root(profile, text).to_vec();
            entry_path.push(name);
            let existing = doc.value_at(&entry_path);
            if existing.is_none() && previous.is_none() {
                return Err(not_found());
            }
            check_owner(existing.as_ref(), previous.as_ref(), force, &path, name)?;
            if existing.is_some() {
                doc.remove(&entry_path).map_err(|m| invalid(&path, m))?;
            }
            if let Some(previous) = &previous {
                remove_inputs(&mut doc, &previous.inputs, &path)?;
            }
            doc.into_text()
        }
    };
    Ok(Plan {
        host,
        entry_name: name.to_owned(),
        path,
        original,
        new_text,
        record: RecordChange::Remove,
        resolved: None,
        env_to_set: Vec::new(),
        plaintext_secrets: Vec::new(),
        notes: Vec::new(),
    })
}

/// The install records, optionally of one host only (for `list` and sync).
pub fn installed(
    records: &RecordStore,
    host: Option<Host>,
) -> Result<Vec<InstallRecord>, InstallError> {
    let mut all = records.load()?;
    if let Some(host) = host {
        all.retain(|r| r.host == host.id());
    }
    Ok(all)
}

/// How an installed entry compares with what mcp-reg wrote (for `list`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "reason")]
pub enum EntryState {
    /// The entry is exactly as mcp-reg wrote it.
    Unchanged,
    /// Someone edited the entry since (mcp-reg will not touch it without `--force`).
    Modified,
    /// The entry (or its whole file) is gone.
    Missing,
    /// The file cannot be read or parsed now.
    Unreadable(String),
}

/// Compares the entry a record describes with the host file as it is now.
pub fn entry_state(record: &InstallRecord) -> EntryState {
    let Some(host) = Host::from_id(&record.host) else {
        return EntryState::Unreadable(format!("unknown host `{}`", record.host));
    };
    let profile = host.profile();
    let path = &record.config;
    let text = match read_config(path) {
        Ok(Some(text)) => text,
        Ok(None) => return EntryState::Missing,
        Err(err) => return EntryState::Unreadable(err.to_string()),
    };
    let name = record.entry.as_str();
    let existing =
        match profile.format {
            Format::Toml => toml::parse(&text)
                .map_err(|e| e.message)
                .and_then(|doc| toml::get(&doc, profile.root[0], name)),
            Format::Yaml => yaml::get(&text, profile.root[0], profile.layout, name)
                .map_err(|e| format!("line {}: {}", e.line, e.message)),
            Format::Json | Format::Jsonc => jsonc::Document::parse(&text)
                .map_err(|e| e.message)
                .map(|doc| {
                    let mut entry_path: Vec<&str> = json_root(profile, &text).to_vec();
                    entry_path.push(name);
                    doc.value_at(&entry_path)
                }),
        };
    match existing {
        Err(message) => EntryState::Unreadable(message),
        Ok(None) => EntryState::Missing,
        Ok(Some(entry)) if record::fingerprint(&entry) == record.fingerprint => {
            EntryState::Unchanged
        }
        Ok(Some(_)) => EntryState::Modified,
    }
}

fn config_path(host: Host, scope: Scope, env: &HostEnv) -> Result<PathBuf, InstallError> {
    let path = host.config_path(scope, env)?;
    std::path::absolute(&path).map_err(|e| InstallError::io("resolve", &path, e))
}

fn remove_inputs(
    doc: &mut jsonc::Document,
    ids: &[String],
    path: &Path,
) -> Result<(), InstallError> {
    doc.remove_items(&["inputs"], |item: &Value| {
        item["id"]
            .as_str()
            .is_some_and(|id| ids.iter().any(|i| i == id))
    })
    .map_err(|m| invalid(path, m))?;
    Ok(())
}

/// An existing entry may be replaced or removed only if mcp-reg wrote exactly it (or with `force`).
fn check_owner(
    existing: Option<&Value>,
    record: Option<&InstallRecord>,
    force: bool,
    path: &Path,
    name: &str,
) -> Result<(), InstallError> {
    let Some(existing) = existing else {
        return Ok(());
    };
    if force {
        return Ok(());
    }
    match record {
        Some(record) if record.fingerprint == record::fingerprint(existing) => Ok(()),
        Some(_) => Err(InstallError::Modified {
            name: name.to_owned(),
            path: path.to_path_buf(),
        }),
        None => Err(InstallError::Foreign {
            name: name.to_owned(),
            path: path.to_path_buf(),
        }),
    }
}

/// The root the servers live under in this file: the host's alternative layout (opencode V2's
/// `mcp.servers`) when the file already uses it, else the normal one.
fn json_root(profile: &HostProfile, text: &str) -> &'static [&'static str] {
    let Some(alt) = profile.alt_root else {
        return profile.root;
    };
    let Ok(doc) = jsonc::Document::parse(text) else {
        return profile.root;
    };
    // In V1 a server named `servers` would be one entry with a string `type`; in V2 it is a map of
    // entries.
    match doc.value_at(alt.root) {
        Some(Value::Object(map))
            if !map.get("type").is_some_and(Value::is_string)
                && map.values().all(Value::is_object) =>
        {
            alt.root
        }
        _ => profile.root,
    }
}

fn yaml_error(path: &Path, e: yaml::YamlError) -> InstallError {
    if e.line == 0 {
        invalid(path, e.message)
    } else {
        parse_error(path, e.line, 1, e.message)
    }
}

fn parse_error(path: &Path, line: usize, column: usize, message: String) -> InstallError {
    InstallError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

fn invalid(path: &Path, message: String) -> InstallError {
    InstallError::InvalidConfig {
        path: path.to_path_buf(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn a_concurrent_change_is_retried_a_bounded_number_of_times() {
        let concurrent = || InstallError::ConcurrentModification {
            path: PathBuf::from("c.json"),
        };
        let mut calls = 0;
        let result = retry_on_conflict(|| {
            calls += 1;
            if calls == 1 {
                Err(concurrent())
            } else {
                Ok(calls)
            }
        });
        assert!(matches!(result, Ok(2)));
        let mut calls = 0;
        let result: Result<(), _> = retry_on_conflict(|| {
            calls += 1;
            Err(concurrent())
        });
        assert!(matches!(
            result,
            Err(InstallError::ConcurrentModification { .. })
        ));
        assert_eq!(calls, ATTEMPTS);
        let mut calls = 0;
        let result: Result<(), _> = retry_on_conflict(|| {
            calls += 1;
            Err(InstallError::NoHome)
        });
        assert!(matches!(result, Err(InstallError::NoHome)));
        assert_eq!(calls, 1);
    }
}
