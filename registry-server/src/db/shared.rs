//! Pool settings and connection errors, the same for both engines.

use std::time::Duration;

use sqlx::Connection;
use sqlx::pool::PoolOptions;

use super::{DatabaseConfig, StoreError};

/// Pool size when the configuration says 0.
const DEFAULT_MAX_CONNECTIONS: u32 = 16;
/// Pool wait when the configuration says 0.
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// A pooled connection idle at least this long is pinged before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The pool settings both engines share. sqlx would ping every connection it hands out (a round trip
/// to PostgreSQL, a hand-off to SQLite's worker thread) on top of the ping it sends when one comes
/// back; under load a connection was just used, so only one idle for a while (which a database
/// restart may have broken) is pinged. A query on a connection that broke since fails like any other
/// and the connection is dropped on its return.
pub(crate) fn pool_options<DB: sqlx::Database>(
    config: &DatabaseConfig,
    max_connections: u32,
) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(max_connections)
        .min_connections(config.min_connections.min(max_connections))
        .acquire_timeout(acquire_timeout(config))
        .test_before_acquire(false)
        .before_acquire(|connection: &mut DB::Connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
}

pub(crate) fn max_connections(config: &DatabaseConfig) -> u32 {
    if config.max_connections == 0 {
        DEFAULT_MAX_CONNECTIONS
    } else {
        config.max_connections
    }
}

/// SQLite's pool size when the configuration says 0: two per CPU core, 4 to 16. Its connections share
/// one file and one writer, and each keeps a thread and a page cache: on 2 cores, 4 connections served
/// the 16-client search load faster than 16 did, in 141 MB instead of 157 MB (bench/search.sh).
pub(crate) fn sqlite_max_connections(config: &DatabaseConfig) -> u32 {
    if config.max_connections == 0 {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        u32::try_from(cores * 2).unwrap_or(u32::MAX).clamp(4, 16)
    } else {
        config.max_connections
    }
}

fn acquire_timeout(config: &DatabaseConfig) -> Duration {
    if config.acquire_timeout.is_zero() {
        DEFAULT_ACQUIRE_TIMEOUT
    } else {
        config.acquire_timeout
    }
}

/// (in use, idle) from a pool's size and idle count.
pub(crate) fn pool_usage(size: u32, idle: usize) -> (u32, u32) {
    let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
    (size - idle, idle)
}

/// Connection failures are the database being unavailable, not a bug.
pub(crate) fn connection_error(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => StoreError::Unavailable(err.to_string()),
        other => other.into(),
    }
}
