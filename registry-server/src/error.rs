//! The one error type of the HTTP layer, rendered as RFC 9457 problem+json.
//!
//! Every non-2xx body, extractor rejections included, has this shape:
//! `{"type", "title", "status", "detail", "errors": [{"pointer"?, "location"?, "rule"?, "message"}]}`.
//! A 5xx body says nothing about its cause; the cause is logged once, in the request span.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry_schema::{Report, Severity};
use serde::Serialize;

use crate::db::StoreError;

/// Content type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: a malformed request (bad cursor, bad timestamp, conflicting parameters).
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<ErrorItem>,
    },
    /// 401: no credentials, or credentials the registry does not know.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: valid credentials without permission for this name.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409: the version (or one with the same semver precedence) is already published.
    #[error("{0}")]
    Conflict(String),
    /// 409: the new version breaks compatibility without the bump it needs; the report goes along as
    /// problem+json extension members.
    #[error("{}", .0.summary())]
    Incompatible(Box<crate::compat::CompatReport>),
    /// 413: the body is larger than the configured limit.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 422: the request is well-formed but its content is invalid (manifest rules, parameter ranges).
    #[error("{detail}")]
    Unprocessable {
        detail: String,
        errors: Vec<ErrorItem>,
    },
    /// 429: slow down; `retry_after` seconds.
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    /// 501: an optional operation of the official API this registry does not offer.
    #[error("{0}")]
    NotImplemented(String),
    /// 503: the database cannot be reached or has no free connection.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 503: a service the request depends on (a package registry) did not answer. Unlike
    /// [`ApiError::Unavailable`] the detail is shown: it names the service, and `errors[]` the inputs
    /// that could not be checked; `Retry-After` says when to try again.
    #[error("{detail}")]
    UpstreamUnavailable {
        detail: String,
        errors: Vec<ErrorItem>,
        retry_after: u64,
    },
    /// 500: a bug or an unexpected failure; the body stays generic.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// One entry of `errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErrorItem {
    /// RFC 6901 pointer into the request body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// Where outside the body: `query.limit`, `path.version`, `header.authorization`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Validation rule id, when a rule produced this error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub message: String,
}

impl ErrorItem {
    pub fn at_location(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: None,
            location: Some(location.into()),
            rule: None,
            message: message.into(),
        }
    }

    pub fn at_pointer(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: Some(pointer.into()),
            location: None,
            rule: None,
            message: message.into(),
        }
    }
}

/// The problem+json body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemDetails {
    /// Always `about:blank`: the status and title say what happened.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorItem>,
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// A 400 about one query or path parameter.
    pub fn bad_parameter(location: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::BadRequest {
            detail: message.clone(),
            errors: vec![ErrorItem::at_location(location, message)],
        }
    }

    /// A 422 about one query or path parameter.
    pub fn invalid_parameter(location: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Unprocessable {
            detail: message.clone(),
            errors: vec![ErrorItem::at_location(location, message)],
        }
    }

    /// A 422 for a manifest that failed validation: every error of the report, with pointer and rule.
    pub fn invalid_manifest(report: &Report) -> Self {
        let errors: Vec<ErrorItem> = report
            .issues
            .iter()
            .filter(|issue| issue.severity == Severity::Error)
            .map(|issue| ErrorItem {
                pointer: Some(issue.pointer.clone()),
                location: None,
                rule: Some(issue.rule.to_string()),
                message: issue.message.clone(),
            })
            .collect();
        let detail = match errors.len() {
            1 => "server.json is invalid: 1 error".to_owned(),
            n => format!("server.json is invalid: {n} errors"),
        };
        Self::Unprocessable { detail, errors }
    }

    /// Moves every body pointer under `prefix` (the manifest sits inside a larger body).
    #[must_use]
    pub fn under_pointer(mut self, prefix: &str) -> Self {
        if let Self::BadRequest { errors, .. }
        | Self::Unprocessable { errors, .. }
        | Self::UpstreamUnavailable { errors, .. } = &mut self
        {
            for item in errors {
                if let Some(pointer) = &mut item.pointer {
                    pointer.insert_str(0, prefix);
                }
            }
        }
        self
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound(detail.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::Incompatible(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable(_) | Self::UpstreamUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::not_found("Server not found"),
            StoreError::Duplicate {
                server_name,
                version,
                ..
            } => Self::Conflict(format!(
                "cannot publish duplicate version: `{server_name}` version `{version}` (or one with the same semver precedence) is already published; versions are immutable, so publish a new version"
            )),
            StoreError::RemoteUrlTaken { url, server_name } => Self::Conflict(format!(
                "remote URL `{url}` is already used by server `{server_name}`; a remote endpoint belongs to one server name (deleted versions release their URLs)"
            )),
            StoreError::KeyExists { namespace, key_id } => Self::Conflict(format!(
                "key {key_id} is already registered for namespace `{namespace}` (a revoked key cannot be registered again; generate a new one)"
            )),
            StoreError::Unavailable(reason) => Self::Unavailable(reason),
            // A value the database cannot hold (NUL): the client's input, never a server fault.
            StoreError::InvalidInput(reason) => Self::Unprocessable {
                detail: reason.clone(),
                errors: vec![ErrorItem::at_pointer("", reason)],
            },
            other => Self::Internal(other.into()),
        }
    }
}

/// The error as a response extension, so the logging middleware can log 5xx causes once.
#[derive(Debug, Clone)]
pub struct LoggedError(pub std::sync::Arc<String>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (detail, errors) = match &self {
            Self::BadRequest { detail, errors }
            | Self::Unprocessable { detail, errors }
            | Self::UpstreamUnavailable { detail, errors, .. } => (detail.clone(), errors.clone()),
            // Never leak internals: the cause goes to the log, not the client.
            Self::Internal(_) => ("internal server error".to_owned(), Vec::new()),
            Self::Unavailable(_) => (
                "the registry's database is unavailable; try again shortly".to_owned(),
                Vec::new(),
            ),
            other => (other.to_string(), Vec::new()),
        };
        let body = ProblemDetails {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        };
        let mut response = match &self {
            Self::Incompatible(report) => {
                (status, axum::Json(with_extensions(&body, report.as_ref()))).into_response()
            }
            _ => (status, axum::Json(body)).into_response(),
        };
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            Self::Unauthorized(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"mcp-reg\""),
                );
            }
            Self::TooManyRequests { retry_after } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            Self::UpstreamUnavailable {
                detail,
                retry_after,
                ..
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
                response
                    .extensions_mut()
                    .insert(LoggedError(std::sync::Arc::new(detail.clone())));
            }
            Self::Internal(err) => {
                response
                    .extensions_mut()
                    .insert(LoggedError(std::sync::Arc::new(format!("{err:#}"))));
            }
            Self::Unavailable(reason) => {
                response
                    .extensions_mut()
                    .insert(LoggedError(std::sync::Arc::new(reason.clone())));
            }
            _ => {}
        }
        response
    }
}

/// The problem body with `extensions`' members added beside the standard ones (RFC 9457 §3.2).
fn with_extensions(body: &ProblemDetails, extensions: &impl Serialize) -> serde_json::Value {
    let mut value = serde_json::to_value(body).unwrap_or_default();
    if let (serde_json::Value::Object(problem), Ok(serde_json::Value::Object(members))) =
        (&mut value, serde_json::to_value(extensions))
    {
        for (key, member) in members {
            problem.entry(key).or_insert(member);
        }
    }
    value
}

pub type ApiResult<T> = Result<T, ApiError>;
