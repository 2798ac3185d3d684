//! Shared application state: the store, the configuration, the response cache and the metrics, behind
//! one `Arc`.

use std::ops::Deref;
use std::sync::Arc;

use crate::cache::{CacheConsistency, ResponseCache, follow_store_changes};
use crate::config::ServerConfig;
use crate::db::{ChangeSignal, Store};
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
        // The fence keeps the replica's read lease, which the search index relies on as well: so it
        // runs with the response cache off too.
        let read_fence = (in_runtime && config.cache.consistency == CacheConsistency::Strict)
            .then(|| store.change_counter())
            .flatten()
            .map(|counter| {
                cache.await_read_fence();
                let cache = Arc::clone(&cache);
                ReadFence::spawn(counter, move || cache.on_fence_change())
            });
        // Strict: the feed announces every write's counter value, so the lease can cover it at once
        // (the fence itself never needs the feed). Notify: the feed alone drops the cache.
        let change_feed = if in_runtime {
            match &read_fence {
                Some(fence) => cover_announced_changes(&store, &cache, fence),
                None => follow_store_changes(&store, &cache),
            }
        } else {
            None
        };
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

/// Starts the store's change feed for a replica with a read fence: each change drops the cache, and each
/// announced counter value is then reported as covered, so writers waiting on this replica's lease go on.
fn cover_announced_changes(
    store: &Store,
    cache: &Arc<ResponseCache>,
    fence: &ReadFence,
) -> Option<tokio::task::JoinHandle<()>> {
    let cache = Arc::clone(cache);
    let announcements = fence.announcements();
    store.spawn_change_feed(move |signal| match signal {
        ChangeSignal::Changed => cache.invalidate(),
        ChangeSignal::Advanced(value) => {
            cache.invalidate();
            announcements.dropped_for(value);
        }
        // Missed announcements are covered by the lease's next extension, which reads the counter.
        ChangeSignal::Lost | ChangeSignal::Listening => {}
    })
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
