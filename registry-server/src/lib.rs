//! The mcp-reg registry server: the official MCP registry API (`/v0.1`, `/v0`) plus our extensions under
//! `/v0.1/x/…`, on SQLite (embedded default) or PostgreSQL.
//!
//! `main.rs` is a shell: this library owns [`app`], [`serve`], configuration and storage, so tests run
//! the production router in-process or on a real socket.

pub mod audit;
pub mod auth;
pub mod auth_exchange;
pub mod cache;
pub mod compat;
pub mod config;
pub mod conn_limits;
pub mod cors;
pub mod db;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod healthcheck;
pub mod hygiene;
pub mod import;
pub mod metrics;
pub mod mirror;
pub mod openapi;
mod openapi_contract;
pub mod ownership;
pub mod provenance;
pub mod rate_limit;
pub mod read_fence;
pub mod review;
pub mod router;
pub mod search_index;
pub mod state;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod views;
// Issue 16: the HTML pages (`/`, `/servers…`, `/namespaces/…`, feeds, assets).
pub mod web;

use std::future::Future;

pub use router::{app, openapi};
pub use state::AppState;

/// Serves the app on an already-bound listener until `shutdown` completes, then finishes in-flight
/// requests. Binding first lets callers (and tests) use port 0 and know the address before serving.
/// Connections are capped and timed out per `state.config.connections` ([`conn_limits`]); the peer
/// address feeds the audit log and per-IP rate limits.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    conn_limits::serve(listener, state, shutdown).await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
