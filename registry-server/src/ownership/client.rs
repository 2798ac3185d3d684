//! The HTTP side of ownership checks: the shared clients (rustls on ring), the guard that keeps
//! publisher-named hosts to public addresses, and capped reads of a registry's answers.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{StatusCode, header};
use reqwest::Url;
use serde_json::Value;
use tracing::Instrument as _;

use super::mcpb::MCPB_DOWNLOAD_TIMEOUT;
use super::{Failure, RegistryKind};
use crate::auth_exchange::ssrf;

/// Per-request timeout towards a package registry (the official registry uses 10 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response read from a package registry (READMEs, package documents, image configs).
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// The HTTP clients ownership checks use (rustls on ring).
pub struct Clients {
    /// Operator-configured registries and mirrors: redirects followed, any address.
    plain: reqwest::Client,
    /// Publisher-named OCI registries: public addresses only, redirects included.
    guarded: reqwest::Client,
    /// MCPB downloads through a mirror: redirects are followed (and judged) by the check itself.
    pub(super) download: reqwest::Client,
    /// MCPB downloads from publisher-named URLs: public addresses only; redirects by the check.
    pub(super) guarded_download: reqwest::Client,
}

/// The shared clients (built once).
pub fn clients() -> Result<&'static Clients, String> {
    static CLIENTS: OnceLock<Result<Clients, String>> = OnceLock::new();
    CLIENTS
        .get_or_init(|| {
            // reqwest is built without a bundled crypto provider; ring is the one the workspace has.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let build = |guard: bool, download: bool| {
                let mut builder = reqwest::Client::builder()
                    .user_agent(concat!("mcp-reg/", env!("CARGO_PKG_VERSION")))
                    .connect_timeout(REQUEST_TIMEOUT);
                builder = if download {
                    builder
                        .read_timeout(REQUEST_TIMEOUT)
                        .timeout(MCPB_DOWNLOAD_TIMEOUT)
                        .redirect(reqwest::redirect::Policy::none())
                } else {
                    builder.timeout(REQUEST_TIMEOUT)
                };
                if guard {
                    // Through an environment proxy the proxy would resolve the publisher's host name,
                    // and the public-address check below would only ever see the proxy's address.
                    builder = builder.no_proxy().dns_resolver(PublicOnly);
                    if !download {
                        builder = builder.redirect(public_redirects());
                    }
                }
                builder.build().map_err(|err| error_chain(&err))
            };
            Ok(Clients {
                plain: build(false, false)?,
                guarded: build(true, false)?,
                download: build(false, true)?,
                guarded_download: build(true, true)?,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A refused address, carried through reqwest's error chain so it can be told from an outage.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct PrivateAddress(String);

/// Resolves publisher-named hosts, refusing names with any non-public address
/// ([`ssrf::check_addresses`]).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(resolve_public(name.as_str().to_owned()))
    }
}

async fn resolve_public(
    host: String,
) -> Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> {
    let addrs = ssrf::resolve(&host, 0, &[], REQUEST_TIMEOUT).await?;
    ssrf::check_addresses(&host, &addrs, false).map_err(PrivateAddress)?;
    Ok(Box::new(addrs.into_iter()))
}

/// Redirects of publisher-named registries: at most 10, never to a non-public IP literal (names
/// go through [`PublicOnly`]).
fn public_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects");
        }
        match literal_refusal(attempt.url()) {
            Some(reason) => attempt.error(PrivateAddress(reason)),
            None => attempt.follow(),
        }
    })
}

/// Why `url`'s host, an IP literal, may not be fetched (the resolver never sees literals).
pub(super) fn literal_refusal(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    ssrf::forbidden_reason(ip).map(|reason| {
        format!("{host} is a {reason} address; the registry only fetches from public addresses")
    })
}

/// The refused address somewhere in `err`'s causes, if that is why it failed.
pub(super) fn private_address(err: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<PrivateAddress>() {
            return Some(refused.0.clone());
        }
        source = cause.source();
    }
    None
}

/// One answer of a package registry.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: axum::http::HeaderMap,
    pub(super) body: Vec<u8>,
}

pub(super) struct Http<'a> {
    client: &'a reqwest::Client,
    /// Publisher-named hosts: refuse non-public addresses (the client's resolver does names).
    guard: bool,
}

impl<'a> Http<'a> {
    /// For operator-configured registries and mirrors.
    pub(super) fn open(clients: &'a Clients) -> Self {
        Self {
            client: &clients.plain,
            guard: false,
        }
    }

    /// For publisher-named hosts.
    pub(super) fn guarded(clients: &'a Clients) -> Self {
        Self {
            client: &clients.guarded,
            guard: true,
        }
    }

    /// `GET url` read whole (capped). Transport failures, 429 and 5xx are [`Failure::Upstream`]; a
    /// refused (non-public) address is [`Failure::NotOwned`].
    pub(super) async fn get(
        &self,
        what: RegistryKind,
        url: Url,
        headers: &[(header::HeaderName, String)],
    ) -> Result<Answer, Failure> {
        let shown = url.to_string();
        let refused = |reason: String| {
            Failure::NotOwned(format!(
                "the {} registry at `{shown}` cannot be used: {reason}",
                what.label()
            ))
        };
        if self.guard
            && let Some(reason) = literal_refusal(&url)
        {
            return Err(refused(reason));
        }
        // Issue 18: a client span, whose `traceparent` the request carries, when traces are exported.
        let span = crate::telemetry::client_span("GET", url.as_str());
        let mut request = crate::telemetry::propagate(&span, self.client.get(url));
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let unreachable = |reason: String| {
            Failure::Upstream(format!(
                "the {} registry at `{shown}` could not be reached: {reason}",
                what.label()
            ))
        };
        let mut response = request
            .send()
            .instrument(span.clone())
            .await
            .map_err(|err| {
                crate::telemetry::record_response(&span, None);
                match private_address(&err) {
                    Some(reason) => refused(reason),
                    None => unreachable(error_chain(&err.without_url())),
                }
            })?;
        let status = response.status();
        crate::telemetry::record_response(&span, Some(status.as_u16()));
        let response_headers = response.headers().clone();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return Err(Failure::Upstream(format!(
                            "the {} registry's answer at `{shown}` exceeds {MAX_RESPONSE_BYTES} bytes",
                            what.label()
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => return Err(unreachable(error_chain(&err.without_url()))),
            }
        }
        Ok(Answer {
            status,
            headers: response_headers,
            body,
        })
    }

    /// Like [`Self::get`], but any status other than 200 and 404 is upstream trouble too.
    pub(super) async fn get_found(
        &self,
        what: RegistryKind,
        url: Url,
    ) -> Result<Option<Answer>, Failure> {
        let shown = url.to_string();
        let answer = self.get(what, url, &[]).await?;
        match answer.status {
            s if s.is_success() => Ok(Some(answer)),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            s => Err(Failure::Upstream(format!(
                "the {} registry answered {s} for `{shown}`",
                what.label()
            ))),
        }
    }
}

pub(super) fn parse_json(what: RegistryKind, body: &[u8], url: &str) -> Result<Value, Failure> {
    serde_json::from_slice(body).map_err(|err| {
        Failure::Upstream(format!(
            "the {} registry's answer at `{url}` is not JSON: {err}",
            what.label()
        ))
    })
}

/// `base` with these path segments appended (each percent-encoded).
pub(super) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

/// An error and its causes on one line.
pub(super) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn guarded_requests_refuse_private_addresses() {
        let clients = clients().unwrap();
        let http = Http::guarded(clients);
        for url in [
            "http://localhost:9/v2/",
            "http://127.0.0.1:9/v2/",
            "http://[::1]:9/",
            "http://169.254.169.254/",
        ] {
            match http
                .get(RegistryKind::Oci, Url::parse(url).unwrap(), &[])
                .await
            {
                Err(Failure::NotOwned(message)) => assert!(
                    message.contains("address; the registry only fetches from public addresses"),
                    "{url}: {message}"
                ),
                Err(other) => panic!("{url}: {other:?}"),
                Ok(_) => panic!("{url} was fetched"),
            }
        }
        // A redirect to a private literal is refused too (names go through the resolver).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new().fallback(|| async {
            (
                StatusCode::FOUND,
                [(header::LOCATION, "http://10.1.2.3/latest/meta-data")],
            )
        });
        tokio::spawn(async move { axum::serve(listener, router).await });
        let err = clients
            .guarded
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap_err();
        assert!(
            private_address(&err).is_some_and(|m| m.contains("10.1.2.3 is a private address")),
            "{err:?}"
        );
        // Without the guard, the same names are fetched (the connection is refused: nothing listens).
        let open = Http::open(clients);
        assert!(matches!(
            open.get(
                RegistryKind::Oci,
                Url::parse("http://127.0.0.1:9/").unwrap(),
                &[]
            )
            .await,
            Err(Failure::Upstream(_))
        ));
    }
}
