//! An in-memory cache of read responses (`GET /servers…`), with `ETag`s and `304 Not Modified`.
//!
//! Reads vastly outnumber writes in a registry, and a cached response is a hash lookup instead of a
//! database round trip and a JSON rendering. Correctness rests on a generation counter: every entry
//! remembers the generation it was rendered in, and any write bumps the generation, so an entry rendered
//! before a write is never served after it. Writes are seen three ways:
//! - writes through this process bump the generation when their response is ready (read-your-writes);
//!   so every route that changes registry data belongs in the router's `write_routes`;
//! - on PostgreSQL, every write transaction sends `NOTIFY` at commit and each replica's change feed bumps
//!   its generation; while the feed is down the cache is bypassed. With strict consistency (the default)
//!   a hit is also confirmed by a read fence (`crate::read_fence`) before it is served, so a write
//!   acknowledged by any replica is seen by every later read on every replica, not milliseconds later;
//! - anything else (a second process writing to the same SQLite file) is bounded by the time-to-live.
//!
//! Entries are keyed by the path and query the client sent. Fresh API entries are answered before
//! routing by [`CacheHits`] (`hits.rs`), under the same read limits, metrics and read lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, Weighter};
use sha2::{Digest as _, Sha256};

use crate::db::{ChangeSignal, Store};
use crate::error::ApiError;
use crate::state::AppState;

mod hits;

pub use hits::CacheHits;

/// Says whether a response came from the cache (`hit`) or was rendered (`miss`); for operators and tests.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// Larger responses are not cached: they are rare (a 100-item page is ~200 KiB) and would crowd out
/// many small ones.
const MAX_CACHED_BODY: u64 = 512 * 1024;

/// Bookkeeping bytes per entry on top of the key and body, for the weight.
const ENTRY_OVERHEAD: u64 = 128;

/// Cache settings.
#[derive(Debug, Clone, Copy)]
pub struct CacheConfig {
    /// Memory budget for cached bodies and keys; 0 disables the cache.
    pub max_bytes: u64,
    /// How long an entry may be served without any write having been seen.
    pub ttl: Duration,
    /// How replicas sharing a PostgreSQL database agree on what is cached.
    pub consistency: CacheConsistency,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            ttl: Duration::from_secs(10),
            consistency: CacheConsistency::Strict,
        }
    }
}

/// What a cached read promises about writes through other replicas (PostgreSQL; one SQLite process
/// sees all its writes at once either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CacheConsistency {
    /// Every read, on every replica, sees every write acknowledged before the read arrived. While the
    /// replica holds its read lease a cache hit is served at once (writers wait for every lease to cover
    /// their write); without it, a hit waits for a shared read of the database's change counter.
    Strict,
    /// Other replicas' writes are seen when their notification arrives, usually within milliseconds;
    /// cache hits never touch the database.
    Notify,
}

#[derive(Debug, Clone)]
struct Entry {
    generation: u64,
    stored_at: Instant,
    etag: HeaderValue,
    body: Bytes,
    /// Set by the one request that re-renders the entry once its time-to-live has passed.
    refreshing: Arc<AtomicBool>,
    /// The route template of an API read, which [`CacheHits`] may answer before routing and counts
    /// under; `None` for web pages, whose responses take headers from the layers around the cache.
    direct_route: Option<MatchedPath>,
}

/// What a lookup found.
enum Lookup {
    Fresh(Entry),
    /// No write was seen since it was rendered, but its time-to-live has passed.
    Expired(Entry),
    Miss,
}

/// Clears an expired entry's `refreshing` flag unless the refresh stored a new entry, so a failed or
/// abandoned refresh (the client went away) lets the next request try again.
struct RefreshClaim(Option<Arc<AtomicBool>>);

impl Drop for RefreshClaim {
    fn drop(&mut self) {
        if let Some(flag) = self.0.take() {
            flag.store(false, Ordering::Release);
        }
    }
}

#[derive(Debug, Clone)]
struct EntryWeight;

impl Weighter<String, Entry> for EntryWeight {
    fn weight(&self, key: &String, entry: &Entry) -> u64 {
        key.len() as u64 + entry.body.len() as u64 + ENTRY_OVERHEAD
    }
}

type EntryCache = Cache<
    String,
    Entry,
    EntryWeight,
    std::hash::RandomState,
    quick_cache::sync::DefaultLifecycle<String, Entry>,
>;

/// The response cache of one server process.
pub struct ResponseCache {
    entries: Option<EntryCache>,
    ttl: Duration,
    generation: AtomicU64,
    /// False while a change feed is expected but not listening: entries could be stale unnoticed.
    feed_healthy: AtomicBool,
    /// False while a read fence is expected but has not read the change counter yet.
    fence_ready: AtomicBool,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("enabled", &self.entries.is_some())
            .field("ttl", &self.ttl)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl ResponseCache {
    pub fn new(config: CacheConfig) -> Self {
        let entries = (config.max_bytes > 0 && !config.ttl.is_zero())
            .then(|| {
                let options = OptionsBuilder::new()
                    // ~8 KiB is a typical detail response; the estimate only sizes the hash tables.
                    .estimated_items_capacity(
                        usize::try_from(config.max_bytes / 8192)
                            .unwrap_or(1)
                            .max(16),
                    )
                    .weight_capacity(config.max_bytes)
                    .build()
                    .ok()?;
                Some(Cache::with_options(
                    options,
                    EntryWeight,
                    std::hash::RandomState::default(),
                    quick_cache::sync::DefaultLifecycle::default(),
                ))
            })
            .flatten();
        Self {
            entries,
            ttl: config.ttl,
            generation: AtomicU64::new(0),
            feed_healthy: AtomicBool::new(true),
            fence_ready: AtomicBool::new(true),
        }
    }

    /// Forgets every entry (lazily: they no longer match the generation).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Applies what the store's change feed reports.
    pub fn on_change_signal(&self, signal: ChangeSignal) {
        match signal {
            ChangeSignal::Changed => self.invalidate(),
            // The commit's own notification (`Changed`) already dropped what this one would.
            ChangeSignal::Advanced(_) => {}
            ChangeSignal::Lost => {
                self.feed_healthy.store(false, Ordering::Release);
                self.invalidate();
            }
            ChangeSignal::Listening => {
                // Writes made while the feed was down were not seen: start from nothing.
                self.invalidate();
                self.feed_healthy.store(true, Ordering::Release);
            }
        }
    }

    /// Marks the cache as depending on a read fence that has not read the change counter yet.
    pub fn await_read_fence(&self) {
        self.fence_ready.store(false, Ordering::Release);
    }

    /// What the read fence reports: the counter moved (or was read for the first time), so every entry
    /// is dropped, and caching may start.
    pub fn on_fence_change(&self) {
        self.invalidate();
        self.fence_ready.store(true, Ordering::Release);
    }

    /// Marks the cache as depending on a change feed that has not connected yet.
    pub fn await_change_feed(&self) {
        self.feed_healthy.store(false, Ordering::Release);
    }

    /// Whether responses are being cached now (enabled, and its change feed, if any, is listening).
    pub fn is_serving(&self) -> bool {
        self.active().is_some()
    }

    /// Whether the configuration turned the cache on.
    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    fn active(&self) -> Option<&EntryCache> {
        self.entries.as_ref().filter(|_| {
            self.feed_healthy.load(Ordering::Acquire) && self.fence_ready.load(Ordering::Acquire)
        })
    }

    fn lookup(&self, key: &str) -> Lookup {
        let Some(entry) = self.active().and_then(|entries| entries.get(key)) else {
            return Lookup::Miss;
        };
        if entry.generation != self.generation.load(Ordering::Acquire) {
            Lookup::Miss
        } else if entry.stored_at.elapsed() < self.ttl {
            Lookup::Fresh(entry)
        } else {
            Lookup::Expired(entry)
        }
    }

    fn store(&self, key: String, entry: Entry) {
        if let Some(entries) = self.active() {
            entries.insert(key, entry);
        }
    }
}

/// The key of a request's cached response: its path and query as the client sent them (before `nest`
/// strips a prefix), so `/v0.1/servers` and the web page `/servers` never share an entry.
fn cache_key(request: &Request) -> &str {
    let uri = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri(), |original| &original.0);
    uri.path_and_query()
        .map_or_else(|| uri.path(), PathAndQuery::as_str)
}

/// Middleware for the API's read routes: serves fresh entries, renders and stores misses, answers
/// `If-None-Match` with 304. What it stores, [`CacheHits`] may later serve before routing.
pub async fn serve_cached(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // A shared handle on the router's template: no allocation per request.
    let route = request.extensions().get::<MatchedPath>().cloned();
    serve_from_cache(&state, request, next, route).await
}

/// [`serve_cached`] for the web pages: their entries are only served here, inside the layers that give
/// pages their headers.
pub async fn serve_cached_page(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    serve_from_cache(&state, request, next, None).await
}

async fn serve_from_cache(
    state: &AppState,
    request: Request,
    next: Next,
    direct_route: Option<MatchedPath>,
) -> Response {
    let cache = &state.cache;
    if request.method() != Method::GET || cache.active().is_none() {
        return next.run(request).await;
    }
    let key = cache_key(&request).to_owned();
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let mut claim = RefreshClaim(None);
    let mut found = cache.lookup(&key);
    // A hit is served only once the read fence confirms no other replica's acknowledged write is missing
    // from it; if the fence cannot tell, the database answers.
    if let (Lookup::Fresh(_) | Lookup::Expired(_), Some(fence)) = (&found, &state.read_fence) {
        found = if fence.pass().await {
            cache.lookup(&key)
        } else {
            state.metrics.cache_lookup("unconfirmed");
            return next.run(request).await;
        };
    }
    match found {
        Lookup::Fresh(entry) => {
            state.metrics.cache_lookup("hit");
            return cached_response(&entry, if_none_match.as_ref(), "hit");
        }
        // Expired by age only: one request re-renders it while the others keep getting the old copy
        // for those few milliseconds, so an expiry never stalls every client at once.
        Lookup::Expired(entry) => {
            if entry.refreshing.swap(true, Ordering::AcqRel) {
                state.metrics.cache_lookup("hit");
                return cached_response(&entry, if_none_match.as_ref(), "hit");
            }
            claim.0 = Some(entry.refreshing);
        }
        Lookup::Miss => {}
    }
    state.metrics.cache_lookup("miss");
    // Read before rendering: a write that lands during rendering bumps past it, so the entry dies.
    let generation = cache.generation.load(Ordering::Acquire);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK
        || response
            .body()
            .size_hint()
            .upper()
            .is_none_or(|size| size > MAX_CACHED_BODY)
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(err) => {
            return ApiError::Internal(anyhow::anyhow!("reading a rendered response: {err}"))
                .into_response();
        }
    };
    let entry = Entry {
        generation,
        stored_at: Instant::now(),
        etag: etag_of(&body),
        body,
        refreshing: Arc::new(AtomicBool::new(false)),
        direct_route,
    };
    cache.store(key, entry.clone());
    // The old entry is replaced; its flag no longer matters.
    claim.0 = None;
    let mut response = cached_response(&entry, if_none_match.as_ref(), "miss");
    copy_missing_headers(&parts.headers, response.headers_mut());
    response
}

/// Middleware for the write routes: a successful write makes every cached read stale.
pub async fn invalidate_on_write(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if response.status().is_success() {
        // Read before dropping the cache: only values drawn before the drop are covered by it.
        let drawn = state.store.last_change_drawn();
        state.cache.invalidate();
        if let (Some(fence), Some(drawn)) = (&state.read_fence, drawn) {
            fence.cover(drawn);
        }
    }
    response
}

/// Starts the store's change feed (PostgreSQL) so writes by other replicas invalidate this cache.
pub fn follow_store_changes(
    store: &Store,
    cache: &Arc<ResponseCache>,
) -> Option<tokio::task::JoinHandle<()>> {
    cache.entries.as_ref()?;
    // Until the feed listens, other replicas' writes would go unseen.
    cache.await_change_feed();
    let follower = Arc::clone(cache);
    let task = store.spawn_change_feed(move |signal| follower.on_change_signal(signal));
    if task.is_none() {
        cache.on_change_signal(ChangeSignal::Listening);
    }
    task
}

fn cached_response(
    entry: &Entry,
    if_none_match: Option<&HeaderValue>,
    outcome: &'static str,
) -> Response {
    let not_modified = if_none_match.is_some_and(|tags| etag_matches(tags, &entry.etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(entry.body.clone()));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, entry.etag.clone());
    // Clients may keep a copy but must revalidate (cheaply, with If-None-Match) before using it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CACHE, HeaderValue::from_static(outcome));
    response
}

/// Headers the handler set that the cached form does not carry (none today; kept so a future header
/// on a miss is not silently dropped).
fn copy_missing_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if name != header::CONTENT_LENGTH && !to.contains_key(name) {
            to.insert(name.clone(), value.clone());
        }
    }
}

/// A strong validator: the first 128 bits of the body's SHA-256, so every replica agrees.
fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let tag = format!("\"{}\"", hex::encode(&digest[..16]));
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// `If-None-Match: "a", W/"b"` or `*` (weak comparison, as RFC 9110 §13.1.2 asks for this header).
fn etag_matches(header: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(header) = header.to_str() else {
        return false;
    };
    let ours = etag.as_bytes();
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/").as_bytes() == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_comparison_is_weak_and_handles_lists() {
        let etag = HeaderValue::from_static("\"abc\"");
        let matches = |header: &'static str| etag_matches(&HeaderValue::from_static(header), &etag);
        assert!(matches("\"abc\""));
        assert!(matches("W/\"abc\""));
        assert!(matches("\"x\", \"abc\""));
        assert!(matches("*"));
        assert!(!matches("\"abcd\""));
        assert!(!matches("abc"));
    }

    #[test]
    fn entries_die_with_a_write_and_with_age() {
        let cache = ResponseCache::new(CacheConfig {
            max_bytes: 1 << 20,
            ttl: Duration::from_mins(1),
            ..CacheConfig::default()
        });
        let entry = |generation| Entry {
            generation,
            stored_at: Instant::now(),
            etag: etag_of(b"{}"),
            body: Bytes::from_static(b"{}"),
            refreshing: Arc::new(AtomicBool::new(false)),
            direct_route: None,
        };
        let fresh =
            |cache: &ResponseCache, key: &str| matches!(cache.lookup(key), Lookup::Fresh(_));
        cache.store("/a".to_owned(), entry(0));
        assert!(fresh(&cache, "/a"));
        cache.invalidate();
        assert!(matches!(cache.lookup("/a"), Lookup::Miss));

        cache.store("/a".to_owned(), entry(1));
        assert!(fresh(&cache, "/a"));
        cache.on_change_signal(ChangeSignal::Lost);
        cache.store("/a".to_owned(), entry(2));
        assert!(
            matches!(cache.lookup("/a"), Lookup::Miss),
            "bypassed while the feed is down"
        );
        cache.on_change_signal(ChangeSignal::Listening);
        assert!(
            matches!(cache.lookup("/a"), Lookup::Miss),
            "entries from before the outage are gone"
        );

        let short_lived = ResponseCache::new(CacheConfig {
            max_bytes: 1 << 20,
            ttl: Duration::from_millis(1),
            ..CacheConfig::default()
        });
        short_lived.store("/b".to_owned(), entry(0));
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            matches!(short_lived.lookup("/b"), Lookup::Expired(_)),
            "expired by ttl"
        );
        short_lived.invalidate();
        assert!(
            matches!(short_lived.lookup("/b"), Lookup::Miss),
            "a write beats age"
        );
    }

    #[test]
    fn an_abandoned_refresh_lets_the_next_request_try() {
        let flag = Arc::new(AtomicBool::new(false));
        assert!(
            !flag.swap(true, Ordering::AcqRel),
            "the first request claims the refresh"
        );
        assert!(
            flag.swap(true, Ordering::AcqRel),
            "the others keep serving the old copy"
        );
        drop(RefreshClaim(Some(Arc::clone(&flag))));
        assert!(
            !flag.load(Ordering::Acquire),
            "dropping an unfinished claim releases it"
        );
        let done = RefreshClaim(None);
        drop(done);
    }

    #[test]
    fn zero_budget_or_ttl_disables() {
        let off = ResponseCache::new(CacheConfig {
            max_bytes: 0,
            ttl: Duration::from_secs(1),
            ..CacheConfig::default()
        });
        assert!(off.active().is_none());
        let off = ResponseCache::new(CacheConfig {
            max_bytes: 1 << 20,
            ttl: Duration::ZERO,
            ..CacheConfig::default()
        });
        assert!(off.active().is_none());
    }
}
