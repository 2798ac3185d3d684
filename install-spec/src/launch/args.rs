//! Runtime and package arguments as the runtime's command line.
//!
//! Manifests spell the command line in different ways, and each must end up as one that starts:
//! boolean named arguments (`{"name": "--rm", "format": "boolean", "value": "true"}`) are a bare
//! flag when true and nothing when false; the runtime's own words (docker's `run`, `-i`, `--rm`,
//! npx's `-y`) are added only when the manifest does not already spell them; and the package
//! itself (docker's image, npm/PyPI/NuGet's identifier) is named exactly once, pinned, even when
//! the manifest also gives it as a positional argument (GitHub's own server does, without a tag).

use std::collections::BTreeSet;

use registry_schema::manifest::{Argument, ArgumentType, Package};

use super::{
    InstallError, Part, SecretRef, Template, Values, argument_key, env_name_for, resolve_input,
};

/// One resolved argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Arg {
    /// A bare flag (`--rm`), or a manifest's whole `--flag value` in one string.
    Flag(String),
    /// `--flag value` (two words); `name` may be empty, then only the value is passed.
    Named {
        name: String,
        value: Template,
    },
    Positional(Template),
    /// A boolean flag the manifest turns off: not passed, and not added as a runtime default.
    Off(String),
}

impl Arg {
    /// The argument's first word, when it is literal text (a flag's name, a positional's value).
    fn head(&self) -> Option<&str> {
        let text = match self {
            Self::Flag(flag) | Self::Off(flag) => flag.as_str(),
            Self::Named { name, .. } => name.as_str(),
            Self::Positional(value) => match value.0.as_slice() {
                [Part::Text(text)] => text.as_str(),
                _ => return None,
            },
        };
        text.split_whitespace().next()
    }

    /// A positional argument's literal value.
    fn positional_text(&self) -> Option<&str> {
        match self {
            Self::Positional(value) => match value.0.as_slice() {
                [Part::Text(text)] => Some(text.trim()),
                _ => None,
            },
            Self::Flag(_) | Self::Named { .. } | Self::Off(_) => None,
        }
    }
}

/// Resolves `args` in order; `position` counts arguments across runtime and package arguments (it
/// names inputs without a name or hint).
pub(super) fn resolve_all(
    args: &[Argument],
    values: &Values,
    position: &mut usize,
) -> Result<Vec<Arg>, InstallError> {
    let mut out = Vec::new();
    for arg in args {
        let key = argument_key(arg, *position);
        *position += 1;
        let name = arg.name.clone().unwrap_or_default();
        if arg.r#type == ArgumentType::Named
            && is_boolean(arg)
            && let Some(on) = boolean_value(arg, &key, values)
        {
            if !name.is_empty() {
                out.push(if on { Arg::Flag(name) } else { Arg::Off(name) });
            }
            continue;
        }
        let env_name = env_name_for(&key);
        let resolved = resolve_input(&key, &env_name, &arg.input, values)?;
        match arg.r#type {
            ArgumentType::Positional => out.extend(resolved.map(Arg::Positional)),
            ArgumentType::Named => {
                let Some(value) = resolved else { continue };
                let plain = value.as_plain();
                if plain.as_deref() == Some(name.as_str()) || plain.as_deref() == Some("") {
                    // A bare flag, or a manifest that put the whole `--flag value` in both places.
                    out.push(Arg::Flag(name));
                } else {
                    out.push(Arg::Named { name, value });
                }
            }
        }
    }
    Ok(out)
}

fn is_boolean(arg: &Argument) -> bool {
    arg.input
        .format
        .as_deref()
        .is_some_and(|format| format.eq_ignore_ascii_case("boolean"))
}

/// Whether a boolean flag is on: the caller's value, else the manifest's value or default; a
/// required flag nobody set is on, an optional one off. `None` when the value is not a boolean
/// word (then it is passed as written).
fn boolean_value(arg: &Argument, key: &str, values: &Values) -> Option<bool> {
    let input = &arg.input;
    let text = values
        .get(key)
        .or(input.value.as_ref())
        .or(input.default.as_ref());
    match text {
        Some(text) => truth(text),
        None => Some(input.is_required()),
    }
}

fn truth(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// The arguments as command-line words.
pub(super) fn flatten(args: Vec<Arg>) -> Vec<Template> {
    let mut out = Vec::new();
    for arg in args {
        match arg {
            Arg::Flag(flag) => out.push(Template::text(flag)),
            Arg::Named { name, value } => {
                if !name.is_empty() {
                    out.push(Template::text(name));
                }
                out.push(value);
            }
            Arg::Positional(value) => out.push(value),
            Arg::Off(_) => {}
        }
    }
    out
}

/// Whether some argument is one of `flags` (also as `--flag=value`).
fn has_flag(args: &[Arg], flags: &[&str]) -> bool {
    args.iter().filter_map(Arg::head).any(|head| {
        let name = head.split_once('=').map_or(head, |(name, _)| name);
        flags.contains(&name)
    })
}

/// Removes positional arguments that name the package itself.
fn drop_package(args: &mut Vec<Arg>, is_package: impl Fn(&str) -> bool) {
    args.retain(|arg| !arg.positional_text().is_some_and(&is_package));
}

/// `npx -y [runtime] ID@VERSION [package args]`.
pub(super) fn npx(
    id: &str,
    pinned: &str,
    mut runtime: Vec<Arg>,
    mut package: Vec<Arg>,
) -> Vec<Template> {
    let is_package =
        |text: &str| text == id || text.strip_prefix(id).is_some_and(|v| v.starts_with('@'));
    drop_package(&mut runtime, is_package);
    drop_package(&mut package, is_package);
    let mut out = Vec::new();
    if !has_flag(&runtime, &["-y", "--yes"]) {
        out.push(Template::text("-y"));
    }
    out.extend(flatten(runtime));
    out.push(Template::text(pinned));
    out.extend(flatten(package));
    out
}

/// `uvx [runtime] ID==VERSION [package args]`.
pub(super) fn uvx(
    id: &str,
    pinned: &str,
    mut runtime: Vec<Arg>,
    mut package: Vec<Arg>,
) -> Vec<Template> {
    // PyPI names compare case-insensitively with `-`, `_` and `.` alike.
    let norm = |text: &str| text.to_ascii_lowercase().replace(['_', '.'], "-");
    let own = norm(id);
    let is_package = |text: &str| {
        let name = text.split_once("==").map_or(text, |(name, _)| name);
        norm(name) == own
    };
    drop_package(&mut runtime, is_package);
    drop_package(&mut package, is_package);
    let mut out = flatten(runtime);
    out.push(Template::text(pinned));
    out.extend(flatten(package));
    out
}

/// `dnx [runtime] ID@VERSION --yes [-- package args]`.
pub(super) fn dnx(
    id: &str,
    pinned: &str,
    mut runtime: Vec<Arg>,
    mut package: Vec<Arg>,
) -> Vec<Template> {
    let is_package = |text: &str| {
        let name = text.split_once('@').map_or(text, |(name, _)| name);
        name.eq_ignore_ascii_case(id)
    };
    drop_package(&mut runtime, is_package);
    drop_package(&mut package, is_package);
    let yes = has_flag(&runtime, &["--yes", "-y"]);
    let mut out = flatten(runtime);
    out.push(Template::text(pinned));
    if !yes {
        out.push(Template::text("--yes"));
    }
    if !package.is_empty() {
        out.push(Template::text("--"));
        out.extend(flatten(package));
    }
    out
}

const INTERACTIVE: &[&str] = &["-i", "--interactive", "-it", "-ti"];
const REMOVE: &[&str] = &["--rm"];
const ENV: &[&str] = &["-e", "--env"];

/// `docker run -i --rm [options] [-e NAME …] IMAGE [container args]`.
///
/// When the manifest names the image as a positional argument (in its runtime arguments, or in its
/// package arguments with docker's options before it), everything before it is docker's options
/// and everything after it the container's arguments; the image is given once, pinned. Docker's
/// `run`, `-i` and `--rm` are added only when the options lack them. `-e NAME=…{secret}` options
/// move the value into the entry's environment (`-e NAME` forwards it), so no secret sits in the
/// command line; every other environment variable is forwarded with `-e NAME` unless an option
/// already passes it.
pub(super) fn docker(
    package: &Package,
    pinned: Result<String, InstallError>,
    runtime: Vec<Arg>,
    package_args: Vec<Arg>,
    env: &mut Vec<(String, Template)>,
) -> Result<Vec<Template>, InstallError> {
    let id = package.identifier.as_str();
    let (mut options, given, after) = match split_at_image(runtime, id) {
        Ok((before, image, rest)) => {
            let mut after = rest;
            after.extend(package_args);
            (before, Some(image), after)
        }
        Err(runtime) => match split_at_image(package_args, id) {
            Ok((before, image, rest)) => {
                let mut options = runtime;
                options.extend(before);
                (options, Some(image), rest)
            }
            Err(package_args) => (runtime, None, package_args),
        },
    };
    drop_subcommand(&mut options);
    let image = match (pinned, given) {
        (Ok(image), _) => image,
        (Err(_), Some(given)) if is_pinned(&given) => given,
        (Err(err), _) => return Err(err),
    };

    let mut out = vec![Template::text("run")];
    if !has_flag(&options, INTERACTIVE) {
        out.push(Template::text("-i"));
    }
    if !has_flag(&options, REMOVE) {
        out.push(Template::text("--rm"));
    }
    let mut forwarded = BTreeSet::new();
    for option in options {
        out.extend(env_option(option, env, &mut forwarded));
    }
    for (name, _) in env.iter() {
        if forwarded.insert(name.clone()) {
            out.push(Template::text("-e"));
            out.push(Template::text(name.clone()));
        }
    }
    out.push(Template::text(image));
    out.extend(flatten(after));
    Ok(out)
}

/// Splits at the first positional argument naming the package's image: `(before, image, after)`.
fn split_at_image(mut args: Vec<Arg>, id: &str) -> Result<(Vec<Arg>, String, Vec<Arg>), Vec<Arg>> {
    let Some(index) = args.iter().position(|arg| {
        arg.positional_text()
            .is_some_and(|text| same_image(text, id))
    }) else {
        return Err(args);
    };
    let after = args.split_off(index + 1);
    let image = args
        .pop()
        .and_then(|arg| arg.positional_text().map(str::to_owned))
        .unwrap_or_default();
    Ok((args, image, after))
}

/// Drops docker's own subcommand (`run`, `container run`) when the manifest spells it before the
/// image.
fn drop_subcommand(options: &mut Vec<Arg>) {
    let Some(first) = options
        .iter()
        .position(|arg| arg.positional_text().is_some())
    else {
        return;
    };
    match options[first].positional_text() {
        Some("run") => {
            options.remove(first);
        }
        Some("container")
            if options
                .get(first + 1)
                .and_then(Arg::positional_text)
                .is_some_and(|next| next == "run") =>
        {
            options.drain(first..=first + 1);
        }
        _ => {}
    }
}

/// One docker option; an `-e NAME=…` whose value holds a secret becomes `-e NAME` plus an entry in
/// `env`. Records every variable name the options pass.
fn env_option(
    option: Arg,
    env: &mut Vec<(String, Template)>,
    forwarded: &mut BTreeSet<String>,
) -> Vec<Template> {
    match option {
        Arg::Named { name, value } if ENV.contains(&name.as_str()) => {
            let Some((var, rest)) = split_assignment(&value) else {
                if let Some(var) = value.as_plain() {
                    forwarded.insert(var.trim().to_owned());
                }
                return flatten(vec![Arg::Named { name, value }]);
            };
            forwarded.insert(var.clone());
            if rest.secrets().next().is_none() {
                return flatten(vec![Arg::Named { name, value }]);
            }
            env.retain(|(existing, _)| *existing != var);
            env.push((var.clone(), rename_single_secret(rest, &var)));
            vec![Template::text(name), Template::text(var)]
        }
        Arg::Flag(flag) => {
            // `-e NAME` or `-e NAME=value` spelled as one string.
            let mut words = flag.split_whitespace();
            if let (Some(head), Some(assignment)) = (words.next(), words.next())
                && ENV.contains(&head)
            {
                let var = assignment
                    .split_once('=')
                    .map_or(assignment, |(var, _)| var);
                forwarded.insert(var.to_owned());
            }
            vec![Template::text(flag)]
        }
        other => flatten(vec![other]),
    }
}

/// `NAME=rest` → `(NAME, rest)` when the value starts with a literal variable name and `=`.
fn split_assignment(value: &Template) -> Option<(String, Template)> {
    let Some(Part::Text(first)) = value.0.first() else {
        return None;
    };
    let (var, tail) = first.split_once('=')?;
    let valid = !var.is_empty()
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !var.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return None;
    }
    let mut rest = Template::default();
    if !tail.is_empty() {
        rest.0.push(Part::Text(tail.to_owned()));
    }
    rest.0.extend(value.0.iter().skip(1).cloned());
    Some((var.to_owned(), rest))
}

/// A value that is exactly one secret is read from the variable it is passed as.
fn rename_single_secret(value: Template, var: &str) -> Template {
    match value.0.as_slice() {
        [Part::Secret(secret)] => Template(vec![Part::Secret(SecretRef {
            env_name: var.to_owned(),
            ..secret.clone()
        })]),
        _ => value,
    }
}

/// Whether two image references name the same repository (tags and digests aside; Docker Hub's
/// `docker.io/` and `library/` prefixes are implied).
pub fn same_image(a: &str, b: &str) -> bool {
    let (a, b) = (repository(a), repository(b));
    !a.is_empty() && a == b
}

fn repository(reference: &str) -> String {
    let reference = reference.trim().to_ascii_lowercase();
    let without_digest = reference
        .split_once('@')
        .filter(|(name, _)| !name.is_empty())
        .map_or(reference.as_str(), |(name, _)| name);
    let (path, last) = without_digest
        .rsplit_once('/')
        .map_or(("", without_digest), |(path, last)| (path, last));
    let last = last.split_once(':').map_or(last, |(name, _)| name);
    let full = if path.is_empty() {
        last.to_owned()
    } else {
        format!("{path}/{last}")
    };
    let full = full
        .strip_prefix("index.docker.io/")
        .or_else(|| full.strip_prefix("docker.io/"))
        .unwrap_or(&full)
        .to_owned();
    full.strip_prefix("library/").unwrap_or(&full).to_owned()
}

/// Whether an image reference carries a tag or digest.
pub fn is_pinned(reference: &str) -> bool {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    (reference.contains('@') && !reference.starts_with('@')) || last.contains(':')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use registry_schema::ServerJson;
    use serde_json::{Value, json};

    use super::super::{Choice, LaunchSpec, Platform, resolve};
    use super::*;

    fn command_line(package: &Value, values: &Values) -> (String, Vec<String>, Vec<String>) {
        let server: ServerJson = serde_json::from_value(json!({
            "name": "io.github.acme/weather", "description": "d", "version": "1.2.3",
            "packages": [package]
        }))
        .unwrap();
        let resolved = resolve(&server, Choice::Package(0), values, Platform::Linux).unwrap();
        let LaunchSpec::Stdio { command, args, env } = resolved.spec else {
            panic!("not stdio")
        };
        let word = |t: &Template| {
            t.0.iter()
                .map(|part| match part {
                    Part::Text(text) => text.clone(),
                    Part::Secret(secret) => format!("${{{}}}", secret.env_name),
                })
                .collect::<String>()
        };
        let env = env
            .iter()
            .map(|(name, value)| format!("{name}={}", word(value)))
            .collect();
        (command, args.iter().map(word).collect(), env)
    }

    #[test]
    fn docker_command_spelled_out_in_runtime_arguments_is_not_repeated() {
        // GitHub's own manifest: `run`, boolean `-i`/`--rm`, `-e VAR={secret}`, untagged image.
        let package = json!({
            "registryType": "oci", "identifier": "ghcr.io/github/github-mcp-server:0.20.1",
            "transport": {"type": "stdio"},
            "runtimeArguments": [
                {"type": "positional", "value": "run", "isRequired": true},
                {"type": "named", "name": "-i", "value": "true", "format": "boolean", "isRequired": true},
                {"type": "named", "name": "--rm", "value": "true", "format": "boolean"},
                {"type": "named", "name": "-e", "value": "GITHUB_PERSONAL_ACCESS_TOKEN={token}", "isRequired": true,
                 "variables": {"token": {"isRequired": true, "isSecret": true}}},
                {"type": "positional", "valueHint": "image_name", "value": "ghcr.io/github/github-mcp-server", "isRequired": true}
            ]
        });
        let (command, args, env) = command_line(&package, &Values::new());
        assert_eq!(command, "docker");
        assert_eq!(
            args,
            [
                "run",
                "-i",
                "--rm",
                "-e",
                "GITHUB_PERSONAL_ACCESS_TOKEN",
                "ghcr.io/github/github-mcp-server:0.20.1"
            ]
        );
        assert_eq!(
            env,
            ["GITHUB_PERSONAL_ACCESS_TOKEN=${GITHUB_PERSONAL_ACCESS_TOKEN}"]
        );
    }

    #[test]
    fn boolean_flags_are_bare_or_absent() {
        let package = json!({
            "registryType": "oci", "identifier": "acme/w", "version": "2.0.0",
            "transport": {"type": "stdio"},
            "runtimeArguments": [
                {"type": "named", "name": "--rm", "value": "false", "format": "boolean"},
                {"type": "named", "name": "--init", "default": "true", "format": "boolean"},
                {"type": "named", "name": "--privileged", "format": "boolean"},
                {"type": "named", "name": "-e", "value": "MODE=fast"}
            ],
            "packageArguments": [
                {"type": "named", "name": "--verbose", "format": "boolean", "isRequired": true},
                {"type": "named", "name": "--color", "value": "false", "format": "boolean"}
            ],
            "environmentVariables": [{"name": "MODE", "value": "slow"}, {"name": "KEY", "value": "k"}]
        });
        let (_, args, _) = command_line(&package, &Values::new());
        // `--rm` is turned off by the manifest, so no default `--rm` either; `MODE` is passed by
        // the manifest's own `-e`, only `KEY` is forwarded.
        assert_eq!(
            args,
            [
                "run",
                "-i",
                "--init",
                "-e",
                "MODE=fast",
                "-e",
                "KEY",
                "acme/w:2.0.0",
                "--verbose"
            ]
        );
        let values = Values::from([("verbose".to_owned(), "false".to_owned())]);
        let (_, args, _) = command_line(&package, &values);
        assert!(!args.contains(&"--verbose".to_owned()), "{args:?}");
        assert!(
            !args.iter().any(|a| a == "true" || a == "false"),
            "{args:?}"
        );
    }

    #[test]
    fn image_in_package_arguments_splits_options_from_container_arguments() {
        let package = json!({
            "registryType": "oci", "identifier": "docker.io/acme/w:1.0.0",
            "transport": {"type": "stdio"},
            "packageArguments": [
                {"type": "positional", "value": "run"},
                {"type": "positional", "value": "-i"},
                {"type": "named", "name": "-v", "value": "/data:/data"},
                {"type": "positional", "value": "acme/w:latest"},
                {"type": "positional", "value": "--serve"}
            ]
        });
        let (_, args, _) = command_line(&package, &Values::new());
        assert_eq!(
            args,
            [
                "run",
                "--rm",
                "-i",
                "-v",
                "/data:/data",
                "docker.io/acme/w:1.0.0",
                "--serve"
            ]
        );
        // Without a tag or version anywhere but the positional's, that one pins it.
        let package = json!({
            "registryType": "oci", "identifier": "acme/w", "transport": {"type": "stdio"},
            "runtimeArguments": [{"type": "positional", "value": "acme/w@sha256:abc"}]
        });
        let (_, args, _) = command_line(&package, &Values::new());
        assert_eq!(args, ["run", "-i", "--rm", "acme/w@sha256:abc"]);
    }

    #[test]
    fn package_runners_name_the_package_once() {
        let npm = json!({
            "registryType": "npm", "identifier": "@acme/w", "version": "1.0.0",
            "transport": {"type": "stdio"},
            "runtimeArguments": [{"type": "named", "name": "--yes", "format": "boolean", "value": "true"}],
            "packageArguments": [{"type": "positional", "value": "@acme/w"}, {"type": "positional", "value": "serve"}]
        });
        assert_eq!(
            command_line(&npm, &Values::new()).1,
            ["--yes", "@acme/w@1.0.0", "serve"]
        );
        let pypi = json!({
            "registryType": "pypi", "identifier": "mcp_clickhouse", "version": "0.1.7",
            "transport": {"type": "stdio"},
            "packageArguments": [{"type": "named", "name": "--python 3.13", "value": "--python 3.13"},
                                 {"type": "positional", "value": "mcp-clickhouse"}]
        });
        assert_eq!(
            command_line(&pypi, &Values::new()).1,
            ["mcp_clickhouse==0.1.7", "--python 3.13"]
        );
        let nuget = json!({
            "registryType": "nuget", "identifier": "Acme.W", "version": "3.0.0",
            "transport": {"type": "stdio"},
            "runtimeArguments": [{"type": "named", "name": "--yes", "format": "boolean", "value": "true"}]
        });
        assert_eq!(
            command_line(&nuget, &Values::new()).1,
            ["--yes", "Acme.W@3.0.0"]
        );
    }

    #[test]
    fn images_compare_by_repository() {
        assert!(same_image(
            "ghcr.io/github/github-mcp-server",
            "ghcr.io/github/github-mcp-server:0.20.1"
        ));
        assert!(same_image("acme/w@sha256:abc", "docker.io/acme/w:1"));
        assert!(same_image("docker.io/library/redis", "redis:7"));
        assert!(!same_image("ghcr.io/acme/w", "acme/w"));
        assert!(!same_image("", ""));
        assert!(is_pinned("acme/w:1") && is_pinned("acme/w@sha256:1"));
        assert!(!is_pinned("localhost:5000/acme/w") && !is_pinned("@scope/x"));
    }

    #[test]
    fn booleans_are_words() {
        assert_eq!(truth(" True "), Some(true));
        assert_eq!(truth("false"), Some(false));
        assert_eq!(truth("--rm"), None);
    }
}
