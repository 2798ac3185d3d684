//! The payloads of the one-click install links hosts offer, built from the same entries
//! `mcp-reg install` writes: VS Code's `vscode:mcp/install?{config}` (its `--add-mcp` JSON: the
//! `servers` entry plus `name` and the `inputs` it refers to) and Cursor's
//! `cursor://anysphere.cursor-deeplink/mcp/install?name=…&config=<base64 of the entry>`.
//!
//! A link installs without asking for anything but the secrets the host prompts for or reads from the
//! environment, so it is offered only when the entry needs no other value (no placeholders) and no
//! plain-text secret. Links are built for macOS and Linux (on Windows, `mcp-reg install` wraps
//! `npx`/`uvx`/`dnx` in `cmd /c`); URL encoding is the caller's.

use registry_schema::ServerJson;
use serde_json::{Map, Value};

use crate::snippet::{Prepared, SnippetOptions, prepare};
use crate::{Host, InstallError, Platform};

/// VS Code's install payload: `{"name": …, <the VS Code entry>, "inputs": […]}`.
pub fn vscode_config(server: &ServerJson) -> Result<Value, InstallError> {
    let Prepared { name, entry, .. } = strict(server, Host::VsCode)?;
    let mut config = Map::new();
    config.insert("name".to_owned(), Value::String(name));
    if let Value::Object(fields) = entry.value {
        config.extend(fields);
    }
    if !entry.inputs.is_empty() {
        config.insert("inputs".to_owned(), Value::Array(entry.inputs));
    }
    Ok(Value::Object(config))
}

/// Cursor's install payload: the entry's name and the entry (`mcpServers.<name>` of its file).
pub fn cursor_config(server: &ServerJson) -> Result<(String, Value), InstallError> {
    let Prepared { name, entry, .. } = strict(server, Host::Cursor)?;
    Ok((name, entry.value))
}

fn strict(server: &ServerJson, host: Host) -> Result<Prepared, InstallError> {
    prepare(server, host, Platform::Linux, &SnippetOptions::default())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn links_carry_the_hosts_entries() {
        let server: ServerJson = serde_json::from_value(json!({
            "name": "io.github.acme/weather", "description": "d", "version": "1.2.0",
            "packages": [{
                "registryType": "npm", "identifier": "@acme/weather", "version": "1.2.0",
                "transport": {"type": "stdio"},
                "environmentVariables": [{"name": "API_KEY", "isRequired": true, "isSecret": true, "description": "key"}]
            }]
        }))
        .unwrap();
        assert_eq!(
            vscode_config(&server).unwrap(),
            json!({
                "name": "weather", "type": "stdio", "command": "npx",
                "args": ["-y", "@acme/weather@1.2.0"], "env": {"API_KEY": "${input:weather-API_KEY}"},
                "inputs": [{"type": "promptString", "id": "weather-API_KEY", "description": "key", "password": true}]
            })
        );
        let (name, cursor) = cursor_config(&server).unwrap();
        assert_eq!(name, "weather");
        assert_eq!(
            cursor,
            json!({"command": "npx", "args": ["-y", "@acme/weather@1.2.0"], "env": {"API_KEY": "${env:API_KEY}"}})
        );
    }
}
