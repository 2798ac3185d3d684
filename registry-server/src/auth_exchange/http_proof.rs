//! `/auth/http`: the signed timestamp checked against `https://<domain>/.well-known/mcp-registry-auth`.

use std::time::Duration;
use tracing::Instrument as _;

use super::AuthExchangeConfig;
use super::ssrf;
use crate::error::ApiError;

/// Path of the key file on the domain.
pub const WELL_KNOWN_PATH: &str = "/.well-known/mcp-registry-auth";
/// Largest key file read.
pub const MAX_BYTES: usize = 4096;
/// Time allowed for resolving, connecting and reading.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Fetches the key file's lines from `domain` (already checked by
/// [`check_domain`](super::proof::check_domain)), through the SSRF guard.
pub async fn fetch_records(
    config: &AuthExchangeConfig,
    domain: &str,
) -> Result<Vec<String>, ApiError> {
    let unauthorized = |why: String| ApiError::Unauthorized(why);
    let (scheme, default_port) = if config.allow_private_targets {
        ("http", 80)
    } else {
        ("https", 443)
    };
    let addrs = ssrf::resolve(domain, default_port, &config.resolve_overrides, TIMEOUT)
        .await
        .map_err(unauthorized)?;
    ssrf::check_addresses(domain, &addrs, config.allow_private_targets).map_err(unauthorized)?;
    // Connect to the judged addresses only (no second lookup that could answer differently).
    let port = addrs
        .first()
        .map_or(default_port, std::net::SocketAddr::port);
    let url = if port == default_port {
        format!("{scheme}://{domain}{WELL_KNOWN_PATH}")
    } else {
        format!("{scheme}://{domain}:{port}{WELL_KNOWN_PATH}")
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .user_agent("mcp-registry/1.0")
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .resolve_to_addrs(domain, &addrs)
        .build()
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("HTTP client: {err}")))?;
    let fetch = async {
        // Issue 18: the call's span and `traceparent`, when traces are exported.
        let span = crate::telemetry::client_span("GET", &url);
        let mut response = crate::telemetry::propagate(&span, client.get(&url))
            .header(reqwest::header::ACCEPT, "text/plain")
            .send()
            .instrument(span.clone())
            .await
            .map_err(|err| {
                crate::telemetry::record_response(&span, None);
                if err.is_timeout() {
                    format!("fetching {url} timed out")
                } else {
                    format!("could not fetch {url}")
                }
            })?;
        let status = response.status();
        crate::telemetry::record_response(&span, Some(status.as_u16()));
        if status.is_redirection() {
            return Err(format!(
                "{url} answered with a redirect ({status}); redirects are not followed"
            ));
        }
        if !status.is_success() {
            return Err(format!("{url} answered {status}"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| format!("could not read {url}"))?
        {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(format!("{url} is larger than {MAX_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    let body = tokio::time::timeout(TIMEOUT, fetch)
        .await
        .map_err(|_| unauthorized(format!("fetching {url} timed out")))?
        .map_err(unauthorized)?;
    let text =
        String::from_utf8(body).map_err(|_| unauthorized(format!("{url} is not UTF-8 text")))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}
