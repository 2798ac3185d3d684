//! The audit log: one entry per write attempt (who, what, when, from where, outcome), written by a
//! route layer on the write routes and read by `edit` holders at `/v0.1/x/dev.mcp-reg/audit`.
//!
//! Handlers and the credential extractor fill an [`AuditSlot`] that the layer puts into the request;
//! the layer writes the entry once the response status is known, so refused attempts (401, 403, 409,
//! 422) are logged as well as successes. Entries never hold secrets: the actor is a token id, and no
//! header or body is copied.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::db::{AuditEntry, now};
use crate::state::AppState;

/// What the handler and the extractors learned about a write, for its audit entry.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<AuditFacts>>);

#[derive(Debug, Default)]
struct AuditFacts {
    actor: Option<String>,
    server_name: Option<String>,
    version: Option<String>,
    /// Replaces the action the route implies (e.g. a publish that accepted a break).
    action: Option<&'static str>,
}

impl AuditSlot {
    /// Records who is acting (`token:<id>`).
    pub fn actor(&self, actor: String) {
        if let Ok(mut facts) = self.0.lock() {
            facts.actor = Some(actor);
        }
    }

    /// Names the action more precisely than the route does.
    pub fn action(&self, action: &'static str) {
        if let Ok(mut facts) = self.0.lock() {
            facts.action = Some(action);
        }
    }

    /// Records what the write is about.
    pub fn subject(&self, server_name: &str, version: Option<&str>) {
        if let Ok(mut facts) = self.0.lock() {
            facts.server_name = Some(server_name.to_owned());
            facts.version = version.map(str::to_owned);
        }
    }
}

/// Handlers take the slot as an extractor; outside the audited routes it is a detached, unused slot.
impl<S: Send + Sync> FromRequestParts<S> for AuditSlot {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned().unwrap_or_default())
    }
}

/// Route layer for the write routes: runs the request, then appends its audit entry.
pub async fn record_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let slot = AuditSlot::default();
    let (mut parts, body) = request.into_parts();
    // Path parameters name the subject of status changes even when the request is refused early.
    if let Ok(params) = RawPathParams::from_request_parts(&mut parts, &state).await {
        let param = |key: &str| {
            params
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_owned())
        };
        if let Some(name) = param("serverName") {
            slot.subject(&name, param("version").as_deref());
        }
    }
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(slot.clone());
    let action = action_of(request.method(), request.extensions().get::<MatchedPath>());
    let remote_addr = client_address(&request, state.config.trust_forwarded_for);
    let response = next.run(request).await;
    let status = response.status();
    let facts = slot
        .0
        .lock()
        .map(|mut facts| std::mem::take(&mut *facts))
        .unwrap_or_default();
    let entry = AuditEntry {
        id: 0,
        at: now(),
        actor: facts.actor,
        action: facts.action.unwrap_or(action).to_owned(),
        server_name: facts.server_name,
        version: facts.version,
        remote_addr: remote_addr.map(|ip| ip.to_string()),
        status: status.as_u16(),
        outcome: outcome_of(status.as_u16()).to_owned(),
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // The store is down or saturated: waiting for it again would double the client's wait, so
        // the entry is written in the background (and lost, loudly, if the store stays down).
        let store = state.store.clone();
        tokio::spawn(async move { write_entry(&store, &entry).await });
    } else {
        write_entry(&state.store, &entry).await;
    }
    response
}

fn action_of(method: &Method, path: Option<&MatchedPath>) -> &'static str {
    let path = path.map_or("", MatchedPath::as_str);
    match (method, path) {
        (&Method::POST, p) if p.ends_with("/publish") => "publish",
        (&Method::PATCH, p) if p.ends_with("/versions/{version}/status") => "status",
        (&Method::PATCH, p) if p.ends_with("/status") => "status-all",
        (&Method::POST, p) if p.ends_with("/keys") => "key-register",
        (&Method::DELETE, p) if p.ends_with("/keys/{keyId}") => "key-revoke",
        (&Method::PUT, p) if p.ends_with("/compat-policy") => "compat-policy-set",
        (&Method::DELETE, p) if p.ends_with("/compat-policy") => "compat-policy-clear",
        (&Method::DELETE, p) if p.ends_with("/tokens/{tokenId}") => "token-revoke",
        _ => "write",
    }
}

fn outcome_of(status: u16) -> &'static str {
    match status {
        200..=299 => "ok",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not-found",
        409 => "conflict",
        413 => "too-large",
        400 | 422 => "invalid",
        429 => "rate-limited",
        500..=599 => "error",
        _ => "refused",
    }
}

/// The client's address: the peer, or with `trust_forwarded_for` (behind a proxy that sets it), the
/// address the proxy saw: the last `X-Forwarded-For` entry, the one the nearest proxy appended.
pub fn client_address(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for && let Some(ip) = forwarded_for(request.headers()) {
        return Some(ip);
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    // Only the last entry: earlier ones are whatever the client claimed. An unreadable last entry
    // means no usable address, not "try the one before".
    let values: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    values.last()?.rsplit(',').next()?.trim().parse().ok()
}

async fn write_entry(store: &crate::db::Store, entry: &AuditEntry) {
    if let Err(err) = store.insert_audit(entry).await {
        // The write itself is done (or refused); losing its audit entry must be loud, not fatal.
        tracing::error!(error = %err, action = entry.action, server.name = ?entry.server_name, "could not write the audit entry");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn forwarded_for_takes_the_nearest_proxys_entry() {
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.0.0.1"),
        );
        headers.append("x-forwarded-for", HeaderValue::from_static("198.51.100.7"));
        assert_eq!(forwarded_for(&headers), "198.51.100.7".parse().ok());
        assert_eq!(forwarded_for(&HeaderMap::new()), None);
        let mut spoofed = HeaderMap::new();
        spoofed.append(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, garbage"),
        );
        assert_eq!(forwarded_for(&spoofed), None);
    }
}
