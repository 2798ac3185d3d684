//! The start page, search results and a namespace's servers.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::data::{self, Counts, Listing};
use super::error::{WebError, WebResult};
use super::install;
use super::layout::{
    Page, Tone, badge, copyable, namespace_url, page, query_value, server_url, time_tag,
};
use crate::db::{Cursor, ListQuery, VersionSelector};
use crate::handlers::servers::{decode_cursor, encode_cursor};
use crate::state::AppState;

/// Results per page (a search with the `has tools` / `signed` filters may show more: it shows every
/// match of the rows it read).
pub const PAGE_SIZE: u32 = 20;
/// Rows a filtered search reads per page before it stops and offers the next page.
const MAX_SCANS: usize = 10;

const REGISTRY_TYPES: &[&str] = &["npm", "pypi", "oci", "nuget", "mcpb"];
const TRANSPORTS: &[&str] = &["stdio", "streamable-http", "sse"];

/// `/servers?q=…&registry_type=…&transport=…&namespace=…&has_tools=1&signed=1&cursor=…`.
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    pub q: Option<String>,
    pub registry_type: Option<String>,
    pub transport: Option<String>,
    pub namespace: Option<String>,
    pub has_tools: Option<String>,
    pub signed: Option<String>,
    pub cursor: Option<String>,
    /// Set by the script: only the results, for search-as-you-type.
    pub fragment: Option<String>,
}

fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

impl SearchParams {
    fn q(&self) -> Option<&str> {
        non_empty(self.q.as_ref())
    }
    fn flag(value: Option<&String>) -> bool {
        non_empty(value).is_some_and(|v| v != "0" && v != "false")
    }
    fn has_tools(&self) -> bool {
        Self::flag(self.has_tools.as_ref())
    }
    fn signed(&self) -> bool {
        Self::flag(self.signed.as_ref())
    }

    /// The query string of these parameters (without `fragment`), with another cursor.
    fn url(&self, cursor: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let fields = [
            ("q", self.q.as_ref()),
            ("registry_type", self.registry_type.as_ref()),
            ("transport", self.transport.as_ref()),
            ("namespace", self.namespace.as_ref()),
        ];
        for (key, value) in fields {
            if let Some(value) = non_empty(value) {
                pairs.push((key, value));
            }
        }
        if self.has_tools() {
            pairs.push(("has_tools", "1"));
        }
        if self.signed() {
            pairs.push(("signed", "1"));
        }
        if let Some(cursor) = cursor {
            pairs.push(("cursor", cursor));
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(key, value)| format!("{key}={}", query_value(value)))
            .collect();
        if query.is_empty() {
            "/servers".to_owned()
        } else {
            format!("/servers?{}", query.join("&"))
        }
    }
}

fn params(query: Result<Query<SearchParams>, QueryRejection>) -> WebResult<SearchParams> {
    query
        .map(|Query(params)| params)
        .map_err(|err| WebError::BadRequest(err.body_text()))
}

/// A page of results.
pub struct Results {
    pub listings: Vec<Listing>,
    /// For the next page's URL (the API's opaque cursor form).
    pub next_cursor: Option<String>,
}

/// Runs a search (or the plain list, without `q`) over latest versions, keyset-paginated.
pub async fn run_search(state: &AppState, params: &SearchParams) -> WebResult<Results> {
    let mut cursor = match non_empty(params.cursor.as_ref()) {
        Some(text) => Some(decode_cursor(text).ok_or_else(|| {
            WebError::BadRequest(format!("`{text}` is not a cursor this registry issued"))
        })?),
        None => None,
    };
    let filtered = params.has_tools() || params.signed();
    let mut listings = Vec::new();
    let mut next_cursor;
    let mut scans = 0;
    loop {
        let query = ListQuery {
            cursor: cursor.take(),
            limit: PAGE_SIZE,
            search: params.q().map(str::to_owned),
            version: Some(VersionSelector::Latest),
            registry_type: non_empty(params.registry_type.as_ref()).map(str::to_owned),
            transport: non_empty(params.transport.as_ref()).map(str::to_owned),
            namespace: non_empty(params.namespace.as_ref()).map(str::to_owned),
            ..ListQuery::default()
        };
        let page = state.store.list_servers(&query).await?;
        scans += 1;
        listings.extend(page.items.into_iter().map(Listing::new).filter(|listing| {
            (!params.has_tools() || listing.has_tools()) && (!params.signed() || listing.signed())
        }));
        next_cursor = page.next_cursor;
        let done = !filtered || listings.len() >= PAGE_SIZE as usize || scans >= MAX_SCANS;
        match next_cursor.as_deref().and_then(Cursor::decode) {
            Some(next) if !done => cursor = Some(next),
            _ => break,
        }
    }
    data::mark_breaking(&state.store, &mut listings).await?;
    Ok(Results {
        listings,
        next_cursor: next_cursor.as_deref().map(encode_cursor),
    })
}

/// `GET /`.
pub async fn home(State(state): State<AppState>) -> WebResult<Response> {
    let counts = data::counts(&state).await?;
    let mut recent: Vec<Listing> = data::recently_updated(&state.store, 8, None, false)
        .await?
        .into_iter()
        .map(Listing::new)
        .collect();
    data::mark_breaking(&state.store, &mut recent).await?;
    let body = html! {
        section.hero aria-labelledby="home-title" {
            h1 #home-title { "MCP server registry" }
            p.lead { "Find Model Context Protocol servers, see what tools they offer and how they changed, and install them into your MCP host." }
            (search_form(&SearchParams::default(), false))
            @if let Some(counts) = counts { (counts_line(&counts)) }
        }
        section aria-labelledby="recent-title" {
            h2 #recent-title { "Recently updated" }
            @if recent.is_empty() {
                p { "No servers have been published yet." }
            } @else {
                ol.results.compact { @for (index, listing) in recent.iter().enumerate() { (result_item(listing, index, "h3")) } }
                p { a href="/servers" { "Browse all servers" } " · " a href="/feed.atom" { "Follow new versions (Atom)" } }
            }
        }
    };
    Ok(page(&Page {
        title: "Servers",
        description: Some("A registry of Model Context Protocol servers."),
        feed: Some("/feed.atom".to_owned()),
        query: None,
        body,
    })
    .into_response())
}

fn counts_line(counts: &Counts) -> Markup {
    html! {
        p.counts {
            strong { (counts.servers) } " servers in " strong { (counts.namespaces) } " namespaces · "
            strong { (counts.signed) } " signed · " strong { (counts.with_tools) } " with a published tool surface"
        }
    }
}

/// The search box with its filters; `live` marks the results page's form for search-as-you-type.
pub fn search_form(params: &SearchParams, live: bool) -> Markup {
    let selected = |value: Option<&String>, option: &str| non_empty(value) == Some(option);
    html! {
        form.search action="/servers" method="get" role="search" data-live[live] {
            div.searchbar {
                label for="q" { "Search servers" }
                div.row {
                    input #q type="search" name="q" value=[params.q()] autocomplete="off"
                        placeholder="name, description, tool…" aria-describedby="q-help";
                    button type="submit" { "Search" }
                }
                p #q-help .help { "Matches names, titles, descriptions, package identifiers and tool names." }
            }
            fieldset.filters {
                legend { "Filters" }
                div.filter {
                    label for="f-registry-type" { "Package type" }
                    select #f-registry-type name="registry_type" {
                        option value="" { "Any" }
                        @for kind in REGISTRY_TYPES {
                            option value=(kind) selected[selected(params.registry_type.as_ref(), kind)] { (kind) }
                        }
                    }
                }
                div.filter {
                    label for="f-transport" { "Transport" }
                    select #f-transport name="transport" {
                        option value="" { "Any" }
                        @for kind in TRANSPORTS {
                            option value=(kind) selected[selected(params.transport.as_ref(), kind)] { (kind) }
                        }
                    }
                }
                div.filter {
                    label for="f-namespace" { "Namespace" }
                    input #f-namespace type="text" name="namespace" value=[non_empty(params.namespace.as_ref())]
                        placeholder="io.github.acme" autocomplete="off";
                }
                div.filter.checks {
                    label { input type="checkbox" name="has_tools" value="1" checked[params.has_tools()]; " Has tools" }
                    label { input type="checkbox" name="signed" value="1" checked[params.signed()]; " Signed" }
                }
            }
        }
    }
}

/// One result row.
pub fn result_item(listing: &Listing, index: usize, heading: &str) -> Markup {
    let record = &listing.record;
    let name = record.server_name.as_str();
    let title = listing.title.as_deref().unwrap_or(name);
    let link = html! { a href=(server_url(name)) { (title) } };
    html! {
        li.result {
            @if heading == "h3" { h3 { (link) } } @else { h2 { (link) } }
            p.name {
                code { (name) } " · "
                span.version { "v" (record.version) } " · updated "
                (time_tag(record.updated_at))
            }
            @if !listing.description.is_empty() { p.desc { (listing.description) } }
            (badges(listing))
            div.actions {
                (copyable(&format!("cmd-{index}"), &format!("mcp-reg install {name}")))
                (install::quick_links(name, &record.version, &listing.packages, &listing.remotes))
            }
        }
    }
}

pub fn badges(listing: &Listing) -> Markup {
    let record = &listing.record;
    let mut types: Vec<&str> = listing
        .packages
        .iter()
        .map(|package| package.registry_type.as_str())
        .collect();
    types.dedup();
    html! {
        p.badges {
            @if listing.signed() {
                (badge(Tone::Good, "signed", "Published with a Sigstore bundle the registry verified"))
            }
            @if let Some(status) = data::status_label(record.status) {
                (badge(Tone::Warn, status, record.status_message.as_deref().unwrap_or("Withdrawn by its publisher")))
            }
            @if listing.breaking {
                (badge(Tone::Bad, "breaking", "This version breaks callers of the version before it"))
            }
            (review_badge(record.review.as_deref()))
            @match listing.tools {
                Some(1) => (badge(Tone::Plain, "1 tool", "Tools in the published surface")),
                Some(count) => (badge(Tone::Plain, &format!("{count} tools"), "Tools in the published surface")),
                None => {},
            }
            @for kind in types { (badge(Tone::Plain, kind, "Package type")) }
            @if !listing.remotes.is_empty() { (badge(Tone::Plain, "remote", "Hosted endpoint")) }
        }
    }
}

/// The security review's verdict on what the version tells the model, when it found something worth
/// a look (medium or high); the findings are at the API's `…/review` route and in `mcp-reg show`.
pub fn review_badge(summary: Option<&str>) -> Markup {
    let highest = summary
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .and_then(|value| value["highest"].as_str().map(str::to_owned));
    html! {
        @match highest.as_deref() {
            Some("high") => (badge(Tone::Bad, "review: high risk", "The security review found instructions, hidden text or exfiltration aimed at the model; read the findings before installing")),
            Some("medium") => (badge(Tone::Warn, "review: check", "The security review found something in what this server tells the model that deserves a look")),
            _ => {},
        }
    }
}

/// The results block (also what search-as-you-type fetches).
fn results_block(params: &SearchParams, results: &Results) -> Markup {
    let count = results.listings.len();
    html! {
        p.count role="status" {
            @if count == 0 {
                "No servers match."
            } @else {
                (count) @if count == 1 { " server" } @else { " servers" }
                @if let Some(q) = params.q() { " for “" (q) "”" }
                @if params.cursor.is_some() { " on this page" }
            }
        }
        @if count > 0 {
            ol.results { @for (index, listing) in results.listings.iter().enumerate() { (result_item(listing, index, "h2")) } }
        }
        nav.pager aria-label="Result pages" {
            @if params.cursor.is_some() { a href=(params.url(None)) { "First page" } }
            @if let Some(next) = &results.next_cursor { a rel="next" href=(params.url(Some(next))) { "Next page" } }
        }
    }
}

/// `GET /servers`.
pub async fn search(
    State(state): State<AppState>,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> WebResult<Response> {
    let params = params(query)?;
    let results = run_search(&state, &params).await?;
    let block = results_block(&params, &results);
    if params.fragment.is_some() {
        return Ok(Html(block.into_string()).into_response());
    }
    let title = match params.q() {
        Some(q) => format!("“{q}”"),
        None => "All servers".to_owned(),
    };
    let body = html! {
        h1 { @if params.q().is_some() { "Search results" } @else { "All servers" } }
        (search_form(&params, true))
        div #results aria-busy="false" { (block) }
    };
    Ok(page(&Page {
        title: &title,
        description: None,
        feed: None,
        query: params.q(),
        body,
    })
    .into_response())
}

/// `?cursor=…` of a namespace page.
#[derive(Debug, Default, Deserialize)]
pub struct CursorParams {
    pub cursor: Option<String>,
}

/// `GET /namespaces/{namespace}`: a publisher's servers and signing keys.
pub async fn namespace(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    query: Result<Query<CursorParams>, QueryRejection>,
) -> WebResult<Response> {
    let cursor_text = query
        .map_err(|err| WebError::BadRequest(err.body_text()))?
        .0
        .cursor;
    if registry_schema::Namespace::parse(namespace.as_str()).is_err() {
        return Err(WebError::NotFound(format!(
            "`{namespace}` is not a namespace."
        )));
    }
    let params = SearchParams {
        namespace: Some(namespace.clone()),
        cursor: cursor_text,
        ..SearchParams::default()
    };
    let results = run_search(&state, &params).await?;
    if results.listings.is_empty() && params.cursor.is_none() {
        return Err(WebError::NotFound(format!(
            "No servers are published in namespace `{namespace}`."
        )));
    }
    let keys = state.store.signing_keys(&namespace).await?;
    let next = results.next_cursor.as_deref().map(|cursor| {
        format!(
            "{}?cursor={}",
            namespace_url(&namespace),
            query_value(cursor)
        )
    });
    let body = html! {
        h1 { "Namespace " code { (namespace) } }
        p { "Servers published under " code { (namespace) "/" } "." }
        ol.results { @for (index, listing) in results.listings.iter().enumerate() { (result_item(listing, index, "h2")) } }
        nav.pager aria-label="Result pages" {
            @if params.cursor.is_some() { a href=(namespace_url(&namespace)) { "First page" } }
            @if let Some(next) = next { a rel="next" href=(next) { "Next page" } }
        }
        section aria-labelledby="keys-title" {
            h2 #keys-title { "Signing keys" }
            @if keys.is_empty() {
                p { "No keys are registered; versions can still be signed keyless from the namespace's CI." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Key id" } th scope="col" { "Algorithm" } th scope="col" { "Registered" } th scope="col" { "Status" } } }
                    tbody { @for key in &keys { tr {
                        td { code.hash { (key.key_id) } }
                        td { (key.algorithm) }
                        td { (time_tag(key.created_at)) }
                        td { @if let Some(revoked) = key.revoked_at { "revoked " (time_tag(revoked)) } @else { "active" } }
                    } } }
                } }
            }
        }
    };
    Ok(page(&Page {
        title: &namespace,
        description: None,
        feed: None,
        query: None,
        body,
    })
    .into_response())
}
