//! `unknown-key`: member names the official schema does not define, with a "did you mean" when a
//! defined one is close. The known names are read from the vendored schema's definitions (the
//! `properties` of each, following `allOf`/`anyOf`/`$ref`), so they follow the schema.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::Rules;
use super::rules::pointer_token;

/// Member names each definition of one schema allows, by definition name.
pub(super) struct KnownKeys(BTreeMap<String, BTreeSet<String>>);

/// Names this registry models beyond the vendored schemas (see `manifest.rs`), by definition.
const EXTENSIONS: &[(&str, &str)] = &[("Package", "postInstallInstructions")];

pub(super) static CURRENT_KEYS: LazyLock<KnownKeys> = LazyLock::new(|| {
    KnownKeys::from_schema(include_str!("../../schemas/server.schema.2025-12-11.json"))
});

pub(super) static DRAFT_KEYS: LazyLock<KnownKeys> = LazyLock::new(|| {
    KnownKeys::from_schema(include_str!("../../schemas/server.schema.draft.json"))
});

impl KnownKeys {
    fn from_schema(text: &str) -> Self {
        let schema: Value = serde_json::from_str(text).unwrap_or_default();
        let empty = Map::new();
        let definitions = schema
            .get("definitions")
            .or_else(|| schema.get("$defs"))
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut known = BTreeMap::new();
        for (name, definition) in definitions {
            let mut keys = BTreeSet::new();
            collect(definition, definitions, &mut keys, 0);
            for (extended, key) in EXTENSIONS {
                if extended == name {
                    keys.insert((*key).to_owned());
                }
            }
            known.insert(name.clone(), keys);
        }
        Self(known)
    }

    /// The names `definition` allows (empty for a definition the schema lacks).
    pub(super) fn of(&self, definition: &str) -> Option<&BTreeSet<String>> {
        self.0.get(definition).filter(|keys| !keys.is_empty())
    }
}

/// Adds the `properties` of `schema` and of every schema it combines or refers to.
fn collect(
    schema: &Value,
    definitions: &Map<String, Value>,
    keys: &mut BTreeSet<String>,
    depth: u8,
) {
    if depth > 16 {
        return;
    }
    if let Some(Value::Object(properties)) = schema.get("properties") {
        keys.extend(properties.keys().cloned());
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(combinator) {
            for branch in branches {
                collect(branch, definitions, keys, depth + 1);
            }
        }
    }
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|reference| {
            reference
                .strip_prefix("#/definitions/")
                .or_else(|| reference.strip_prefix("#/$defs/"))
        })
        .and_then(|name| definitions.get(name))
    {
        collect(target, definitions, keys, depth + 1);
    }
}

/// The known name `key` was most likely meant to be, if one is close enough: the same name up to
/// case, `_` and `-` (`runtime_arguments`), or within a Damerau-Levenshtein distance of 2 (1 for
/// names of four letters or fewer, where two edits reach unrelated words) ignoring case.
pub fn suggest<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let folded = fold(key);
    known
        .into_iter()
        .filter_map(|candidate| {
            let other = fold(candidate);
            let distance = if other == folded {
                0
            } else {
                strsim::damerau_levenshtein(&key.to_lowercase(), &candidate.to_lowercase())
            };
            let limit = if candidate.chars().count() <= 4 { 1 } else { 2 };
            (distance <= limit).then_some((distance, candidate))
        })
        .min()
        .map(|(_, candidate)| candidate)
}

fn fold(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Rules<'_> {
    /// Warns about every member of the server, its repository, icons, packages (with their
    /// arguments, environment variables and transport) and remotes that the schema does not define.
    /// `_meta` is free-form and not looked into.
    pub(super) fn unknown_keys(&mut self, server: &Map<String, Value>, known: &KnownKeys) {
        self.object_keys("", server, "ServerDetail", "the server", known);
        if let Some(Value::Object(repository)) = server.get("repository") {
            self.object_keys(
                "/repository",
                repository,
                "Repository",
                "the repository",
                known,
            );
        }
        for (index, icon) in objects(server.get("icons")) {
            self.object_keys(&format!("/icons/{index}"), icon, "Icon", "an icon", known);
        }
        for (index, package) in objects(server.get("packages")) {
            let at = format!("/packages/{index}");
            self.object_keys(&at, package, "Package", "a package", known);
            for list in ["runtimeArguments", "packageArguments"] {
                for (index, argument) in objects(package.get(list)) {
                    let (definition, what) = match argument.get("type").and_then(Value::as_str) {
                        Some("positional") => ("PositionalArgument", "a positional argument"),
                        Some("named") => ("NamedArgument", "a named argument"),
                        _ => ("Argument", "an argument"),
                    };
                    let at = format!("{at}/{list}/{index}");
                    self.object_keys(&at, argument, definition, what, known);
                    self.variable_keys(&at, argument, known);
                }
            }
            for (index, variable) in objects(package.get("environmentVariables")) {
                let at = format!("{at}/environmentVariables/{index}");
                let what = "an environment variable";
                self.object_keys(&at, variable, "KeyValueInput", what, known);
                self.variable_keys(&at, variable, known);
            }
            if let Some(Value::Object(transport)) = package.get("transport") {
                let at = format!("{at}/transport");
                self.object_keys(
                    &at,
                    transport,
                    "LocalTransport",
                    "a package transport",
                    known,
                );
                self.header_keys(&at, transport, known);
            }
        }
        for (index, remote) in objects(server.get("remotes")) {
            let at = format!("/remotes/{index}");
            self.object_keys(&at, remote, "RemoteTransport", "a remote", known);
            self.header_keys(&at, remote, known);
            if let Some(Value::Object(variables)) = remote.get("variables") {
                for (name, variable) in variables {
                    if let Value::Object(variable) = variable {
                        let at = format!("{at}/variables/{}", pointer_token(name));
                        self.object_keys(&at, variable, "Input", "a variable", known);
                    }
                }
            }
        }
    }

    fn header_keys(&mut self, at: &str, transport: &Map<String, Value>, known: &KnownKeys) {
        for (index, header) in objects(transport.get("headers")) {
            let at = format!("{at}/headers/{index}");
            self.object_keys(&at, header, "KeyValueInput", "a header", known);
            self.variable_keys(&at, header, known);
        }
    }

    /// The entries of an input's `variables` map are inputs themselves.
    fn variable_keys(&mut self, at: &str, input: &Map<String, Value>, known: &KnownKeys) {
        if let Some(Value::Object(variables)) = input.get("variables") {
            for (name, variable) in variables {
                if let Value::Object(variable) = variable {
                    let at = format!("{at}/variables/{}", pointer_token(name));
                    self.object_keys(&at, variable, "Input", "a variable", known);
                }
            }
        }
    }

    fn object_keys(
        &mut self,
        at: &str,
        object: &Map<String, Value>,
        definition: &str,
        what: &str,
        known: &KnownKeys,
    ) {
        let Some(allowed) = known.of(definition) else {
            return;
        };
        for key in object.keys() {
            if allowed.contains(key) {
                continue;
            }
            let hint = match suggest(key, allowed.iter().map(String::as_str)) {
                Some(meant) => format!("; did you mean `{meant}`?"),
                None => format!("; the schema defines {}", list(allowed)),
            };
            self.warn(
                "unknown-key",
                &format!("{at}/{}", pointer_token(key)),
                format!("`{key}` is not a field of {what}{hint}"),
            );
        }
    }
}

fn list(keys: &BTreeSet<String>) -> String {
    keys.iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The object members of an array member, with their index.
fn objects(list: Option<&Value>) -> impl Iterator<Item = (usize, &Map<String, Value>)> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, item)| item.as_object().map(|object| (index, object)))
}
