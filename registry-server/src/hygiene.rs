//! Input hygiene at the edge: what reaches storage is UTF-8 without control characters, so SQLite and
//! PostgreSQL see (and refuse) exactly the same values, and nothing a client sends can make either
//! engine fail with a 500.
//!
//! - [`reject_control_characters`] (every API route): each path segment and each query parameter name
//!   and value, percent-decoded, must be UTF-8 (else **400**) and free of control characters (Unicode
//!   `Cc`: U+0000–U+001F, U+007F–U+009F; else **422**), with `errors[].location` naming the
//!   parameter (`path.serverName`, `query.cursor`).
//! - [`reject_nul_in_body`] (write routes): a JSON body with U+0000 in any string or member name is a
//!   **422** with the pointer of each, rule `nul-character` (PostgreSQL cannot store U+0000; SQLite
//!   would). Other control characters in free text (a status message's line breaks) are stored alike
//!   on both engines; the manifest's identifying values are held to `control-characters` by
//!   validation (`registry_schema::validate`).

use std::borrow::Cow;
use std::pin::Pin;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::error::{ApiError, ErrorItem};
use crate::state::AppState;

/// Most `errors[]` entries one refused body lists.
const MAX_BODY_ERRORS: usize = 20;

/// Refuses requests whose percent-decoded path segments or query parameters are not UTF-8 (400) or
/// hold control characters (422), before any handler, cache or store sees them.
pub async fn reject_control_characters(request: Request, next: Next) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned());
    if let Err(refusal) = check_uri(request.uri(), template.as_deref()) {
        return refusal.into_response();
    }
    next.run(request).await
}

/// The checks of [`reject_control_characters`]; `template` is the matched route (`/v0.1/servers/
/// {serverName}/versions`), which names the path parameters in errors.
pub fn check_uri(uri: &Uri, template: Option<&str>) -> Result<(), ApiError> {
    check_path(uri.path(), template)?;
    if let Some(query) = uri.query() {
        check_query(query)?;
    }
    Ok(())
}

fn check_path(path: &str, template: Option<&str>) -> Result<(), ApiError> {
    // Aligned from the end, so a template relative to a nesting prefix still names the right segment.
    let names: Vec<&str> = template.map_or_else(Vec::new, |t| t.rsplit('/').collect());
    for (index, segment) in path.rsplit('/').enumerate() {
        // A URI holds no raw control or non-ASCII bytes (hyper and `http` refuse them): only escapes
        // can decode to something refused.
        if !segment.contains('%') {
            continue;
        }
        let name = names
            .get(index)
            .and_then(|part| part.strip_prefix('{'))
            .and_then(|part| part.strip_suffix('}'))
            .map(|part| part.trim_start_matches('*'));
        let (location, what) = match name {
            Some(name) => (format!("path.{name}"), format!("path parameter `{name}`")),
            None => ("path".to_owned(), "a path segment".to_owned()),
        };
        let decoded: Cow<'_, [u8]> = percent_decode_str(segment).into();
        check_value(&location, &what, &decoded)?;
    }
    Ok(())
}

fn check_query(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = form_decode(key);
        check_value("query", "a query parameter name", &key)?;
        // Checked just above: UTF-8 without control characters, so safe to show.
        let key = String::from_utf8_lossy(&key);
        check_value(
            &format!("query.{key}"),
            &format!("query parameter `{key}`"),
            &form_decode(value),
        )?;
    }
    Ok(())
}

/// `application/x-www-form-urlencoded` decoding as the query extractor does it (`+` is a space), to
/// bytes.
fn form_decode(text: &str) -> Cow<'_, [u8]> {
    if !text.contains(['%', '+']) {
        return Cow::Borrowed(text.as_bytes());
    }
    let spaced = text.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).collect())
}

fn check_value(location: &str, what: &str, decoded: &[u8]) -> Result<(), ApiError> {
    let Ok(text) = std::str::from_utf8(decoded) else {
        return Err(ApiError::bad_parameter(
            location,
            format!("{what} is not UTF-8 once percent-decoded"),
        ));
    };
    if let Some(bad) = text.chars().find(|c| c.is_control()) {
        return Err(ApiError::invalid_parameter(
            location,
            format!(
                "{what} contains the control character U+{:04X}; control characters are not allowed",
                u32::from(bad)
            ),
        ));
    }
    Ok(())
}

/// Refuses a write whose JSON body has U+0000 in a string or member name (422 with the pointer of
/// each). The body is read here (within `--max-body-bytes`, 413 beyond) and handed on unchanged.
pub async fn reject_nul_in_body(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    if body.size_hint().exact() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let limit = state.config.max_body_bytes;
    let bytes = match read_limited(body, limit).await {
        Ok(bytes) => bytes,
        Err(ReadError::TooLarge) => return ApiError::PayloadTooLarge { limit }.into_response(),
        Err(ReadError::Failed(err)) => {
            return ApiError::bad_request(format!("could not read the request body: {err}"))
                .into_response();
        }
    };
    if let Some(refusal) = nul_refusal(&bytes) {
        return refusal.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

enum ReadError {
    TooLarge,
    Failed(axum::Error),
}

/// The body's bytes, refusing more than `limit` without reading further.
async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, ReadError> {
    if body
        .size_hint()
        .lower()
        .try_into()
        .is_ok_and(|lower: usize| lower > limit)
    {
        return Err(ReadError::TooLarge);
    }
    let mut buffer = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(ReadError::Failed)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len().saturating_add(data.len()) > limit {
                return Err(ReadError::TooLarge);
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buffer))
}

/// The 422 for a JSON body holding U+0000, or `None`. JSON text can only carry U+0000 as the escape
/// `\u0000`, so bodies without one are passed after a byte scan; a body that is not JSON is left to
/// the handler's own answer.
pub fn nul_refusal(body: &[u8]) -> Option<ApiError> {
    if !has_nul_escape(body) {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    let mut pointers = Vec::new();
    nul_pointers(&value, "", &mut pointers);
    if pointers.is_empty() {
        return None;
    }
    let errors = pointers
        .into_iter()
        .take(MAX_BODY_ERRORS)
        .map(|pointer| ErrorItem {
            pointer: Some(pointer),
            location: None,
            rule: Some("nul-character".to_owned()),
            message: "contains U+0000 (NUL), which the registry cannot store".to_owned(),
        })
        .collect();
    Some(ApiError::Unprocessable {
        detail: "the body contains U+0000 (NUL), which the registry cannot store".to_owned(),
        errors,
    })
}

/// Whether `bytes` hold a JSON escape `\u0000` (not an escaped backslash followed by `u0000`).
fn has_nul_escape(bytes: &[u8]) -> bool {
    let mut index = 0;
    while let Some(offset) = bytes[index..].iter().position(|&b| b == b'\\') {
        let at = index + offset;
        match bytes.get(at + 1) {
            Some(b'u') if bytes.get(at + 2..at + 6) == Some(b"0000") => return true,
            // `\\`, `\"`, `\n`, `\uXXXX`…: skip the escaped character.
            Some(_) => index = at + 2,
            None => return false,
        }
    }
    false
}

/// The pointer of every string value and member name (as its member's pointer) holding U+0000.
fn nul_pointers(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::String(text) if text.contains('\0') => found.push(at.to_owned()),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                nul_pointers(item, &format!("{at}/{index}"), found);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                let pointer = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                if key.contains('\0') {
                    found.push(pointer.clone());
                }
                nul_pointers(member, &pointer, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(result: Result<(), ApiError>) -> (u16, String) {
        let err = result.expect_err("refused");
        let status = err.status().as_u16();
        match err {
            ApiError::BadRequest { errors, .. } | ApiError::Unprocessable { errors, .. } => {
                (status, errors[0].location.clone().unwrap_or_default())
            }
            other => panic!("{other:?}"),
        }
    }

    const TEMPLATE: &str = "/v0.1/servers/{serverName}/versions/{version}";

    #[test]
    fn path_segments_are_decoded_and_named() {
        let check = |uri: &str| check_uri(&uri.parse().expect("uri"), Some(TEMPLATE));
        assert!(check("/v0.1/servers/io.github.a%2Fb/versions/1.0.0").is_ok());
        assert!(check("/v0.1/servers/io.github.a%2Fb/versions/1.0.0%2Bbuild").is_ok());
        assert!(check("/v0.1/servers/a%C3%A9/versions/1").is_ok());
        assert_eq!(
            location(check("/v0.1/servers/a%00b/versions/1.0.0")),
            (422, "path.serverName".to_owned())
        );
        assert_eq!(
            location(check("/v0.1/servers/a%2Fb/versions/1.0.0%01")),
            (422, "path.version".to_owned())
        );
        assert_eq!(
            location(check("/v0.1/servers/a%2Fb/versions/%C2%85")),
            (422, "path.version".to_owned())
        );
        assert_eq!(
            location(check("/v0.1/servers/%FF/versions/1")),
            (400, "path.serverName".to_owned())
        );
        // Relative to a nesting prefix, the names still line up.
        assert_eq!(
            location(check_uri(
                &"/v0/servers/x/versions/%7F".parse().expect("uri"),
                Some("/servers/{serverName}/versions/{version}")
            )),
            (422, "path.version".to_owned())
        );
        assert_eq!(
            location(check_uri(&"/x/%00".parse().expect("uri"), None)),
            (422, "path".to_owned())
        );
    }

    #[test]
    fn query_names_and_values_are_decoded_and_named() {
        let check = |uri: &str| check_uri(&uri.parse().expect("uri"), None);
        assert!(check("/s?search=a+b%20c&limit=3&cursor=").is_ok());
        assert!(check("/s?flag&search=%E2%9C%93").is_ok());
        assert_eq!(
            location(check("/s?cursor=%00")),
            (422, "query.cursor".to_owned())
        );
        assert_eq!(
            location(check("/s?limit=1&version=1.0%0A")),
            (422, "query.version".to_owned())
        );
        assert_eq!(
            location(check("/s?search=%FF")),
            (400, "query.search".to_owned())
        );
        assert_eq!(location(check("/s?a%00=1")), (422, "query".to_owned()));
        assert_eq!(location(check("/s?%FE=1")), (400, "query".to_owned()));
    }

    #[test]
    fn nul_escapes_are_found_and_pointed_at() {
        assert!(nul_refusal(br#"{"statusMessage": "fine \\u0000 text"}"#).is_none());
        assert!(nul_refusal(br#"{"a": "\u0001\n"}"#).is_none());
        assert!(nul_refusal(b"not json \\u0000").is_none());
        let refusal = nul_refusal(
            br#"{"server": {"description": "x\u0000", "_meta": {"k\u0000/~": [1, "\u0000"]}}}"#,
        )
        .expect("refused");
        let ApiError::Unprocessable { errors, .. } = refusal else {
            panic!("{refusal:?}");
        };
        let pointers: Vec<_> = errors.iter().filter_map(|e| e.pointer.clone()).collect();
        assert_eq!(
            pointers,
            [
                "/server/description",
                "/server/_meta/k\u{0}~1~0",
                "/server/_meta/k\u{0}~1~0/1"
            ]
        );
        assert!(
            errors
                .iter()
                .all(|e| e.rule.as_deref() == Some("nul-character"))
        );
    }
}
