//! What a running MCP server reports about itself: its *tool surface*.
//!
//! A [`ToolSurface`] is the `initialize` result (`serverInfo`, `protocolVersion`, `capabilities`,
//! `instructions`) together with the results of `tools/list`, `prompts/list`,
//! `resources/templates/list` and `resources/list`, under the MCP wire names.
//!
//! Two rules shape these types:
//!
//! - **Nothing is lost.** Every struct keeps the keys it does not model in `extra` (`_meta`,
//!   `icons`, `execution`, future spec additions, vendor keys), absent optional fields stay absent,
//!   and an explicit `null` stays an explicit `null` (see [`ToolSurface`] for how). Parsing a
//!   surface and serializing it again gives the same JSON value.
//! - **Schemas are opaque.** `inputSchema` and `outputSchema` are kept as raw JSON objects and
//!   never reinterpreted, so a compatibility checker sees exactly what the server sent.

use std::cmp::Ordering;
use std::fmt::Display;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::canonical::{self, Digest};

/// A JSON object (`{...}`) exactly as it appeared on the wire.
pub type JsonObject = Map<String, Value>;

/// Everything a running MCP server reports about itself.
///
/// `tools`, `prompts`, `resourceTemplates` and `resources` are present only when the server has the
/// matching capability (and was asked); `None` means "not reported", `Some(vec![])` means "reported
/// an empty list", and the two serialize differently. A list method that answered a JSON-RPC error
/// (`method not found`, ...) is also `None`: "not supported" (see [`ToolSurface::list_error`]).
///
/// # Explicit `null`
///
/// MCP optional fields are normally omitted, but some servers send `"title": null` and the like.
/// Deserialization then leaves the typed field `None` and keeps the `null` in that struct's `extra`
/// under the same key, so re-serializing writes it back. The same holds in every type of this
/// module. If you later set such a typed field, remove the key from `extra` first, or the map will
/// hold the key twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolSurface {
    /// `serverInfo`: the server's name and version, as the server itself reports them (not
    /// necessarily the published package version).
    pub server_info: Implementation,
    /// `protocolVersion` negotiated in `initialize`, e.g. `2025-06-18`.
    pub protocol_version: String,
    /// `capabilities` from `initialize`, kept raw because capability shapes change between spec
    /// versions (`tasks`, `elicitation`, `completions`, ...).
    pub capabilities: JsonObject,
    /// `instructions` from `initialize`: free text for the model on how to use the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Result of `tools/list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Result of `prompts/list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Vec<Prompt>>,
    /// Result of `resources/templates/list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_templates: Option<Vec<ResourceTemplate>>,
    /// Result of `resources/list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<Resource>>,
    /// Keys not modelled above (and explicit `null`s of absent optional fields), kept verbatim.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `Implementation`: a name and version, as in `serverInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Implementation {
    /// Programmatic name, e.g. `memory-server`.
    pub name: String,
    /// Version string as the server reports it; MCP does not require semver here.
    pub version: String,
    /// Human-readable name (MCP 2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Keys not modelled above (`icons`, `websiteUrl`, `_meta`, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// One entry of `tools/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// Name the client calls the tool by; unique within a server.
    pub name: String,
    /// Human-readable name (MCP 2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the tool does, for the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments, kept raw (never reinterpreted).
    pub input_schema: JsonObject,
    /// JSON Schema of `structuredContent` in results, kept raw (MCP 2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<JsonObject>,
    /// Behaviour hints; use [`Tool::is_read_only`] and friends for the effective values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// Keys not modelled above (`execution`, `icons`, `_meta`, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `ToolAnnotations`: hints about a tool's behaviour. They are hints, not guarantees.
///
/// Each `*_hint` field is what the server sent; the `is_*` methods apply the MCP defaults for
/// absent hints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    /// Human-readable name (older spelling of [`Tool::title`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `readOnlyHint`: the tool does not modify its environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// `destructiveHint`: updates may be destructive (only meaningful when not read-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// `idempotentHint`: repeating a call with the same arguments has no further effect (only
    /// meaningful when not read-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// `openWorldHint`: the tool interacts with an open world of external entities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
    /// Keys not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// One entry of `prompts/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prompt {
    /// Name the client gets the prompt by; unique within a server.
    pub name: String,
    /// Human-readable name (MCP 2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the prompt is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Arguments the prompt accepts, in the server's order (which is meaningful to clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Vec<PromptArgument>>,
    /// Keys not modelled above (`icons`, `_meta`, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// One argument of a [`Prompt`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptArgument {
    /// Argument name.
    pub name: String,
    /// Human-readable name (MCP 2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the argument means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the argument must be given; absent means optional.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Keys not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// One entry of `resources/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// URI of the resource; unique within a server.
    pub uri: String,
    /// Programmatic name.
    pub name: String,
    /// Human-readable name (MCP 2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the resource is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `mimeType` of the contents, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Size of the raw contents in bytes, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Keys not modelled above (`annotations`, `icons`, `_meta`, and the `text`/`blob` contents
    /// some servers inline into the listing), kept verbatim.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// One entry of `resources/templates/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplate {
    /// RFC 6570 URI template, e.g. `test://static/resource/{id}`; unique within a server.
    pub uri_template: String,
    /// Programmatic name.
    pub name: String,
    /// Human-readable name (MCP 2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the resources behind the template are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `mimeType` shared by all matching resources, if they share one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Keys not modelled above (`annotations`, `icons`, `_meta`, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl ToolSurface {
    /// Parses a tool surface from JSON bytes (the format of the captures: one object with
    /// `serverInfo`, `protocolVersion`, `capabilities` and the lists).
    pub fn from_json(bytes: &[u8]) -> crate::Result<Self> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// The tool called `name` (the first one, should a server break the uniqueness rule).
    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.as_deref()?.iter().find(|tool| tool.name == name)
    }

    /// The prompt called `name` (the first one, should a server break the uniqueness rule).
    pub fn prompt(&self, name: &str) -> Option<&Prompt> {
        self.prompts
            .as_deref()?
            .iter()
            .find(|prompt| prompt.name == name)
    }

    /// The resource with this exact `uri`.
    pub fn resource(&self, uri: &str) -> Option<&Resource> {
        self.resources
            .as_deref()?
            .iter()
            .find(|resource| resource.uri == uri)
    }

    /// The resource template with this exact `uriTemplate` (the template text, not an expansion).
    pub fn resource_template(&self, uri_template: &str) -> Option<&ResourceTemplate> {
        self.resource_templates
            .as_deref()?
            .iter()
            .find(|template| template.uri_template == uri_template)
    }

    /// The JSON-RPC error a list method answered instead of a list, when the capture recorded one
    /// under the list's key (`tools`, `prompts`, `resourceTemplates` or `resources`), e.g.
    /// `"resourceTemplates": {"code": -32601, "message": "Method not found"}`.
    ///
    /// Such a capture is valid and means "not supported": the typed list is `None`, as when the
    /// key is absent, and the error itself stays in `extra`, so the surface round-trips.
    pub fn list_error(&self, key: &str) -> Option<&JsonObject> {
        self.extra.get(key).and_then(rpc_error)
    }

    /// The surface as a JSON value, in the wire format, with lists in the server's order.
    pub fn to_value(&self) -> Value {
        // Cannot fail: every map key is a string and every field serializes to plain JSON.
        serde_json::to_value(self).expect("a tool surface always serializes to JSON")
    }

    /// The surface as JSON with `tools` and `prompts` sorted by `name`, `resources` by `uri` and
    /// `resourceTemplates` by `uriTemplate`.
    ///
    /// A server listing the same items in another order has the same surface, so this (not
    /// [`ToolSurface::to_value`]) is what gets hashed. Entries sharing a sort key (a server bug)
    /// are ordered by their content, so the result never depends on list order. Nothing inside an
    /// entry is reordered: prompt arguments and schemas stay as sent.
    pub fn canonical_value(&self) -> Value {
        let mut surface = self.clone();
        if let Some(tools) = &mut surface.tools {
            sort_listing(tools, |tool| &tool.name);
        }
        if let Some(prompts) = &mut surface.prompts {
            sort_listing(prompts, |prompt| &prompt.name);
        }
        if let Some(resources) = &mut surface.resources {
            sort_listing(resources, |resource| &resource.uri);
        }
        if let Some(templates) = &mut surface.resource_templates {
            sort_listing(templates, |template| &template.uri_template);
        }
        surface.to_value()
    }

    /// SHA-256 of the RFC 8785 canonical form of [`ToolSurface::canonical_value`].
    ///
    /// Fails only if a number's magnitude exceeds 2^53 (see [`canonical::canonicalize`]).
    pub fn digest(&self) -> crate::Result<Digest> {
        canonical::digest(&self.canonical_value())
    }
}

impl Tool {
    /// Effective `readOnlyHint` (MCP default `false`, also when there are no annotations).
    pub fn is_read_only(&self) -> bool {
        self.annotations
            .as_ref()
            .is_some_and(ToolAnnotations::is_read_only)
    }

    /// Effective `destructiveHint` (MCP default `true`, also when there are no annotations).
    pub fn is_destructive(&self) -> bool {
        self.annotations
            .as_ref()
            .is_none_or(ToolAnnotations::is_destructive)
    }

    /// Effective `idempotentHint` (MCP default `false`, also when there are no annotations).
    pub fn is_idempotent(&self) -> bool {
        self.annotations
            .as_ref()
            .is_some_and(ToolAnnotations::is_idempotent)
    }

    /// Effective `openWorldHint` (MCP default `true`, also when there are no annotations).
    pub fn is_open_world(&self) -> bool {
        self.annotations
            .as_ref()
            .is_none_or(ToolAnnotations::is_open_world)
    }
}

impl ToolAnnotations {
    /// MCP default of `readOnlyHint`.
    pub const DEFAULT_READ_ONLY: bool = false;
    /// MCP default of `destructiveHint`.
    pub const DEFAULT_DESTRUCTIVE: bool = true;
    /// MCP default of `idempotentHint`.
    pub const DEFAULT_IDEMPOTENT: bool = false;
    /// MCP default of `openWorldHint`.
    pub const DEFAULT_OPEN_WORLD: bool = true;

    /// Effective `readOnlyHint`: the hint, or `false` when absent.
    pub fn is_read_only(&self) -> bool {
        self.read_only_hint.unwrap_or(Self::DEFAULT_READ_ONLY)
    }

    /// Effective `destructiveHint`: the hint, or `true` when absent.
    ///
    /// Reported as sent even for read-only tools, where MCP says the hint is meaningless.
    pub fn is_destructive(&self) -> bool {
        self.destructive_hint.unwrap_or(Self::DEFAULT_DESTRUCTIVE)
    }

    /// Effective `idempotentHint`: the hint, or `false` when absent.
    ///
    /// Reported as sent even for read-only tools, where MCP says the hint is meaningless.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent_hint.unwrap_or(Self::DEFAULT_IDEMPOTENT)
    }

    /// Effective `openWorldHint`: the hint, or `true` when absent.
    pub fn is_open_world(&self) -> bool {
        self.open_world_hint.unwrap_or(Self::DEFAULT_OPEN_WORLD)
    }
}

impl Prompt {
    /// The argument called `name`.
    pub fn argument(&self, name: &str) -> Option<&PromptArgument> {
        self.arguments
            .as_deref()?
            .iter()
            .find(|arg| arg.name == name)
    }
}

// Deserialization is written by hand (serialization is derived) for one reason: a derived
// `Option` field turns an explicit `null` into `None`, which then serializes as an absent key, so
// the `null` would be lost. `Fields` keeps such a `null` in `extra` instead. The wire names below
// must match the derived `rename_all = "camelCase"` names; the round-trip tests check every field.

impl<'de> Deserialize<'de> for ToolSurface {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fields::read(deserializer, |f| {
            Ok(Self {
                server_info: f.required("serverInfo")?,
                protocol_version: f.required("protocolVersion")?,
                capabilities: f.required("capabilities")?,
                instructions: f.optional("instructions")?,
                tools: f.listing("tools")?,
                prompts: f.listing("prompts")?,
                resource_templates: f.listing("resourceTemplates")?,
                resources: f.listing("resources")?,
                extra: f.rest(),
            })
        })
    }
}

impl<'de> Deserialize<'de> for Implementation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fields::read(deserializer, |f| {
            Ok(Self {
                name: f.required("name")?,
                version: f.required("version")?,
                title: f.optional("title")?,
                extra: f.rest(),
            })
        })
    }
}

impl<'de> Deserialize<'de> for Tool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fields::read(deserializer, |f| {
            Ok(Self {
                name: f.required("name")?,
                title: f.optional("title")?,
                description: f.optional("description")?,
                input_schema: f.required("inputSchema")?,
                output_schema: f.optional("outputSchema")?,
                annotations: f.optional("annotations")?,
                extra: f.rest(),
            })
        })
    }
}

impl<'de> Deserialize<'de> for ToolAnnotations {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fields::read(deserializer, |f| {
            Ok(Self {
                title: f.optional("title")?,
                read_only_hint: f.optional("readOnlyHint")?,
                destructive_hint: f.optional("destructiveHint")?,
                idempotent_hint: f.optional("idempotentHint")?,
                open_world_hint: f.optional("openWorldHint")?,
                extra: f.rest(),
            })
        })
    }
}

impl<'de> Deserialize<'de> for Prompt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fields::read(deserializer, |f| {
            Ok(Self {
                name: f.required("name")?,
                title: f.optional("title")?,
                description: f.optional("description")?,
                arguments: f.optional_list("arguments")?,
                extra: f.rest(),
            })
        })
    }
}

impl<'de> Deserialize<'de> for PromptArgument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fields::read(deserializer, |f| {
            Ok(Self {
                name: f.required("name")?,
                title: f.optional("title")?,
                description: f.optional("description")?,
                required: f.optional("required")?,
                extra: f.rest(),
            })
        })
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fields::read(deserializer, |f| {
            Ok(Self {
                uri: f.required("uri")?,
                name: f.required("name")?,
                title: f.optional("title")?,
                description: f.optional("description")?,
                mime_type: f.optional("mimeType")?,
                size: f.optional("size")?,
                extra: f.rest(),
            })
        })
    }
}

impl<'de> Deserialize<'de> for ResourceTemplate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fields::read(deserializer, |f| {
            Ok(Self {
                uri_template: f.required("uriTemplate")?,
                name: f.required("name")?,
                title: f.optional("title")?,
                description: f.optional("description")?,
                mime_type: f.optional("mimeType")?,
                extra: f.rest(),
            })
        })
    }
}

/// The members of one JSON object, taken out one typed field at a time; what is left is `extra`.
struct Fields(JsonObject);

impl Fields {
    /// Reads a JSON object and builds a struct from its members with `build`.
    ///
    /// Errors name the offending member (`tools[2]: inputSchema: invalid type ...`), because a
    /// position in a large capture is of little help.
    fn read<'de, D, T>(
        deserializer: D,
        build: impl FnOnce(&mut Self) -> Result<T, serde_json::Error>,
    ) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
    {
        let mut fields = Self(JsonObject::deserialize(deserializer)?);
        build(&mut fields).map_err(de::Error::custom)
    }

    /// A member that must be present (and not `null`, unless `T` accepts `null`).
    fn required<T: DeserializeOwned>(&mut self, key: &'static str) -> serde_json::Result<T> {
        let value = self
            .0
            .shift_remove(key)
            .ok_or_else(|| <serde_json::Error as de::Error>::missing_field(key))?;
        T::deserialize(value).map_err(|err| at(key, &err))
    }

    /// An optional member. An explicit `null` gives `None` and stays in the map, so it ends up
    /// in `extra` and is written back on serialization.
    fn optional<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
    ) -> serde_json::Result<Option<T>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.required(key).map(Some),
        }
    }

    /// An optional list member, like [`Fields::optional`], whose errors also name the index.
    fn optional_list<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
    ) -> serde_json::Result<Option<Vec<T>>> {
        let Some(items) = self.optional::<Vec<Value>>(key)? else {
            return Ok(None);
        };
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                T::deserialize(item).map_err(|err| at(format!("{key}[{index}]"), &err))
            })
            .collect::<serde_json::Result<Vec<T>>>()
            .map(Some)
    }

    /// A list method's result in a capture: the list, or `None` when it is absent, `null`, or the
    /// JSON-RPC error the server answered instead (see [`ToolSurface::list_error`]). Like an
    /// explicit `null`, an error stays in the map, so it ends up in `extra` and round-trips.
    fn listing<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
    ) -> serde_json::Result<Option<Vec<T>>> {
        if self.0.get(key).and_then(rpc_error).is_some() {
            return Ok(None);
        }
        self.optional_list(key)
    }

    /// Everything not taken by a typed field, in the original order.
    fn rest(&mut self) -> JsonObject {
        std::mem::take(&mut self.0)
    }
}

/// The JSON-RPC error object in `value`: `value` itself when it has an integer `code` and a string
/// `message` (`{"code": -32601, "message": "Method not found"}`), or its `error` member when
/// `value` is a whole JSON-RPC error response (`{"jsonrpc": "2.0", "id": 3, "error": {...}}`).
fn rpc_error(value: &Value) -> Option<&JsonObject> {
    let object = value.as_object()?;
    let is_error = |object: &JsonObject| {
        object
            .get("code")
            .is_some_and(|code| code.is_i64() || code.is_u64())
            && object.get("message").is_some_and(Value::is_string)
    };
    if is_error(object) {
        return Some(object);
    }
    match object.get("error") {
        Some(Value::Object(error)) if !object.contains_key("result") && is_error(error) => {
            Some(error)
        }
        _ => None,
    }
}

/// Prefixes an error with the member it happened in.
fn at(path: impl Display, err: &serde_json::Error) -> serde_json::Error {
    de::Error::custom(format_args!("{path}: {err}"))
}

/// Sorts `items` by `key`, breaking ties by content so that the order of equal keys in the input
/// never shows in the output.
fn sort_listing<T: Serialize>(items: &mut [T], key: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| key(a).cmp(key(b)).then_with(|| content_order(a, b)));
}

/// Orders two entries by their JSON text with object keys sorted, so that key order does not
/// matter either. Only runs on ties, which real servers do not produce.
fn content_order<T: Serialize>(a: &T, b: &T) -> Ordering {
    let text = |item: &T| {
        serde_json::to_value(item)
            .map(|value| sorted_keys(value).to_string())
            .unwrap_or_default()
    };
    text(a).cmp(&text(b))
}

/// `value` with the keys of every object in sorted order (the map keeps insertion order).
fn sorted_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(String, Value)> = map.into_iter().collect();
            members.sort_by(|(a, _), (b, _)| a.cmp(b));
            Value::Object(
                members
                    .into_iter()
                    .map(|(key, member)| (key, sorted_keys(member)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_keys).collect()),
        other => other,
    }
}
