//! Rules for packages (type, base URL, identifier, version, hash), arguments, transports, remotes.

use serde_json::{Map, Value};

use super::Rules;
use super::table::{REGISTRY_TYPES, canonical_registry_base_url};

impl Rules<'_> {
    pub(super) fn package(&mut self, at: &str, package: &Map<String, Value>) {
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
        self.argument_secrets(at, argument);
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

    pub(super) fn remote(&mut self, at: &str, remote: &Map<String, Value>) {
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
}

/// The `{name}` variables of a URL template, and whether a `{` is left unclosed.
pub(super) fn template_variables(template: &str) -> (Vec<String>, bool) {
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
pub(super) fn fill_variables(template: &str) -> String {
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
