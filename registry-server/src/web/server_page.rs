//! `/servers/{namespace}/{name}` (latest version), `…/versions/{version}`, `…/diff?from=A&to=B` and
//! `…/feed.atom`. The name keeps its slash in the URL, so one wildcard route takes them all.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use registry_schema::Manifest;
use registry_schema::compat::Report;
use registry_schema::manifest::{Argument, Input, ServerJson};
use serde::Deserialize;

use super::data::{self, StoredReport};
use super::error::{WebError, WebResult};
use super::layout::{
    Page, Tone, badge, diff_url, namespace_url, page, safe_link, server_url, time_tag, version_url,
};
use super::{feed, install, surface};
use crate::db::{VersionRecord, VersionSelector};
use crate::state::AppState;

/// Rows of the versions table (newest first); older versions stay reachable by URL and the API.
const MAX_VERSION_ROWS: usize = 100;

/// What the path after `/servers/` names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Server(String),
    Version(String, String),
    Diff(String),
    Feed(String),
}

fn parse_target(path: &str) -> Option<Target> {
    let (namespace, rest) = path.split_once('/')?;
    let (local, tail) = match rest.split_once('/') {
        Some((local, tail)) => (local, Some(tail)),
        None => (rest, None),
    };
    if namespace.is_empty() || local.is_empty() {
        return None;
    }
    let name = format!("{namespace}/{local}");
    match tail {
        None | Some("") => Some(Target::Server(name)),
        Some("diff") => Some(Target::Diff(name)),
        Some("feed.atom") => Some(Target::Feed(name)),
        Some(tail) => {
            let version = tail.strip_prefix("versions/")?.trim_end_matches('/');
            (!version.is_empty()).then(|| Target::Version(name, version.to_owned()))
        }
    }
}

/// `?from=…&to=…` of a diff.
#[derive(Debug, Default, Deserialize)]
pub struct DiffParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// `GET /servers/{*path}`.
pub async fn server_path(
    State(state): State<AppState>,
    Path(path): Path<String>,
    query: Result<Query<DiffParams>, QueryRejection>,
) -> WebResult<Response> {
    let target = parse_target(&path)
        .ok_or_else(|| WebError::NotFound(format!("There is no page at /servers/{path}.")))?;
    match target {
        Target::Server(name) => version_page(&state, &name, None).await,
        Target::Version(name, version) => version_page(&state, &name, Some(&version)).await,
        Target::Diff(name) => {
            let params = query
                .map_err(|err| WebError::BadRequest(err.body_text()))?
                .0;
            diff_page(&state, &name, params).await
        }
        Target::Feed(name) => feed::server_feed(&state, &name).await,
    }
}

fn parse_manifest(record: &VersionRecord) -> WebResult<Manifest> {
    Manifest::from_stored(record.manifest.as_str()).map_err(|err| {
        WebError::Internal(anyhow::anyhow!(
            "stored manifest of `{}` `{}`: {err}",
            record.server_name,
            record.version
        ))
    })
}

fn server_missing(name: &str) -> WebError {
    WebError::NotFound(format!("No server named `{name}` is published here."))
}

/// The latest version (`version: None`) or one version of a server.
async fn version_page(state: &AppState, name: &str, version: Option<&str>) -> WebResult<Response> {
    let selector = version.map_or(VersionSelector::Latest, VersionSelector::parse);
    // A deleted version stays inspectable at its own URL; the server page shows only live ones.
    let record = state
        .store
        .find_version(name, &selector, version.is_some())
        .await?
        .ok_or_else(|| match version {
            Some(version) => WebError::NotFound(format!("`{name}` has no version `{version}`.")),
            None => server_missing(name),
        })?;
    let versions = state.store.list_versions(name, false).await?;
    let shown: Vec<&VersionRecord> = versions.iter().take(MAX_VERSION_ROWS).collect();
    let version_names: Vec<String> = shown.iter().map(|v| v.version.clone()).collect();
    let reports = data::reports(&state.store, name, &version_names).await?;
    let manifest = parse_manifest(&record)?;
    let server = manifest.server();
    let surface = crate::compat::surface(server);
    let provenance = data::provenance_summary(&record);
    let keys = match &provenance {
        Some(summary) if summary.key_id.is_some() => {
            state
                .store
                .signing_keys(record.server_name.split('/').next().unwrap_or_default())
                .await?
        }
        _ => Vec::new(),
    };
    let own_report = shown
        .iter()
        .position(|v| v.version == record.version)
        .and_then(|index| reports.get(index).cloned().flatten());
    let latest = versions.iter().find(|v| v.is_latest);
    let title = server.title.as_deref().unwrap_or(name);
    let namespace = name.split('/').next().unwrap_or_default();
    let feed_url = format!("{}/feed.atom", server_url(name));
    let body = html! {
        header.server-head {
            p.crumbs { a href=(namespace_url(namespace)) { (namespace) } " / " }
            h1 { (title) }
            p.name { code { (name) } " · " span.version { "v" (record.version) } " · published " (time_tag(record.published_at)) }
            p.badges {
                @if provenance.is_some() { (badge(Tone::Good, "signed", "Published with a Sigstore bundle the registry verified")) }
                @if let Some(status) = data::status_label(record.status) {
                    (badge(if status == "deleted" { Tone::Bad } else { Tone::Warn }, status, record.status_message.as_deref().unwrap_or("Withdrawn by its publisher")))
                }
                @if own_report.as_ref().is_some_and(StoredReport::breaks_callers) {
                    (badge(Tone::Bad, "breaking", "This version breaks callers of the version before it"))
                }
                @if reports.iter().flatten().any(StoredReport::breaks_callers) {
                    (badge(Tone::Warn, "breaking history", "Some version of this server broke callers of the one before it"))
                }
                (super::pages::review_badge(record.review.as_deref()))
            }
            @if let Some(message) = &record.status_message { p.notice { (message) } }
            @if let (Some(_), Some(latest)) = (version, latest) {
                @if latest.version != record.version {
                    p.notice { "This is not the latest version. " a href=(version_url(name, &latest.version)) { "Latest: " (latest.version) } }
                }
            }
        }
        nav.toc aria-label="On this page" {
            a href="#install" { "Install" } a href="#runtime" { "Packages" } a href="#tools" { "Tools" }
            a href="#provenance" { "Provenance" } a href="#versions" { "Versions" }
            a href=(feed_url) { "Feed" }
        }
        p.lead.pre-line { (server.description) }
        (links(server))
        (install::section(name, version.map(|_| record.version.as_str()), server))
        (runtime_section(server))
        (surface::surface_section(surface.as_ref()))
        (provenance_section(&record, provenance.as_ref(), &keys))
        (versions_section(name, &shown, &reports, &record.version))
    };
    let page_title = match version {
        Some(_) => format!("{title} {}", record.version),
        None => title.to_owned(),
    };
    Ok(page(&Page {
        title: &page_title,
        description: Some(&server.description),
        feed: Some(feed_url.clone()),
        query: None,
        body,
    })
    .into_response())
}

fn links(server: &ServerJson) -> Markup {
    html! {
        dl.facts {
            @if let Some(repository) = &server.repository {
                dt { "Repository" }
                dd {
                    (safe_link(&repository.url))
                    @if let Some(subfolder) = &repository.subfolder { " (" code { (subfolder) } ")" }
                }
            }
            @if let Some(website) = &server.website_url { dt { "Website" } dd { (safe_link(website)) } }
        }
    }
}

/// One required (or optional) input: env var, header or argument.
struct InputRow<'a> {
    kind: &'static str,
    name: String,
    input: &'a Input,
    origin: String,
}

fn argument_name(argument: &Argument) -> String {
    argument
        .name
        .clone()
        .or_else(|| argument.value_hint.clone())
        .unwrap_or_else(|| "(positional)".to_owned())
}

fn runtime_section(server: &ServerJson) -> Markup {
    let mut inputs: Vec<InputRow<'_>> = Vec::new();
    for package in server.packages() {
        let origin = format!("{} {}", package.registry_type, package.identifier);
        for var in package.environment_variables() {
            inputs.push(InputRow {
                kind: "env",
                name: var.name.clone(),
                input: &var.input,
                origin: origin.clone(),
            });
        }
        for header in package.transport.headers.as_deref().unwrap_or_default() {
            inputs.push(InputRow {
                kind: "header",
                name: header.name.clone(),
                input: &header.input,
                origin: origin.clone(),
            });
        }
        for argument in package
            .runtime_arguments()
            .iter()
            .chain(package.package_arguments())
        {
            if argument.input.value.is_none() {
                inputs.push(InputRow {
                    kind: "argument",
                    name: argument_name(argument),
                    input: &argument.input,
                    origin: origin.clone(),
                });
            }
        }
    }
    for remote in server.remotes() {
        let origin = format!("remote {}", remote.url.as_deref().unwrap_or_default());
        for header in remote.headers.as_deref().unwrap_or_default() {
            inputs.push(InputRow {
                kind: "header",
                name: header.name.clone(),
                input: &header.input,
                origin: origin.clone(),
            });
        }
    }
    html! {
        section #runtime aria-labelledby="runtime-title" {
            h2 #runtime-title { "Packages and remotes" }
            @if server.packages().is_empty() && server.remotes().is_empty() {
                p { "This version lists no package and no remote." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Kind" } th scope="col" { "Identifier or URL" } th scope="col" { "Version" } th scope="col" { "Transport" } } }
                    tbody {
                        @for package in server.packages() { tr {
                            td { (package.registry_type) }
                            td { code { (package.identifier) } }
                            td { (package.version.as_deref().unwrap_or("—")) }
                            td { (package.transport.r#type.as_str()) }
                        } }
                        @for remote in server.remotes() { tr {
                            td { "remote" }
                            td { code { (remote.url.as_deref().unwrap_or("—")) } }
                            td { "—" }
                            td { (remote.r#type.as_str()) }
                        } }
                    }
                } }
            }
            h3 { "Inputs" }
            @if inputs.is_empty() {
                p { "No environment variables, headers or arguments to supply." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "Description" } th scope="col" { "Needed" } } }
                    tbody { @for row in &inputs { tr {
                        td { code { (row.name) } }
                        td { (row.kind) br; small { (row.origin) } }
                        td {
                            (row.input.description.as_deref().unwrap_or(""))
                            @if let Some(default) = &row.input.default { " Default: " code { (default) } }
                            @if let Some(choices) = &row.input.choices { " One of: " code { (choices.join(", ")) } }
                        }
                        td {
                            @if row.input.is_required() { (badge(Tone::Warn, "required", "Must be supplied")) } @else { "optional" }
                            @if row.input.is_secret() { " " (badge(Tone::Plain, "secret", "Kept out of config files where the host allows")) }
                        }
                    } } }
                } }
            }
        }
    }
}

fn provenance_section(
    record: &VersionRecord,
    summary: Option<&registry_provenance::Summary>,
    keys: &[crate::db::SigningKeyRecord],
) -> Markup {
    let api = format!(
        "/v0.1/x/dev.mcp-reg/servers/{}/versions/{}/provenance",
        super::layout::segment(&record.server_name),
        super::layout::segment(&record.version)
    );
    html! {
        section #provenance aria-labelledby="provenance-title" {
            h2 #provenance-title { "Provenance" }
            @match summary {
                None => p { (badge(Tone::Plain, "unsigned", "No Sigstore bundle")) " This version was published without a signature." },
                Some(summary) => {
                    @let revoked = summary.key_id.as_ref().and_then(|id| keys.iter().find(|key| &key.key_id == id)).and_then(|key| key.revoked_at);
                    p {
                        (badge(Tone::Good, "verified", "The registry verified the bundle when the version was published"))
                        @if let Some(revoked) = revoked { " " (badge(Tone::Bad, "key revoked", "The key that signed it has since been revoked")) " on " (time_tag(revoked)) }
                    }
                    dl.facts {
                        dt { "Signer" } dd { code { (summary.identity) } }
                        @if let Some(issuer) = &summary.issuer { dt { "Issuer" } dd { code { (issuer) } } }
                        @if let Some(repository) = &summary.repository { dt { "Source" } dd { (safe_link(repository)) } }
                        @if let Some(commit) = &summary.commit { dt { "Commit" } dd { code.hash { (commit) } } }
                        @if let Some(workflow) = &summary.workflow { dt { "Workflow" } dd { code { (workflow) } } }
                        @if let Some(key_id) = &summary.key_id { dt { "Key" } dd { code.hash { (key_id) } } }
                        @if let Some(index) = summary.log_index { dt { "Transparency log index" } dd { (index) } }
                        @if let Some(signed_at) = &summary.signed_at { dt { "Signed at" } dd { (signed_at) } }
                        dt { "Manifest digest" } dd { code.hash { (summary.digest) } }
                    }
                }
            }
            p.meta { a href=(api) { "Bundle and summary (JSON)" } " · verify locally with " code { "mcp-reg verify " (record.server_name) } }
        }
    }
}

fn versions_section(
    name: &str,
    versions: &[&VersionRecord],
    reports: &[Option<StoredReport>],
    current: &str,
) -> Markup {
    html! {
        section #versions aria-labelledby="versions-title" {
            h2 #versions-title { "Versions (" (versions.len()) ")" }
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Version" } th scope="col" { "Status" } th scope="col" { "Published" }
                    th scope="col" { "Compatibility" } th scope="col" { "Needs" } th scope="col" { span.visually-hidden { "Compare" } }
                } }
                tbody { @for (index, record) in versions.iter().enumerate() {
                    @let report = reports.get(index).and_then(Option::as_ref);
                    @let previous = versions.get(index + 1);
                    tr aria-current=[(record.version == current).then_some("page")] {
                        th scope="row" {
                            a href=(version_url(name, &record.version)) { (record.version) }
                            @if record.is_latest { " " (badge(Tone::Good, "latest", "The latest version")) }
                        }
                        td { (record.status.as_str()) }
                        td { (time_tag(record.published_at)) }
                        td { @match report {
                            Some(report) if report.breaks_callers() => (badge(Tone::Bad, "breaking", report.unannounced_break.as_ref().map_or("Breaks callers of the version before it", |_| "Breaks callers, and its version number does not say so"))),
                            Some(report) => (badge(Tone::Good, match report.verdict { registry_schema::compat::Verdict::Pass => "compatible", registry_schema::compat::Verdict::Reject => "rejected" }, "The publish gate's verdict")),
                            None => span.meta { "not checked" },
                        } }
                        td { @if let Some(report) = report { (report.required_bump.as_str()) } @else { "—" } }
                        td { @if let Some(previous) = previous {
                            a href=(diff_url(name, &previous.version, &record.version)) { "Changes from " (previous.version) }
                        } }
                    }
                } }
            } }
        }
    }
}

/// The report between two versions, human-readable.
async fn diff_page(state: &AppState, name: &str, params: DiffParams) -> WebResult<Response> {
    let versions = state.store.list_versions(name, true).await?;
    if versions.is_empty() {
        return Err(server_missing(name));
    }
    let pick = |wanted: Option<&String>, fallback: usize| -> WebResult<&VersionRecord> {
        match wanted.map(|v| v.trim()).filter(|v| !v.is_empty()) {
            Some("latest") => versions
                .iter()
                .find(|v| v.is_latest)
                .or(versions.first())
                .ok_or_else(|| server_missing(name)),
            Some(wanted) => versions
                .iter()
                .find(|v| v.version == wanted)
                .ok_or_else(|| WebError::NotFound(format!("`{name}` has no version `{wanted}`."))),
            None => versions
                .get(fallback)
                .or(versions.last())
                .ok_or_else(|| server_missing(name)),
        }
    };
    let to = pick(params.to.as_ref(), 0)?;
    let from = pick(params.from.as_ref(), 1)?;
    let report_value = crate::compat::diff(&parse_manifest(from)?, &parse_manifest(to)?);
    let report: Report = serde_json::from_value(report_value)
        .map_err(|err| WebError::Internal(anyhow::anyhow!("diff report: {err}")))?;
    let options = |selected: &str| {
        html! { @for v in &versions { option value=(v.version) selected[v.version == selected] { (v.version) } } }
    };
    let title = format!("{name}: {} → {}", from.version, to.version);
    let body = html! {
        p.crumbs { a href=(server_url(name)) { (name) } " / " }
        h1 { "Changes from " code { (from.version) } " to " code { (to.version) } }
        form.compare action={ (server_url(name)) "/diff" } method="get" {
            div.filter { label for="from" { "From" } select #from name="from" { (options(&from.version)) } }
            div.filter { label for="to" { "To" } select #to name="to" { (options(&to.version)) } }
            button type="submit" { "Compare" }
        }
        (surface::report_view(&report))
    };
    Ok(page(&Page {
        title: &title,
        description: None,
        feed: None,
        query: None,
        body,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_target() {
        assert_eq!(
            parse_target("io.github.acme/weather"),
            Some(Target::Server("io.github.acme/weather".into()))
        );
        assert_eq!(
            parse_target("io.github.acme/weather/versions/1.0.0+b"),
            Some(Target::Version(
                "io.github.acme/weather".into(),
                "1.0.0+b".into()
            ))
        );
        assert_eq!(
            parse_target("a.b/c/diff"),
            Some(Target::Diff("a.b/c".into()))
        );
        assert_eq!(
            parse_target("a.b/c/feed.atom"),
            Some(Target::Feed("a.b/c".into()))
        );
        assert_eq!(parse_target("a.b"), None);
        assert_eq!(parse_target("a.b/c/versions/"), None);
        assert_eq!(parse_target("a.b/c/other"), None);
    }
}
