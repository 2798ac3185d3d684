//! How `Rules` reports issues, and the server-level rules (`$schema`, version, repo, `_meta`).

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::table::KNOWN_SCHEMA_VERSIONS;
use super::{CURRENT_SCHEMA, DRAFT_SCHEMA, Issue, MAX_META_BYTES, Rules};
use crate::manifest::{CURRENT_SCHEMA_URL, DRAFT_SCHEMA_URL, OFFICIAL_META_KEY};
use crate::name::server_name_problem;
use crate::version::{classify_version_problem, version_problem};

impl Rules<'_> {
    pub(super) fn error(&mut self, rule: &'static str, pointer: &str, message: String) {
        self.issues.push(Issue::error(rule, pointer, message));
    }

    pub(super) fn warn(&mut self, rule: &'static str, pointer: &str, message: String) {
        self.issues.push(Issue::warning(rule, pointer, message));
    }

    /// An error only under the strict policy.
    pub(super) fn quality(&mut self, rule: &'static str, pointer: &str, message: String) {
        let severity = self.policy.quality();
        self.issues
            .push(Issue::new(severity, rule, pointer, message));
    }

    pub(super) fn schema_version(
        &mut self,
        schema: Option<&Value>,
    ) -> &'static jsonschema::Validator {
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

    pub(super) fn top_level(&mut self, server: &Map<String, Value>) {
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
    pub(super) fn version(&mut self, pointer: &str, version: &str, package: bool) {
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

    pub(super) fn meta(&mut self, meta: &Value) {
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
    pub(super) fn control_characters(&mut self, server: &Map<String, Value>) {
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
pub(super) fn pointer_token(key: &str) -> String {
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

/// `https://github.com/owner/repo` (an optional trailing `/` or `.git` allowed).
pub(super) fn is_forge_repository_url(url: &str, host: &str) -> bool {
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

pub(super) fn subfolder_problem(subfolder: &str) -> Option<&'static str> {
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
