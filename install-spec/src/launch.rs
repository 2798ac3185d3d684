//! From a `server.json` to what a host must run or connect to: a pinned command line for a package, or a
//! URL with headers for a remote, with every `{var}` filled in and every secret kept as a reference so the
//! host writer can route it through the host's own indirection.

use std::collections::BTreeMap;

use registry_schema::ServerJson;
use registry_schema::manifest::{
    Argument, ArgumentType, Input, KeyValueInput, Package, Transport, TransportType,
};
use serde_json::{Map, Value};

use crate::InstallError;

mod args;

pub use args::same_image;

/// The operating system the host runs on; passed explicitly so tests cover every platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Linux,
    MacOs,
    Windows,
}

impl Platform {
    /// The platform this binary was built for.
    pub fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::MacOs
        } else {
            Self::Linux
        }
    }
}

/// Values the caller collected (from `--env KEY=VALUE` or a prompt), keyed as [`InputSpec::key`] says.
pub type Values = BTreeMap<String, String>;

/// A secret the config file should not contain in plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// The input's key (env var name, header name, argument id or variable name).
    pub key: String,
    /// The environment variable a host should read it from (`${env:NAME}`, Codex `env_vars`).
    pub env_name: String,
    pub description: Option<String>,
    /// The value, when the caller supplied one; written only with the caller's consent.
    pub value: Option<String>,
}

/// One piece of a resolved value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Secret(SecretRef),
}

/// A resolved value: literal text with secrets left as references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template(pub Vec<Part>);

impl Template {
    pub fn text(text: impl Into<String>) -> Self {
        Self(vec![Part::Text(text.into())])
    }

    /// The value when it holds no secret.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Secret(_) => return None,
            }
        }
        Some(out)
    }

    /// The secret when the whole value is exactly one secret.
    pub fn as_single_secret(&self) -> Option<&SecretRef> {
        match self.0.as_slice() {
            [Part::Secret(secret)] => Some(secret),
            _ => None,
        }
    }

    pub fn secrets(&self) -> impl Iterator<Item = &SecretRef> {
        self.0.iter().filter_map(|part| match part {
            Part::Secret(secret) => Some(secret),
            Part::Text(_) => None,
        })
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Part::Text(last)) = self.0.last_mut() {
            last.push_str(text);
        } else {
            self.0.push(Part::Text(text.to_owned()));
        }
    }
}

/// How to run or reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchSpec {
    /// A local process speaking MCP over stdin/stdout.
    Stdio {
        command: String,
        args: Vec<Template>,
        env: Vec<(String, Template)>,
    },
    /// A server reached over HTTP.
    Remote {
        transport: RemoteTransport,
        url: Template,
        headers: Vec<(String, Template)>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteTransport {
    StreamableHttp,
    Sse,
}

/// Which entry of the manifest to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    /// A remote the host supports, else the first package that maps to a command line.
    #[default]
    Auto,
    Package(usize),
    Remote(usize),
}

/// What a host can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Support {
    pub stdio: bool,
    pub streamable_http: bool,
    pub sse: bool,
}

impl Support {
    pub const ALL: Self = Self {
        stdio: true,
        streamable_http: true,
        sse: true,
    };

    fn remote(self, kind: TransportType) -> bool {
        match kind {
            TransportType::Stdio => false,
            TransportType::StreamableHttp => self.streamable_http,
            TransportType::Sse => self.sse,
        }
    }
}

/// The result of [`resolve`]: what to run and where in the manifest it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub spec: LaunchSpec,
    /// `Choice::Package(i)` or `Choice::Remote(i)`, never `Auto`.
    pub source: Choice,
}

/// An input the caller may have to ask the user for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// The key for [`Values`]: an env var or header name, an argument id (positional: its `valueHint`;
    /// named: the flag without leading dashes) or a `{variable}` name.
    pub key: String,
    pub description: Option<String>,
    pub required: bool,
    pub secret: bool,
    pub default: Option<String>,
    pub choices: Vec<String>,
    /// The manifest fixes the value already; asking is optional.
    pub has_value: bool,
}

/// Picks the package or remote to install for a host that supports `support`.
pub fn select(
    server: &ServerJson,
    choice: Choice,
    support: Support,
) -> Result<Choice, InstallError> {
    match choice {
        Choice::Package(index) => {
            let package = server.packages().get(index).ok_or_else(|| {
                InstallError::Unsupported(format!("the server has no package #{index}"))
            })?;
            if !support.stdio {
                return Err(InstallError::Unsupported(
                    "this host's config file cannot run local (stdio) packages".to_owned(),
                ));
            }
            check_package(package)?;
            Ok(choice)
        }
        Choice::Remote(index) => {
            let remote = server.remotes().get(index).ok_or_else(|| {
                InstallError::Unsupported(format!("the server has no remote #{index}"))
            })?;
            if !support.remote(remote.r#type) {
                return Err(InstallError::Unsupported(format!(
                    "this host's config file cannot connect to a {} remote",
                    remote.r#type.as_str()
                )));
            }
            Ok(choice)
        }
        Choice::Auto => {
            if let Some(index) = server
                .remotes()
                .iter()
                .position(|r| support.remote(r.r#type))
            {
                return Ok(Choice::Remote(index));
            }
            let mut first_err = None;
            if support.stdio {
                for (index, package) in server.packages().iter().enumerate() {
                    match check_package(package) {
                        Ok(()) => return Ok(Choice::Package(index)),
                        Err(err) => {
                            first_err.get_or_insert(err);
                        }
                    }
                }
            }
            Err(first_err.unwrap_or_else(|| {
                let what = match (server.packages().is_empty(), server.remotes().is_empty()) {
                    (true, true) => "the server has no packages and no remotes".to_owned(),
                    (false, _) if !support.stdio => {
                        "this host only connects to remotes, and the server has none it supports (its \
                         packages need a local process)"
                            .to_owned()
                    }
                    _ => "the server's remotes use a transport this host does not support".to_owned(),
                };
                InstallError::Unsupported(what)
            }))
        }
    }
}

/// Whether a package maps to a command line at all.
fn check_package(package: &Package) -> Result<(), InstallError> {
    if package.transport.r#type != TransportType::Stdio {
        return Err(InstallError::Unsupported(format!(
            "package `{}` serves {} itself; start it yourself and install its URL instead",
            package.identifier,
            package.transport.r#type.as_str()
        )));
    }
    match package.registry_type.as_str() {
        "npm" | "pypi" | "oci" | "nuget" => Ok(()),
        "mcpb" => Err(InstallError::Unsupported(format!(
            "package `{}` is an MCP bundle (mcpb); open it in a host that installs bundles (e.g. Claude Desktop)",
            package.identifier
        ))),
        other => Err(InstallError::Unsupported(format!(
            "package `{}` has registry type `{other}`, which mcp-reg cannot turn into a command line \
             (supported: npm, pypi, oci, nuget)",
            package.identifier
        ))),
    }
}

/// The inputs of the chosen package or remote, for the caller to prompt for.
pub fn inputs(server: &ServerJson, source: Choice) -> Vec<InputSpec> {
    let mut out = Vec::new();
    match source {
        Choice::Auto => {}
        Choice::Package(index) => {
            if let Some(package) = server.packages().get(index) {
                let args = package
                    .runtime_arguments()
                    .iter()
                    .chain(package.package_arguments());
                for (position, arg) in args.enumerate() {
                    collect_input(&mut out, argument_key(arg, position), &arg.input);
                }
                for env in package.environment_variables() {
                    collect_input(&mut out, env.name.clone(), &env.input);
                }
            }
        }
        Choice::Remote(index) => {
            if let Some(remote) = server.remotes().get(index) {
                collect_variables(&mut out, remote.variables.as_ref(), false);
                for header in remote.headers.as_deref().unwrap_or_default() {
                    collect_input(&mut out, header.name.clone(), &header.input);
                }
            }
        }
    }
    out
}

fn collect_input(out: &mut Vec<InputSpec>, key: String, input: &Input) {
    if input.value.is_some() {
        collect_variables(out, input.variables.as_ref(), input.is_secret());
    }
    if out.iter().any(|i| i.key == key) {
        return;
    }
    out.push(InputSpec {
        key,
        description: input.description.clone(),
        required: input.is_required(),
        secret: input.is_secret(),
        default: input.default.clone(),
        choices: input.choices.clone().unwrap_or_default(),
        has_value: input.value.is_some(),
    });
}

fn collect_variables(
    out: &mut Vec<InputSpec>,
    variables: Option<&Map<String, Value>>,
    secret: bool,
) {
    for (name, raw) in variables.into_iter().flatten() {
        if out.iter().any(|i| &i.key == name) {
            continue;
        }
        let input = variable_input(raw);
        out.push(InputSpec {
            key: name.clone(),
            description: input.description.clone(),
            required: true,
            secret: secret || input.is_secret(),
            default: input.default.clone(),
            choices: input.choices.clone().unwrap_or_default(),
            has_value: input.value.is_some(),
        });
    }
}

fn variable_input(raw: &Value) -> Input {
    serde_json::from_value(raw.clone()).unwrap_or_default()
}

/// The [`Values`] key of an argument.
fn argument_key(arg: &Argument, position: usize) -> String {
    match arg.r#type {
        ArgumentType::Named => arg
            .name
            .as_deref()
            .map(|name| name.trim_start_matches('-').to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| format!("arg{position}")),
        ArgumentType::Positional => arg
            .value_hint
            .clone()
            .filter(|hint| !hint.is_empty())
            .unwrap_or_else(|| format!("arg{position}")),
    }
}

/// Maps the chosen entry to a launch spec for `platform`.
pub fn resolve(
    server: &ServerJson,
    source: Choice,
    values: &Values,
    platform: Platform,
) -> Result<Resolved, InstallError> {
    let spec = match source {
        Choice::Auto => {
            return Err(InstallError::Unsupported(
                "no package or remote chosen".to_owned(),
            ));
        }
        Choice::Package(index) => {
            let package = server.packages().get(index).ok_or_else(|| {
                InstallError::Unsupported(format!("the server has no package #{index}"))
            })?;
            package_spec(package, values, platform)?
        }
        Choice::Remote(index) => {
            let remote = server.remotes().get(index).ok_or_else(|| {
                InstallError::Unsupported(format!("the server has no remote #{index}"))
            })?;
            remote_spec(remote, values)?
        }
    };
    Ok(Resolved { spec, source })
}

fn package_spec(
    package: &Package,
    values: &Values,
    platform: Platform,
) -> Result<LaunchSpec, InstallError> {
    check_package(package)?;
    let id = package.identifier.as_str();
    let pinned_version = || {
        package
            .version
            .as_deref()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                InstallError::Unsupported(format!(
                    "package `{id}` has no version, and mcp-reg only installs pinned versions"
                ))
            })
    };
    let mut position = 0;
    let runtime = args::resolve_all(package.runtime_arguments(), values, &mut position)?;
    let package_args = args::resolve_all(package.package_arguments(), values, &mut position)?;
    let mut env = Vec::new();
    for var in package.environment_variables() {
        if let Some(value) = resolve_input(&var.name, &var.name, &var.input, values)? {
            env.push((var.name.clone(), value));
        }
    }
    let (command, mut words) = match package.registry_type.as_str() {
        "npm" => {
            let pinned = format!("{id}@{}", pinned_version()?);
            ("npx", args::npx(id, &pinned, runtime, package_args))
        }
        "pypi" => {
            let pinned = format!("{id}=={}", pinned_version()?);
            ("uvx", args::uvx(id, &pinned, runtime, package_args))
        }
        "oci" => {
            // Docker forwards each variable from its own environment, which the host sets from `env`.
            let pinned = oci_image(package);
            let words = args::docker(package, pinned, runtime, package_args, &mut env)?;
            ("docker", words)
        }
        "nuget" => {
            let pinned = format!("{id}@{}", pinned_version()?);
            ("dnx", args::dnx(id, &pinned, runtime, package_args))
        }
        other => {
            return Err(InstallError::Unsupported(format!(
                "registry type `{other}`"
            )));
        }
    };
    // `npx`, `uvx` and `dnx` are `.cmd` shims on Windows, which hosts cannot spawn directly.
    let command = if platform == Platform::Windows && command != "docker" {
        words.insert(0, Template::text(command));
        words.insert(0, Template::text("/c"));
        "cmd"
    } else {
        command
    };
    Ok(LaunchSpec::Stdio {
        command: command.to_owned(),
        args: words,
        env,
    })
}

/// The image reference, pinned: the identifier's own tag or digest, else `:version`.
fn oci_image(package: &Package) -> Result<String, InstallError> {
    let id = &package.identifier;
    if args::is_pinned(id) {
        return Ok(id.clone());
    }
    match package.version.as_deref().filter(|v| !v.is_empty()) {
        Some(version) => Ok(format!("{id}:{version}")),
        None => Err(InstallError::Unsupported(format!(
            "image `{id}` has no tag or version, and mcp-reg only installs pinned versions"
        ))),
    }
}

fn remote_spec(remote: &Transport, values: &Values) -> Result<LaunchSpec, InstallError> {
    let transport = match remote.r#type {
        TransportType::StreamableHttp => RemoteTransport::StreamableHttp,
        TransportType::Sse => RemoteTransport::Sse,
        TransportType::Stdio => {
            return Err(InstallError::Unsupported(
                "a remote cannot use the stdio transport".to_owned(),
            ));
        }
    };
    let Some(url) = remote.url.as_deref().filter(|u| !u.is_empty()) else {
        return Err(InstallError::Unsupported(
            "the remote has no URL".to_owned(),
        ));
    };
    let url = substitute(url, remote.variables.as_ref(), values, false)?;
    let mut headers = Vec::new();
    for KeyValueInput { name, input } in remote.headers.as_deref().unwrap_or_default() {
        if let Some(value) = resolve_input(name, &env_name_for(name), input, values)? {
            headers.push((name.clone(), value));
        }
    }
    Ok(LaunchSpec::Remote {
        transport,
        url,
        headers,
    })
}

/// The value of one input: the caller's value, else the manifest's (with `{var}`s filled), else a
/// secret reference, else the default; `None` for an optional input nobody set.
fn resolve_input(
    key: &str,
    env_name: &str,
    input: &Input,
    values: &Values,
) -> Result<Option<Template>, InstallError> {
    let secret = input.is_secret();
    let reference = |value: Option<String>| {
        Template(vec![Part::Secret(SecretRef {
            key: key.to_owned(),
            env_name: env_name.to_owned(),
            description: input.description.clone(),
            value,
        })])
    };
    if let Some(value) = values.get(key) {
        return Ok(Some(if secret {
            reference(Some(value.clone()))
        } else {
            Template::text(value.clone())
        }));
    }
    if let Some(template) = &input.value {
        return substitute(template, input.variables.as_ref(), values, secret).map(Some);
    }
    if secret {
        return Ok(input.is_required().then(|| reference(None)));
    }
    if let Some(default) = &input.default {
        return Ok(Some(Template::text(default.clone())));
    }
    if input.is_required() {
        return Err(InstallError::MissingInput {
            key: key.to_owned(),
            description: input.description.clone(),
        });
    }
    Ok(None)
}

/// Fills `{name}` placeholders declared in `variables`; undeclared braces stay as written.
fn substitute(
    template: &str,
    variables: Option<&Map<String, Value>>,
    values: &Values,
    all_secret: bool,
) -> Result<Template, InstallError> {
    let mut out = Template::default();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        let name = &rest[open + 1..close];
        let declared = variables.and_then(|vars| vars.get(name));
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid || (declared.is_none() && !values.contains_key(name)) {
            out.push_text(&rest[..=open]);
            rest = &rest[open + 1..];
            continue;
        }
        out.push_text(&rest[..open]);
        let input = declared.map(variable_input).unwrap_or_default();
        let secret = all_secret || input.is_secret();
        if let Some(value) = values.get(name) {
            if secret {
                out.0.push(Part::Secret(SecretRef {
                    key: name.to_owned(),
                    env_name: env_name_for(name),
                    description: input.description.clone(),
                    value: Some(value.clone()),
                }));
            } else {
                out.push_text(value);
            }
        } else if let Some(value) = &input.value {
            out.push_text(value);
        } else if secret {
            out.0.push(Part::Secret(SecretRef {
                key: name.to_owned(),
                env_name: env_name_for(name),
                description: input.description.clone(),
                value: None,
            }));
        } else if let Some(default) = &input.default {
            out.push_text(default);
        } else {
            return Err(InstallError::MissingInput {
                key: name.to_owned(),
                description: input.description.clone(),
            });
        }
        rest = &rest[close + 1..];
    }
    out.push_text(rest);
    Ok(out)
}

/// The text that stands for a value the user still has to give: `<KEY>` (see
/// [`crate::SnippetOptions::placeholders`]).
pub fn placeholder(key: &str) -> String {
    format!("<{key}>")
}

/// An environment variable name for an input key: `api-key` → `API_KEY`.
pub fn env_name_for(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

#[cfg(test)]
mod tests;
