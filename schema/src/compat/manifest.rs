//! Runtime-relevant parts of `server.json` (§3.7 `manifest-runtime-changed`): what a client needs to
//! start or reach the server. A change there breaks existing installs as surely as a removed tool.
//!
//! Packages are matched by `registryType` (then by position among packages of that type), remotes by
//! transport type (then position). Descriptions, titles, icons and the like are not runtime facts
//! and are not compared here.

use serde_json::Value;

use super::{Bump, Direction, Finding, Flag, Sink, SurfaceKind};
use crate::manifest::{Argument, KeyValueInput, Package, ServerJson, Transport};

const ID: &str = "manifest-runtime-changed";

pub(super) fn compare(old: &ServerJson, new: &ServerJson, sink: &mut Sink) {
    let old_packages = old.packages();
    let new_packages = new.packages();
    for (index, package) in old_packages.iter().enumerate() {
        let pointer = format!("/packages/{index}");
        match counterpart(old_packages, new_packages, index, |p| &p.registry_type) {
            Some((new_index, other)) => {
                packages(package, other, &format!("/packages/{new_index}"), sink);
            }
            None => emit(
                sink,
                Bump::Major,
                &package.identifier,
                &pointer,
                Some(Value::String(package.identifier.clone())),
                None,
                format!(
                    "{} package `{}` removed; installs of it stop working",
                    package.registry_type, package.identifier
                ),
            ),
        }
    }
    for (index, package) in new_packages.iter().enumerate() {
        if counterpart(new_packages, old_packages, index, |p| &p.registry_type).is_none() {
            emit(
                sink,
                Bump::Minor,
                &package.identifier,
                &format!("/packages/{index}"),
                None,
                Some(Value::String(package.identifier.clone())),
                format!(
                    "{} package `{}` added",
                    package.registry_type, package.identifier
                ),
            );
        }
    }
    let old_remotes = old.remotes();
    let new_remotes = new.remotes();
    for (index, remote) in old_remotes.iter().enumerate() {
        let name = remote.url.clone().unwrap_or_default();
        match counterpart(old_remotes, new_remotes, index, |r| r.r#type.as_str()) {
            Some((new_index, other)) => {
                transport(other, remote, &name, &format!("/remotes/{new_index}"), sink);
            }
            None => emit(
                sink,
                Bump::Major,
                &name,
                &format!("/remotes/{index}"),
                Some(Value::String(name.clone())),
                None,
                format!("{} remote `{name}` removed", remote.r#type.as_str()),
            ),
        }
    }
    for (index, remote) in new_remotes.iter().enumerate() {
        if counterpart(new_remotes, old_remotes, index, |r| r.r#type.as_str()).is_none() {
            let name = remote.url.clone().unwrap_or_default();
            emit(
                sink,
                Bump::Minor,
                &name,
                &format!("/remotes/{index}"),
                None,
                Some(Value::String(name.clone())),
                format!("{} remote `{name}` added", remote.r#type.as_str()),
            );
        }
    }
}

/// The item of `others` matching `items[index]`: the n-th item with the same key, where n is the
/// rank of `items[index]` among its own key.
fn counterpart<'a, T>(
    items: &[T],
    others: &'a [T],
    index: usize,
    key: impl Fn(&T) -> &str,
) -> Option<(usize, &'a T)> {
    let wanted = key(&items[index]);
    let rank = items[..index]
        .iter()
        .filter(|item| key(item) == wanted)
        .count();
    others
        .iter()
        .enumerate()
        .filter(|(_, other)| key(other) == wanted)
        .nth(rank)
}

fn emit(
    sink: &mut Sink,
    level: Bump,
    name: &str,
    pointer: &str,
    old: Option<Value>,
    new: Option<Value>,
    message: String,
) {
    let flags: &[Flag] = if level == Bump::Major {
        &[]
    } else {
        &[Flag::BehaviourChange]
    };
    sink.push(Finding::new(
        ID,
        level,
        Direction::None,
        flags,
        SurfaceKind::Manifest,
        name,
        pointer,
        old,
        new,
        message,
    ));
}

fn packages(old: &Package, new: &Package, pointer: &str, sink: &mut Sink) {
    let name = new.identifier.as_str();
    if old.identifier != new.identifier {
        emit(
            sink,
            Bump::Major,
            name,
            &format!("{pointer}/identifier"),
            Some(Value::String(old.identifier.clone())),
            Some(Value::String(new.identifier.clone())),
            format!(
                "package identifier changed from `{}` to `{}`",
                old.identifier, new.identifier
            ),
        );
    }
    transport(
        &old.transport,
        &new.transport,
        name,
        &format!("{pointer}/transport"),
        sink,
    );
    inputs(
        old.environment_variables(),
        new.environment_variables(),
        name,
        &format!("{pointer}/environmentVariables"),
        "environment variable",
        sink,
    );
    arguments(
        old.runtime_arguments(),
        new.runtime_arguments(),
        name,
        &format!("{pointer}/runtimeArguments"),
        sink,
    );
    arguments(
        old.package_arguments(),
        new.package_arguments(),
        name,
        &format!("{pointer}/packageArguments"),
        sink,
    );
}

/// Compares two transports; note the argument order: `old`, then `new`.
fn transport(old: &Transport, new: &Transport, name: &str, pointer: &str, sink: &mut Sink) {
    if old.r#type != new.r#type {
        emit(
            sink,
            Bump::Major,
            name,
            &format!("{pointer}/type"),
            Some(Value::String(old.r#type.as_str().to_owned())),
            Some(Value::String(new.r#type.as_str().to_owned())),
            format!(
                "transport changed from {} to {}",
                old.r#type.as_str(),
                new.r#type.as_str()
            ),
        );
    }
    if old.url != new.url {
        emit(
            sink,
            Bump::Major,
            name,
            &format!("{pointer}/url"),
            old.url.clone().map(Value::String),
            new.url.clone().map(Value::String),
            "URL changed; configured clients reach the old address".to_owned(),
        );
    }
    inputs(
        old.headers.as_deref().unwrap_or_default(),
        new.headers.as_deref().unwrap_or_default(),
        name,
        &format!("{pointer}/headers"),
        "header",
        sink,
    );
}

/// A value the user must supply: required, with neither a fixed value nor a default.
fn must_supply(input: &crate::manifest::Input) -> bool {
    input.is_required() && input.value.is_none() && input.default.is_none()
}

fn inputs(
    old: &[KeyValueInput],
    new: &[KeyValueInput],
    name: &str,
    pointer: &str,
    noun: &str,
    sink: &mut Sink,
) {
    for (index, input) in new.iter().enumerate() {
        let before = old.iter().find(|o| o.name == input.name);
        let was_needed = before.is_some_and(|o| must_supply(&o.input));
        let at = format!("{pointer}/{index}");
        if must_supply(&input.input) && !was_needed {
            emit(
                sink,
                Bump::Major,
                name,
                &at,
                before.map(|_| Value::String(input.name.clone())),
                Some(Value::String(input.name.clone())),
                format!(
                    "{noun} `{}` is now required; existing configurations lack it",
                    input.name
                ),
            );
        } else if before.is_none() {
            emit(
                sink,
                Bump::Minor,
                name,
                &at,
                None,
                Some(Value::String(input.name.clone())),
                format!("optional {noun} `{}` added", input.name),
            );
        }
    }
}

/// How an argument is recognised across versions: its flag name, else its value hint, else its
/// position.
fn argument_key(argument: &Argument, index: usize) -> String {
    argument
        .name
        .clone()
        .or_else(|| argument.value_hint.clone())
        .unwrap_or_else(|| format!("#{index}"))
}

fn arguments(old: &[Argument], new: &[Argument], name: &str, pointer: &str, sink: &mut Sink) {
    let old_keys: Vec<String> = old
        .iter()
        .enumerate()
        .map(|(i, a)| argument_key(a, i))
        .collect();
    for (index, argument) in new.iter().enumerate() {
        let key = argument_key(argument, index);
        let before = old_keys
            .iter()
            .position(|k| *k == key)
            .map(|position| &old[position]);
        let was_needed = before.is_some_and(|o| must_supply(&o.input));
        let at = format!("{pointer}/{index}");
        if must_supply(&argument.input) && !was_needed {
            emit(
                sink,
                Bump::Major,
                name,
                &at,
                None,
                Some(Value::String(key.clone())),
                format!("argument `{key}` is now required; existing configurations lack it"),
            );
        } else if before.is_none() {
            emit(
                sink,
                Bump::Minor,
                name,
                &at,
                None,
                Some(Value::String(key.clone())),
                format!("optional argument `{key}` added"),
            );
        }
    }
}
