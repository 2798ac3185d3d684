//! Validation of a publisher's `server.json`: the official JSON Schema (vendored) plus the official
//! registry's semantic rules. Every problem is collected; nothing stops at the first one.
//!
//! Each [`Issue`] carries a rule id (see [`RULES`]), the RFC 6901 pointer of the offending value, a
//! severity and a message that quotes the value.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::manifest::{CURRENT_SCHEMA_URL, DRAFT_SCHEMA_URL, OFFICIAL_META_KEY};
use crate::name::server_name_problem;
use crate::version::{classify_version_problem, version_problem};

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

/// The rules this module applies: `(id, what it checks)`. Schema violations use `schema.<keyword>`.
pub const RULES: &[(&str, &str)] = &[
    ("json-syntax", "the body is UTF-8 JSON"),
    (
        "schema.<keyword>",
        "the official JSON Schema (2025-12-11, or the draft when `$schema` names it)",
    ),
    (
        "schema-version",
        "`$schema` names the current schema (missing or old: warning; strict: error)",
    ),
    (
        "name-format",
        "`namespace/name`, one `/`, parts start and end alphanumeric, 3-200 characters",
    ),
    (
        "version-format",
        "version is not blank and at most 255 characters",
    ),
    (
        "version-latest",
        "version is not the reserved word `latest`",
    ),
    (
        "version-range",
        "version is one release, not a range (`^1`, `>=1`, `1.x`, `1 - 2`, `a || b`)",
    ),
    ("title-blank", "title is not only whitespace"),
    ("website-url", "websiteUrl is an absolute https URL"),
    (
        "repository-url",
        "repository.url is a valid URL for its source (github, gitlab)",
    ),
    (
        "repository-subfolder",
        "repository.subfolder is a clean relative path",
    ),
    ("icon-src", "icon src is an absolute https URL"),
    (
        "package-registry-type",
        "registryType is one the registry knows (unknown: warning; strict: error)",
    ),
    (
        "package-registry-base-url",
        "registryBaseUrl is the type's official URL, or absent for oci and mcpb",
    ),
    (
        "package-identifier",
        "identifier has no whitespace; mcpb identifiers are https URLs",
    ),
    (
        "package-version",
        "version is present for npm, pypi, nuget and cargo, absent for oci",
    ),
    ("package-version-latest", "package version is not `latest`"),
    (
        "package-version-range",
        "package version is one release, not a range",
    ),
    (
        "package-file-sha256",
        "fileSha256 is present for mcpb and absent for npm, nuget, cargo and oci",
    ),
    (
        "package-runtime-hint",
        "runtimeHint is set when runtimeArguments are (warning)",
    ),
    (
        "transport-url",
        "stdio has no url; HTTP transports have an absolute http(s) url",
    ),
    (
        "transport-url-variable",
        "every `{var}` in a transport URL is defined",
    ),
    (
        "remote-url-https",
        "remote URLs use https (http: warning; strict: error)",
    ),
    (
        "positional-argument-value",
        "a positional argument has a valueHint or a value",
    ),
    (
        "named-argument-name",
        "a named argument's name is a bare flag (no spaces, `<`, `>`, `{`, `}`, `$`; warning; strict: error)",
    ),
    (
        "named-argument-value",
        "a named argument's value and default do not repeat its name (warning; strict: error)",
    ),
    (
        "meta-size",
        "`_meta` is at most 4096 bytes of JSON (not counting the tool surface)",
    ),
    (
        "meta-surface",
        "the tool surface under `_meta[\"dev.mcp-reg/surface\"]` is a valid surface capture",
    ),
    (
        "meta-reserved",
        "`_meta` does not set the registry's own `io.modelcontextprotocol.registry/official` key",
    ),
    (
        "control-characters",
        "the version, package identifiers, versions and registry types, and transport and remote types and URLs contain no control characters (they are keys, path segments and URLs)",
    ),
    (
        "nul-character",
        "no string or member name anywhere contains U+0000, which PostgreSQL cannot store",
    ),
];

const KNOWN_SCHEMA_VERSIONS: &[&str] = &[
    "2025-07-09",
    "2025-09-16",
    "2025-09-29",
    "2025-10-11",
    "2025-10-17",
];

/// Registry types the official registry accepts, with their fixed base URL where one exists.
const REGISTRY_TYPES: &[(&str, Option<&str>)] = &[
    ("npm", Some("https://registry.npmjs.org")),
    ("pypi", Some("https://pypi.org")),
    ("nuget", Some("https://api.nuget.org/v3/index.json")),
    ("cargo", Some("https://crates.io")),
    ("oci", None),
    ("mcpb", None),
];

/// Other spellings of a fixed base URL that the official registry documents, with the URL they stand for.
const BASE_URL_ALIASES: &[(&str, &str, &str)] = &[(
    "nuget",
    "https://api.nuget.org",
    "https://api.nuget.org/v3/index.json",
)];

/// The registry's own spelling of `base` for packages of `registry_type` when `base` names the fixed
/// registry of that type (a trailing `/` and documented short forms such as NuGet's
/// `https://api.nuget.org` are normalised); `None` for other URLs and types without a fixed registry.
pub fn canonical_registry_base_url(registry_type: &str, base: &str) -> Option<&'static str> {
    let base = base.trim_end_matches('/');
    let fixed = REGISTRY_TYPES
        .iter()
        .find(|(name, _)| *name == registry_type)
        .and_then(|(_, fixed)| *fixed)?;
    if base == fixed {
        return Some(fixed);
    }
    BASE_URL_ALIASES
        .iter()
        .find(|(kind, alias, _)| *kind == registry_type && *alias == base)
        .map(|(_, _, canonical)| *canonical)
}

static CURRENT_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    compile(
        include_str!("../schemas/server.schema.2025-12-11.json"),
        jsonschema::Draft::Draft7,
    )
});

static DRAFT_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    compile(
        include_str!("../schemas/server.schema.draft.json"),
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

    // A semantic rule says more than the schema keyword it overlaps with: keep only the semantic issue
    // where both fire on the same value.
    let semantic_pointers: HashSet<&str> = semantic
        .iter()
        .filter(|issue| issue.severity == Severity::Error)
        .map(|issue| issue.pointer.as_str())
        .collect();
    let mut issues: Vec<Issue> = schema
        .iter_errors(value)
        .filter(|err| !semantic_pointers.contains(err.instance_path().as_str()))
        .map(|err| {
            Issue::error(
                format!("schema.{}", err.kind().keyword()),
                err.instance_path().as_str().to_owned(),
                shorten(&err.to_string()),
            )
        })
        .collect();
    issues.extend(semantic);
    issues
        .sort_by(|a, b| (a.severity, &a.pointer, &a.rule).cmp(&(b.severity, &b.pointer, &b.rule)));
    issues.dedup();
    Report { issues }
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

/// The values that identify or locate something: the server's version, each package's identifier,
/// version and registry type, and each transport's and remote's type and URL. A control character in
/// one of them cannot be addressed in a URL path or query, and is never meant.
fn identifying_strings<'a>(server: &'a Map<String, Value>) -> Vec<(String, &'a str)> {
    let mut found = Vec::new();
    let mut take = |pointer: String, value: Option<&'a Value>| {
        if let Some(Value::String(text)) = value {
            found.push((pointer, text.as_str()));
        }
    };
    take("/version".to_owned(), server.get("version"));
    take("/websiteUrl".to_owned(), server.get("websiteUrl"));
    take(
        "/repository/url".to_owned(),
        server.get("repository").and_then(|r| r.get("url")),
    );
    for (list, keys) in [
        (
            "packages",
            &["identifier", "version", "registryType", "registryBaseUrl"][..],
        ),
        ("remotes", &["type", "url"][..]),
    ] {
        let Some(Value::Array(items)) = server.get(list) else {
            continue;
        };
        for (index, item) in items.iter().enumerate() {
            for key in keys {
                take(format!("/{list}/{index}/{key}"), item.get(*key));
            }
            if let Some(transport) = item.get("transport") {
                for key in ["type", "url"] {
                    take(
                        format!("/{list}/{index}/transport/{key}"),
                        transport.get(key),
                    );
                }
            }
        }
    }
    found
}

/// `text` with control characters shown as escapes, for messages.
fn escaped(text: &str) -> String {
    text.chars().flat_map(char::escape_debug).collect()
}

/// The RFC 6901 form of one member name.
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every string value and member name containing U+0000, with its pointer (a member name's pointer
/// is the member's).
fn nul_strings(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::String(text) if text.contains('\0') => found.push(at.to_owned()),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                nul_strings(item, &format!("{at}/{index}"), found);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                let pointer = format!("{at}/{}", pointer_token(key));
                if key.contains('\0') {
                    found.push(pointer.clone());
                }
                nul_strings(member, &pointer, found);
            }
        }
        _ => {}
    }
}

struct Rules<'a> {
    policy: Policy,
    issues: &'a mut Vec<Issue>,
}

impl Rules<'_> {
    fn error(&mut self, rule: &'static str, pointer: &str, message: String) {
        self.issues.push(Issue::error(rule, pointer, message));
    }

    fn warn(&mut self, rule: &'static str, pointer: &str, message: String) {
        self.issues.push(Issue::warning(rule, pointer, message));
    }

    /// An error only under the strict policy.
    fn quality(&mut self, rule: &'static str, pointer: &str, message: String) {
        let severity = self.policy.quality();
        self.issues
            .push(Issue::new(severity, rule, pointer, message));
    }

    fn schema_version(&mut self, schema: Option<&Value>) -> &'static jsonschema::Validator {
        let Some(Value::String(url)) = schema else {
            if schema.is_none() {
                self.quality(
                    "schema-version",
                    "/$schema",
                    format!("`$schema` is missing; validated as {CURRENT_SCHEMA_URL}"),
                );
            }
            return &CURRENT_SCHEMA;
        };
        if url == CURRENT_SCHEMA_URL {
            return &CURRENT_SCHEMA;
        }
        if url == DRAFT_SCHEMA_URL || url.contains("/draft/server.schema.json") {
            return &DRAFT_SCHEMA;
        }
        let known_old = KNOWN_SCHEMA_VERSIONS
            .iter()
            .any(|version| url.contains(version));
        let what = if known_old { "an older" } else { "an unknown" };
        self.quality(
            "schema-version",
            "/$schema",
            format!("`{url}` is {what} schema; validated as {CURRENT_SCHEMA_URL}"),
        );
        &CURRENT_SCHEMA
    }

    fn top_level(&mut self, server: &Map<String, Value>) {
        if let Some(Value::String(name)) = server.get("name")
            && let Some(reason) = server_name_problem(name)
        {
            self.error(
                "name-format",
                "/name",
                format!("server name `{name}` {reason}"),
            );
        }
        if let Some(Value::String(version)) = server.get("version") {
            self.version("/version", version, false);
        }
        if let Some(Value::String(title)) = server.get("title")
            && !title.is_empty()
            && title.trim().is_empty()
        {
            self.error(
                "title-blank",
                "/title",
                format!("title `{title}` is only whitespace"),
            );
        }
        if let Some(Value::String(url)) = server.get("websiteUrl") {
            self.https_url("website-url", "/websiteUrl", "websiteUrl", url);
        }
        if let Some(Value::Object(repository)) = server.get("repository") {
            self.repository(repository);
        }
        if let Some(Value::Array(icons)) = server.get("icons") {
            for (index, icon) in icons.iter().enumerate() {
                if let Some(Value::String(src)) = icon.get("src") {
                    self.https_url("icon-src", &format!("/icons/{index}/src"), "icon src", src);
                }
            }
        }
    }

    /// Shared by the server version and package versions (whose rule ids are prefixed `package-`).
    fn version(&mut self, pointer: &str, version: &str, package: bool) {
        let Some(problem) = classify_version_problem(version) else {
            return;
        };
        let reason = version_problem(version).unwrap_or_default();
        let rule = match (package, problem.rule()) {
            (false, rule) => rule,
            (true, "version-latest") => "package-version-latest",
            (true, "version-range") => "package-version-range",
            (true, _) => "package-version",
        };
        let what = if package {
            "package version"
        } else {
            "version"
        };
        self.error(rule, pointer, format!("{what} `{version}` {reason}"));
    }

    fn https_url(&mut self, rule: &'static str, pointer: &str, what: &str, url: &str) {
        match url::Url::parse(url) {
            Ok(parsed) if parsed.scheme() == "https" && parsed.host().is_some() => {}
            Ok(_) => self.error(
                rule,
                pointer,
                format!("{what} `{url}` must be an https URL"),
            ),
            Err(err) => self.error(
                rule,
                pointer,
                format!("{what} `{url}` is not an absolute URL ({err})"),
            ),
        }
    }

    fn repository(&mut self, repository: &Map<String, Value>) {
        if let (Some(Value::String(url)), Some(Value::String(source))) =
            (repository.get("url"), repository.get("source"))
        {
            let host = match source.as_str() {
                "github" => Some("github.com"),
                "gitlab" => Some("gitlab.com"),
                _ => None,
            };
            if let Some(host) = host
                && !is_forge_repository_url(url, host)
            {
                self.error(
                    "repository-url",
                    "/repository/url",
                    format!(
                        "repository url `{url}` is not a {source} repository URL (expected https://{host}/<owner>/<repo>)"
                    ),
                );
            }
        }
        if let Some(Value::String(subfolder)) = repository.get("subfolder")
            && let Some(reason) = subfolder_problem(subfolder)
        {
            self.error(
                "repository-subfolder",
                "/repository/subfolder",
                format!("subfolder `{subfolder}` {reason}"),
            );
        }
    }

    fn package(&mut self, at: &str, package: &Map<String, Value>) {
        let registry_type = package
            .get("registryType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let known = REGISTRY_TYPES
            .iter()
            .find(|(name, _)| *name == registry_type);
        if known.is_none() && package.contains_key("registryType") {
            let known_list: Vec<&str> = REGISTRY_TYPES.iter().map(|(name, _)| *name).collect();
            self.quality(
                "package-registry-type",
                &format!("{at}/registryType"),
                format!(
                    "registryType `{registry_type}` is not one the registry can verify or install ({})",
                    known_list.join(", ")
                ),
            );
        }
        if let Some((_, fixed_base)) = known {
            self.package_base_url(
                at,
                registry_type,
                *fixed_base,
                package.get("registryBaseUrl"),
            );
        }
        if let Some(Value::String(identifier)) = package.get("identifier") {
            self.package_identifier(at, registry_type, identifier);
        }
        self.package_version(at, registry_type, package.get("version"));
        self.package_file_sha256(at, registry_type, package.contains_key("fileSha256"));

        let has_runtime_args =
            matches!(package.get("runtimeArguments"), Some(Value::Array(a)) if !a.is_empty());
        if has_runtime_args && !package.contains_key("runtimeHint") {
            self.warn(
                "package-runtime-hint",
                &format!("{at}/runtimeHint"),
                "runtimeArguments are set but runtimeHint is not; clients cannot tell which runtime they are for".to_owned(),
            );
        }

        let mut names = Vec::new();
        for list in ["runtimeArguments", "packageArguments"] {
            if let Some(Value::Array(arguments)) = package.get(list) {
                for (index, argument) in arguments.iter().enumerate() {
                    if let Some(argument) = argument.as_object() {
                        self.argument(&format!("{at}/{list}/{index}"), argument, &mut names);
                    }
                }
            }
        }
        if let Some(Value::Array(variables)) = package.get("environmentVariables") {
            names.extend(
                variables
                    .iter()
                    .filter_map(|var| var.get("name").and_then(Value::as_str))
                    .map(str::to_owned),
            );
        }
        if let Some(Value::Object(transport)) = package.get("transport") {
            self.transport(
                &format!("{at}/transport"),
                transport,
                &names,
                "its package's arguments or environment variables",
            );
        }
    }

    fn package_base_url(
        &mut self,
        at: &str,
        registry_type: &str,
        fixed: Option<&str>,
        base: Option<&Value>,
    ) {
        let Some(base) = base else { return };
        let base_text = base.as_str().unwrap_or_default();
        let pointer = format!("{at}/registryBaseUrl");
        match fixed {
            Some(fixed) if canonical_registry_base_url(registry_type, base_text) != Some(fixed) => self.error(
                "package-registry-base-url",
                &pointer,
                format!("registryBaseUrl `{base_text}` must be `{fixed}` for {registry_type} packages (or be left out)"),
            ),
            None => self.error(
                "package-registry-base-url",
                &pointer,
                format!("registryBaseUrl `{base_text}` must be left out for {registry_type} packages"),
            ),
            Some(_) => {}
        }
    }

    fn package_identifier(&mut self, at: &str, registry_type: &str, identifier: &str) {
        let pointer = format!("{at}/identifier");
        if identifier.trim().is_empty() {
            self.error(
                "package-identifier",
                &pointer,
                "package identifier is empty".to_owned(),
            );
        } else if identifier.chars().any(char::is_whitespace) {
            self.error(
                "package-identifier",
                &pointer,
                format!("package identifier `{identifier}` must not contain whitespace"),
            );
        } else if registry_type == "mcpb"
            && !url::Url::parse(identifier).is_ok_and(|url| url.scheme() == "https")
        {
            self.error(
                "package-identifier",
                &pointer,
                format!("mcpb identifier `{identifier}` must be the https URL of the bundle"),
            );
        }
    }

    fn package_version(&mut self, at: &str, registry_type: &str, version: Option<&Value>) {
        let pointer = format!("{at}/version");
        match (registry_type, version) {
            ("npm" | "pypi" | "nuget" | "cargo", None) => self.error(
                "package-version",
                &pointer,
                format!("{registry_type} packages need a version"),
            ),
            ("oci", Some(version)) => self.error(
                "package-version",
                &pointer,
                format!(
                    "oci packages must not have a version (found {version}); put the tag or digest in the identifier, e.g. `ghcr.io/owner/image:1.0.0`"
                ),
            ),
            (_, Some(Value::String(version))) => self.version(&pointer, version, true),
            _ => {}
        }
    }

    fn package_file_sha256(&mut self, at: &str, registry_type: &str, present: bool) {
        let pointer = format!("{at}/fileSha256");
        match (registry_type, present) {
            ("mcpb", false) => self.error(
                "package-file-sha256",
                &pointer,
                "mcpb packages need fileSha256 so clients can check the download".to_owned(),
            ),
            ("npm" | "nuget" | "cargo" | "oci", true) => self.error(
                "package-file-sha256",
                &pointer,
                format!("fileSha256 is only for mcpb packages, not {registry_type}"),
            ),
            _ => {}
        }
    }

    fn argument(&mut self, at: &str, argument: &Map<String, Value>, names: &mut Vec<String>) {
        let text = |key: &str| argument.get(key).and_then(Value::as_str);
        if let Some(hint) = text("valueHint") {
            names.push(hint.to_owned());
        }
        match text("type") {
            Some("positional")
                if !argument.contains_key("valueHint") && !argument.contains_key("value") =>
            {
                self.error(
                    "positional-argument-value",
                    at,
                    "positional argument has neither `valueHint` nor `value`".to_owned(),
                );
            }
            Some("named") => {
                let Some(name) = text("name") else { return };
                names.push(name.to_owned());
                names.push(name.trim_start_matches('-').to_owned());
                if let Some(bad) = name
                    .chars()
                    .find(|c| c.is_whitespace() || matches!(c, '<' | '>' | '{' | '}' | '$'))
                {
                    self.quality(
                        "named-argument-name",
                        &format!("{at}/name"),
                        format!(
                            "named argument name `{name}` contains `{bad}`; it should be just the flag (e.g. `--port`), with the value in `value` or `default`"
                        ),
                    );
                }
                for key in ["value", "default"] {
                    if let Some(value) = text(key)
                        && !name.is_empty()
                        && value.starts_with(name)
                    {
                        self.quality(
                            "named-argument-value",
                            &format!("{at}/{key}"),
                            format!("{key} `{value}` repeats the argument name `{name}`; clients add the flag themselves"),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// Checks a package transport or a remote. `names` are the values `{var}` may refer to.
    fn transport(
        &mut self,
        at: &str,
        transport: &Map<String, Value>,
        names: &[String],
        where_defined: &str,
    ) {
        let kind = transport
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let url = transport.get("url").and_then(Value::as_str);
        let pointer = format!("{at}/url");
        match (kind, url) {
            ("stdio", Some(url)) if !url.is_empty() => self.error(
                "transport-url",
                &pointer,
                format!("stdio transports have no url, but `{url}` is set"),
            ),
            ("streamable-http" | "sse", None) => self.error(
                "transport-url",
                &pointer,
                format!("{kind} transports need a url"),
            ),
            ("streamable-http" | "sse", Some(url)) => {
                let (variables, unclosed) = template_variables(url);
                if unclosed {
                    self.error(
                        "transport-url",
                        &pointer,
                        format!("url `{url}` has an unclosed `{{`"),
                    );
                }
                for variable in &variables {
                    if !names.iter().any(|name| name == variable) {
                        self.error(
                            "transport-url-variable",
                            &pointer,
                            format!("url `{url}` uses `{{{variable}}}`, which is not defined in {where_defined}"),
                        );
                    }
                }
                // Check the URL with every variable filled, so templated hosts and ports still parse. A URL
                // that starts with a variable (draft schema) takes its scheme and host from it: not checkable.
                let filled = fill_variables(url);
                match url::Url::parse(&filled) {
                    _ if url.starts_with('{') => {}
                    Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
                    _ => self.error(
                        "transport-url",
                        &pointer,
                        format!("url `{url}` is not an absolute http(s) URL"),
                    ),
                }
            }
            _ => {}
        }
    }

    fn remote(&mut self, at: &str, remote: &Map<String, Value>) {
        let names: Vec<String> = match remote.get("variables") {
            Some(Value::Object(variables)) => variables.keys().cloned().collect(),
            _ => Vec::new(),
        };
        self.transport(at, remote, &names, "the remote's `variables`");
        if let Some(Value::String(url)) = remote.get("url")
            && url.starts_with("http://")
        {
            self.quality(
                "remote-url-https",
                &format!("{at}/url"),
                format!(
                    "remote url `{url}` is not https; clients will send credentials in clear text"
                ),
            );
        }
    }

    fn meta(&mut self, meta: &Value) {
        // The tool surface is this registry's own, often far larger than the official limit meant for
        // publisher notes, and has its own rule: it must be a valid surface capture.
        let size = match meta {
            Value::Object(map) if map.contains_key(crate::compat::SURFACE_META_KEY) => {
                let mut rest = map.clone();
                rest.remove(crate::compat::SURFACE_META_KEY);
                serde_json::to_vec(&rest).map_or(0, |bytes| bytes.len())
            }
            other => serde_json::to_vec(other).map_or(0, |bytes| bytes.len()),
        };
        if size > MAX_META_BYTES {
            self.error(
                "meta-size",
                "/_meta",
                format!("`_meta` is {size} bytes of JSON; at most {MAX_META_BYTES} are allowed"),
            );
        }
        if let Some(surface) = meta.get(crate::compat::SURFACE_META_KEY)
            && let Err(err) = crate::ToolSurface::deserialize(surface)
        {
            self.error(
                "meta-surface",
                &format!(
                    "/_meta/{}",
                    crate::compat::SURFACE_META_KEY
                        .replace('~', "~0")
                        .replace('/', "~1")
                ),
                format!(
                    "the tool surface under `{}` is not a valid surface capture: {err}",
                    crate::compat::SURFACE_META_KEY
                ),
            );
        }
        if meta.get(OFFICIAL_META_KEY).is_some() {
            self.warn(
                "meta-reserved",
                &format!("/_meta/{}", OFFICIAL_META_KEY.replace('~', "~0").replace('/', "~1")),
                format!("`{OFFICIAL_META_KEY}` is set by the registry; the publisher's value is ignored in responses"),
            );
        }
    }

    /// `control-characters` on the identifying values, `nul-character` on every other string: both
    /// engines must store (or refuse) exactly the same manifests, and PostgreSQL cannot hold U+0000.
    fn control_characters(&mut self, server: &Map<String, Value>) {
        let mut reported = HashSet::new();
        for (pointer, text) in identifying_strings(server) {
            if let Some(bad) = text.chars().find(|c| c.is_control()) {
                self.error(
                    "control-characters",
                    &pointer,
                    format!(
                        "`{}` contains the control character U+{:04X}; control characters are not allowed here",
                        escaped(text),
                        u32::from(bad)
                    ),
                );
                reported.insert(pointer);
            }
        }
        let mut nul = Vec::new();
        for (key, member) in server {
            let pointer = format!("/{}", pointer_token(key));
            if key.contains('\0') {
                nul.push(pointer.clone());
            }
            nul_strings(member, &pointer, &mut nul);
        }
        for pointer in nul {
            if !reported.contains(&pointer) {
                self.error(
                    "nul-character",
                    &pointer,
                    "contains U+0000 (NUL), which the registry cannot store".to_owned(),
                );
            }
        }
    }
}

/// `https://github.com/owner/repo` (an optional trailing `/` or `.git` allowed).
fn is_forge_repository_url(url: &str, host: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    if !matches!(parsed.scheme(), "https" | "http")
        || parsed
            .host_str()
            .is_none_or(|h| h.trim_start_matches("www.") != host)
    {
        return false;
    }
    let segments: Vec<&str> = parsed
        .path()
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    // GitLab allows nested groups; GitHub is exactly owner/repo.
    let shape_ok = if host == "github.com" {
        segments.len() == 2
    } else {
        segments.len() >= 2
    };
    shape_ok
        && segments.iter().all(|segment| {
            segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

fn subfolder_problem(subfolder: &str) -> Option<&'static str> {
    if subfolder.is_empty() {
        Some("is empty")
    } else if subfolder.starts_with('/') || subfolder.contains('\\') {
        Some("must be a relative path with `/` separators")
    } else if subfolder
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        Some("must be a clean relative path (no empty, `.` or `..` parts)")
    } else {
        None
    }
}

/// The `{name}` variables of a URL template, and whether a `{` is left unclosed.
fn template_variables(template: &str) -> (Vec<String>, bool) {
    let mut variables = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return (variables, true);
        };
        variables.push(after[..close].to_owned());
        rest = &after[close + 1..];
    }
    (variables, false)
}

/// Replaces each `{var}` with `0`, which is legal as a host label, a port and a path segment.
fn fill_variables(template: &str) -> String {
    let mut filled = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        filled.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            filled.push_str(&rest[open..]);
            return filled;
        };
        filled.push('0');
        rest = &rest[open + close + 1..];
    }
    filled.push_str(rest);
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_helpers() {
        assert_eq!(
            template_variables("https://{host}/x/{id}"),
            (vec!["host".to_owned(), "id".to_owned()], false)
        );
        assert!(template_variables("https://{host/x").1);
        assert_eq!(
            fill_variables("https://{tenant}.a.b:{port}/{x}"),
            "https://0.a.b:0/0"
        );
        assert_eq!(fill_variables("https://a.b/{x"), "https://a.b/{x");
    }

    #[test]
    fn forge_urls() {
        assert!(is_forge_repository_url(
            "https://github.com/a/b",
            "github.com"
        ));
        assert!(is_forge_repository_url(
            "https://github.com/a/b.git",
            "github.com"
        ));
        assert!(!is_forge_repository_url(
            "https://github.com/a",
            "github.com"
        ));
        assert!(!is_forge_repository_url(
            "https://gitlab.com/a/b",
            "github.com"
        ));
        assert!(is_forge_repository_url(
            "https://gitlab.com/g/sub/p",
            "gitlab.com"
        ));
    }

    #[test]
    fn subfolders() {
        assert_eq!(subfolder_problem("src/weather"), None);
        assert!(subfolder_problem("/abs").is_some());
        assert!(subfolder_problem("a/../b").is_some());
        assert!(subfolder_problem("a//b").is_some());
    }

    #[test]
    fn every_rule_used_is_documented() {
        let source = concat!(include_str!("validate.rs"), include_str!("version.rs"));
        for (rule, _) in RULES {
            if !rule.contains('<') {
                assert!(
                    source.matches(&format!("\"{rule}\"")).count() >= 2,
                    "{rule} unused"
                );
            }
        }
    }
}
