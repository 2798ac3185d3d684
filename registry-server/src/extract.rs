//! Extractors whose rejections use the API's problem+json envelope.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorItem};
use crate::state::AppState;

/// `axum::Json`, but a bad body is a 422/400 problem instead of a plain-text rejection.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection, state)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection, state: &AppState) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(err) => ApiError::Unprocessable {
            detail: "request body does not match the expected shape".to_owned(),
            errors: vec![ErrorItem::at_pointer("", err.body_text())],
        },
        JsonRejection::JsonSyntaxError(err) => ApiError::BadRequest {
            detail: "request body is not valid JSON".to_owned(),
            errors: vec![ErrorItem::at_pointer("", err.body_text())],
        },
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad_request("expected a body with Content-Type: application/json")
        }
        JsonRejection::BytesRejection(err) => bytes_rejection(err, state),
        other => ApiError::bad_request(other.body_text()),
    }
}

fn bytes_rejection(rejection: &BytesRejection, state: &AppState) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge {
            limit: state.config.max_body_bytes,
        }
    } else {
        ApiError::bad_request(format!("could not read the request body: {rejection}"))
    }
}

/// The raw request body, for endpoints that must keep the exact bytes (publish, validate).
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        Bytes::from_request(request, state)
            .await
            .map(Self)
            .map_err(|rejection| bytes_rejection(&rejection, state))
    }
}

/// `axum::extract::Query`, but a bad parameter is a 422 problem naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    let text = rejection.body_text();
    // serde_urlencoded names the field in its message ("limit: invalid digit found in string").
    let message = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text)
        .to_owned();
    let location = message.split_once(':').map_or_else(
        || "query".to_owned(),
        |(field, _)| format!("query.{}", field.trim()),
    );
    ApiError::invalid_parameter(&location, message)
}
