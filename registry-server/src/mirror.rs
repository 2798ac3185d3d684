//! `registry-server mirror --from URL`: copies a registry that speaks the official `/v0.1` API into this
//! one, incrementally and resumably.
//!
//! A pass reads `GET {from}/v0.1/servers?include_deleted=true&limit=…[&updated_since=…][&cursor=…]` page by
//! page. New versions are imported with the upstream's exact `server` text; status changes (deprecations,
//! deletions, messages) are applied to versions already here; the upstream's `publishedAt` and
//! `statusChangedAt` are kept. Latest flags are recomputed by the store with its own rule, as for any
//! publish or status change.
//!
//! Progress is saved per upstream in `mirror_state` after every applied page, so an interrupted pass
//! continues from its last page. Pages come in `(name, version)` order, not `updatedAt` order, so the
//! mark the next pass asks for (`updated_since`) only moves when a pass completes: to the largest
//! `updatedAt` it applied, but no later than the upstream's clock when the pass began (minus
//! [`MirrorOptions::settle`]), so a change committed while the pass was paging is fetched again next
//! time. Applying an entry twice changes nothing.

use std::cmp::Ordering;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use registry_schema::{Error as SchemaError, Manifest, Policy};
use reqwest::header::DATE;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::value::RawValue;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::config::DatabaseArgs;
use crate::db::{
    MirrorState, MirrorTimes, Status, StatusChange, Store, StoreError, VersionRecord,
    VersionSelector,
};
use crate::import::{Official, ResponseMeta};

/// Largest page the official API serves, and the default.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Longest pause between retries of one request.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Largest response body read: a defence against a broken or hostile upstream.
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// How much of an unexpected response body an error quotes.
const BODY_EXCERPT: usize = 300;

/// `registry-server mirror` flags.
#[derive(Debug, clap::Args)]
pub struct MirrorArgs {
    /// Base URL of the upstream registry (e.g. https://registry.modelcontextprotocol.io).
    #[arg(long, value_name = "URL")]
    pub from: Url,
    /// Keep mirroring: start a pass every SECS seconds until Ctrl-C or SIGTERM.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: Option<u64>,
    /// Entries per upstream page.
    #[arg(long, default_value_t = MAX_PAGE_SIZE, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub page_size: u32,
    /// Stop a pass after this many pages; the next run continues where it stopped.
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u64>,
    /// Seconds one request may take before it is retried.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Validate with a public registry's strict rules (invalid entries are skipped and reported).
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// How a pass runs.
#[derive(Debug, Clone)]
pub struct MirrorOptions {
    /// Entries per page (1..=[`MAX_PAGE_SIZE`]).
    pub page_size: u32,
    /// Stop after this many pages, leaving the pass to be continued (`None`: run to the end).
    pub max_pages: Option<u64>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries of a request that failed to connect, timed out, or got a 5xx or 429.
    pub retries: u32,
    /// Pause before the first retry; doubled for each further one (at most 30 s).
    pub backoff: Duration,
    /// How far before the upstream's clock at the start of a pass the next pass's mark stays, for
    /// writes the upstream committed late (its `updatedAt` is taken before its commit).
    pub settle: Duration,
    /// Validation applied to upstream manifests.
    pub policy: Policy,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        Self {
            page_size: MAX_PAGE_SIZE,
            max_pages: None,
            timeout: Duration::from_secs(30),
            retries: 4,
            backoff: Duration::from_millis(500),
            settle: Duration::from_secs(2),
            policy: Policy::lenient(),
            progress: false,
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorSummary {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Pages applied.
    pub pages: u64,
    /// Entries received.
    pub fetched: u64,
    /// Versions added.
    pub imported: u64,
    /// Versions here whose status or status message changed.
    pub statuses_updated: u64,
    /// Versions here that only took the upstream's timestamps.
    pub times_updated: u64,
    /// Entries already mirrored as they are upstream (or whose version clashes with a stored one).
    pub unchanged: u64,
    /// `(name@version or entry position, reason)` of entries this registry refuses.
    pub rejected: Vec<(String, String)>,
    /// The pass reached the upstream's last page (false when `max_pages` stopped it).
    pub complete: bool,
    /// The mark the next pass asks for (`updated_since`).
    pub updated_since: Option<String>,
}

impl MirrorSummary {
    /// Entries that changed nothing here.
    pub fn skipped(&self) -> u64 {
        self.unchanged + self.rejected.len() as u64
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("`{url}` cannot be mirrored: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot reach the upstream registry at {url} ({attempts} attempt(s)): {reason}")]
    Unreachable {
        url: String,
        attempts: u32,
        reason: String,
    },
    #[error("the upstream registry answered HTTP {status} for {url}{}", excerpt(.body))]
    Status {
        url: String,
        status: StatusCode,
        body: String,
    },
    #[error("the upstream registry sent a page that is not a ServerList ({url}): {reason}")]
    BadPage { url: String, reason: String },
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn excerpt(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// The command: one pass, or a pass every `--interval` seconds until Ctrl-C/SIGTERM.
pub async fn run(store: &Store, args: &MirrorArgs) -> anyhow::Result<()> {
    let options = MirrorOptions {
        page_size: args.page_size,
        max_pages: args.max_pages,
        timeout: Duration::from_secs(args.timeout.max(1)),
        policy: if args.strict {
            Policy::strict()
        } else {
            Policy::lenient()
        },
        progress: true,
        ..MirrorOptions::default()
    };
    // A URL we cannot use is a user error: report it before any pass, not once per interval.
    list_url(&args.from)?;
    let Some(interval) = args.interval else {
        let summary = mirror_once(store, &args.from, &options).await?;
        report(&summary);
        return Ok(());
    };
    let shutdown = crate::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            result = mirror_once(store, &args.from, &options) => match result {
                Ok(summary) => report(&summary),
                // The upstream may be down for a while; the next pass retries (and resumes).
                Err(err) => eprintln!("mirror pass failed (retrying in {interval} s): {err}"),
            },
            () = &mut shutdown => return Ok(()),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(interval)) => {}
            () = &mut shutdown => return Ok(()),
        }
    }
}

/// The summary line (and the refused entries) on stderr.
fn report(summary: &MirrorSummary) {
    for (entry, reason) in &summary.rejected {
        eprintln!("skipped {entry}: {reason}");
    }
    eprintln!(
        "imported {} version(s), updated {} status(es), skipped {} ({} unchanged, {} rejected){}",
        summary.imported,
        summary.statuses_updated,
        summary.skipped(),
        summary.unchanged,
        summary.rejected.len(),
        if summary.complete {
            ""
        } else {
            "; stopped early, the next run continues"
        }
    );
}

/// Runs one pass (or continues an interrupted one) from the registry at `from` into `store`.
pub async fn mirror_once(
    store: &Store,
    from: &Url,
    options: &MirrorOptions,
) -> Result<MirrorSummary, MirrorError> {
    let list = list_url(from)?;
    let upstream = upstream_key(from);
    let mut client = Client::new(options)?;
    let mut state = store.mirror_state(&upstream).await?.unwrap_or_default();
    let since = state.updated_since.clone();
    let mut cursor = state.pass_cursor.clone();
    let mut pass_max = state.pass_max.as_deref().and_then(parse_time);
    let mut summary = MirrorSummary::default();
    let bar = progress_bar(options.progress);
    loop {
        if options
            .max_pages
            .is_some_and(|max_pages| summary.pages >= max_pages)
        {
            bar.finish_and_clear();
            summary.updated_since = since;
            summary.requests = client.requests;
            return Ok(summary);
        }
        let url = page_url(
            &list,
            options.page_size,
            since.as_deref(),
            cursor.as_deref(),
        );
        let (body, date) = client.get(&url).await?;
        if state.pass_started.is_none() {
            // The first page of a pass: the upstream's clock bounds the mark this pass may set.
            state.pass_started = Some(format_time(date.unwrap_or_else(OffsetDateTime::now_utc)));
        }
        let page: ServerList =
            serde_json::from_slice(&body).map_err(|err| MirrorError::BadPage {
                url: url.to_string(),
                reason: err.to_string(),
            })?;
        let next = page
            .metadata
            .and_then(|metadata| metadata.next_cursor)
            .filter(|next| !next.is_empty() && !page.servers.is_empty());
        if next.is_some() && next == cursor {
            return Err(MirrorError::BadPage {
                url: url.to_string(),
                reason: "`nextCursor` did not move".to_owned(),
            });
        }
        summary.fetched += page.servers.len() as u64;
        if let Some(page_max) = apply_page(store, page.servers, options, &mut summary).await? {
            pass_max = Some(pass_max.map_or(page_max, |max| max.max(page_max)));
        }
        summary.pages += 1;
        bar.set_position(summary.fetched);
        bar.set_message(format!(
            "page {}: {} imported, {} status change(s)",
            summary.pages, summary.imported, summary.statuses_updated
        ));
        // Only now, with the page applied, does the saved progress move past it.
        match next {
            Some(next) => {
                state.pass_cursor = Some(next.clone());
                state.pass_max = pass_max.map(format_time);
                cursor = Some(next);
            }
            None => {
                state = MirrorState {
                    updated_since: next_mark(
                        since.as_deref(),
                        pass_max,
                        state.pass_started.as_deref().and_then(parse_time),
                        options.settle,
                    ),
                    ..MirrorState::default()
                };
            }
        }
        store.save_mirror_state(&upstream, &state).await?;
        if state.pass_cursor.is_none() {
            bar.finish_and_clear();
            summary.complete = true;
            summary.updated_since = state.updated_since;
            summary.requests = client.requests;
            return Ok(summary);
        }
    }
}

/// The mark after a complete pass: the largest `updatedAt` applied, but not past the upstream's clock at
/// the start of the pass minus `settle`. Unchanged when the pass saw nothing.
fn next_mark(
    since: Option<&str>,
    pass_max: Option<OffsetDateTime>,
    pass_started: Option<OffsetDateTime>,
    settle: Duration,
) -> Option<String> {
    let Some(max) = pass_max else {
        return since.map(str::to_owned);
    };
    let mark = match pass_started {
        Some(started) => max.min(started - settle),
        None => max,
    };
    Some(format_time(mark))
}

/// One upstream entry, checked and ready to apply.
struct Incoming {
    manifest: Manifest,
    change: StatusChange,
    times: Option<MirrorTimes>,
}

/// Applies one page; returns the largest `updatedAt` on it.
async fn apply_page(
    store: &Store,
    entries: Vec<Entry>,
    options: &MirrorOptions,
    summary: &mut MirrorSummary,
) -> Result<Option<OffsetDateTime>, MirrorError> {
    let mut page_max: Option<OffsetDateTime> = None;
    let mut fresh: Vec<Incoming> = Vec::new();
    let first_position = summary.fetched - entries.len() as u64;
    for (offset, entry) in entries.into_iter().enumerate() {
        let official = entry
            .meta
            .and_then(|meta| meta.official)
            .unwrap_or_default();
        // A refused entry counts as seen: it will not change by being fetched again.
        if let Some(updated_at) = official.updated_at() {
            page_max = Some(page_max.map_or(updated_at, |max| max.max(updated_at)));
        }
        let incoming = match check_entry(&entry.server, &official, options.policy) {
            Ok(incoming) => incoming,
            Err(reason) => {
                let label = entry_label(&entry.server)
                    .unwrap_or_else(|| format!("entry {}", first_position + offset as u64));
                summary.rejected.push((label, reason));
                continue;
            }
        };
        let name = incoming.manifest.name().as_str();
        let version = incoming.manifest.version().as_str().to_owned();
        let stored = store
            .find_version(name, &VersionSelector::Exact(version), true)
            .await?;
        match stored {
            Some(record) => apply_known(store, &record, &incoming, summary).await?,
            None => fresh.push(incoming),
        }
    }
    if fresh.is_empty() {
        return Ok(page_max);
    }
    // Import in upstream publication order: where versions are not semver, the later one is latest.
    fresh.sort_by(|a, b| match (&a.times, &b.times) {
        (Some(a), Some(b)) => a.published_at.cmp(&b.published_at),
        _ => Ordering::Equal,
    });
    let manifests: Vec<Manifest> = fresh
        .iter()
        .map(|incoming| incoming.manifest.clone())
        .collect();
    let outcome = store.import(&manifests).await?;
    summary.imported += outcome.inserted;
    // Versions with the same precedence as a stored one (`1.0.0+a` vs `1.0.0+b`) stay out.
    summary.unchanged += outcome.skipped;
    for incoming in &fresh {
        let name = incoming.manifest.name().as_str();
        let version = incoming.manifest.version().as_str();
        if incoming.change.status != Status::Active || incoming.change.message.is_some() {
            match store
                .update_version_status(name, version, &incoming.change)
                .await
            {
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(err) => return Err(err.into()),
            }
        }
        if let Some(times) = &incoming.times {
            store.mirror_keep_times(name, version, times).await?;
        }
    }
    Ok(page_max)
}

/// Brings a version we already have in line with the upstream.
async fn apply_known(
    store: &Store,
    record: &VersionRecord,
    incoming: &Incoming,
    summary: &mut MirrorSummary,
) -> Result<(), MirrorError> {
    let mut changed = false;
    if record.status != incoming.change.status || record.status_message != incoming.change.message {
        match store
            .update_version_status(&record.server_name, &record.version, &incoming.change)
            .await
        {
            Ok(_) => {
                summary.statuses_updated += 1;
                changed = true;
            }
            Err(StoreError::NotFound) => {}
            Err(err) => return Err(err.into()),
        }
    }
    if let Some(times) = &incoming.times {
        let differs = record.published_at != times.published_at
            || times
                .status_changed_at
                .is_some_and(|at| at != record.status_changed_at);
        if differs
            && store
                .mirror_keep_times(&record.server_name, &record.version, times)
                .await?
            && !changed
        {
            summary.times_updated += 1;
            changed = true;
        }
    }
    if !changed {
        summary.unchanged += 1;
    }
    Ok(())
}

/// Validates an entry's manifest and reads its official metadata.
fn check_entry(server: &RawValue, official: &Official, policy: Policy) -> Result<Incoming, String> {
    let manifest = Manifest::parse(server.get().as_bytes(), &policy).map_err(|err| match err {
        SchemaError::Invalid(problems) => problems
            .errors()
            .next()
            .map_or_else(|| "invalid manifest".to_owned(), ToString::to_string),
        other => other.to_string(),
    })?;
    Ok(Incoming {
        manifest,
        change: official.status_change()?,
        times: official.times(),
    })
}

/// `name@version` of an entry, if it has them, for messages.
fn entry_label(server: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Label {
        name: String,
        version: String,
    }
    let label: Label = serde_json::from_str(server.get()).ok()?;
    Some(format!("{}@{}", label.name, label.version))
}

/// `GET /v0.1/servers` on the upstream, from its base URL (a trailing `/` or `/v0.1` is accepted).
fn list_url(from: &Url) -> Result<Url, MirrorError> {
    let bad = |reason: &str| MirrorError::BadUrl {
        url: from.to_string(),
        reason: reason.to_owned(),
    };
    if !matches!(from.scheme(), "http" | "https") {
        return Err(bad("only http:// and https:// upstreams are supported"));
    }
    if from.cannot_be_a_base() || from.host_str().is_none() {
        return Err(bad("the URL has no host"));
    }
    if from.query().is_some() {
        return Err(bad("give the registry's base URL, without a query"));
    }
    let mut url = from.clone();
    let base = from.path().trim_end_matches('/');
    let base = base.strip_suffix("/v0.1").unwrap_or(base);
    url.set_path(&format!("{base}/v0.1/servers"));
    url.set_fragment(None);
    Ok(url)
}

/// The key progress is saved under: the base URL as given, without a trailing `/`.
fn upstream_key(from: &Url) -> String {
    from.as_str().trim_end_matches('/').to_owned()
}

fn page_url(list: &Url, limit: u32, since: Option<&str>, cursor: Option<&str>) -> Url {
    let mut url = list.clone();
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("limit", &limit.clamp(1, MAX_PAGE_SIZE).to_string());
        // Explicit for the first pass; implied (and required) upstream with `updated_since`.
        query.append_pair("include_deleted", "true");
        if let Some(since) = since {
            query.append_pair("updated_since", since);
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
    }
    url
}

fn progress_bar(enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::no_length();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} entries fetched ({per_sec}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// RFC3339 at microsecond precision (what the store keeps), so re-applying compares equal.
fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000).ok()
}

fn format_time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// An HTTP `Date` header (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    PrimitiveDateTime::parse(value, format)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// The HTTP side: one client per pass, retries with exponential backoff.
struct Client {
    http: reqwest::Client,
    retries: u32,
    backoff: Duration,
    requests: u64,
}

impl Client {
    fn new(options: &MirrorOptions) -> Result<Self, MirrorError> {
        // reqwest is built without a bundled crypto provider; ring is the one the workspace has.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("mcp-reg-mirror/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|err| MirrorError::Client(error_chain(&err)))?;
        Ok(Self {
            http,
            retries: options.retries,
            backoff: options.backoff,
            requests: 0,
        })
    }

    /// The body and `Date` of a 200 answer to `GET url`, retrying what may be transient.
    async fn get(&mut self, url: &Url) -> Result<(Vec<u8>, Option<OffsetDateTime>), MirrorError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.requests += 1;
            let failure = match self.http.get(url.clone()).send().await {
                Ok(response) => {
                    let status = response.status();
                    let date = response
                        .headers()
                        .get(DATE)
                        .and_then(|value| value.to_str().ok())
                        .and_then(parse_http_date);
                    match read_body(response).await {
                        Ok(Some(body)) if status.is_success() => return Ok((body, date)),
                        Ok(None) => {
                            return Err(MirrorError::BadPage {
                                url: url.to_string(),
                                reason: format!("the response exceeds {MAX_PAGE_BYTES} bytes"),
                            });
                        }
                        Ok(Some(body)) => {
                            let text = String::from_utf8_lossy(&body);
                            let error = MirrorError::Status {
                                url: url.to_string(),
                                status,
                                body: text.chars().take(BODY_EXCERPT).collect(),
                            };
                            if !(status.is_server_error()
                                || status == StatusCode::TOO_MANY_REQUESTS)
                            {
                                return Err(error);
                            }
                            error
                        }
                        Err(err) => MirrorError::Unreachable {
                            url: url.to_string(),
                            attempts,
                            reason: error_chain(&err.without_url()),
                        },
                    }
                }
                Err(err) => MirrorError::Unreachable {
                    url: url.to_string(),
                    attempts,
                    reason: error_chain(&err.without_url()),
                },
            };
            if attempts > self.retries {
                return Err(failure);
            }
            let factor = 2u32.saturating_pow(attempts - 1);
            let pause = self.backoff.saturating_mul(factor).min(MAX_BACKOFF);
            tracing::warn!(url = %url, attempt = attempts, error = %failure, "retrying upstream request");
            tokio::time::sleep(pause).await;
        }
    }
}

/// The whole body, or `None` past [`MAX_PAGE_BYTES`] (a page of 100 manifests is far smaller).
async fn read_body(mut response: reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// An error and its causes on one line (reqwest's own message omits the cause).
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

/// `ServerList`, as far as the mirror reads it.
#[derive(Deserialize)]
struct ServerList {
    servers: Vec<Entry>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Entry {
    /// Kept as the upstream's exact text.
    server: Box<RawValue>,
    #[serde(rename = "_meta", default)]
    meta: Option<ResponseMeta>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_urls_accept_base_forms() {
        for base in [
            "https://r.example",
            "https://r.example/",
            "https://r.example/v0.1",
            "https://r.example/v0.1/",
        ] {
            let url = Url::parse(base).map(|url| list_url(&url).map(|url| url.to_string()));
            assert!(
                matches!(url, Ok(Ok(ref text)) if text == "https://r.example/v0.1/servers"),
                "{base}: {url:?}"
            );
        }
        let nested =
            Url::parse("http://h:1/mirror/").map(|url| list_url(&url).map(|u| u.to_string()));
        assert!(matches!(nested, Ok(Ok(ref text)) if text == "http://h:1/mirror/v0.1/servers"));
        let ftp = Url::parse("ftp://h/").map(|url| list_url(&url).is_err());
        assert!(matches!(ftp, Ok(true)));
    }

    #[test]
    fn http_dates_and_marks() {
        let date = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(date.map(OffsetDateTime::unix_timestamp), Some(784_111_777));
        assert_eq!(parse_http_date("yesterday"), None);
        let max = parse_time("2026-01-01T00:00:10.123456789Z");
        assert_eq!(max.map(OffsetDateTime::nanosecond), Some(123_456_000));
        let started = parse_time("2026-01-01T00:00:05Z");
        assert_eq!(
            next_mark(None, max, started, Duration::from_secs(2)).as_deref(),
            Some("2026-01-01T00:00:03Z")
        );
        assert_eq!(
            next_mark(None, max, None, Duration::ZERO).as_deref(),
            Some("2026-01-01T00:00:10.123456Z")
        );
        assert_eq!(
            next_mark(Some("x"), None, started, Duration::ZERO).as_deref(),
            Some("x")
        );
    }
}
