//! Store records turned into what the pages show: listing summaries, stored compatibility reports,
//! provenance, counts and the recently updated servers. Reads go through [`Store`] only.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use registry_schema::compat::{Bump, Verdict};
use registry_schema::manifest::{Package, Transport};
use serde::Deserialize;
use serde::de::IgnoredAny;
use time::OffsetDateTime;

use crate::compat::UnannouncedBreak;
use crate::db::{
    ListQuery, MAX_PAGE_SIZE, Status, Store, StoreError, VersionRecord, VersionSelector,
};
use crate::state::{App, AppState};

/// What a result row needs of a manifest; read without the tool surface's contents (only its tools are
/// counted), so a listing stays cheap whatever the surfaces weigh.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListingJson {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    packages: Vec<Package>,
    #[serde(default)]
    remotes: Vec<Transport>,
    #[serde(default, rename = "_meta")]
    meta: Option<MetaJson>,
}

#[derive(Debug, Deserialize)]
struct MetaJson {
    #[serde(default, rename = "dev.mcp-reg/surface")]
    surface: Option<SurfaceCount>,
}

#[derive(Debug, Deserialize)]
struct SurfaceCount {
    #[serde(default)]
    tools: Option<Vec<IgnoredAny>>,
}

/// One server version as a result row.
#[derive(Debug)]
pub struct Listing {
    pub record: VersionRecord,
    pub title: Option<String>,
    pub description: String,
    pub packages: Vec<Package>,
    pub remotes: Vec<Transport>,
    /// `None`: published without a tool surface.
    pub tools: Option<usize>,
    /// The stored report says this version breaks callers of an earlier one.
    pub breaking: bool,
}

impl Listing {
    /// A stored manifest that does not fit the model still lists, with what the record knows.
    pub fn new(record: VersionRecord) -> Self {
        let json: Option<ListingJson> = serde_json::from_str(&record.manifest).ok();
        let (title, description, packages, remotes, tools) = match json {
            Some(json) => (
                json.title,
                json.description,
                json.packages,
                json.remotes,
                json.meta
                    .and_then(|meta| meta.surface)
                    .map(|surface| surface.tools.map_or(0, |tools| tools.len())),
            ),
            None => (None, String::new(), Vec::new(), Vec::new(), None),
        };
        Self {
            record,
            title,
            description,
            packages,
            remotes,
            tools,
            breaking: false,
        }
    }

    pub fn signed(&self) -> bool {
        self.record.provenance.is_some()
    }

    pub fn has_tools(&self) -> bool {
        self.tools.is_some_and(|tools| tools > 0)
    }
}

/// The report the gate kept with a version (`crate::compat::CompatReport` as stored), as far as pages
/// show it.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredReport {
    pub verdict: Verdict,
    #[serde(default)]
    pub baseline_version: Option<String>,
    pub required_bump: Bump,
    #[serde(default)]
    pub unannounced_break: Option<UnannouncedBreak>,
}

impl StoredReport {
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// Whether this version breaks callers of the version before it: a major change, announced or not.
    pub fn breaks_callers(&self) -> bool {
        self.unannounced_break.is_some()
            || (self.baseline_version.is_some() && self.required_bump == Bump::Major)
    }
}

/// Marks the listings whose version's stored report breaks callers (one indexed read per row, run
/// concurrently).
pub async fn mark_breaking(store: &Store, listings: &mut [Listing]) -> Result<(), StoreError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, listing) in listings.iter().enumerate() {
        let store = store.clone();
        let (name, version) = (
            listing.record.server_name.clone(),
            listing.record.version.clone(),
        );
        tasks.spawn(async move { (index, store.compat_report(&name, &version).await) });
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((index, report)) = joined else {
            continue;
        };
        let breaking = report?
            .flatten()
            .and_then(|text| StoredReport::parse(&text))
            .is_some_and(|report| report.breaks_callers());
        if let Some(listing) = listings.get_mut(index) {
            listing.breaking = breaking;
        }
    }
    Ok(())
}

/// The verified provenance summary kept with a version (`registry_provenance::Summary`).
pub fn provenance_summary(record: &VersionRecord) -> Option<registry_provenance::Summary> {
    serde_json::from_str(record.provenance.as_deref()?).ok()
}

/// The most recently changed latest versions, newest first: the narrowest window (an hour, a day, a
/// week, …) holding `wanted` of them is read and sorted by `updated_at`.
pub async fn recently_updated(
    store: &Store,
    wanted: usize,
    namespace: Option<&str>,
    all_versions: bool,
) -> Result<Vec<VersionRecord>, StoreError> {
    const WINDOWS_HOURS: [i64; 5] = [1, 24, 24 * 7, 24 * 30, 24 * 365];
    let now = OffsetDateTime::now_utc();
    let mut found = Vec::new();
    for since in WINDOWS_HOURS
        .iter()
        .map(|hours| Some(now - time::Duration::hours(*hours)))
        .chain([None])
    {
        let query = ListQuery {
            limit: MAX_PAGE_SIZE,
            updated_since: since,
            version: (!all_versions).then_some(VersionSelector::Latest),
            namespace: namespace.map(str::to_owned),
            ..ListQuery::default()
        };
        found = store.list_servers(&query).await?.items;
        if found.len() >= wanted {
            break;
        }
    }
    let key = |record: &VersionRecord| {
        if all_versions {
            record.published_at
        } else {
            record.updated_at
        }
    };
    found.sort_by(|a, b| {
        key(b)
            .cmp(&key(a))
            .then_with(|| a.server_name.cmp(&b.server_name))
    });
    found.truncate(wanted);
    Ok(found)
}

/// Registry-wide counts for the start page.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub servers: u64,
    pub namespaces: u64,
    pub signed: u64,
    pub with_tools: u64,
}

/// Counts are computed by paging through the latest versions, which at 100,000 servers takes seconds,
/// so it happens off the request path, at most every [`COUNTS_MAX_AGE`], and pages show the last
/// figures. Small registries are counted inline. Kept per app (weakly, so a dropped app's entry goes).
///
/// Storage note: a `Store` method returning these counts (one `count(*)` each) would replace this.
struct CountsEntry {
    app: Weak<App>,
    counts: Option<Counts>,
    computed_at: Option<Instant>,
    running: bool,
}

static COUNTS: Mutex<Vec<CountsEntry>> = Mutex::new(Vec::new());
const COUNTS_MAX_AGE: Duration = Duration::from_mins(5);
/// Pages of 100 counted inside the request before the count moves to the background.
const INLINE_PAGES: usize = 2;

/// The last known counts (`None` while the first count runs in the background).
pub async fn counts(state: &AppState) -> Result<Option<Counts>, StoreError> {
    let (known, start) = {
        let mut entries = COUNTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|entry| entry.app.strong_count() > 0);
        let position = entries
            .iter()
            .position(|entry| std::ptr::eq(entry.app.as_ptr(), Arc::as_ptr(&state.0)));
        let index = position.unwrap_or_else(|| {
            entries.push(CountsEntry {
                app: Arc::downgrade(&state.0),
                counts: None,
                computed_at: None,
                running: false,
            });
            entries.len() - 1
        });
        let entry = &mut entries[index];
        let expired = entry
            .computed_at
            .is_none_or(|at| at.elapsed() >= COUNTS_MAX_AGE);
        let start = expired && !entry.running;
        if start {
            entry.running = true;
        }
        (entry.counts, start)
    };
    if !start {
        return Ok(known);
    }
    let store = state.store.clone();
    let app = Arc::downgrade(&state.0);
    let mut counter = Counter::default();
    let inline = counter.run(&store, Some(INLINE_PAGES)).await;
    match inline {
        Ok(true) => {
            let counts = counter.counts();
            finish(&app, Some(counts));
            Ok(Some(counts))
        }
        Ok(false) => {
            tokio::spawn(async move {
                let done = counter.run(&store, None).await;
                finish(&app, done.ok().map(|_| counter.counts()));
            });
            Ok(known)
        }
        Err(err) => {
            finish(&app, None);
            Err(err)
        }
    }
}

fn finish(app: &Weak<App>, counts: Option<Counts>) {
    let mut entries = COUNTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(entry) = entries.iter_mut().find(|entry| entry.app.ptr_eq(app)) {
        entry.running = false;
        if let Some(counts) = counts {
            entry.counts = Some(counts);
            entry.computed_at = Some(Instant::now());
        }
    }
}

#[derive(Debug, Default)]
struct Counter {
    counts: Counts,
    last_namespace: String,
    cursor: Option<crate::db::Cursor>,
}

impl Counter {
    /// Counts further; `Ok(true)` once every server is counted, `Ok(false)` when `pages` ran out.
    async fn run(&mut self, store: &Store, pages: Option<usize>) -> Result<bool, StoreError> {
        let mut done_pages = 0;
        loop {
            if pages.is_some_and(|pages| done_pages >= pages) {
                return Ok(false);
            }
            let query = ListQuery {
                limit: MAX_PAGE_SIZE,
                version: Some(VersionSelector::Latest),
                cursor: self.cursor.take(),
                ..ListQuery::default()
            };
            let page = store.list_servers(&query).await?;
            done_pages += 1;
            for record in &page.items {
                self.counts.servers += 1;
                let namespace = record.server_name.split('/').next().unwrap_or_default();
                if namespace != self.last_namespace {
                    self.counts.namespaces += 1;
                    namespace.clone_into(&mut self.last_namespace);
                }
                if record.provenance.is_some() {
                    self.counts.signed += 1;
                }
                if record.manifest.contains("\"dev.mcp-reg/surface\"")
                    && Listing::new(record.clone()).has_tools()
                {
                    self.counts.with_tools += 1;
                }
            }
            match page
                .next_cursor
                .as_deref()
                .and_then(crate::db::Cursor::decode)
            {
                Some(cursor) => self.cursor = Some(cursor),
                None => return Ok(true),
            }
        }
    }

    fn counts(&self) -> Counts {
        self.counts
    }
}

/// Whether a version is shown as withdrawn.
pub fn status_label(status: Status) -> Option<&'static str> {
    match status {
        Status::Active => None,
        Status::Deprecated => Some("deprecated"),
        Status::Deleted => Some("deleted"),
    }
}

/// The stored report of each version (`None`: imported, or unreadable), in the order given; read
/// concurrently.
pub async fn reports(
    store: &Store,
    server_name: &str,
    versions: &[String],
) -> Result<Vec<Option<StoredReport>>, StoreError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, version) in versions.iter().enumerate() {
        let (store, name, version) = (store.clone(), server_name.to_owned(), version.clone());
        tasks.spawn(async move { (index, store.compat_report(&name, &version).await) });
    }
    let mut out: Vec<Option<StoredReport>> = vec![None; versions.len()];
    while let Some(joined) = tasks.join_next().await {
        let Ok((index, report)) = joined else {
            continue;
        };
        if let Some(slot) = out.get_mut(index) {
            *slot = report?
                .flatten()
                .and_then(|text| StoredReport::parse(&text));
        }
    }
    Ok(out)
}
