//! A host's entry for a server as a standalone snippet of the host's config file: what
//! `mcp-reg install --print` prints and what the registry's server page shows.
//!
//! With [`SnippetOptions::placeholders`] every value the user still has to give is written as
//! [`launch::placeholder`] (`<KEY>`) instead of being refused: secrets a host can reference stay
//! references, as always; a secret the host can only hold in plain text, and a required non-secret
//! input without a default, become `<KEY>`. That is `mcp-reg install --print --placeholders`, and the
//! web page's snippets.

use registry_schema::ServerJson;

use crate::hosts::{Format, Host};
use crate::launch::{self, Choice, Platform, Resolved, Values};
use crate::render::{self, Entry};
use crate::{InstallError, jsonc, toml, yaml};

/// How to render a snippet.
#[derive(Debug, Clone, Default)]
pub struct SnippetOptions {
    /// The entry's name in the host file; default: [`default_entry_name`].
    pub entry_name: Option<String>,
    pub choice: Choice,
    /// Values for inputs, keyed as [`launch::InputSpec::key`] says.
    pub values: Values,
    /// Write secrets in plain text where the host has no indirection (explicit user consent).
    pub allow_plaintext_secrets: bool,
    /// Write `<KEY>` for every value nobody gave instead of failing (see the module docs).
    pub placeholders: bool,
}

/// The default entry name: the server name after `/`, with characters hosts reject replaced by `-`
/// (Codex accepts only `[A-Za-z0-9_-]`).
pub fn default_entry_name(server: &ServerJson) -> String {
    entry_name_for(server.name.local_name())
}

/// [`default_entry_name`] of a server whose name after `/` is `local_name`.
pub fn entry_name_for(local_name: &str) -> String {
    let name: String = local_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "server".to_owned()
    } else {
        name
    }
}

/// Refuses entry names a host cannot hold.
pub fn check_entry_name(host: Host, name: &str) -> Result<(), InstallError> {
    let bad = |reason: &str| {
        Err(InstallError::InvalidName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.trim().is_empty() {
        return bad("it is empty");
    }
    if name.chars().any(char::is_control) {
        return bad("it contains control characters");
    }
    if host == Host::Codex
        && !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return bad("Codex accepts only letters, digits, `_` and `-`");
    }
    Ok(())
}

/// A host's entry for a server, before it goes into a file or a snippet.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The entry's name in the host file.
    pub name: String,
    /// What runs, and which package or remote it came from.
    pub resolved: Resolved,
    pub entry: Entry,
}

/// Names, selects, resolves and renders `host`'s entry for `server`: the steps `mcp-reg install`
/// takes before it edits a file, and all [`snippet()`] needs.
pub fn prepare(
    server: &ServerJson,
    host: Host,
    platform: Platform,
    opts: &SnippetOptions,
) -> Result<Prepared, InstallError> {
    let name = opts
        .entry_name
        .clone()
        .unwrap_or_else(|| default_entry_name(server));
    check_entry_name(host, &name)?;
    let source = launch::select(server, opts.choice, host.profile().support())?;
    let resolved = if opts.placeholders {
        resolve_with_placeholders(server, source, &opts.values, platform)?
    } else {
        launch::resolve(server, source, &opts.values, platform)?
    };
    let entry = render::entry_with(
        host,
        &resolved.spec,
        &name,
        opts.allow_plaintext_secrets,
        opts.placeholders,
    )?;
    Ok(Prepared {
        name,
        resolved,
        entry,
    })
}

/// [`launch::resolve`], with `<KEY>` for every required input that has no value.
fn resolve_with_placeholders(
    server: &ServerJson,
    source: Choice,
    values: &Values,
    platform: Platform,
) -> Result<Resolved, InstallError> {
    let mut values = values.clone();
    loop {
        match launch::resolve(server, source, &values, platform) {
            // Each round names a new key (a key with a value is never missing), so this ends.
            Err(InstallError::MissingInput { key, .. }) if !values.contains_key(&key) => {
                let text = launch::placeholder(&key);
                values.insert(key, text);
            }
            other => return other,
        }
    }
}

/// The host's entry for `server` as a copy-paste snippet of its config file (`--print`); touches no
/// file.
pub fn snippet(
    server: &ServerJson,
    host: Host,
    platform: Platform,
    opts: &SnippetOptions,
) -> Result<String, InstallError> {
    let Prepared { name, entry, .. } = prepare(server, host, platform, opts)?;
    let profile = host.profile();
    match profile.format {
        Format::Toml => {
            let mut doc = toml_edit::DocumentMut::new();
            toml::set(&mut doc, profile.root[0], &name, &entry.value)
                .map_err(InstallError::Unsupported)?;
            return Ok(doc.to_string());
        }
        Format::Yaml => {
            return Ok(yaml::snippet(
                profile.root[0],
                profile.layout,
                &name,
                &entry.value,
            ));
        }
        Format::Json | Format::Jsonc => {}
    }
    let mut doc = jsonc::Document::parse("").map_err(|e| InstallError::Unsupported(e.message))?;
    for input in &entry.inputs {
        doc.push(&["inputs"], input)
            .map_err(InstallError::Unsupported)?;
    }
    let mut path: Vec<&str> = profile.root.to_vec();
    path.push(&name);
    doc.set(&path, &entry.value)
        .map_err(InstallError::Unsupported)?;
    Ok(doc.into_text())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn server() -> ServerJson {
        serde_json::from_value(json!({
            "name": "io.github.acme/weather.v2", "description": "d", "version": "1.2.3",
            "packages": [{
                "registryType": "npm", "identifier": "@acme/weather", "version": "1.2.3",
                "transport": {"type": "stdio"},
                "packageArguments": [{"type": "positional", "valueHint": "dir", "isRequired": true}],
                "environmentVariables": [{"name": "TOKEN", "isSecret": true, "isRequired": true}]
            }]
        }))
        .unwrap()
    }

    #[test]
    fn placeholders_stand_for_missing_values() {
        let strict = SnippetOptions::default();
        let err = snippet(&server(), Host::Cursor, Platform::Linux, &strict).unwrap_err();
        assert!(matches!(err, InstallError::MissingInput { ref key, .. } if key == "dir"));
        let opts = SnippetOptions {
            placeholders: true,
            ..SnippetOptions::default()
        };
        let cursor = snippet(&server(), Host::Cursor, Platform::Linux, &opts).unwrap();
        assert!(cursor.contains("\"weather-v2\""), "{cursor}");
        assert!(cursor.contains("\"<dir>\""), "{cursor}");
        assert!(cursor.contains("\"${env:TOKEN}\""), "{cursor}");
        let desktop = snippet(&server(), Host::ClaudeDesktop, Platform::Linux, &opts).unwrap();
        assert!(desktop.contains("\"TOKEN\": \"<TOKEN>\""), "{desktop}");
        // A value the user gave is used, and a real secret still needs consent for plain text.
        let given = SnippetOptions {
            values: Values::from([("TOKEN".to_owned(), "s3cr3t".to_owned())]),
            ..opts
        };
        let err = snippet(&server(), Host::ClaudeDesktop, Platform::Linux, &given).unwrap_err();
        assert!(matches!(err, InstallError::SecretNeedsConsent { .. }));
    }
}
