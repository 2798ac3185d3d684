//! Every model-facing string of a surface or a manifest, with its pointer, owner and role.
//!
//! The walk calls a visitor for each string as it goes; the pointer is built in one buffer that
//! grows and shrinks with the walk, so nothing is allocated for strings that raise no finding.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::fmt::Write as _;

use serde_json::Value;

use crate::tools::{JsonObject, Prompt, Resource, ResourceTemplate, Tool, ToolSurface};

/// Deepest schema nesting walked; deeper parts of a hostile schema are not reviewed.
pub(super) const MAX_DEPTH: usize = 64;

/// What a string is, which decides the rules it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Descriptions, titles, instructions, prompt messages, unknown schema keywords: every rule.
    Prose,
    /// `enum`, `const`, `default`, `examples` values: every rule.
    Value,
    /// Tool, prompt, resource and argument names: hidden-text rules.
    Name,
    /// Property names in schemas: hidden-text rules, and harvesting in input schemas.
    Property,
    /// `pattern`, URIs and schema keywords (`type`, `$ref`, ...): hidden-text rules.
    Keyword,
    /// Descriptions of a manifest's inputs (env vars, arguments, headers), written for the
    /// person installing: every rule but the credential and harvesting ones.
    Input,
}

/// One string to review.
#[derive(Debug, Clone, Copy)]
pub(super) struct Text<'t> {
    pub value: &'t str,
    /// RFC 6901 pointer of the string.
    pub pointer: &'t str,
    /// Name of the tool, prompt, resource or template that owns the string.
    pub owner: Option<&'t str>,
    /// What the owner is for (its name and title), to tell a summariser asking for the
    /// conversation from a weather tool doing so; empty for server-level text.
    pub purpose: &'t str,
    pub role: Role,
}

/// Names a surface defines, so a text that mentions them is not taken for shadowing. Built on
/// first use: most surfaces never ask.
#[derive(Debug, Default)]
pub(super) struct Names<'a> {
    surface: Option<&'a ToolSurface>,
    own: OnceCell<HashSet<String>>,
}

impl<'a> Names<'a> {
    pub fn of(surface: &'a ToolSurface) -> Self {
        Self {
            surface: Some(surface),
            own: OnceCell::new(),
        }
    }

    /// Whether the surface defines a tool, prompt, resource, template, argument or property of
    /// this name (compared by [`fold_identifier`]).
    pub fn defines(&self, identifier: &str) -> bool {
        self.own
            .get_or_init(|| self.surface.map(collect_names).unwrap_or_default())
            .contains(&fold_identifier(identifier))
    }
}

fn collect_names(surface: &ToolSurface) -> HashSet<String> {
    let mut own = HashSet::new();
    for tool in surface.tools.as_deref().unwrap_or_default() {
        own.insert(fold_identifier(&tool.name));
        object_property_names(&tool.input_schema, &mut own, 0);
        if let Some(output) = &tool.output_schema {
            object_property_names(output, &mut own, 0);
        }
    }
    for prompt in surface.prompts.as_deref().unwrap_or_default() {
        own.insert(fold_identifier(&prompt.name));
        for argument in prompt.arguments.as_deref().unwrap_or_default() {
            own.insert(fold_identifier(&argument.name));
        }
    }
    for resource in surface.resources.as_deref().unwrap_or_default() {
        own.insert(fold_identifier(&resource.name));
    }
    for template in surface.resource_templates.as_deref().unwrap_or_default() {
        own.insert(fold_identifier(&template.name));
    }
    own.insert(fold_identifier(&surface.server_info.name));
    own
}

fn object_property_names(map: &JsonObject, out: &mut HashSet<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for (key, value) in map {
        if key == "properties"
            && let Value::Object(properties) = value
        {
            for name in properties.keys() {
                out.insert(fold_identifier(name));
            }
        }
        match value {
            Value::Object(inner) => object_property_names(inner, out, depth + 1),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        object_property_names(inner, out, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Lower case with `-`, `_`, `.` and spaces removed: `get-library-docs` = `get_library_docs`.
pub(super) fn fold_identifier(identifier: &str) -> String {
    identifier
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' ' | '/'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// RFC 6901 escaping of one pointer token.
pub(super) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Appends `/` and the escaped `token` to a pointer.
pub(super) fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    if token.bytes().any(|b| b == b'~' || b == b'/') {
        for c in token.chars() {
            match c {
                '~' => pointer.push_str("~0"),
                '/' => pointer.push_str("~1"),
                c => pointer.push(c),
            }
        }
    } else {
        pointer.push_str(token);
    }
}

/// Whether a pointer token is one of the surface's lists.
pub(super) fn is_listing(token: &str) -> bool {
    matches!(
        token,
        "tools" | "prompts" | "resources" | "resourceTemplates"
    )
}

struct Walker<'a, F> {
    path: String,
    owner: Option<&'a str>,
    purpose: String,
    visit: F,
}

impl<'a, F: FnMut(Text<'_>)> Walker<'a, F> {
    fn new(visit: F) -> Self {
        Self {
            path: String::new(),
            owner: None,
            purpose: String::new(),
            visit,
        }
    }

    /// Enters `token`; returns the length to [`Walker::leave`] to.
    fn enter(&mut self, token: &str) -> usize {
        let len = self.path.len();
        push_token(&mut self.path, token);
        len
    }

    fn enter_index(&mut self, index: usize) -> usize {
        let len = self.path.len();
        let _ = write!(self.path, "/{index}");
        len
    }

    fn leave(&mut self, len: usize) {
        self.path.truncate(len);
    }

    /// Visits `value` at the current path plus `token`.
    fn push(&mut self, value: &'a str, token: &str, role: Role) {
        if value.is_empty() {
            return;
        }
        let len = self.enter(token);
        self.visit_here(value, role);
        self.leave(len);
    }

    fn visit_here(&mut self, value: &str, role: Role) {
        if value.is_empty() {
            return;
        }
        (self.visit)(Text {
            value,
            pointer: &self.path,
            owner: self.owner,
            purpose: &self.purpose,
            role,
        });
    }

    fn opt(&mut self, value: Option<&'a String>, token: &str, role: Role) {
        if let Some(value) = value {
            self.push(value, token, role);
        }
    }

    /// Strings from here on belong to `owner`; its name and title say what it is for (not its
    /// description, which is what is being reviewed).
    fn own(&mut self, owner: &'a str, title: Option<&'a String>) {
        self.owner = Some(owner);
        self.purpose.clear();
        self.purpose.push_str(owner);
        if let Some(title) = title {
            self.purpose.push(' ');
            self.purpose.push_str(title);
        }
    }

    /// Every string of a JSON Schema, by keyword.
    fn schema(&mut self, schema: &'a Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match schema {
            Value::Object(map) => self.schema_object(map, depth),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let len = self.enter_index(index);
                    self.schema(item, depth + 1);
                    self.leave(len);
                }
            }
            Value::String(text) => self.visit_here(text, Role::Prose),
            _ => {}
        }
    }

    fn schema_object(&mut self, map: &'a JsonObject, depth: usize) {
        for (key, value) in map {
            let len = self.enter(key);
            self.member(key, value, depth);
            self.leave(len);
        }
    }

    /// One member of a schema object (the path is at the member), by keyword.
    fn member(&mut self, key: &'a str, value: &'a Value, depth: usize) {
        match key {
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                let Value::Object(members) = value else {
                    self.schema(value, depth + 1);
                    return;
                };
                let role = if key == "properties" {
                    Role::Property
                } else {
                    Role::Keyword
                };
                for (name, member) in members {
                    let len = self.enter(name);
                    self.visit_here(name, role);
                    self.schema(member, depth + 1);
                    self.leave(len);
                }
            }
            "description" | "title" | "$comment" | "markdownDescription" => {
                self.values(value, Role::Prose, depth + 1);
            }
            "enum" | "examples" | "const" | "default" => self.values(value, Role::Value, depth + 1),
            "pattern" | "type" | "format" | "$ref" | "$schema" | "$id" | "$anchor"
            | "$dynamicRef" | "$dynamicAnchor" | "contentMediaType" | "contentEncoding"
            | "required" => self.values(value, Role::Keyword, depth + 1),
            _ => self.schema(value, depth + 1),
        }
    }

    /// Every string inside a value (enum lists, defaults, examples), at the current path.
    fn values(&mut self, value: &'a Value, role: Role, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::String(text) => self.visit_here(text, role),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let len = self.enter_index(index);
                    self.values(item, role, depth + 1);
                    self.leave(len);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let len = self.enter(key);
                    self.values(item, role, depth + 1);
                    self.leave(len);
                }
            }
            _ => {}
        }
    }

    fn tool(&mut self, tool: &'a Tool) {
        self.own(&tool.name, tool.title.as_ref());
        self.push(&tool.name, "name", Role::Name);
        self.opt(tool.title.as_ref(), "title", Role::Prose);
        self.opt(tool.description.as_ref(), "description", Role::Prose);
        if let Some(annotations) = &tool.annotations {
            let len = self.enter("annotations");
            self.opt(annotations.title.as_ref(), "title", Role::Prose);
            self.leave(len);
        }
        let len = self.enter("inputSchema");
        self.schema_object(&tool.input_schema, 0);
        self.leave(len);
        if let Some(output) = &tool.output_schema {
            let len = self.enter("outputSchema");
            self.schema_object(output, 0);
            self.leave(len);
        }
    }

    fn prompt(&mut self, prompt: &'a Prompt) {
        self.own(&prompt.name, prompt.title.as_ref());
        self.push(&prompt.name, "name", Role::Name);
        self.opt(prompt.title.as_ref(), "title", Role::Prose);
        self.opt(prompt.description.as_ref(), "description", Role::Prose);
        let arguments = prompt.arguments.as_deref().unwrap_or_default();
        for (index, argument) in arguments.iter().enumerate() {
            let len = self.enter("arguments");
            let inner = self.enter_index(index);
            self.push(&argument.name, "name", Role::Name);
            self.opt(argument.title.as_ref(), "title", Role::Prose);
            self.opt(argument.description.as_ref(), "description", Role::Prose);
            self.leave(inner);
            self.leave(len);
        }
        if let Some(messages) = prompt.extra.get("messages") {
            let len = self.enter("messages");
            self.values(messages, Role::Prose, 1);
            self.leave(len);
        }
    }

    fn template(&mut self, template: &'a ResourceTemplate) {
        self.own(&template.name, template.title.as_ref());
        self.push(&template.uri_template, "uriTemplate", Role::Keyword);
        self.push(&template.name, "name", Role::Name);
        self.opt(template.title.as_ref(), "title", Role::Prose);
        self.opt(template.description.as_ref(), "description", Role::Prose);
    }

    fn resource(&mut self, resource: &'a Resource) {
        self.own(&resource.name, resource.title.as_ref());
        self.push(&resource.uri, "uri", Role::Keyword);
        self.push(&resource.name, "name", Role::Name);
        self.opt(resource.title.as_ref(), "title", Role::Prose);
        self.opt(resource.description.as_ref(), "description", Role::Prose);
        if let Some(Value::String(text)) = resource.extra.get("text") {
            self.push(text, "text", Role::Prose);
        }
    }

    /// Visits each item of a listing under `/key/index`.
    fn listing<T>(
        &mut self,
        key: &str,
        items: Option<&'a [T]>,
        mut each: impl FnMut(&mut Self, &'a T),
    ) {
        for (index, item) in items.unwrap_or_default().iter().enumerate() {
            let len = self.enter(key);
            self.enter_index(index);
            each(self, item);
            self.leave(len);
        }
    }
}

/// Visits every model-facing string of a surface, with pointers relative to `prefix`.
pub(super) fn surface_texts(surface: &ToolSurface, prefix: &str, visit: impl FnMut(Text<'_>)) {
    let mut walker = Walker::new(visit);
    walker.path.push_str(prefix);
    let info = &surface.server_info;
    let len = walker.enter("serverInfo");
    walker.push(&info.name, "name", Role::Name);
    walker.opt(info.title.as_ref(), "title", Role::Prose);
    if let Some(Value::String(description)) = info.extra.get("description") {
        walker.push(description, "description", Role::Prose);
    }
    walker.leave(len);
    walker.opt(surface.instructions.as_ref(), "instructions", Role::Prose);
    walker.listing("tools", surface.tools.as_deref(), Walker::tool);
    walker.listing("prompts", surface.prompts.as_deref(), Walker::prompt);
    walker.listing(
        "resourceTemplates",
        surface.resource_templates.as_deref(),
        Walker::template,
    );
    walker.listing("resources", surface.resources.as_deref(), Walker::resource);
}

/// Visits a `server.json`'s descriptions: the server's own, its inputs', and post-install steps'.
pub(super) fn manifest_texts(server: &Value, visit: impl FnMut(Text<'_>)) {
    let mut walker = Walker::new(visit);
    for key in ["title", "description"] {
        if let Some(text) = server.get(key).and_then(Value::as_str) {
            walker.push(text, key, Role::Prose);
        }
    }
    let groups: [(&str, &[&str]); 2] = [
        (
            "packages",
            &[
                "environmentVariables",
                "packageArguments",
                "runtimeArguments",
                "postInstallInstructions",
                "transport/headers",
            ],
        ),
        ("remotes", &["headers"]),
    ];
    for (group, lists) in groups {
        let Some(entries) = server.get(group).and_then(Value::as_array) else {
            continue;
        };
        for (index, entry) in entries.iter().enumerate() {
            for list in lists {
                let items = list
                    .split('/')
                    .try_fold(entry, |value, key| value.get(key))
                    .and_then(Value::as_array);
                for (item_index, item) in items.into_iter().flatten().enumerate() {
                    let Some(description) = item.get("description").and_then(Value::as_str) else {
                        continue;
                    };
                    let len = walker.enter(group);
                    walker.enter_index(index);
                    for key in list.split('/') {
                        walker.enter(key);
                    }
                    walker.enter_index(item_index);
                    walker.push(description, "description", Role::Input);
                    walker.leave(len);
                }
            }
        }
    }
}
