//! Shared application state: the store, the configuration, the response cache and the metrics, behind
//! one `Arc`.

use std::ops::Deref;
use std::sync::Arc;

use crate::cache::{CacheConsistency, ResponseCache, follow_store_changes};
use crate::config::ServerConfig;
use crate::db::Store;
use crate::metrics::Metrics;
use crate::rate_limit::ReadCounters;
use crate::read_fence::ReadFence;

#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub config: ServerConfig,
    pub cache: Arc<ResponseCache>,
    pub metrics: Metrics,
    pub read_counters: ReadCounters,
    /// Confirms cache hits against writes acknowledged by other replicas (strict consistency on
    /// PostgreSQL with the cache on).
    pub read_fence: Option<ReadFence>,
    /// The task following the store's change feed; stopped with the app.
    change_feed: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(task) = &self.change_feed {
            task.abort();
        }
    }
}

/// What handlers receive; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<App>);

impl AppState {
    /// Builds the state; inside a Tokio runtime it also starts following the store's change feed, so
    /// writes by other replicas invalidate the response cache, and (strict consistency) the read fence.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        let cache = Arc::new(ResponseCache::new(config.cache));
        let in_runtime = tokio::runtime::Handle::try_current().is_ok();
        let read_fence = (in_runtime
            && cache.is_enabled()
            && config.cache.consistency == CacheConsistency::Strict)
            .then(|| store.change_counter())
            .flatten()
            .map(|counter| {
                cache.await_read_fence();
                let cache = Arc::clone(&cache);
                ReadFence::spawn(counter, move || cache.on_fence_change())
            });
        // The fence sees every other replica's write before a hit is served; notifications would only
        // drop, a few milliseconds later, pages it already confirmed.
        let change_feed = (in_runtime && read_fence.is_none())
            .then(|| follow_store_changes(&store, &cache))
            .flatten();
        Self(Arc::new(App {
            store,
            config,
            cache,
            metrics: Metrics::default(),
            read_counters: ReadCounters::default(),
            read_fence,
            change_feed,
        }))
    }
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
