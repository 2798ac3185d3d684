//! rmcp's streamable-HTTP transport over our own small reqwest client, so the tap sees each raw
//! response body and SSE event, and an HTTP failure keeps its status and body for the error line.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
};
use sse_stream::{Sse, SseStream};

use super::ProbeError;
use super::tap::{Tap, preview};

const SESSION_HEADER: &str = "Mcp-Session-Id";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";
/// Longest non-JSON-RPC error body quoted in an error line.
const BODY_PREVIEW: usize = 300;

#[derive(Clone)]
pub(crate) struct TapClient {
    client: reqwest::Client,
    tap: Tap,
    url: Arc<str>,
}

impl TapClient {
    pub(crate) fn new(
        url: &str,
        headers: &[(String, String)],
        connect_timeout: std::time::Duration,
        tap: Tap,
    ) -> Result<Self, ProbeError> {
        let client = build_client(headers, connect_timeout)?;
        Ok(Self {
            client,
            tap,
            url: url.into(),
        })
    }

    fn request(
        builder: reqwest::RequestBuilder,
        session_id: Option<&str>,
        auth: Option<String>,
        custom: HashMap<HeaderName, HeaderValue>,
    ) -> reqwest::RequestBuilder {
        let mut builder = builder;
        if let Some(session) = session_id {
            builder = builder.header(SESSION_HEADER, session);
        }
        if let Some(token) = auth {
            builder = builder.bearer_auth(token);
        }
        for (name, value) in custom {
            builder = builder.header(name, value);
        }
        builder
    }

    /// Shows every SSE event's data to the tap on its way to rmcp.
    fn tapped(&self, response: reqwest::Response) -> BoxStream<'static, Result<Sse, SseError>> {
        let tap = self.tap.clone();
        SseStream::from_bytes_stream(response.bytes_stream())
            .map(move |event| {
                if let Ok(Sse {
                    data: Some(data), ..
                }) = &event
                {
                    tap.observe(data.as_bytes());
                }
                event
            })
            .boxed()
    }

    fn connect_error(&self, err: &reqwest::Error) {
        self.tap.fail(connect_error(&self.url, err));
    }
}

/// A reqwest client that sends `headers` (`--header`) on every request.
pub(crate) fn build_client(
    headers: &[(String, String)],
    connect_timeout: std::time::Duration,
) -> Result<reqwest::Client, ProbeError> {
    // reqwest is built without a bundled crypto provider; ring is the one the workspace has.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut defaults = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ProbeError::InvalidTarget(format!("`{name}` is not a valid HTTP header name"))
        })?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            ProbeError::InvalidTarget(format!("the value of header `{name}` is not valid"))
        })?;
        defaults.insert(name, value);
    }
    reqwest::Client::builder()
        .default_headers(defaults)
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|err| ProbeError::InvalidTarget(format!("cannot set up HTTP: {err}")))
}

/// A reqwest failure as a one-line [`ProbeError::Connect`].
pub(crate) fn connect_error(url: &str, err: &reqwest::Error) -> ProbeError {
    let detail = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else {
        err.to_string()
    };
    ProbeError::Connect {
        url: url.to_owned(),
        detail: root_cause(err).map_or(detail.clone(), |cause| format!("{detail}: {cause}")),
    }
}

/// An HTTP error status as a one-line [`ProbeError::HttpStatus`], quoting the start of the body.
pub(crate) fn status_error(url: &str, status: reqwest::StatusCode, body: &[u8]) -> ProbeError {
    let mut text = String::from_utf8_lossy(body).trim().to_owned();
    if text.len() > BODY_PREVIEW {
        text = preview(text.as_bytes());
    }
    ProbeError::HttpStatus {
        url: url.to_owned(),
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_owned(),
        body: text.replace(['\n', '\r'], " "),
    }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = err.source()?;
    while let Some(next) = source.source() {
        source = next;
    }
    Some(source.to_string())
}

pub(crate) fn is_media(response: &reqwest::Response, media: &str) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|ct| ct.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case(media))
}

impl StreamableHttpClient for TapClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let body = serde_json::to_vec(&message)?;
        let builder = self
            .client
            .post(uri.as_ref())
            .header(ACCEPT, ACCEPT_BOTH)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let response = Self::request(builder, session_id.as_deref(), auth_header, custom_headers)
            .send()
            .await
            .inspect_err(|err| self.connect_error(err))
            .map_err(StreamableHttpError::Client)?;
        let status = response.status();
        if status == reqwest::StatusCode::ACCEPTED || status == reqwest::StatusCode::NO_CONTENT {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        let new_session = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !status.is_success() {
            let json = is_media(&response, "application/json");
            let body = response.bytes().await.unwrap_or_default();
            if json
                && let Ok(message @ ServerJsonRpcMessage::Error(_)) =
                    serde_json::from_slice::<ServerJsonRpcMessage>(&body)
            {
                // A JSON-RPC error carried by an HTTP error status: rmcp reports it as such.
                self.tap.observe(&body);
                return Ok(StreamableHttpPostResponse::Json(message, new_session));
            }
            self.tap.fail(status_error(&uri, status, &body));
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!("HTTP {status}"),
            )));
        }
        if is_media(&response, "text/event-stream") {
            return Ok(StreamableHttpPostResponse::Sse(
                self.tapped(response),
                new_session,
            ));
        }
        let is_json = is_media(&response, "application/json");
        let body = response
            .bytes()
            .await
            .map_err(StreamableHttpError::Client)?;
        if body.iter().all(u8::is_ascii_whitespace)
            && !matches!(message, ClientJsonRpcMessage::Request(_))
        {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if !is_json {
            self.tap.fail(ProbeError::InvalidJsonRpc {
                detail: format!(
                    "it answered with a body that is neither JSON nor an event stream: `{}`",
                    preview(&body)
                ),
            });
            return Err(StreamableHttpError::UnexpectedContentType(None));
        }
        self.tap.observe(&body);
        match serde_json::from_slice::<ServerJsonRpcMessage>(&body) {
            Ok(parsed) => Ok(StreamableHttpPostResponse::Json(parsed, new_session)),
            Err(err) => {
                if !self.tap.has_failure() {
                    self.tap.fail(ProbeError::InvalidJsonRpc {
                        detail: format!("rmcp cannot decode `{}`: {err}", preview(&body)),
                    });
                }
                Err(StreamableHttpError::Deserialize(err))
            }
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        let builder = self.client.delete(uri.as_ref());
        // Ending the session is a courtesy; a server that refuses it has nothing to clean up.
        let _ = Self::request(builder, Some(&session_id), auth_header, custom_headers)
            .send()
            .await
            .map_err(StreamableHttpError::Client)?;
        Ok(())
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        let mut builder = self
            .client
            .get(uri.as_ref())
            .header(ACCEPT, "text/event-stream");
        if let Some(last) = last_event_id {
            builder = builder.header("Last-Event-ID", last);
        }
        let response = Self::request(builder, session_id.as_deref(), auth_header, custom_headers)
            .send()
            .await
            .map_err(StreamableHttpError::Client)?;
        // The standalone stream is optional in MCP; any refusal just means "none".
        if !response.status().is_success() || !is_media(&response, "text/event-stream") {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        Ok(self.tapped(response))
    }
}
