//! The legacy HTTP+SSE transport (MCP 2024-11-05), bridged onto rmcp's async-rw transport.
//!
//! The client opens `GET <url>` as an event stream; the server's first `endpoint` event names the
//! URL to POST JSON-RPC messages to, and its answers come back as `message` events on that stream.
//! rmcp does not speak this transport any more, so [`connect`] turns it into a byte pipe it does:
//! one task forwards each `message` event's data as a line into an in-memory pipe that rmcp reads
//! (through the same [`TapReader`] as stdio), another POSTs each line rmcp writes to the endpoint.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use sse_stream::{Error as SseError, Sse, SseStream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::task::JoinHandle;

use super::ProbeError;
use super::http::{build_client, connect_error, is_media, status_error};
use super::tap::{Tap, TapReader, preview};

/// The name of the handshake step in error messages.
pub(crate) const ENDPOINT_STEP: &str = "the SSE `endpoint` event";
/// Bytes buffered in each in-memory pipe before the writer waits for the reader.
const PIPE: usize = 256 * 1024;
/// Longest line rmcp may write (one JSON-RPC message of ours; far below this in practice).
const MAX_OUTGOING: u64 = 16 * 1024 * 1024;

type Events = BoxStream<'static, Result<Sse, SseError>>;

/// The open session: rmcp's two ends of the pipes, and the tasks behind them.
pub(crate) struct Session {
    pub reader: TapReader<DuplexStream>,
    pub writer: DuplexStream,
    pub tasks: Tasks,
}

/// The stream reader and the POST writer; dropping this ends both, which closes the event stream.
pub(crate) struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Opens the event stream at `url` and waits for its `endpoint` event (the caller bounds the
/// wait). Failures of the running session are reported through `tap`.
pub(crate) async fn connect(
    url: &str,
    headers: &[(String, String)],
    request_timeout: Duration,
    tap: &Tap,
) -> Result<Session, ProbeError> {
    let base = Url::parse(url)
        .map_err(|_| ProbeError::InvalidTarget(format!("`{url}` is not a valid URL")))?;
    let client = build_client(headers, request_timeout)?;
    let response = client
        .get(base.clone())
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
        .map_err(|err| connect_error(url, &err))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.bytes().await.unwrap_or_default();
        return Err(status_error(url, status, &body));
    }
    if !is_media(&response, "text/event-stream") {
        let body = response.bytes().await.unwrap_or_default();
        return Err(ProbeError::Protocol {
            step: ENDPOINT_STEP.to_owned(),
            detail: format!(
                "{url} did not answer with an event stream (legacy SSE transport): `{}`",
                preview(&body)
            ),
        });
    }
    let mut events: Events = SseStream::from_bytes_stream(response.bytes_stream()).boxed();
    let endpoint = loop {
        match events.next().await {
            Some(Ok(event)) if event.event.as_deref() == Some("endpoint") => {
                break endpoint_url(&base, event.data.as_deref().unwrap_or(""))?;
            }
            // Comments, keep-alives and anything else before the endpoint carry nothing for us.
            Some(Ok(_)) => {}
            Some(Err(err)) => {
                return Err(ProbeError::Protocol {
                    step: ENDPOINT_STEP.to_owned(),
                    detail: format!("the event stream broke: {err}"),
                });
            }
            None => {
                return Err(ProbeError::Closed {
                    step: ENDPOINT_STEP.to_owned(),
                });
            }
        }
    };
    let (rmcp_in, pipe_in) = tokio::io::duplex(PIPE);
    let (rmcp_out, pipe_out) = tokio::io::duplex(PIPE);
    let inbound = tokio::spawn(forward_events(events, pipe_in, url.to_owned(), tap.clone()));
    let outbound = tokio::spawn(post_lines(
        client,
        endpoint,
        pipe_out,
        request_timeout,
        tap.clone(),
    ));
    Ok(Session {
        reader: TapReader::new(rmcp_in, tap.clone()),
        writer: rmcp_out,
        tasks: Tasks(vec![inbound, outbound]),
    })
}

/// The endpoint resolved against the stream's URL; it must be on the same origin, or a server
/// could make the probe send its `--header` credentials elsewhere.
fn endpoint_url(base: &Url, data: &str) -> Result<Url, ProbeError> {
    let data = data.trim();
    let endpoint = base.join(data).map_err(|_| ProbeError::Protocol {
        step: ENDPOINT_STEP.to_owned(),
        detail: format!("`{}` is not a URL", preview(data.as_bytes())),
    })?;
    if endpoint.origin() != base.origin() {
        return Err(ProbeError::Protocol {
            step: ENDPOINT_STEP.to_owned(),
            detail: format!(
                "the server named the endpoint `{}`, which is not on the origin of {} \
                 (scheme, host and port must match); refusing to send messages there",
                preview(endpoint.as_str().as_bytes()),
                base.origin().ascii_serialization()
            ),
        });
    }
    Ok(endpoint)
}

/// Writes the data of each `message` event as one line for rmcp; ends (closing rmcp's input)
/// when the stream does.
async fn forward_events(mut events: Events, mut pipe: DuplexStream, url: String, tap: Tap) {
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                tap.fail(ProbeError::Connect {
                    url,
                    detail: format!("the event stream broke: {err}"),
                });
                break;
            }
        };
        // `message` is also the default event type.
        if !matches!(event.event.as_deref(), None | Some("message")) {
            continue;
        }
        let Some(data) = event.data else { continue };
        // Line breaks can only sit between JSON tokens (a string cannot hold a raw one), so
        // turning them into spaces keeps the message and makes it one line.
        let mut line = data.replace(['\r', '\n'], " ").into_bytes();
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        line.push(b'\n');
        if pipe.write_all(&line).await.is_err() {
            // rmcp has closed its end: the session is over.
            return;
        }
    }
    let _ = pipe.shutdown().await;
}

/// POSTs each line rmcp writes to the endpoint; the answers arrive on the event stream.
async fn post_lines(
    client: reqwest::Client,
    endpoint: Url,
    pipe: DuplexStream,
    request_timeout: Duration,
    tap: Tap,
) {
    let mut lines = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut lines)
            .take(MAX_OUTGOING)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let body = std::mem::take(&mut line);
        let response = client
            .post(endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .timeout(request_timeout)
            .body(body)
            .send()
            .await;
        match response {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                let status = response.status();
                let body = response.bytes().await.unwrap_or_default();
                tap.fail(status_error(endpoint.as_str(), status, &body));
                return;
            }
            Err(err) => {
                tap.fail(connect_error(endpoint.as_str(), &err));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn endpoints_resolve_on_the_same_origin_only() {
        let base = Url::parse("http://127.0.0.1:8000/mcp/sse").unwrap();
        assert_eq!(
            endpoint_url(&base, "/messages?session=a").unwrap().as_str(),
            "http://127.0.0.1:8000/messages?session=a"
        );
        assert_eq!(
            endpoint_url(&base, " messages?s=1\n").unwrap().as_str(),
            "http://127.0.0.1:8000/mcp/messages?s=1"
        );
        assert!(endpoint_url(&base, "http://127.0.0.1:8000/m").is_ok());
        for other in [
            "http://127.0.0.1:8001/messages",
            "https://127.0.0.1:8000/messages",
            "http://localhost:8000/messages",
            "//evil.example/messages",
        ] {
            let err = endpoint_url(&base, other).unwrap_err().to_string();
            assert!(err.contains("refusing"), "{other}: {err}");
        }
    }
}
