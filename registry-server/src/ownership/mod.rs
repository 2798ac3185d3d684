//! Package ownership verification at publish (the official registry's §5 checks): a package listed in
//! a server.json must say, in its own registry, that it belongs to that server name.
//!
//! | Type | Marker | Where it may come from |
//! |---|---|---|
//! | npm | `"mcpName": "<name>"` in the package.json of the published version | `--npm-registry-url` |
//! | pypi | `mcp-name: <name>` in the version's description (the README) | `--pypi-url` |
//! | nuget | `mcp-name: <name>` in the README (service index → `ReadmeUriTemplate/6.13.0`) | `--nuget-url` |
//! | cargo | `mcp-name: <name>` as visible text of the README crates.io renders | `--crates-url` |
//! | oci | image config label `io.modelcontextprotocol.server.name` = `<name>` (anonymous pull) | the image's registry, if allowed: docker.io, ghcr.io, `*.pkg.dev`, `*.azurecr.io`, mcr.microsoft.com, quay.io, plus `--oci-allowed-registries` |
//! | mcpb | none (as the official registry): the download's SHA-256 must equal `fileSha256` | https release assets on github.com or gitlab.com, any path on `--mcpb-allowed-hosts`; the URL contains `mcp` |
//!
//! Each registry type is checked only when enabled with `--verify-packages`. The default is none: the
//! embedded default serves private or offline setups whose packages may live anywhere. A registry open
//! to the public should enable every type (`--verify-packages npm,pypi,nuget,cargo,oci,mcpb`).
//! `--strict-validation` does not imply it: verification needs egress to the package registries, which
//! is a deployment decision of its own.
//!
//! OCI registries and MCPB hosts are named by the publisher, so they are allow-listed (checked before
//! any request) and guarded: their names must resolve to public addresses (no loopback, private or
//! link-local), redirects included. A mirror (`--oci-registry-url`, `--mcpb-mirror-url`) is the
//! operator's choice and lifts the guard; the allow-list still applies to the reference.
//!
//! A missing or wrong marker, or a package or version the registry does not have, is the publisher's
//! to fix: 422 with one `errors[]` entry per package, pointing at `/packages/{i}/identifier` (or at
//! `/packages/{i}/fileSha256` for a missing, ill-formed or wrong MCPB digest). A package registry that
//! cannot be reached, times out or answers 429/5xx says nothing about the package: that is **503**
//! with `Retry-After`, naming the registry, so clients retry instead of editing the manifest. (OCI
//! follows the official registry: on a 429 the check is skipped.)

mod cargo;
mod client;
mod config;
mod mcpb;
mod npm;
mod nuget;
mod oci;
mod pypi;

use std::fmt;

use axum::response::{IntoResponse, Response};
use registry_schema::ServerJson;
use registry_schema::manifest::Package;

pub use self::client::{Clients, MAX_RESPONSE_BYTES, REQUEST_TIMEOUT, clients};
pub use self::config::{
    DEFAULT_MCPB_HOSTS, DEFAULT_MCPB_MAX_BYTES, DEFAULT_OCI_REGISTRIES, HostPattern, OwnershipArgs,
    OwnershipConfig,
};
pub use self::mcpb::{MCPB_DOWNLOAD_TIMEOUT, MCPB_MAX_REDIRECTS};
pub use self::oci::OCI_LABEL;
use crate::error::{ApiError, ErrorItem};

/// `Retry-After` seconds on a 503 caused by an unreachable package registry.
const RETRY_AFTER_SECS: u64 = 30;

/// A package registry type that can be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum RegistryKind {
    Npm,
    Pypi,
    Nuget,
    Cargo,
    Oci,
    Mcpb,
}

impl RegistryKind {
    fn of(registry_type: &str) -> Option<Self> {
        match registry_type {
            "npm" => Some(Self::Npm),
            "pypi" => Some(Self::Pypi),
            "nuget" => Some(Self::Nuget),
            "cargo" => Some(Self::Cargo),
            "oci" => Some(Self::Oci),
            "mcpb" => Some(Self::Mcpb),
            _ => None,
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Npm => "npm",
            Self::Pypi => "PyPI",
            Self::Nuget => "NuGet",
            Self::Cargo => "crates.io",
            Self::Oci => "OCI",
            Self::Mcpb => "MCPB",
        }
    }
}

/// Why one package failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipProblem {
    /// Index into `packages[]`.
    pub index: usize,
    pub kind: ProblemKind,
    /// The package field the problem points at.
    pub field: PackageField,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The publisher must fix the package (or the manifest): 422.
    NotOwned,
    /// The package registry could not answer: 503.
    Upstream,
}

/// The field of a package a problem points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageField {
    Identifier,
    FileSha256,
}

impl PackageField {
    fn key(self) -> &'static str {
        match self {
            Self::Identifier => "identifier",
            Self::FileSha256 => "fileSha256",
        }
    }
}

/// Publish-time entry point: `Ok` when every enabled package is verified, else the refusal to return.
pub async fn check_publish(
    server: &ServerJson,
    config: &OwnershipConfig,
    pointer_prefix: &str,
) -> Result<(), OwnershipRefusal> {
    let wanted = server
        .packages()
        .iter()
        .any(|p| RegistryKind::of(&p.registry_type).is_some_and(|k| config.is_enabled(k)));
    if !wanted {
        return Ok(());
    }
    let clients = clients().map_err(|err| OwnershipRefusal {
        problems: vec![OwnershipProblem {
            index: 0,
            kind: ProblemKind::Upstream,
            field: PackageField::Identifier,
            message: format!("package registries cannot be contacted: {err}"),
        }],
        pointer_prefix: pointer_prefix.to_owned(),
    })?;
    verify_packages(server, config, clients)
        .await
        .map_err(|problems| OwnershipRefusal {
            problems,
            pointer_prefix: pointer_prefix.to_owned(),
        })
}

/// Checks every package of the manifest whose registry type is enabled.
pub async fn verify_packages(
    server: &ServerJson,
    config: &OwnershipConfig,
    clients: &Clients,
) -> Result<(), Vec<OwnershipProblem>> {
    let name = server.name.as_str();
    let mut problems = Vec::new();
    for (index, package) in server.packages().iter().enumerate() {
        let Some(kind) = RegistryKind::of(&package.registry_type) else {
            continue;
        };
        if !config.is_enabled(kind) {
            continue;
        }
        let http = client::Http::open(clients);
        let outcome = match kind {
            RegistryKind::Npm => npm::check(&http, config, package, name).await,
            RegistryKind::Pypi => pypi::check(&http, config, package, name).await,
            RegistryKind::Nuget => nuget::check(&http, config, package, name).await,
            RegistryKind::Cargo => cargo::check(&http, config, package, name).await,
            RegistryKind::Oci => oci::check(clients, config, package, name).await,
            RegistryKind::Mcpb => mcpb::check(clients, config, package).await,
        };
        if let Err(failure) = outcome {
            let (kind, field, message) = match failure {
                Failure::NotOwned(message) => {
                    (ProblemKind::NotOwned, PackageField::Identifier, message)
                }
                Failure::Digest(message) => {
                    (ProblemKind::NotOwned, PackageField::FileSha256, message)
                }
                Failure::Upstream(message) => {
                    (ProblemKind::Upstream, PackageField::Identifier, message)
                }
            };
            tracing::info!(package.index = index, package.registry = %package.registry_type, package.identifier = %package.identifier, problem = %message, "package ownership not verified");
            problems.push(OwnershipProblem {
                index,
                kind,
                field,
                message,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The response to a publish whose packages failed verification: 503 when a registry could not
/// answer, else 422.
#[derive(Debug)]
pub struct OwnershipRefusal {
    pub problems: Vec<OwnershipProblem>,
    pub pointer_prefix: String,
}

impl OwnershipRefusal {
    fn items(&self) -> Vec<ErrorItem> {
        self.problems
            .iter()
            .map(|problem| {
                ErrorItem::at_pointer(
                    format!(
                        "{}/packages/{}/{}",
                        self.pointer_prefix,
                        problem.index,
                        problem.field.key()
                    ),
                    problem.message.clone(),
                )
            })
            .collect()
    }
}

impl From<OwnershipRefusal> for ApiError {
    fn from(refusal: OwnershipRefusal) -> Self {
        let upstream: Vec<&str> = refusal
            .problems
            .iter()
            .filter(|p| p.kind == ProblemKind::Upstream)
            .map(|p| p.message.as_str())
            .collect();
        if upstream.is_empty() {
            let detail = match refusal.problems.len() {
                1 => "package ownership not verified: 1 package".to_owned(),
                n => format!("package ownership not verified: {n} packages"),
            };
            return Self::Unprocessable {
                detail,
                errors: refusal.items(),
            };
        }
        Self::UpstreamUnavailable {
            detail: format!(
                "package ownership could not be verified because a package registry did not answer; try again shortly ({})",
                upstream.join("; ")
            ),
            errors: refusal.items(),
            retry_after: RETRY_AFTER_SECS,
        }
    }
}

impl IntoResponse for OwnershipRefusal {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

/// How one package check failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// The publisher's to fix, at `identifier`: 422.
    NotOwned(String),
    /// The publisher's to fix, at `fileSha256`: 422.
    Digest(String),
    /// The registry or host could not answer: 503.
    Upstream(String),
}

pub(super) type Check = Result<(), Failure>;

pub(super) fn version_of(kind: RegistryKind, package: &Package) -> Result<&str, Failure> {
    package.version.as_deref().ok_or_else(|| {
        Failure::NotOwned(format!(
            "{} package `{}` has no `version`; ownership is checked on a published version",
            kind.label(),
            package.identifier
        ))
    })
}

/// A package name must be plain: no empty, `.` or `..` segments, no characters a registry's URL
/// would read differently.
pub(super) fn plain_name(
    kind: RegistryKind,
    identifier: &str,
    allow_scope: bool,
) -> Result<(), Failure> {
    let segments: Vec<&str> = identifier.split('/').collect();
    let ok = match segments.as_slice() {
        [one] => plain_segment(one),
        [scope, one] if allow_scope => {
            scope.strip_prefix('@').is_some_and(plain_segment) && plain_segment(one)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Failure::NotOwned(format!(
            "`{identifier}` is not a valid {} package name",
            kind.label()
        )))
    }
}

pub(super) fn plain_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+'))
}

/// `mcp-name: <name>` occurs in `text`, not followed by more name characters.
pub(super) fn has_marker(text: &str, name: &str) -> bool {
    let needle = format!("mcp-name: {name}");
    text.match_indices(&needle).any(|(at, _)| {
        text[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !is_name_char(c))
    })
}

/// The names an `mcp-name:` marker in `text` gives (to report a wrong one).
fn found_markers(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .match_indices("mcp-name:")
        .map(|(at, marker)| {
            text[at + marker.len()..]
                .trim_start_matches([' ', '\t'])
                .chars()
                .take_while(|c| is_name_char(*c))
                .take(200)
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect();
    found.dedup();
    found
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/')
}

/// The 422 text for a README without the right marker.
pub(super) fn readme_problem(
    kind: RegistryKind,
    coordinates: &str,
    name: &str,
    text: &str,
) -> Failure {
    let found = found_markers(text);
    let seen = if found.is_empty() {
        "has no `mcp-name:` marker".to_owned()
    } else {
        format!(
            "names {} instead",
            found
                .iter()
                .map(|n| format!("`mcp-name: {n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let place = match kind {
        RegistryKind::Pypi => "its README (the package's long description)",
        RegistryKind::Cargo => "its README as visible text (crates.io strips HTML comments)",
        _ => "its README",
    };
    Failure::NotOwned(format!(
        "{} package `{coordinates}` {seen}; add the line `mcp-name: {name}` to {place} and publish it",
        kind.label()
    ))
}

impl fmt::Display for RegistryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_need_a_boundary() {
        let name = "io.github.alice/weather";
        assert!(has_marker("x\nmcp-name: io.github.alice/weather\n", name));
        assert!(has_marker("<p>mcp-name: io.github.alice/weather</p>", name));
        assert!(!has_marker("mcp-name: io.github.alice/weather-pro", name));
        assert!(!has_marker("nothing here", name));
        assert_eq!(
            found_markers("a mcp-name: io.github.bob/x b"),
            vec!["io.github.bob/x".to_owned()]
        );
    }
}
