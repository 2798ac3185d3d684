//! Package ownership verification at publish (the official registry's §5 checks): a package listed in
//! a server.json must say, in its own registry, that it belongs to that server name.
//!
//! | Type | Marker |
//! |---|---|
//! | npm | `"mcpName": "<name>"` in the package.json of the published version |
//! | pypi | `mcp-name: <name>` in the version's description (the README) |
//! | nuget | `mcp-name: <name>` in the README (service index → `ReadmeUriTemplate/6.13.0`) |
//! | cargo | `mcp-name: <name>` as visible text of the README crates.io renders |
//! | oci | image config label `io.modelcontextprotocol.server.name` = `<name>` (anonymous pull) |
//!
//! Each registry type is checked only when enabled with `--verify-packages`. The default is none: the
//! embedded default serves private or offline setups whose packages may live anywhere. A registry open
//! to the public should enable every type (`--verify-packages npm,pypi,nuget,cargo,oci`).
//! `--strict-validation` does not imply it: verification needs egress to the package registries, which
//! is a deployment decision of its own.
//!
//! A missing or wrong marker, or a package or version the registry does not have, is the publisher's
//! to fix: 422 with one `errors[]` entry per package, pointing at `/packages/{i}/identifier`. A package
//! registry that cannot be reached, times out or answers 429/5xx says nothing about the package: that
//! is **503** with `Retry-After`, naming the registry, so clients retry instead of editing the
//! manifest. (OCI follows the official registry: on a 429 the check is skipped.)

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry_schema::ServerJson;
use registry_schema::manifest::Package;
use reqwest::Url;
use serde_json::Value;

use crate::error::{ApiError, ErrorItem, LoggedError, PROBLEM_JSON, ProblemDetails};

/// Per-request timeout towards a package registry (the official registry uses 10 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response read from a package registry (READMEs, package documents, image configs).
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// The OCI label naming the server.
pub const OCI_LABEL: &str = "io.modelcontextprotocol.server.name";
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
}

impl RegistryKind {
    fn of(registry_type: &str) -> Option<Self> {
        match registry_type {
            "npm" => Some(Self::Npm),
            "pypi" => Some(Self::Pypi),
            "nuget" => Some(Self::Nuget),
            "cargo" => Some(Self::Cargo),
            "oci" => Some(Self::Oci),
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
        }
    }
}

/// Package ownership flags (part of `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct OwnershipArgs {
    /// Package registry types whose ownership marker is checked at publish (comma-separated: npm, pypi,
    /// nuget, cargo, oci). Default: none. A registry open to the public should enable all of them.
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
    /// mirror). Default: the registry named by the image reference (docker.io → registry-1.docker.io).
    #[arg(long, env = "REGISTRY_OCI_REGISTRY_URL")]
    pub oci_registry_url: Option<Url>,
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
    /// Overrides every OCI image's registry.
    pub oci_url: Option<Url>,
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
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The publisher must fix the package (or the manifest): 422.
    NotOwned,
    /// The package registry could not answer: 503.
    Upstream,
}

/// A shared HTTP client for package registries (rustls on ring, 10 s per request).
pub fn http_client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            // reqwest is built without a bundled crypto provider; ring is the one the workspace has.
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::builder()
                .user_agent(concat!("mcp-reg/", env!("CARGO_PKG_VERSION")))
                .timeout(REQUEST_TIMEOUT)
                .connect_timeout(REQUEST_TIMEOUT)
                .build()
                .map_err(|err| error_chain(&err))
        })
        .as_ref()
        .map_err(Clone::clone)
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
    let client = http_client().map_err(|err| OwnershipRefusal {
        problems: vec![OwnershipProblem {
            index: 0,
            kind: ProblemKind::Upstream,
            message: format!("package registries cannot be contacted: {err}"),
        }],
        pointer_prefix: pointer_prefix.to_owned(),
    })?;
    verify_packages(server, config, client)
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
    client: &reqwest::Client,
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
        let http = Http { client };
        let outcome = match kind {
            RegistryKind::Npm => check_npm(&http, config, package, name).await,
            RegistryKind::Pypi => check_pypi(&http, config, package, name).await,
            RegistryKind::Nuget => check_nuget(&http, config, package, name).await,
            RegistryKind::Cargo => check_cargo(&http, config, package, name).await,
            RegistryKind::Oci => check_oci(&http, config, package, name).await,
        };
        if let Err(failure) = outcome {
            let (kind, message) = match failure {
                Failure::NotOwned(message) => (ProblemKind::NotOwned, message),
                Failure::Upstream(message) => (ProblemKind::Upstream, message),
            };
            tracing::info!(package.index = index, package.registry = %package.registry_type, package.identifier = %package.identifier, problem = %message, "package ownership not verified");
            problems.push(OwnershipProblem {
                index,
                kind,
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
                        "{}/packages/{}/identifier",
                        self.pointer_prefix, problem.index
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
    NotOwned(String),
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
}

impl Http<'_> {
    /// `GET url` read whole (capped). Transport failures, 429 and 5xx are [`Failure::Upstream`].
    async fn get(
        &self,
        what: RegistryKind,
        url: Url,
        headers: &[(header::HeaderName, String)],
    ) -> Result<Answer, Failure> {
        let shown = url.to_string();
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
            .map_err(|err| unreachable(error_chain(&err.without_url())))?;
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
        let valid = !reference.is_empty()
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
        let host = match self.registry.as_str() {
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
    http: &Http<'_>,
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
    let mut oci = Oci {
        http,
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
