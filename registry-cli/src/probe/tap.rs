//! A side channel beside rmcp: every message the server sends is also parsed here as plain JSON.
//!
//! rmcp decodes results into its own typed model, which drops keys it does not know (a tool's
//! `execution`, an explicit `"title": null`, vendor keys). A capture must keep them, so the tap
//! keeps each response's raw `result` by request id while rmcp runs the protocol. It also notices a
//! server that writes something other than JSON-RPC, and carries transport failures (HTTP status,
//! bodies) that rmcp would only report as a generic transport error.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use serde_json::Value;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::Notify;

use super::ProbeError;

/// Longest stdout line kept while waiting for its newline; longer lines are a failure, not a leak.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// Shared by the transport (writer side) and the probe (reader side).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tap {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    failed: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// The first response of the session: the answer to `initialize`, which is always the first
    /// request.
    first: Option<Value>,
    /// Raw `result` (or the whole message for an error response) by the JSON text of its id.
    responses: HashMap<String, Value>,
    failure: Option<ProbeError>,
}

impl Tap {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map half-updated in a way that matters.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Looks at one complete JSON-RPC message (a stdio line or an SSE `data` field).
    pub(crate) fn observe(&self, bytes: &[u8]) {
        let text = trim(bytes);
        if text.is_empty() {
            return;
        }
        let Ok(message) = serde_json::from_slice::<Value>(text) else {
            self.fail(ProbeError::InvalidJsonRpc {
                detail: format!("it wrote `{}`", preview(text)),
            });
            return;
        };
        match &message {
            Value::Array(batch) => {
                for item in batch {
                    self.record(item);
                }
            }
            Value::Object(_) => self.record(&message),
            _ => self.fail(ProbeError::InvalidJsonRpc {
                detail: format!("it wrote `{}`", preview(text)),
            }),
        }
    }

    fn record(&self, message: &Value) {
        let Some(object) = message.as_object() else {
            self.fail(ProbeError::InvalidJsonRpc {
                detail: format!("a batch held `{}`", preview(message.to_string().as_bytes())),
            });
            return;
        };
        if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            self.fail(ProbeError::InvalidJsonRpc {
                detail: format!(
                    "a message lacks `\"jsonrpc\": \"2.0\"`: `{}`",
                    preview(message.to_string().as_bytes())
                ),
            });
            return;
        }
        if object.contains_key("method") {
            // A request or notification from the server; rmcp answers or ignores it.
            return;
        }
        let Some(id) = object.get("id") else {
            self.fail(ProbeError::InvalidJsonRpc {
                detail: format!(
                    "a message has neither `method` nor `id`: `{}`",
                    preview(message.to_string().as_bytes())
                ),
            });
            return;
        };
        let payload = match object.get("result") {
            Some(result) => result.clone(),
            None if object.contains_key("error") => message.clone(),
            None => {
                self.fail(ProbeError::InvalidJsonRpc {
                    detail: format!(
                        "a response has neither `result` nor `error`: `{}`",
                        preview(message.to_string().as_bytes())
                    ),
                });
                return;
            }
        };
        let mut state = self.state();
        if state.first.is_none() {
            state.first = Some(payload.clone());
        }
        state.responses.insert(id.to_string(), payload);
    }

    /// Records why the session cannot go on; the first failure wins.
    pub(crate) fn fail(&self, failure: ProbeError) {
        let mut state = self.state();
        if state.failure.is_none() {
            state.failure = Some(failure);
        }
        drop(state);
        self.inner.failed.notify_waiters();
        self.inner.failed.notify_one();
    }

    pub(crate) fn take_failure(&self) -> Option<ProbeError> {
        self.state().failure.take()
    }

    pub(crate) fn has_failure(&self) -> bool {
        self.state().failure.is_some()
    }

    /// Resolves once a failure was recorded.
    pub(crate) async fn failed(&self) {
        loop {
            let notified = self.inner.failed.notified();
            if self.has_failure() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn first_response(&self) -> Option<Value> {
        self.state().first.clone()
    }

    /// The raw result of the request with this id (its JSON text, e.g. `3` or `"a"`).
    pub(crate) fn take_response(&self, id: &str) -> Option<Value> {
        self.state().responses.remove(id)
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |end| end + 1);
    &bytes[start..end.max(start)]
}

/// The start of an offending message, for an error line.
pub(crate) fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(120).collect();
    if text.chars().count() > 120 {
        out.push('…');
    }
    out.replace(['\n', '\r'], " ")
}

/// Wraps the child's stdout: passes every byte to rmcp unchanged and shows each line to the tap.
pub(crate) struct TapReader<R> {
    inner: R,
    tap: Tap,
    line: Vec<u8>,
    overflow: bool,
}

impl<R> TapReader<R> {
    pub(crate) fn new(inner: R, tap: Tap) -> Self {
        Self {
            inner,
            tap,
            line: Vec::new(),
            overflow: false,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while let Some(newline) = bytes.iter().position(|&b| b == b'\n') {
            if !self.overflow {
                self.line.extend_from_slice(&bytes[..newline]);
                let line = std::mem::take(&mut self.line);
                self.tap.observe(&line);
            }
            self.overflow = false;
            bytes = &bytes[newline + 1..];
        }
        if self.overflow {
            return;
        }
        if self.line.len() + bytes.len() > MAX_LINE {
            self.overflow = true;
            self.line = Vec::new();
            self.tap.fail(ProbeError::InvalidJsonRpc {
                detail: format!("it wrote a line longer than {MAX_LINE} bytes"),
            });
        } else {
            self.line.extend_from_slice(bytes);
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for TapReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let fresh = buf.filled()[before..].to_vec();
            if fresh.is_empty() && !this.line.is_empty() && !this.overflow {
                // End of stream after an unterminated line: rmcp still parses it, so look too.
                let line = std::mem::take(&mut this.line);
                this.tap.observe(&line);
            } else {
                this.feed(&fresh);
            }
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn keeps_raw_results_and_flags_garbage() {
        let tap = Tap::default();
        tap.observe(br#"{"jsonrpc":"2.0","id":0,"result":{"a":null}}"#);
        tap.observe(br#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#);
        tap.observe(br#"{"jsonrpc":"2.0","id":"x","result":{"b":1}}"#);
        assert_eq!(tap.first_response().unwrap()["a"], Value::Null);
        assert_eq!(tap.take_response("\"x\"").unwrap()["b"], 1);
        assert!(!tap.has_failure());
        tap.observe(b"  \r");
        assert!(!tap.has_failure());
        tap.observe(b"Server listening on stdio");
        let err = tap.take_failure().unwrap().to_string();
        assert!(err.contains("Server listening on stdio"), "{err}");
    }

    #[test]
    fn reader_splits_lines_across_reads() {
        let tap = Tap::default();
        let mut reader = TapReader::new(tokio::io::empty(), tap.clone());
        reader.feed(br#"{"jsonrpc":"2.0","id":1,"res"#);
        reader.feed(b"ult\":7}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":8}\n");
        assert_eq!(tap.take_response("1").unwrap(), 7);
        assert_eq!(tap.take_response("2").unwrap(), 8);
    }
}
