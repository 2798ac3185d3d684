//! Shared application state: the store, the configuration, the response cache and the metrics, behind
//! one `Arc`.

use std::ops::Deref;
use std::sync::Arc;

use crate::cache::{ResponseCache, follow_store_changes};
use crate::config::ServerConfig;
use crate::db::Store;
use crate::metrics::Metrics;
use crate::rate_limit::ReadCounters;

#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub config: ServerConfig,
    pub cache: Arc<ResponseCache>,
    pub metrics: Metrics,
    pub read_counters: ReadCounters,
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
    /// writes by other replicas invalidate the response cache.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        let cache = Arc::new(ResponseCache::new(config.cache));
        let change_feed = tokio::runtime::Handle::try_current()
            .ok()
            .and_then(|_| follow_store_changes(&store, &cache));
        Self(Arc::new(App {
            store,
            config,
            cache,
            metrics: Metrics::default(),
            read_counters: ReadCounters::default(),
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
