//! Shared application state: the store and the configuration, behind one `Arc`.

use std::ops::Deref;
use std::sync::Arc;

use crate::config::ServerConfig;
use crate::db::Store;

#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub config: ServerConfig,
}

/// What handlers receive; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<App>);

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> Self {
        Self(Arc::new(App { store, config }))
    }
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
