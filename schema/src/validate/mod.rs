//! Validation of a publisher's `server.json`: the official JSON Schema (vendored) plus the official
//! registry's semantic rules. Every problem is collected; nothing stops at the first one.
//!
//! Each [`Issue`] carries a rule id (see [`RULES`]), the RFC 6901 pointer of the offending value, a
//! severity and a message that quotes the value.

mod keys;
mod packages;
mod rules;
mod secrets;
mod table;
#[cfg(test)]
mod tests;

pub use self::keys::suggest;
pub use self::secrets::{Finding, find_secret};
pub use self::table::{RULES, canonical_registry_base_url};

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bytes of serialized `_meta` a manifest may carry (the official registry's limit).
pub const MAX_META_BYTES: usize = 4096;

/// How strictly to judge rules that real-world manifests often break.
///
/// The lenient default (what the embedded registry and `mcp-reg validate` use) reports them as warnings;
/// `strict` (a public registry) makes them errors, as the official registry does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub strict: bool,
}

impl Policy {
    pub const fn lenient() -> Self {
        Self { strict: false }
    }

    pub const fn strict() -> Self {
        Self { strict: true }
    }

    /// Severity of a rule that is only an error under the strict policy.
    fn quality(self) -> Severity {
        if self.strict {
            Severity::Error
        } else {
            Severity::Warning
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
        })
    }
}

/// One problem found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// Stable rule id, e.g. `name-format` or `schema.maxLength`.
    pub rule: Cow<'static, str>,
    /// RFC 6901 JSON pointer to the offending value (`""` is the whole document).
    pub pointer: String,
    pub severity: Severity,
    pub message: String,
}

impl Issue {
    pub fn error(
        rule: impl Into<Cow<'static, str>>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Error, rule, pointer, message)
    }

    pub fn warning(
        rule: impl Into<Cow<'static, str>>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Warning, rule, pointer, message)
    }

    fn new(
        severity: Severity,
        rule: impl Into<Cow<'static, str>>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            rule: rule.into(),
            pointer: pointer.into(),
            severity,
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    /// `error[rule-id] /pointer: message`, the CLI's line format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{}[{}] {}: {}",
            self.severity, self.rule, pointer, self.message
        )
    }
}

/// Everything validation found. Valid means no errors; warnings are allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub issues: Vec<Issue>,
}

impl Report {
    pub fn single(issue: Issue) -> Self {
        Self {
            issues: vec![issue],
        }
    }

    pub fn is_valid(&self) -> bool {
        self.errors().next().is_none()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues
            .iter()
            .filter(|issue| issue.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Issue> {
        self.issues
            .iter()
            .filter(|issue| issue.severity == Severity::Warning)
    }

    pub fn has_rule(&self, rule: &str) -> bool {
        self.issues.iter().any(|issue| issue.rule == rule)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        write!(f, "{errors} error(s)")?;
        if let Some(first) = self.errors().next() {
            write!(f, "; first: {first}")?;
        }
        Ok(())
    }
}

static CURRENT_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    compile(
        include_str!("../../schemas/server.schema.2025-12-11.json"),
        jsonschema::Draft::Draft7,
    )
});

static DRAFT_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    compile(
        include_str!("../../schemas/server.schema.draft.json"),
        jsonschema::Draft::Draft202012,
    )
});

#[allow(
    clippy::expect_used,
    reason = "vendored, tested files: failing to compile them is a build defect"
)]
fn compile(text: &str, draft: jsonschema::Draft) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(text).expect("vendored schema is JSON");
    jsonschema::options()
        .with_draft(draft)
        .should_validate_formats(true)
        .build(&schema)
        .expect("vendored schema compiles")
}

/// Parses `bytes` as JSON and validates it. Returns the parsed value when the bytes were JSON.
pub fn validate_bytes(bytes: &[u8], policy: &Policy) -> (Option<Value>, Report) {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => {
            let report = validate_value(&value, policy);
            (Some(value), report)
        }
        Err(err) => (
            None,
            Report::single(Issue::error(
                "json-syntax",
                "",
                format!("not valid JSON: {err}"),
            )),
        ),
    }
}

/// Validates a parsed `server.json` against the schema and the semantic rules.
pub fn validate_value(value: &Value, policy: &Policy) -> Report {
    let mut semantic = Vec::new();
    let schema = check_semantics(value, *policy, &mut semantic);
    let schema_issues: Vec<(Issue, bool)> = schema
        .iter_errors(value)
        .map(|err| {
            let keyword = err.kind().keyword();
            let issue = Issue::error(
                format!("schema.{keyword}"),
                err.instance_path().as_str().to_owned(),
                shorten(&err.to_string()),
            );
            (issue, matches!(keyword, "anyOf" | "oneOf"))
        })
        .collect();

    // A semantic rule says more than the schema keyword it overlaps with: keep only the semantic issue
    // where both fire on the same value. A bare `anyOf`/`oneOf` ("not valid under any of the schemas")
    // says least of all: drop it when any clearer error is reported at its value or beneath it.
    let semantic_pointers: HashSet<&str> = semantic
        .iter()
        .filter(|issue| issue.severity == Severity::Error)
        .map(|issue| issue.pointer.as_str())
        .collect();
    let clearer: Vec<&str> = semantic
        .iter()
        .filter(|issue| issue.severity == Severity::Error)
        .chain(
            schema_issues
                .iter()
                .filter(|(_, combinator)| !combinator)
                .map(|(issue, _)| issue),
        )
        .map(|issue| issue.pointer.as_str())
        .collect();
    let mut issues: Vec<Issue> = schema_issues
        .iter()
        .filter(|(issue, _)| !semantic_pointers.contains(issue.pointer.as_str()))
        .filter(|(issue, combinator)| {
            !combinator
                || !clearer
                    .iter()
                    .any(|pointer| at_or_beneath(pointer, &issue.pointer))
        })
        .map(|(issue, _)| issue.clone())
        .collect();
    issues.extend(semantic);
    Report {
        issues: one_per_rule_and_pointer(issues),
    }
}

/// Whether `pointer` is `ancestor` or inside it (`/a/b` is beneath `/a`, `/ab` is not).
fn at_or_beneath(pointer: &str, ancestor: &str) -> bool {
    pointer
        .strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Sorts the issues (errors first, then by pointer and rule) and merges those with the same rule
/// and pointer into one: the most severe, with each distinct message once.
fn one_per_rule_and_pointer(mut issues: Vec<Issue>) -> Vec<Issue> {
    issues
        .sort_by(|a, b| (&a.pointer, &a.rule, a.severity).cmp(&(&b.pointer, &b.rule, b.severity)));
    let mut merged: Vec<Issue> = Vec::with_capacity(issues.len());
    let mut messages: Vec<String> = Vec::new();
    for issue in issues {
        match merged.last_mut() {
            Some(last) if last.rule == issue.rule && last.pointer == issue.pointer => {
                if !messages.contains(&issue.message) {
                    last.message.push_str("; ");
                    last.message.push_str(&issue.message);
                    messages.push(issue.message);
                }
            }
            _ => {
                messages = vec![issue.message.clone()];
                merged.push(issue);
            }
        }
    }
    merged
        .sort_by(|a, b| (a.severity, &a.pointer, &a.rule).cmp(&(b.severity, &b.pointer, &b.rule)));
    merged
}

/// Long values make long schema messages; the pointer already says where.
fn shorten(message: &str) -> String {
    const MAX: usize = 300;
    if message.chars().count() <= MAX {
        return message.to_owned();
    }
    let cut: String = message.chars().take(MAX).collect();
    format!("{cut}…")
}

/// Runs the semantic rules and picks the schema to check against.
fn check_semantics(
    value: &Value,
    policy: Policy,
    issues: &mut Vec<Issue>,
) -> &'static jsonschema::Validator {
    let Some(server) = value.as_object() else {
        return &CURRENT_SCHEMA;
    };
    let mut rules = Rules { policy, issues };
    let schema = rules.schema_version(server.get("$schema"));
    rules.top_level(server);
    let known = if std::ptr::eq(schema, LazyLock::force(&DRAFT_SCHEMA)) {
        &*keys::DRAFT_KEYS
    } else {
        &*keys::CURRENT_KEYS
    };
    rules.unknown_keys(server, known);
    if let Some(Value::Array(packages)) = server.get("packages") {
        for (index, package) in packages.iter().enumerate() {
            if let Some(package) = package.as_object() {
                rules.package(&format!("/packages/{index}"), package);
            }
        }
    }
    if let Some(Value::Array(remotes)) = server.get("remotes") {
        for (index, remote) in remotes.iter().enumerate() {
            if let Some(remote) = remote.as_object() {
                rules.remote(&format!("/remotes/{index}"), remote);
            }
        }
    }
    if let Some(meta) = server.get("_meta") {
        rules.meta(meta);
    }
    rules.control_characters(server);
    schema
}

struct Rules<'a> {
    policy: Policy,
    issues: &'a mut Vec<Issue>,
}
