//! Error pages in the site's style, and the HTML 404 for browser paths nothing else answers.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::html;

use super::layout::{Page, page};
use crate::db::StoreError;
use crate::error::{ApiError, LoggedError};

/// What a page handler can fail with.
#[derive(Debug)]
pub enum WebError {
    NotFound(String),
    BadRequest(String),
    /// The database did not answer: 503, the reader may retry.
    Unavailable(String),
    /// Our fault: logged (once, by `telemetry::log_server_errors`), never shown.
    Internal(anyhow::Error),
}

pub type WebResult<T> = Result<T, WebError>;

impl From<StoreError> for WebError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound("not found".to_owned()),
            StoreError::Unavailable(reason) => Self::Unavailable(reason),
            StoreError::InvalidInput(reason) => Self::BadRequest(reason),
            other => Self::Internal(other.into()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, detail, cause) = match self {
            Self::NotFound(detail) => (StatusCode::NOT_FOUND, "Not found", detail, None),
            Self::BadRequest(detail) => (StatusCode::BAD_REQUEST, "Bad request", detail, None),
            Self::Unavailable(reason) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The registry's database did not answer. Try again in a moment.".to_owned(),
                Some(reason),
            ),
            Self::Internal(err) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The registry failed to render this page. The error has been logged.".to_owned(),
                Some(format!("{err:#}")),
            ),
        };
        let mut response = (status, error_page(status, title, &detail)).into_response();
        if let Some(cause) = cause {
            response
                .extensions_mut()
                .insert(LoggedError(std::sync::Arc::new(cause)));
        }
        response
    }
}

fn error_page(status: StatusCode, title: &str, detail: &str) -> Html<String> {
    page(&Page {
        title,
        description: None,
        feed: None,
        query: None,
        body: html! {
            section.error aria-labelledby="error-title" {
                p.status-code { (status.as_u16()) }
                h1 #error-title { (title) }
                p { (detail) }
                p {
                    a href="/" { "Go to the registry's start page" }
                    " or "
                    a href="/servers" { "browse all servers" }
                    "."
                }
            }
        },
    })
}

/// The router's fallback: an HTML 404 page for browsers (`Accept: text/html`), the API's problem+json
/// 404 for everything else.
pub async fn fallback(request: Request) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !wants_html {
        return ApiError::not_found("no such endpoint; see /docs").into_response();
    }
    let mut response = WebError::NotFound(format!("There is no page at {}.", request.uri().path()))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    super::security_headers(headers);
    response
}
