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

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry_schema::ServerJson;
use registry_schema::manifest::Package;
use reqwest::Url;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::auth_exchange::ssrf;
use crate::error::{ApiError, ErrorItem, LoggedError, PROBLEM_JSON, ProblemDetails};

/// Per-request timeout towards a package registry (the official registry uses 10 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response read from a package registry (READMEs, package documents, image configs).
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// The OCI label naming the server.
pub const OCI_LABEL: &str = "io.modelcontextprotocol.server.name";
/// `Retry-After` seconds on a 503 caused by an unreachable package registry.
const RETRY_AFTER_SECS: u64 = 30;
/// OCI registries images may come from without configuration (the official registry's list).
pub const DEFAULT_OCI_REGISTRIES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "ghcr.io",
    "*.pkg.dev",
    "*.azurecr.io",
    "mcr.microsoft.com",
    "quay.io",
];
/// Hosts MCPB bundles may be downloaded from without configuration (release assets only).
pub const DEFAULT_MCPB_HOSTS: &[&str] = &["github.com", "gitlab.com"];
/// Where github.com release downloads redirect to: allowed as redirect targets only.
const MCPB_REDIRECT_HOSTS: &[&str] = &[
    "objects.githubusercontent.com",
    "release-assets.githubusercontent.com",
];
/// Default for `--mcpb-max-bytes` (100 MiB).
pub const DEFAULT_MCPB_MAX_BYTES: u64 = 100 * 1024 * 1024;
/// Redirects followed by an MCPB download.
pub const MCPB_MAX_REDIRECTS: usize = 5;
/// Whole-download deadline for an MCPB bundle: larger than [`REQUEST_TIMEOUT`] because bundles are
/// large; each read still waits at most [`REQUEST_TIMEOUT`].
pub const MCPB_DOWNLOAD_TIMEOUT: Duration = Duration::from_mins(2);

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

    fn label(self) -> &'static str {
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

/// One entry of a host allow-list: `host`, `host:port`, or `*.suffix` (any name under the suffix,
/// not the suffix itself). Stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern(String);

impl HostPattern {
    /// Whether `host` (`host` or `host:port`, any case) is accepted.
    pub fn matches(&self, host: &str) -> bool {
        pattern_matches(&self.0, &host.to_ascii_lowercase())
    }
}

impl FromStr for HostPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim().to_ascii_lowercase();
        let valid = match text.strip_prefix("*.") {
            Some(suffix) => is_host(suffix),
            None => is_host_port(&text),
        };
        if valid {
            Ok(Self(text))
        } else {
            Err(format!(
                "`{text}` is not a host, `host:port` or `*.suffix` (no scheme, no path)"
            ))
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `pattern` (lowercase) against `host` (lowercase): exact, or a proper subdomain for `*.suffix`.
fn pattern_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(dot_suffix) => host.len() > dot_suffix.len() && host.ends_with(dot_suffix),
        None => pattern == host,
    }
}

/// DNS-style name: dot-separated labels of letters, digits and hyphens.
fn is_host(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn is_host_port(text: &str) -> bool {
    match text.split_once(':') {
        Some((host, port)) => {
            is_host(host)
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        None => is_host(text),
    }
}

/// Whether `host` is in the defaults or the configured extras.
fn host_allowed(defaults: &[&str], extra: &[HostPattern], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    defaults.iter().any(|p| pattern_matches(p, &host)) || extra.iter().any(|p| p.matches(&host))
}

/// The defaults and the configured extras, for messages.
fn allowed_list(defaults: &[&str], extra: &[HostPattern]) -> String {
    defaults
        .iter()
        .map(|p| (*p).to_owned())
        .chain(extra.iter().map(ToString::to_string))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Package ownership flags (part of `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct OwnershipArgs {
    /// Package registry types whose ownership marker is checked at publish (comma-separated: npm, pypi,
    /// nuget, cargo, oci, mcpb). Default: none. A registry open to the public should enable all of them.
    #[arg(
        long,
        env = "REGISTRY_VERIFY_PACKAGES",
        value_enum,
        value_delimiter = ',',
        num_args = 0..
    )]
    pub verify_packages: Vec<RegistryKind>,
    /// npm registry for `--verify-packages npm`.
    #[arg(long, env = "REGISTRY_NPM_REGISTRY_URL", default_value = DEFAULT_NPM)]
    pub npm_registry_url: Url,
    /// PyPI for `--verify-packages pypi` (the JSON API lives under `/pypi/`).
    #[arg(long, env = "REGISTRY_PYPI_URL", default_value = DEFAULT_PYPI)]
    pub pypi_url: Url,
    /// NuGet v3 service index for `--verify-packages nuget`.
    #[arg(long, env = "REGISTRY_NUGET_URL", default_value = DEFAULT_NUGET)]
    pub nuget_url: Url,
    /// crates.io (or a compatible registry) for `--verify-packages cargo`.
    #[arg(long, env = "REGISTRY_CRATES_URL", default_value = DEFAULT_CRATES)]
    pub crates_url: Url,
    /// Send every OCI registry request to this base URL instead of the image's own registry (a pull
    /// mirror, or a local registry in tests). Default: the registry named by the image reference
    /// (docker.io → registry-1.docker.io). The image's registry must still be allowed; requests to
    /// the mirror may go to private addresses.
    #[arg(long, env = "REGISTRY_OCI_REGISTRY_URL")]
    pub oci_registry_url: Option<Url>,
    /// OCI registries accepted besides the defaults (docker.io, ghcr.io, *.pkg.dev, *.azurecr.io,
    /// mcr.microsoft.com, quay.io); comma-separated hosts, `host:port` or `*.suffix`. An image from
    /// any other registry is refused (422) without contacting it.
    #[arg(
        long,
        env = "REGISTRY_OCI_ALLOWED_REGISTRIES",
        value_delimiter = ',',
        num_args = 0..
    )]
    pub oci_allowed_registries: Vec<HostPattern>,
    /// Hosts MCPB bundles may be downloaded from besides github.com and gitlab.com (where only release
    /// assets are accepted); comma-separated hosts, `host:port` or `*.suffix`. Any https path is
    /// accepted on these.
    #[arg(
        long,
        env = "REGISTRY_MCPB_ALLOWED_HOSTS",
        value_delimiter = ',',
        num_args = 0..
    )]
    pub mcpb_allowed_hosts: Vec<HostPattern>,
    /// Largest MCPB bundle downloaded to check its `fileSha256`, in bytes (larger: 422).
    #[arg(long, env = "REGISTRY_MCPB_MAX_BYTES", default_value_t = DEFAULT_MCPB_MAX_BYTES)]
    pub mcpb_max_bytes: u64,
    /// Send every MCPB download to this base URL instead: its scheme, host and port replace the
    /// bundle URL's, the path is kept (a download mirror, or a local server in tests). The bundle URL
    /// must still be allowed; requests to the mirror may go to private addresses.
    #[arg(long, env = "REGISTRY_MCPB_MIRROR_URL")]
    pub mcpb_mirror_url: Option<Url>,
}

const DEFAULT_NPM: &str = "https://registry.npmjs.org";
const DEFAULT_PYPI: &str = "https://pypi.org";
const DEFAULT_NUGET: &str = "https://api.nuget.org/v3/index.json";
const DEFAULT_CRATES: &str = "https://crates.io";

impl OwnershipArgs {
    pub fn to_config(&self) -> OwnershipConfig {
        OwnershipConfig {
            enabled: self.verify_packages.clone(),
            npm_url: self.npm_registry_url.clone(),
            pypi_url: self.pypi_url.clone(),
            nuget_url: self.nuget_url.clone(),
            crates_url: self.crates_url.clone(),
            oci_url: self.oci_registry_url.clone(),
            oci_allowed_registries: self.oci_allowed_registries.clone(),
            mcpb_allowed_hosts: self.mcpb_allowed_hosts.clone(),
            mcpb_max_bytes: self.mcpb_max_bytes,
            mcpb_base_override: self.mcpb_mirror_url.clone(),
        }
    }
}

/// What ownership verification checks, and where.
#[derive(Debug, Clone)]
pub struct OwnershipConfig {
    /// Registry types that are checked; the rest are not.
    pub enabled: Vec<RegistryKind>,
    pub npm_url: Url,
    pub pypi_url: Url,
    /// The NuGet v3 service index.
    pub nuget_url: Url,
    pub crates_url: Url,
    /// Overrides every OCI image's registry (a mirror; also lifts the private-address guard).
    pub oci_url: Option<Url>,
    /// OCI registries accepted besides [`DEFAULT_OCI_REGISTRIES`].
    pub oci_allowed_registries: Vec<HostPattern>,
    /// MCPB hosts accepted besides [`DEFAULT_MCPB_HOSTS`] (any path on these).
    pub mcpb_allowed_hosts: Vec<HostPattern>,
    /// Largest MCPB bundle downloaded.
    pub mcpb_max_bytes: u64,
    /// Mirror or test server for MCPB downloads: replaces the scheme, host and port of every
    /// (allowed) download URL, and lifts the private-address guard.
    pub mcpb_base_override: Option<Url>,
}

impl Default for OwnershipConfig {
    /// Nothing enabled; the public registries' URLs.
    fn default() -> Self {
        let parse = |url: &str| Url::parse(url).unwrap_or_else(|_| unreachable!("constant URL"));
        Self {
            enabled: Vec::new(),
            npm_url: parse(DEFAULT_NPM),
            pypi_url: parse(DEFAULT_PYPI),
            nuget_url: parse(DEFAULT_NUGET),
            crates_url: parse(DEFAULT_CRATES),
            oci_url: None,
            oci_allowed_registries: Vec::new(),
            mcpb_allowed_hosts: Vec::new(),
            mcpb_max_bytes: DEFAULT_MCPB_MAX_BYTES,
            mcpb_base_override: None,
        }
    }
}

impl OwnershipConfig {
    /// Every registry type enabled, at these URLs (tests, public deployments).
    #[must_use]
    pub fn all_enabled(mut self) -> Self {
        self.enabled = vec![
            RegistryKind::Npm,
            RegistryKind::Pypi,
            RegistryKind::Nuget,
            RegistryKind::Cargo,
            RegistryKind::Oci,
            RegistryKind::Mcpb,
        ];
        self
    }

    pub fn is_enabled(&self, kind: RegistryKind) -> bool {
        self.enabled.contains(&kind)
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

/// The HTTP clients ownership checks use (rustls on ring).
pub struct Clients {
    /// Operator-configured registries and mirrors: redirects followed, any address.
    plain: reqwest::Client,
    /// Publisher-named OCI registries: public addresses only, redirects included.
    guarded: reqwest::Client,
    /// MCPB downloads through a mirror: redirects are followed (and judged) by the check itself.
    download: reqwest::Client,
    /// MCPB downloads from publisher-named URLs: public addresses only; redirects by the check.
    guarded_download: reqwest::Client,
}

/// The shared clients (built once).
pub fn clients() -> Result<&'static Clients, String> {
    static CLIENTS: OnceLock<Result<Clients, String>> = OnceLock::new();
    CLIENTS
        .get_or_init(|| {
            // reqwest is built without a bundled crypto provider; ring is the one the workspace has.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let build = |guard: bool, download: bool| {
                let mut builder = reqwest::Client::builder()
                    .user_agent(concat!("mcp-reg/", env!("CARGO_PKG_VERSION")))
                    .connect_timeout(REQUEST_TIMEOUT);
                builder = if download {
                    builder
                        .read_timeout(REQUEST_TIMEOUT)
                        .timeout(MCPB_DOWNLOAD_TIMEOUT)
                        .redirect(reqwest::redirect::Policy::none())
                } else {
                    builder.timeout(REQUEST_TIMEOUT)
                };
                if guard {
                    builder = builder.dns_resolver(PublicOnly);
                    if !download {
                        builder = builder.redirect(public_redirects());
                    }
                }
                builder.build().map_err(|err| error_chain(&err))
            };
            Ok(Clients {
                plain: build(false, false)?,
                guarded: build(true, false)?,
                download: build(false, true)?,
                guarded_download: build(true, true)?,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A refused address, carried through reqwest's error chain so it can be told from an outage.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct PrivateAddress(String);

/// Resolves publisher-named hosts, refusing names with any non-public address
/// ([`ssrf::check_addresses`]).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(resolve_public(name.as_str().to_owned()))
    }
}

async fn resolve_public(
    host: String,
) -> Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> {
    let addrs = ssrf::resolve(&host, 0, &[], REQUEST_TIMEOUT).await?;
    ssrf::check_addresses(&host, &addrs, false).map_err(PrivateAddress)?;
    Ok(Box::new(addrs.into_iter()))
}

/// Redirects of publisher-named registries: at most 10, never to a non-public IP literal (names
/// go through [`PublicOnly`]).
fn public_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects");
        }
        match literal_refusal(attempt.url()) {
            Some(reason) => attempt.error(PrivateAddress(reason)),
            None => attempt.follow(),
        }
    })
}

/// Why `url`'s host, an IP literal, may not be fetched (the resolver never sees literals).
fn literal_refusal(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    ssrf::forbidden_reason(ip).map(|reason| {
        format!("{host} is a {reason} address; the registry only fetches from public addresses")
    })
}

/// The refused address somewhere in `err`'s causes, if that is why it failed.
fn private_address(err: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<PrivateAddress>() {
            return Some(refused.0.clone());
        }
        source = cause.source();
    }
    None
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
        let http = Http::open(clients);
        let outcome = match kind {
            RegistryKind::Npm => check_npm(&http, config, package, name).await,
            RegistryKind::Pypi => check_pypi(&http, config, package, name).await,
            RegistryKind::Nuget => check_nuget(&http, config, package, name).await,
            RegistryKind::Cargo => check_cargo(&http, config, package, name).await,
            RegistryKind::Oci => check_oci(clients, config, package, name).await,
            RegistryKind::Mcpb => check_mcpb(clients, config, package).await,
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

impl IntoResponse for OwnershipRefusal {
    fn into_response(self) -> Response {
        let upstream: Vec<&OwnershipProblem> = self
            .problems
            .iter()
            .filter(|p| p.kind == ProblemKind::Upstream)
            .collect();
        if upstream.is_empty() {
            let detail = match self.problems.len() {
                1 => "package ownership not verified: 1 package".to_owned(),
                n => format!("package ownership not verified: {n} packages"),
            };
            return ApiError::Unprocessable {
                detail,
                errors: self.items(),
            }
            .into_response();
        }
        let status = StatusCode::SERVICE_UNAVAILABLE;
        let detail = format!(
            "package ownership could not be verified because a package registry did not answer; try again shortly ({})",
            upstream
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
        let body = ProblemDetails {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.clone(),
            errors: self.items(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        response
            .extensions_mut()
            .insert(LoggedError(std::sync::Arc::new(detail)));
        response
    }
}

/// How one package check failed.
#[derive(Debug)]
enum Failure {
    /// The publisher's to fix, at `identifier`: 422.
    NotOwned(String),
    /// The publisher's to fix, at `fileSha256`: 422.
    Digest(String),
    /// The registry or host could not answer: 503.
    Upstream(String),
}

type Check = Result<(), Failure>;

/// One answer of a package registry.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

struct Http<'a> {
    client: &'a reqwest::Client,
    /// Publisher-named hosts: refuse non-public addresses (the client's resolver does names).
    guard: bool,
}

impl<'a> Http<'a> {
    /// For operator-configured registries and mirrors.
    fn open(clients: &'a Clients) -> Self {
        Self {
            client: &clients.plain,
            guard: false,
        }
    }

    /// For publisher-named hosts.
    fn guarded(clients: &'a Clients) -> Self {
        Self {
            client: &clients.guarded,
            guard: true,
        }
    }

    /// `GET url` read whole (capped). Transport failures, 429 and 5xx are [`Failure::Upstream`]; a
    /// refused (non-public) address is [`Failure::NotOwned`].
    async fn get(
        &self,
        what: RegistryKind,
        url: Url,
        headers: &[(header::HeaderName, String)],
    ) -> Result<Answer, Failure> {
        let shown = url.to_string();
        let refused = |reason: String| {
            Failure::NotOwned(format!(
                "the {} registry at `{shown}` cannot be used: {reason}",
                what.label()
            ))
        };
        if self.guard
            && let Some(reason) = literal_refusal(&url)
        {
            return Err(refused(reason));
        }
        let mut request = self.client.get(url);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let unreachable = |reason: String| {
            Failure::Upstream(format!(
                "the {} registry at `{shown}` could not be reached: {reason}",
                what.label()
            ))
        };
        let mut response = request
            .send()
            .await
            .map_err(|err| match private_address(&err) {
                Some(reason) => refused(reason),
                None => unreachable(error_chain(&err.without_url())),
            })?;
        let status = response.status();
        let response_headers = response.headers().clone();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return Err(Failure::Upstream(format!(
                            "the {} registry's answer at `{shown}` exceeds {MAX_RESPONSE_BYTES} bytes",
                            what.label()
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => return Err(unreachable(error_chain(&err.without_url()))),
            }
        }
        Ok(Answer {
            status,
            headers: response_headers,
            body,
        })
    }

    /// Like [`Self::get`], but any status other than 200 and 404 is upstream trouble too.
    async fn get_found(&self, what: RegistryKind, url: Url) -> Result<Option<Answer>, Failure> {
        let shown = url.to_string();
        let answer = self.get(what, url, &[]).await?;
        match answer.status {
            s if s.is_success() => Ok(Some(answer)),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            s => Err(Failure::Upstream(format!(
                "the {} registry answered {s} for `{shown}`",
                what.label()
            ))),
        }
    }
}

fn parse_json(what: RegistryKind, body: &[u8], url: &str) -> Result<Value, Failure> {
    serde_json::from_slice(body).map_err(|err| {
        Failure::Upstream(format!(
            "the {} registry's answer at `{url}` is not JSON: {err}",
            what.label()
        ))
    })
}

/// `base` with these path segments appended (each percent-encoded).
fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

fn version_of(kind: RegistryKind, package: &Package) -> Result<&str, Failure> {
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
fn plain_name(kind: RegistryKind, identifier: &str, allow_scope: bool) -> Result<(), Failure> {
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

fn plain_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+'))
}

/// `mcp-name: <name>` occurs in `text`, not followed by more name characters.
fn has_marker(text: &str, name: &str) -> bool {
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
fn readme_problem(kind: RegistryKind, coordinates: &str, name: &str, text: &str) -> Failure {
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

async fn check_npm(
    http: &Http<'_>,
    config: &OwnershipConfig,
    package: &Package,
    name: &str,
) -> Check {
    let kind = RegistryKind::Npm;
    let id = package.identifier.as_str();
    plain_name(kind, id, true)?;
    let version = version_of(kind, package)?;
    let coordinates = format!("{id}@{version}");
    let segments: Vec<&str> = id.split('/').chain([version]).collect();
    let url = join(&config.npm_url, &segments);
    let shown = url.to_string();
    let Some(answer) = http.get_found(kind, url).await? else {
        // Which one is missing: the package, or only this version?
        let package_url = join(&config.npm_url, &id.split('/').collect::<Vec<_>>());
        let what = if http.get_found(kind, package_url).await?.is_some() {
            format!("npm package `{id}` has no version `{version}`")
        } else {
            format!("npm package `{id}` does not exist (or is not public)")
        };
        return Err(Failure::NotOwned(format!(
            "{what}; publish it before the server version that lists it"
        )));
    };
    let document = parse_json(kind, &answer.body, &shown)?;
    match document.get("mcpName") {
        Some(Value::String(found)) if found == name => Ok(()),
        Some(found) => Err(Failure::NotOwned(format!(
            "npm package `{coordinates}` has `mcpName` {found}, not `{name}`; set `\"mcpName\": \"{name}\"` in its package.json and publish it"
        ))),
        None => Err(Failure::NotOwned(format!(
            "npm package `{coordinates}` has no `mcpName`; add `\"mcpName\": \"{name}\"` to its package.json and publish it"
        ))),
    }
}

async fn check_pypi(
    http: &Http<'_>,
    config: &OwnershipConfig,
    package: &Package,
    name: &str,
) -> Check {
    let kind = RegistryKind::Pypi;
    let id = package.identifier.as_str();
    plain_name(kind, id, false)?;
    let version = version_of(kind, package)?;
    let coordinates = format!("{id}=={version}");
    let url = join(&config.pypi_url, &["pypi", id, version, "json"]);
    let shown = url.to_string();
    let Some(answer) = http.get_found(kind, url).await? else {
        return Err(Failure::NotOwned(format!(
            "PyPI has no package `{id}` with version `{version}`; publish it before the server version that lists it"
        )));
    };
    let document = parse_json(kind, &answer.body, &shown)?;
    let description = document
        .pointer("/info/description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if has_marker(description, name) {
        Ok(())
    } else {
        Err(readme_problem(kind, &coordinates, name, description))
    }
}

async fn check_nuget(
    http: &Http<'_>,
    config: &OwnershipConfig,
    package: &Package,
    name: &str,
) -> Check {
    let kind = RegistryKind::Nuget;
    let id = package.identifier.as_str();
    plain_name(kind, id, false)?;
    let version = version_of(kind, package)?;
    let coordinates = format!("{id} {version}");
    let index_url = config.nuget_url.to_string();
    let Some(index) = http.get_found(kind, config.nuget_url.clone()).await? else {
        return Err(Failure::Upstream(format!(
            "the NuGet service index `{index_url}` was not found"
        )));
    };
    let index = parse_json(kind, &index.body, &index_url)?;
    let resource = |wanted: &str| -> Option<String> {
        index
            .get("resources")?
            .as_array()?
            .iter()
            .find(|r| r.get("@type").and_then(Value::as_str) == Some(wanted))?
            .get("@id")?
            .as_str()
            .map(str::to_owned)
    };
    let Some(template) = resource("ReadmeUriTemplate/6.13.0") else {
        return Err(Failure::Upstream(format!(
            "the NuGet service index `{index_url}` has no `ReadmeUriTemplate/6.13.0` resource"
        )));
    };
    let lower_id = id.to_lowercase();
    let lower_version = version.to_lowercase();
    let readme_url = template
        .replace("{lower_id}", &lower_id)
        .replace("{lower_version}", &lower_version);
    let readme_url = Url::parse(&readme_url).map_err(|err| {
        Failure::Upstream(format!(
            "the NuGet README template `{template}` gives no URL: {err}"
        ))
    })?;
    if let Some(readme) = http.get_found(kind, readme_url).await? {
        let text = String::from_utf8_lossy(&readme.body);
        return if has_marker(&text, name) {
            Ok(())
        } else {
            Err(readme_problem(kind, &coordinates, name, &text))
        };
    }
    // No README: say whether the package, the version or only the README is missing.
    let what = match resource("PackageBaseAddress/3.0.0") {
        Some(base) => match Url::parse(&base) {
            Ok(base) => {
                let versions_url = join(&base, &[&lower_id, "index.json"]);
                let shown = versions_url.to_string();
                match http.get_found(kind, versions_url).await? {
                    None => format!("NuGet package `{id}` does not exist"),
                    Some(answer) => {
                        let versions = parse_json(kind, &answer.body, &shown)?;
                        let listed = versions
                            .get("versions")
                            .and_then(Value::as_array)
                            .is_some_and(|v| {
                                v.iter().any(|v| v.as_str() == Some(lower_version.as_str()))
                            });
                        if listed {
                            format!("NuGet package `{coordinates}` has no README")
                        } else {
                            format!("NuGet package `{id}` has no version `{version}`")
                        }
                    }
                }
            }
            Err(_) => format!("NuGet package `{coordinates}` has no README (or does not exist)"),
        },
        None => format!("NuGet package `{coordinates}` has no README (or does not exist)"),
    };
    Err(Failure::NotOwned(format!(
        "{what}; publish the version with a README containing `mcp-name: {name}`"
    )))
}

async fn check_cargo(
    http: &Http<'_>,
    config: &OwnershipConfig,
    package: &Package,
    name: &str,
) -> Check {
    let kind = RegistryKind::Cargo;
    let id = package.identifier.as_str();
    plain_name(kind, id, false)?;
    let version = version_of(kind, package)?;
    let coordinates = format!("{id}@{version}");
    let url = join(
        &config.crates_url,
        &["api", "v1", "crates", id, version, "readme"],
    );
    let shown = url.to_string();
    let answer = http
        .get(
            kind,
            url,
            &[(header::ACCEPT, "application/json".to_owned())],
        )
        .await?;
    let answer = match answer.status {
        s if s.is_success() => answer,
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => {
            return Err(Failure::NotOwned(format!(
                "crates.io has no README for crate `{coordinates}` (the crate or version does not exist, or it was published without a README); publish it with a README containing `mcp-name: {name}`"
            )));
        }
        s => {
            return Err(Failure::Upstream(format!(
                "the crates.io registry answered {s} for `{shown}`"
            )));
        }
    };
    // crates.io answers `{"url": …}` to JSON clients (and redirects the others to the HTML itself).
    let is_json = answer
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let html = if is_json {
        let document = parse_json(kind, &answer.body, &shown)?;
        let Some(readme) = document.get("url").and_then(Value::as_str) else {
            return Err(Failure::Upstream(format!(
                "the crates.io answer at `{shown}` has no README `url`"
            )));
        };
        let readme = config.crates_url.join(readme).map_err(|err| {
            Failure::Upstream(format!("crates.io gave a bad README URL `{readme}`: {err}"))
        })?;
        match http.get_found(kind, readme).await? {
            Some(readme) => readme.body,
            None => {
                return Err(Failure::NotOwned(format!(
                    "crates.io has no README for crate `{coordinates}`; publish it with a README containing `mcp-name: {name}`"
                )));
            }
        }
    } else {
        answer.body
    };
    let text = String::from_utf8_lossy(&html);
    if has_marker(&text, name) {
        Ok(())
    } else {
        Err(readme_problem(kind, &coordinates, name, &text))
    }
}

/// `registry/ns/image:tag` or `…@sha256:…`, split.
#[derive(Debug, PartialEq, Eq)]
struct ImageRef {
    registry: String,
    repository: String,
    reference: String,
}

impl ImageRef {
    fn parse(identifier: &str) -> Option<Self> {
        let (rest, reference) = if let Some((rest, digest)) = identifier.split_once('@') {
            (rest, digest.to_owned())
        } else {
            let slash = identifier.rfind('/').map_or(0, |i| i + 1);
            match identifier[slash..].rfind(':') {
                Some(colon) => (
                    &identifier[..slash + colon],
                    identifier[slash + colon + 1..].to_owned(),
                ),
                None => (identifier, "latest".to_owned()),
            }
        };
        let (registry, repository) = match rest.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), path.to_owned())
            }
            _ => ("docker.io".to_owned(), rest.to_owned()),
        };
        let repository = if matches!(registry.as_str(), "docker.io" | "index.docker.io")
            && !repository.contains('/')
        {
            format!("library/{repository}")
        } else {
            repository
        };
        // The registry becomes a URL authority: a host and optional port, nothing a URL would read
        // as more (`#`, `?`, `@`, `\`).
        let valid = is_host_port(&registry.to_ascii_lowercase())
            && !reference.is_empty()
            && repository.split('/').all(|s| {
                plain_segment(s)
                    && s.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            })
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
        valid.then_some(Self {
            registry,
            repository,
            reference,
        })
    }

    fn base(&self, config: &OwnershipConfig) -> Result<Url, Failure> {
        if let Some(url) = &config.oci_url {
            return Ok(url.clone());
        }
        let registry = self.registry.to_ascii_lowercase();
        let host = match registry.as_str() {
            "docker.io" | "index.docker.io" => "registry-1.docker.io",
            other => other,
        };
        Url::parse(&format!("https://{host}")).map_err(|err| {
            Failure::NotOwned(format!("`{}` is not a registry host: {err}", self.registry))
        })
    }
}

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// OCI requests with the anonymous bearer-token flow.
struct Oci<'h, 'c> {
    http: &'h Http<'c>,
    base: Url,
    repository: String,
    token: Option<String>,
}

/// An OCI answer that matters: found, missing, or rate-limited.
enum OciAnswer {
    Found(Vec<u8>),
    Missing,
    RateLimited,
}

impl Oci<'_, '_> {
    async fn get(
        &mut self,
        kind: &str,
        reference: &str,
        accept: &str,
    ) -> Result<OciAnswer, Failure> {
        let url = join(
            &self.base,
            &["v2"]
                .into_iter()
                .chain(self.repository.split('/'))
                .chain([kind, reference])
                .collect::<Vec<_>>(),
        );
        let shown = url.to_string();
        let mut answer = self.send(url.clone(), accept).await?;
        if answer.status == StatusCode::UNAUTHORIZED && self.token.is_none() {
            let challenge = answer
                .headers
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Some(challenge) = challenge {
                self.token = Some(self.anonymous_token(&challenge).await?);
                answer = self.send(url, accept).await?;
            }
        }
        match answer.status {
            s if s.is_success() => Ok(OciAnswer::Found(answer.body)),
            StatusCode::TOO_MANY_REQUESTS => Ok(OciAnswer::RateLimited),
            StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Ok(OciAnswer::Missing)
            }
            s => Err(Failure::Upstream(format!(
                "the OCI registry answered {s} for `{shown}`"
            ))),
        }
    }

    async fn send(&self, url: Url, accept: &str) -> Result<Answer, Failure> {
        let mut headers = vec![(header::ACCEPT, accept.to_owned())];
        if let Some(token) = &self.token {
            headers.push((header::AUTHORIZATION, format!("Bearer {token}")));
        }
        self.http.get(RegistryKind::Oci, url, &headers).await
    }

    /// `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` → an anonymous pull token.
    async fn anonymous_token(&self, challenge: &str) -> Result<String, Failure> {
        let params = challenge
            .strip_prefix("Bearer ")
            .or_else(|| challenge.strip_prefix("bearer "))
            .map(parse_challenge)
            .unwrap_or_default();
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        let Some(realm) = get("realm") else {
            return Err(Failure::NotOwned(format!(
                "the OCI registry requires credentials for `{}`; only public images can be verified",
                self.repository
            )));
        };
        let mut url = Url::parse(realm).map_err(|err| {
            Failure::Upstream(format!(
                "the OCI registry's token realm `{realm}` is not a URL: {err}"
            ))
        })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = get("service") {
                query.append_pair("service", service);
            }
            let scope = get("scope").map_or_else(
                || format!("repository:{}:pull", self.repository),
                str::to_owned,
            );
            query.append_pair("scope", &scope);
        }
        let shown = url.to_string();
        let answer = self.http.get(RegistryKind::Oci, url, &[]).await?;
        if !answer.status.is_success() {
            return Err(Failure::NotOwned(format!(
                "the OCI registry refused an anonymous pull token for `{}` ({}); only public images can be verified",
                self.repository, answer.status
            )));
        }
        let document = parse_json(RegistryKind::Oci, &answer.body, &shown)?;
        document
            .get("token")
            .or_else(|| document.get("access_token"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Failure::Upstream(format!("the OCI token answer at `{shown}` has no token"))
            })
    }
}

/// `k="v",k2="v2"` → pairs.
fn parse_challenge(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.split_once('"') {
                Some((value, next)) => (value.to_owned(), next),
                None => (quoted.to_owned(), ""),
            }
        } else {
            match after.split_once(',') {
                Some((value, next)) => (value.trim().to_owned(), next),
                None => (after.trim().to_owned(), ""),
            }
        };
        pairs.push((key, value));
        rest = next.trim_start_matches([',', ' ']);
    }
    pairs
}

async fn check_oci(
    clients: &Clients,
    config: &OwnershipConfig,
    package: &Package,
    name: &str,
) -> Check {
    let id = package.identifier.as_str();
    let Some(image) = ImageRef::parse(id) else {
        return Err(Failure::NotOwned(format!(
            "`{id}` is not an OCI image reference (`registry/namespace/image:tag` or `…@sha256:…`)"
        )));
    };
    // Judged on the reference, before any request (a mirror does not change where the image is).
    if !host_allowed(
        DEFAULT_OCI_REGISTRIES,
        &config.oci_allowed_registries,
        &image.registry,
    ) {
        return Err(Failure::NotOwned(format!(
            "OCI image `{id}` is on registry `{}`, which this registry does not accept; images must come from: {}",
            image.registry,
            allowed_list(DEFAULT_OCI_REGISTRIES, &config.oci_allowed_registries)
        )));
    }
    let http = if config.oci_url.is_some() {
        Http::open(clients)
    } else {
        Http::guarded(clients)
    };
    let mut oci = Oci {
        http: &http,
        base: image.base(config)?,
        repository: image.repository.clone(),
        token: None,
    };
    let missing = || {
        Failure::NotOwned(format!(
            "OCI image `{id}` was not found (or is not public); push it before the server version that lists it"
        ))
    };
    let skipped = || {
        tracing::warn!(image = %id, "OCI registry rate-limited the ownership check; skipped");
        Ok(())
    };
    let bad = |what: &str| {
        Failure::Upstream(format!(
            "the OCI registry's {what} for `{id}` is not usable"
        ))
    };
    let mut body = match oci
        .get("manifests", &image.reference, MANIFEST_TYPES)
        .await?
    {
        OciAnswer::Found(body) => body,
        OciAnswer::Missing => return Err(missing()),
        OciAnswer::RateLimited => return skipped(),
    };
    let mut manifest = parse_json(RegistryKind::Oci, &body, id)?;
    // An index (multi-platform image): the labels of linux/amd64, else of the first image.
    if let Some(entries) = manifest.get("manifests").and_then(Value::as_array) {
        let pick = entries
            .iter()
            .find(|m| {
                m.pointer("/platform/os").and_then(Value::as_str) == Some("linux")
                    && m.pointer("/platform/architecture").and_then(Value::as_str) == Some("amd64")
            })
            .or_else(|| entries.first());
        let Some(digest) = pick.and_then(|m| m.get("digest")).and_then(Value::as_str) else {
            return Err(bad("image index"));
        };
        body = match oci.get("manifests", digest, MANIFEST_TYPES).await? {
            OciAnswer::Found(body) => body,
            OciAnswer::Missing => return Err(missing()),
            OciAnswer::RateLimited => return skipped(),
        };
        manifest = parse_json(RegistryKind::Oci, &body, id)?;
    }
    let Some(config_digest) = manifest.pointer("/config/digest").and_then(Value::as_str) else {
        return Err(bad("image manifest"));
    };
    let blob = match oci.get("blobs", config_digest, "*/*").await? {
        OciAnswer::Found(body) => body,
        OciAnswer::Missing => return Err(missing()),
        OciAnswer::RateLimited => return skipped(),
    };
    let image_config = parse_json(RegistryKind::Oci, &blob, id)?;
    let label = image_config
        .pointer("/config/Labels")
        .and_then(|labels| labels.get(OCI_LABEL));
    match label {
        Some(Value::String(found)) if found == name => Ok(()),
        Some(found) => Err(Failure::NotOwned(format!(
            "OCI image `{id}` has label `{OCI_LABEL}` = {found}, not `{name}`; build it with `LABEL {OCI_LABEL}=\"{name}\"` and push it"
        ))),
        None => Err(Failure::NotOwned(format!(
            "OCI image `{id}` has no label `{OCI_LABEL}`; add `LABEL {OCI_LABEL}=\"{name}\"` to its Dockerfile and push it"
        ))),
    }
}

async fn check_mcpb(clients: &Clients, config: &OwnershipConfig, package: &Package) -> Check {
    let id = package.identifier.as_str();
    let url = mcpb_url(config, id)?;
    let expected = expected_sha256(package)?;
    let actual = mcpb_sha256(clients, config, id, url).await?;
    if actual == expected {
        Ok(())
    } else {
        Err(Failure::Digest(format!(
            "`fileSha256` is {expected}, but the bundle at `{id}` has SHA-256 {actual}; set `fileSha256` to the digest of the published bundle"
        )))
    }
}

/// The checks of an MCPB bundle URL that need no request: https, an allowed host, a release asset
/// on github.com and gitlab.com, and `mcp` somewhere in it (as the official registry requires).
fn mcpb_url(config: &OwnershipConfig, id: &str) -> Result<Url, Failure> {
    let url = Url::parse(id)
        .map_err(|err| Failure::NotOwned(format!("MCPB identifier `{id}` is not a URL: {err}")))?;
    if url.scheme() != "https" {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle URL `{id}` must use https"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle URL `{id}` must not carry credentials"
        )));
    }
    let Some(host) = authority(&url) else {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle URL `{id}` has no host"
        )));
    };
    if !host_allowed(DEFAULT_MCPB_HOSTS, &config.mcpb_allowed_hosts, &host) {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle host `{host}` is not accepted; bundles must be downloadable from: {}",
            allowed_list(DEFAULT_MCPB_HOSTS, &config.mcpb_allowed_hosts)
        )));
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    let shape = match host.as_str() {
        "github.com" if !is_github_release_asset(&segments) => {
            Some("`https://github.com/{owner}/{repo}/releases/download/{tag}/{file}`")
        }
        "gitlab.com" if !is_gitlab_release_asset(&segments) => Some(
            "`https://gitlab.com/{group}/{project}/-/releases/{tag}/downloads/{file}` or `https://gitlab.com/{group}/{project}/-/package_files/{id}/download`",
        ),
        _ => None,
    };
    if let Some(shape) = shape {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle URL `{id}` is not a release asset; on {host} a bundle must be a release download: {shape}"
        )));
    }
    if !id.to_ascii_lowercase().contains("mcp") {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle URL `{id}` must contain `mcp` (for example in the file name), as the official registry requires"
        )));
    }
    Ok(url)
}

/// `/{owner}/{repo}/releases/download/{tag}/{file}`.
fn is_github_release_asset(segments: &[&str]) -> bool {
    matches!(
        segments,
        [owner, repo, "releases", "download", tag, file]
            if [owner, repo, tag, file].iter().all(|s| !s.is_empty())
    )
}

/// `/{group…}/{project}/-/releases/{tag}/downloads/{file…}` or
/// `/{group…}/{project}/-/package_files/{N}/download`.
fn is_gitlab_release_asset(segments: &[&str]) -> bool {
    let Some(dash) = segments.iter().position(|s| *s == "-") else {
        return false;
    };
    let (project, rest) = (&segments[..dash], &segments[dash + 1..]);
    project.len() >= 2
        && project.iter().all(|s| !s.is_empty())
        && match rest {
            ["releases", tag, "downloads", file @ ..] => {
                !tag.is_empty() && !file.is_empty() && file.iter().all(|s| !s.is_empty())
            }
            ["package_files", number, "download"] => {
                !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
            }
            _ => false,
        }
}

/// `fileSha256`, lowercase, when it is 64 hex digits.
fn expected_sha256(package: &Package) -> Result<String, Failure> {
    let Some(sha) = package.file_sha256.as_deref() else {
        return Err(Failure::Digest(
            "MCPB packages need `fileSha256`: the SHA-256 of the bundle (64 hex digits)".to_owned(),
        ));
    };
    if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha.to_ascii_lowercase())
    } else {
        let shown: String = sha.chars().take(80).collect();
        Err(Failure::Digest(format!(
            "`fileSha256` `{shown}` is not a SHA-256: it must be 64 hex digits (the `sha256sum` of the bundle)"
        )))
    }
}

/// `host` or `host:port` of `url`, lowercase (the port only when not the scheme's default).
fn authority(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// `url` on the mirror: the mirror's scheme, host and port with `url`'s path and query.
fn rebase(url: &Url, mirror: &Url) -> Url {
    let mut rebased = mirror.clone();
    rebased.set_path(url.path());
    rebased.set_query(url.query());
    rebased.set_fragment(None);
    rebased
}

/// Why a redirect target may not be downloaded, or `None`: it must be https, on an allowed host or
/// on a host the default hosts' downloads redirect to.
fn mcpb_redirect_refusal(config: &OwnershipConfig, next: &Url) -> Option<String> {
    if next.scheme() != "https" {
        return Some("which is not https".to_owned());
    }
    let host = authority(next).unwrap_or_default();
    if host_allowed(DEFAULT_MCPB_HOSTS, &config.mcpb_allowed_hosts, &host)
        || MCPB_REDIRECT_HOSTS.contains(&host.as_str())
    {
        return None;
    }
    Some(format!(
        "a host this registry does not download from (allowed: {}, {})",
        allowed_list(DEFAULT_MCPB_HOSTS, &config.mcpb_allowed_hosts),
        MCPB_REDIRECT_HOSTS.join(", ")
    ))
}

/// Downloads the bundle (following allowed redirects) and returns its SHA-256, never holding more
/// than one chunk.
async fn mcpb_sha256(
    clients: &Clients,
    config: &OwnershipConfig,
    id: &str,
    url: Url,
) -> Result<String, Failure> {
    let mirror = config.mcpb_base_override.as_ref();
    let client = if mirror.is_some() {
        &clients.download
    } else {
        &clients.guarded_download
    };
    // `current` is the URL as the publisher's host sees it; a mirror only changes where it is sent.
    let mut current = url;
    let mut redirects = 0;
    loop {
        let shown = current.to_string();
        let refused = |reason: String| {
            Failure::NotOwned(format!(
                "MCPB bundle `{id}` cannot be downloaded from `{shown}`: {reason}"
            ))
        };
        let target = if let Some(mirror) = mirror {
            rebase(&current, mirror)
        } else {
            if let Some(reason) = literal_refusal(&current) {
                return Err(refused(reason));
            }
            current.clone()
        };
        let response = client
            .get(target)
            .header(header::ACCEPT, "*/*")
            .send()
            .await
            .map_err(|err| match private_address(&err) {
                Some(reason) => refused(reason),
                None if err.is_timeout() => {
                    Failure::Upstream(format!("the MCPB download `{shown}` timed out"))
                }
                None => Failure::Upstream(format!(
                    "the MCPB download `{shown}` could not be reached: {}",
                    error_chain(&err.without_url())
                )),
            })?;
        let status = response.status();
        match status {
            StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT => {
                redirects += 1;
                if redirects > MCPB_MAX_REDIRECTS {
                    return Err(Failure::NotOwned(format!(
                        "MCPB bundle `{id}` redirects more than {MCPB_MAX_REDIRECTS} times"
                    )));
                }
                let next = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|location| current.join(location).ok());
                let Some(next) = next else {
                    return Err(Failure::NotOwned(format!(
                        "the MCPB download `{shown}` answered {status} without a usable `Location`"
                    )));
                };
                if let Some(why) = mcpb_redirect_refusal(config, &next) {
                    return Err(Failure::NotOwned(format!(
                        "MCPB bundle `{id}` redirects to `{next}`, {why}"
                    )));
                }
                current = next;
            }
            s if s.is_success() => {
                return stream_sha256(response, config.mcpb_max_bytes, id, &shown).await;
            }
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                return Err(Failure::NotOwned(format!(
                    "MCPB bundle `{id}` was not found (the download answered {status}); publish the release asset before the server version that lists it"
                )));
            }
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                return Err(Failure::Upstream(format!(
                    "the MCPB download `{shown}` answered {s}"
                )));
            }
            s => {
                return Err(Failure::NotOwned(format!(
                    "MCPB bundle `{id}` cannot be downloaded (the download answered {s}); it must be public"
                )));
            }
        }
    }
}

/// SHA-256 of the body, read chunk by chunk and abandoned past `max` bytes.
async fn stream_sha256(
    mut response: reqwest::Response,
    max: u64,
    id: &str,
    shown: &str,
) -> Result<String, Failure> {
    let too_large = || {
        Failure::NotOwned(format!(
            "MCPB bundle `{id}` is larger than {max} bytes, the most this registry downloads to check `fileSha256`"
        ))
    };
    if response.content_length().is_some_and(|len| len > max) {
        return Err(too_large());
    }
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    loop {
        let chunk = response.chunk().await.map_err(|err| {
            if err.is_timeout() {
                Failure::Upstream(format!("the MCPB download `{shown}` timed out"))
            } else {
                Failure::Upstream(format!(
                    "the MCPB download `{shown}` broke off: {}",
                    error_chain(&err.without_url())
                ))
            }
        })?;
        let Some(chunk) = chunk else { break };
        total = total.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        if total > max {
            return Err(too_large());
        }
        hasher.update(&chunk);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// An error and its causes on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
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

    #[test]
    fn image_references() {
        let parsed = ImageRef::parse("ghcr.io/alice/weather:1.0.0");
        assert_eq!(
            parsed,
            Some(ImageRef {
                registry: "ghcr.io".to_owned(),
                repository: "alice/weather".to_owned(),
                reference: "1.0.0".to_owned(),
            })
        );
        let docker = ImageRef::parse("nginx").map(|r| (r.registry, r.repository, r.reference));
        assert_eq!(
            docker,
            Some((
                "docker.io".to_owned(),
                "library/nginx".to_owned(),
                "latest".to_owned()
            ))
        );
        let local = ImageRef::parse("localhost:5000/a/b@sha256:abc").map(|r| r.reference);
        assert_eq!(local.as_deref(), Some("sha256:abc"));
        assert!(ImageRef::parse("ghcr.io/../x:1").is_none());
        // The registry becomes a URL authority: nothing a URL would read as more than a host.
        assert!(ImageRef::parse("evil.com#.pkg.dev/a/b:1").is_none());
        assert!(ImageRef::parse("evil.com?.pkg.dev/a/b:1").is_none());
        assert!(ImageRef::parse("evil.com\\.pkg.dev/a/b:1").is_none());
    }

    #[test]
    fn host_patterns() {
        let parse = |text: &str| text.parse::<HostPattern>();
        assert!(parse("Registry.Example.com").is_ok_and(|p| p.matches("registry.example.COM")));
        assert!(
            parse("localhost:5000")
                .is_ok_and(|p| p.matches("localhost:5000") && !p.matches("localhost"))
        );
        let wildcard = parse("*.example.org").unwrap();
        assert!(wildcard.matches("eu.example.org") && wildcard.matches("a.b.example.org"));
        assert!(!wildcard.matches("example.org") && !wildcard.matches("badexample.org"));
        assert!(!wildcard.matches("eu.example.org:5000"));
        for bad in [
            "",
            "*",
            "*.",
            "https://x.io",
            "x.io/path",
            "x.io:",
            "x.io:99999",
            "a..b",
            "*.*.io",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let defaults = |host: &str| host_allowed(DEFAULT_OCI_REGISTRIES, &[], host);
        for allowed in [
            "docker.io",
            "ghcr.io",
            "us-docker.pkg.dev",
            "me.azurecr.io",
            "mcr.microsoft.com",
            "quay.io",
            "GHCR.IO",
        ] {
            assert!(defaults(allowed), "{allowed}");
        }
        for refused in [
            "pkg.dev",
            "ghcr.io.evil.com",
            "evil.com",
            "localhost:5000",
            "ghcr.io:443",
        ] {
            assert!(!defaults(refused), "{refused}");
        }
    }

    fn mcpb_package(identifier: &str, sha: Option<&str>) -> Package {
        serde_json::from_value(serde_json::json!({
            "registryType": "mcpb",
            "identifier": identifier,
            "fileSha256": sha,
            "transport": {"type": "stdio"}
        }))
        .unwrap()
    }

    #[test]
    fn mcpb_urls() {
        let config = OwnershipConfig {
            mcpb_allowed_hosts: vec!["downloads.example.com".parse().unwrap()],
            ..OwnershipConfig::default()
        };
        let judge = |url: &str| match mcpb_url(&config, url) {
            Ok(_) => String::new(),
            Err(Failure::NotOwned(message)) => message,
            Err(other) => panic!("{other:?}"),
        };
        for good in [
            "https://github.com/alice/weather/releases/download/v1.0.0/weather-mcp.mcpb",
            "https://GitHub.com/alice/weather-mcp/releases/download/v1/w.mcpb",
            "https://gitlab.com/alice/weather-mcp/-/releases/v1/downloads/w.mcpb",
            "https://gitlab.com/group/sub/weather/-/releases/v1/downloads/bin/mcp.mcpb",
            "https://gitlab.com/alice/weather-mcp/-/package_files/42/download",
            "https://downloads.example.com/anything/mcp.bin",
        ] {
            assert_eq!(judge(good), "", "{good}");
        }
        let refusals = [
            (
                "http://github.com/alice/weather/releases/download/v1/weather-mcp.mcpb",
                "must use https",
            ),
            (
                "https://evil.com/mcp.mcpb",
                "host `evil.com` is not accepted; bundles must be downloadable from: github.com, gitlab.com, downloads.example.com",
            ),
            (
                "https://github.com/alice/weather-mcp/raw/main/w.mcpb",
                "is not a release asset",
            ),
            (
                "https://github.com/alice/weather-mcp/releases/latest/download/w.mcpb",
                "is not a release asset",
            ),
            (
                "https://github.com/alice/weather-mcp/releases/download/v1/",
                "is not a release asset",
            ),
            (
                "https://gitlab.com/weather-mcp/-/releases/v1/downloads/w.mcpb",
                "is not a release asset",
            ),
            (
                "https://gitlab.com/alice/weather-mcp/-/package_files/x/download",
                "is not a release asset",
            ),
            (
                "https://github.com/alice/weather/releases/download/v1/weather.zip",
                "must contain `mcp`",
            ),
            (
                "https://user:pw@github.com/alice/weather/releases/download/v1/mcp.mcpb",
                "credentials",
            ),
            ("not a url", "is not a URL"),
        ];
        for (bad, needle) in refusals {
            let message = judge(bad);
            assert!(message.contains(needle), "{bad}: {message}");
        }
    }

    #[test]
    fn mcpb_digests() {
        let url = "https://github.com/a/b/releases/download/v1/mcp.mcpb";
        let upper = "762D3F8793B6CC774B3B649A983F77EF5A8F7411119BEC3EACA601DD673D3993";
        assert_eq!(
            expected_sha256(&mcpb_package(url, Some(upper))).ok(),
            Some(upper.to_ascii_lowercase())
        );
        let (not_hex, too_long) = ("g".repeat(64), "a".repeat(65));
        for bad in [
            None,
            Some("abc"),
            Some(not_hex.as_str()),
            Some(too_long.as_str()),
        ] {
            assert!(
                matches!(expected_sha256(&mcpb_package(url, bad)), Err(Failure::Digest(m)) if m.contains("64 hex digits")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn mirrors_keep_the_path() {
        let url = Url::parse("https://github.com/a/b/releases/download/v1/mcp.mcpb?x=1").unwrap();
        let mirror = Url::parse("http://127.0.0.1:8081/ignored").unwrap();
        assert_eq!(
            rebase(&url, &mirror).as_str(),
            "http://127.0.0.1:8081/a/b/releases/download/v1/mcp.mcpb?x=1"
        );
    }

    #[tokio::test]
    async fn guarded_requests_refuse_private_addresses() {
        let clients = clients().unwrap();
        let http = Http::guarded(clients);
        for url in [
            "http://localhost:9/v2/",
            "http://127.0.0.1:9/v2/",
            "http://[::1]:9/",
            "http://169.254.169.254/",
        ] {
            match http
                .get(RegistryKind::Oci, Url::parse(url).unwrap(), &[])
                .await
            {
                Err(Failure::NotOwned(message)) => assert!(
                    message.contains("address; the registry only fetches from public addresses"),
                    "{url}: {message}"
                ),
                Err(other) => panic!("{url}: {other:?}"),
                Ok(_) => panic!("{url} was fetched"),
            }
        }
        // A redirect to a private literal is refused too (names go through the resolver).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new().fallback(|| async {
            (
                StatusCode::FOUND,
                [(header::LOCATION, "http://10.1.2.3/latest/meta-data")],
            )
        });
        tokio::spawn(async move { axum::serve(listener, router).await });
        let err = clients
            .guarded
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap_err();
        assert!(
            private_address(&err).is_some_and(|m| m.contains("10.1.2.3 is a private address")),
            "{err:?}"
        );
        // Without the guard, the same names are fetched (the connection is refused: nothing listens).
        let open = Http::open(clients);
        assert!(matches!(
            open.get(
                RegistryKind::Oci,
                Url::parse("http://127.0.0.1:9/").unwrap(),
                &[]
            )
            .await,
            Err(Failure::Upstream(_))
        ));
    }

    #[test]
    fn challenges() {
        let pairs = parse_challenge(
            r#"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        );
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0].1, "https://auth.docker.io/token");
        assert_eq!(pairs[2].1, "repository:library/nginx:pull");
    }
}
