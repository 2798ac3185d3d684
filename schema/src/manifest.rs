//! The typed `server.json` (official schema 2025-12-11, plus the draft's additions), kept beside the exact
//! bytes the publisher sent.
//!
//! Every struct carries `extra` so unknown fields survive a round trip, and every optional field is an
//! `Option` that stays absent when it was absent: serializing a [`ServerJson`] gives back the JSON it was
//! read from (same members, same values).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::validate::{self, Issue, Policy, Report};
use crate::{Error, ServerName, ServerVersion};

/// `$schema` URL of the released schema this crate implements.
pub const CURRENT_SCHEMA_URL: &str =
    "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";
/// `$schema` URL of the registry's unreleased draft schema.
pub const DRAFT_SCHEMA_URL: &str = "https://raw.githubusercontent.com/modelcontextprotocol/registry/main/docs/reference/server-json/draft/server.schema.json";
/// `_meta` key whose contents the official registry keeps for publishers.
pub const PUBLISHER_META_KEY: &str = "io.modelcontextprotocol.registry/publisher-provided";
/// `_meta` key the registry itself fills in responses.
pub const OFFICIAL_META_KEY: &str = "io.modelcontextprotocol.registry/official";

/// A published manifest: the exact JSON text the publisher sent, its typed view, and the warnings it
/// passed validation with.
#[derive(Debug, Clone)]
pub struct Manifest {
    raw: Box<str>,
    server: ServerJson,
    warnings: Vec<Issue>,
}

impl Manifest {
    /// Parses and validates a publisher's `server.json`. Every problem is reported at once in
    /// [`Error::Invalid`]; warnings stay available through [`Manifest::warnings`].
    pub fn parse(bytes: &[u8], policy: &Policy) -> crate::Result<Self> {
        let (value, report) = validate::validate_bytes(bytes, policy);
        let value = match value {
            Some(value) if report.is_valid() => value,
            _ => return Err(Error::Invalid(report)),
        };
        let server = ServerJson::deserialize(&value).map_err(|err| {
            // Validation passed, so this is a gap between the rules and the typed model: still report it
            // as the client's problem rather than crash.
            Error::Invalid(Report::single(Issue::error(
                "model",
                "",
                format!("server.json does not fit the server model: {err}"),
            )))
        })?;
        let raw = std::str::from_utf8(bytes)
            .map_err(|err| {
                Error::Invalid(Report::single(Issue::error(
                    "json-syntax",
                    "",
                    format!("body is not UTF-8: {err}"),
                )))
            })?
            .into();
        Ok(Self {
            raw,
            server,
            warnings: report.issues,
        })
    }

    /// Rebuilds a manifest from text that was validated when it was published (e.g. read back from the
    /// database); only the typed view is checked, not the rules, which may have changed since.
    pub fn from_stored(raw: impl Into<Box<str>>) -> crate::Result<Self> {
        let raw = raw.into();
        let server = serde_json::from_str(&raw)?;
        Ok(Self {
            raw,
            server,
            warnings: Vec::new(),
        })
    }

    /// The exact JSON text the publisher sent.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The typed view.
    pub fn server(&self) -> &ServerJson {
        &self.server
    }

    pub fn name(&self) -> &ServerName {
        &self.server.name
    }

    pub fn version(&self) -> &ServerVersion {
        &self.server.version
    }

    /// Warnings the manifest was accepted with.
    pub fn warnings(&self) -> &[Issue] {
        &self.warnings
    }

    /// The publisher's JSON as a value (parsed from the raw text, so nothing is lost).
    pub fn to_value(&self) -> crate::Result<Value> {
        Ok(serde_json::from_str(&self.raw)?)
    }

    /// RFC 8785 canonical bytes of the publisher's JSON.
    pub fn canonical_bytes(&self) -> crate::Result<Vec<u8>> {
        crate::canonical::canonicalize(&self.to_value()?)
    }

    /// SHA-256 of the canonical bytes: equal for the same manifest however it was formatted.
    pub fn digest(&self) -> crate::Result<crate::Digest> {
        crate::canonical::digest(&self.to_value()?)
    }
}

/// `ServerDetail`: the body of `server.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerJson {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub name: ServerName,
    pub description: String,
    pub version: ServerVersion,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<Repository>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<Package>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remotes: Option<Vec<Transport>>,
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Fields this version of the model does not know; kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ServerJson {
    pub fn packages(&self) -> &[Package] {
        self.packages.as_deref().unwrap_or_default()
    }

    pub fn remotes(&self) -> &[Transport] {
        self.remotes.as_deref().unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    pub url: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subfolder: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Icon {
    pub src: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A way to run the server locally from a package registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// `npm`, `pypi`, `nuget`, `oci`, `mcpb`, `cargo`, ... (a free string in the schema).
    pub registry_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_base_url: Option<String>,
    pub identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_hint: Option<String>,
    pub transport: Transport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_arguments: Option<Vec<Argument>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_arguments: Option<Vec<Argument>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<Vec<KeyValueInput>>,
    /// Draft schema: display-only steps shown after install; never executed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_install_instructions: Option<Vec<PostInstallInstruction>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Package {
    pub fn runtime_arguments(&self) -> &[Argument] {
        self.runtime_arguments.as_deref().unwrap_or_default()
    }

    pub fn package_arguments(&self) -> &[Argument] {
        self.package_arguments.as_deref().unwrap_or_default()
    }

    pub fn environment_variables(&self) -> &[KeyValueInput] {
        self.environment_variables.as_deref().unwrap_or_default()
    }
}

/// How a client talks to the server: a package's local transport, or a remote's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transport {
    pub r#type: TransportType,
    /// URL template (HTTP transports only); `{var}` names are filled from variables or inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<KeyValueInput>>,
    /// Remotes only: values for the URL's `{var}` templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportType {
    Stdio,
    StreamableHttp,
    Sse,
}

impl TransportType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdio => "stdio",
            Self::StreamableHttp => "streamable-http",
            Self::Sse => "sse",
        }
    }
}

/// A command-line argument: positional (`valueHint`/`value`) or named (`--flag`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Argument {
    pub r#type: ArgumentType,
    /// Named arguments: the flag, with its dashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_repeated: Option<bool>,
    #[serde(flatten)]
    pub input: Input,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArgumentType {
    Positional,
    Named,
}

/// A header or environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyValueInput {
    pub name: String,
    #[serde(flatten)]
    pub input: Input,
}

/// A value the user may have to supply (`Input` plus `variables`, as in `InputWithVariables`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_required: Option<bool>,
    /// `string`, `number`, `boolean` or `filepath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_secret: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Input {
    pub fn is_required(&self) -> bool {
        self.is_required.unwrap_or(false)
    }

    pub fn is_secret(&self) -> bool {
        self.is_secret.unwrap_or(false)
    }
}

/// Draft schema: a step shown to the user after install (never run by a client).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostInstallInstruction {
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
