//! Atom feeds of new versions, for watchers: the registry's (`/feed.atom`) and one server's
//! (`/servers/{name}/feed.atom`). Links are root-relative and ids are URNs, so a feed never depends on
//! the `Host` a client sent (the response cache would otherwise serve one client's host to all).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use time::OffsetDateTime;

use super::data::{self, Listing};
use super::error::{WebError, WebResult};
use super::layout::{query_value, rfc3339, server_url, version_url};
use crate::db::VersionRecord;
use crate::state::AppState;

/// Entries per feed.
const ENTRIES: usize = 50;

/// `GET /feed.atom`: the newest versions of every server.
pub async fn registry_feed(State(state): State<AppState>) -> WebResult<Response> {
    let records = data::recently_updated(&state.store, ENTRIES, None, true).await?;
    Ok(atom(
        "New versions · MCP registry",
        "urn:mcp-reg:feed",
        "/",
        "/feed.atom",
        records,
    )
    .into_response())
}

/// `GET /servers/{name}/feed.atom`.
pub async fn server_feed(state: &AppState, name: &str) -> WebResult<Response> {
    let mut records = state.store.list_versions(name, false).await?;
    if records.is_empty() {
        return Err(WebError::NotFound(format!(
            "No server named `{name}` is published here."
        )));
    }
    records.truncate(ENTRIES);
    let id = format!("urn:mcp-reg:feed:{}", query_value(name));
    let feed_url = format!("{}/feed.atom", server_url(name));
    Ok(atom(
        &format!("{name} · new versions"),
        &id,
        &server_url(name),
        &feed_url,
        records,
    )
    .into_response())
}

fn atom(title: &str, id: &str, alternate: &str, this: &str, records: Vec<VersionRecord>) -> String {
    let updated = records
        .iter()
        .map(|record| record.published_at)
        .max()
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let entries: Vec<Markup> = records.into_iter().map(entry).collect();
    let feed = html! {
        feed xmlns="http://www.w3.org/2005/Atom" {
            title { (title) }
            id { (id) }
            updated { (rfc3339(updated)) }
            link rel="alternate" type="text/html" href=(alternate) {}
            link rel="self" type="application/atom+xml" href=(this) {}
            generator { "mcp-reg" }
            @for entry in entries { (entry) }
        }
    };
    format!(
        "{}{}",
        PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n").0,
        feed.into_string()
    )
}

fn entry(record: VersionRecord) -> Markup {
    let name = record.server_name.clone();
    let version = record.version.clone();
    let published = record.published_at;
    let listing = Listing::new(record);
    let title = listing.title.as_deref().unwrap_or(&name);
    html! {
        entry {
            title { (title) " " (version) }
            id { "urn:mcp-reg:version:" (query_value(&name)) ":" (query_value(&version)) }
            updated { (rfc3339(published)) }
            published { (rfc3339(published)) }
            author { name { (name.split('/').next().unwrap_or_default()) } }
            link rel="alternate" type="text/html" href=(version_url(&name, &version)) {}
            summary { (listing.description) }
        }
    }
}
