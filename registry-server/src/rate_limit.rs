//! Rate limits: 429 with `Retry-After` when a client sends too much.
//!
//! - Writes are limited per presented token and per client address, with fixed one-minute windows
//!   counted in the database, so the limits hold across replicas (a client spreading requests over
//!   replicas gets no more). A write costs a transaction anyway; one upsert per key is small beside it.
//! - Reads are limited per client address in memory, per replica: a database round trip per read would
//!   cost more than the read it guards. Behind a load balancer with N replicas, the effective read limit
//!   is N times the setting.
//!
//! A limit of 0 turns that limit off.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

use crate::audit::client_address;
use crate::error::ApiError;
use crate::state::AppState;

/// Length of a counting window, in seconds.
pub const WINDOW_SECS: i64 = 60;

/// Requests per window; 0 disables a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub writes_per_token: u32,
    pub writes_per_ip: u32,
    pub reads_per_ip: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            writes_per_token: 600,
            writes_per_ip: 1200,
            reads_per_ip: 0,
        }
    }
}

/// Per-replica read counters: the current window and each address's hits in it.
#[derive(Debug, Default)]
pub struct ReadCounters(Mutex<(i64, HashMap<IpAddr, u32>)>);

impl ReadCounters {
    /// Counts a hit and returns the hits of `ip` in the current window.
    fn hit(&self, ip: IpAddr, window_start: i64) -> u32 {
        let Ok(mut guard) = self.0.lock() else {
            return 0;
        };
        let (window, counts) = &mut *guard;
        if *window != window_start {
            // A new window forgets every address, which also bounds the map's size.
            *window = window_start;
            counts.clear();
        }
        let hits = counts.entry(ip).or_insert(0);
        *hits = hits.saturating_add(1);
        *hits
    }
}

fn window_start(now: i64) -> i64 {
    now - now.rem_euclid(WINDOW_SECS)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

fn too_many(limit: u32, window: i64, now: i64) -> Response {
    let retry_after = u64::try_from(window + WINDOW_SECS - now)
        .unwrap_or(1)
        .max(1);
    let mut response = ApiError::TooManyRequests { retry_after }.into_response();
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", limit.into());
    headers.insert("ratelimit-remaining", 0u32.into());
    headers.insert("ratelimit-reset", retry_after.into());
    response
}

/// Route layer for the write routes.
pub async fn limit_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = state.config.rate_limits;
    let now = unix_now();
    let window = window_start(now);
    let mut checks: Vec<(String, u32)> = Vec::with_capacity(2);
    if limits.writes_per_token > 0
        && let Some(token) = presented_token(&request)
    {
        // Keyed by a hash of whatever was presented: unknown tokens are limited too (guessing costs).
        let digest = Sha256::digest(token.as_bytes());
        checks.push((
            format!("token:{}", hex::encode(&digest[..12])),
            limits.writes_per_token,
        ));
    }
    if limits.writes_per_ip > 0
        && let Some(ip) = client_address(&request, state.config.trust_forwarded_for)
    {
        checks.push((format!("ip:{ip}"), limits.writes_per_ip));
    }
    for (key, limit) in checks {
        match state.store.count_hit(&key, window).await {
            Ok(hits) if hits > limit => return too_many(limit, window, now),
            Ok(_) => {}
            Err(err) => return ApiError::from(err).into_response(),
        }
    }
    next.run(request).await
}

/// Route layer for the read routes.
pub async fn limit_reads(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match count_read(&state, &request) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    }
}

/// Counts a read against its client address's limit; the 429 to send when it is over. Also used by
/// `cache::CacheHits`, which answers before the route layers.
pub fn count_read(state: &AppState, request: &Request) -> Option<Response> {
    let limit = state.config.rate_limits.reads_per_ip;
    if limit == 0 {
        return None;
    }
    let ip = client_address(request, state.config.trust_forwarded_for)?;
    let now = unix_now();
    let window = window_start(now);
    (state.read_counters.hit(ip, window) > limit).then(|| too_many(limit, window, now))
}

fn presented_token(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_to_the_minute() {
        assert_eq!(window_start(120), 120);
        assert_eq!(window_start(179), 120);
        assert_eq!(window_start(180), 180);
    }

    #[test]
    fn read_counters_reset_with_the_window() {
        let counters = ReadCounters::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(counters.hit(ip, 60), 1);
        assert_eq!(counters.hit(ip, 60), 2);
        assert_eq!(counters.hit(ip, 120), 1);
    }
}
