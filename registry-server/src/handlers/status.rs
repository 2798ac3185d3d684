//! Lifecycle: `PATCH …/versions/{version}/status` and `PATCH …/status` (all versions).

use axum::Json;
use axum::extract::{Path, State};

use crate::auth::Publisher;
use crate::db::{Status, StatusChange, StoreError};
use crate::error::{ApiError, ApiResult, ErrorItem, ProblemDetails};
use crate::extract::ApiJson;
use crate::handlers::TAG_PUBLISH;
use crate::state::AppState;
use crate::views::{AllVersionsStatusResponse, ServerResponse, StatusUpdateRequest, responses};

/// Longest status message accepted.
pub const MAX_STATUS_MESSAGE_CHARS: usize = 500;

impl StatusUpdateRequest {
    fn into_change(self) -> ApiResult<StatusChange> {
        // An active version carries no message: one sent with `active` is dropped, as upstream does,
        // so clients that always send the field can restore a version.
        let message = self
            .status_message
            .filter(|m| !m.is_empty() && self.status != Status::Active);
        if let Some(message) = &message {
            let chars = message.chars().count();
            if chars > MAX_STATUS_MESSAGE_CHARS {
                return Err(ApiError::Unprocessable {
                    detail: "statusMessage is too long".to_owned(),
                    errors: vec![ErrorItem::at_pointer(
                        "/statusMessage",
                        format!(
                            "statusMessage has {chars} characters; at most {MAX_STATUS_MESSAGE_CHARS} are allowed"
                        ),
                    )],
                });
            }
        }
        Ok(StatusChange {
            status: self.status,
            message,
        })
    }
}

/// Update the status of one version
#[utoipa::path(
    patch,
    path = "/servers/{serverName}/versions/{version}/status",
    operation_id = "update_version_status",
    tag = TAG_PUBLISH,
    params(
        ("serverName" = String, Path, description = "URL-encoded server name"),
        ("version" = String, Path, description = "URL-encoded version"),
    ),
    request_body = StatusUpdateRequest,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The version after the change", body = ServerResponse),
        (status = 400, description = "The body is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "No publish or edit permission", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Server version not found", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn update_version_status(
    State(state): State<AppState>,
    publisher: Publisher,
    Path((server_name, version)): Path<(String, String)>,
    ApiJson(request): ApiJson<StatusUpdateRequest>,
) -> ApiResult<Json<ServerResponse>> {
    publisher.require_publish_or_edit(&server_name)?;
    let change = request.into_change()?;
    let outcome = state
        .store
        .update_version_status(&server_name, &version, &change)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => ApiError::not_found(format!(
                "Server version not found: `{server_name}` version `{version}`"
            )),
            other => other.into(),
        })?;
    // A change to what is already there answers 200 with the version as it is, like the all-versions
    // route (which answers `updatedCount: 0`): retries are safe.
    let record = outcome
        .versions
        .into_iter()
        .find(|record| record.version == version)
        .ok_or_else(|| anyhow::anyhow!("status outcome lacks the version it changed"))?;
    tracing::info!(server.name = %server_name, version.num = %version, status = change.status.as_str(), publisher.id = %publisher.token_id, "status changed");
    Ok(Json(ServerResponse::try_from(record)?))
}

/// Update the status of every version
///
/// All versions change in one transaction, or none do.
#[utoipa::path(
    patch,
    path = "/servers/{serverName}/status",
    operation_id = "update_server_status",
    tag = TAG_PUBLISH,
    params(("serverName" = String, Path, description = "URL-encoded server name")),
    request_body = StatusUpdateRequest,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The versions that changed", body = AllVersionsStatusResponse),
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "No publish or edit permission", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Server not found", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn update_server_status(
    State(state): State<AppState>,
    publisher: Publisher,
    Path(server_name): Path<String>,
    ApiJson(request): ApiJson<StatusUpdateRequest>,
) -> ApiResult<Json<AllVersionsStatusResponse>> {
    publisher.require_publish_or_edit(&server_name)?;
    let change = request.into_change()?;
    let outcome = state
        .store
        .update_server_status(&server_name, &change)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => {
                ApiError::not_found(format!("Server not found: `{server_name}`"))
            }
            other => other.into(),
        })?;
    tracing::info!(server.name = %server_name, status = change.status.as_str(), updated = outcome.changed.len(), publisher.id = %publisher.token_id, "status changed for all versions");
    let servers = responses(outcome.changed)?;
    Ok(Json(AllVersionsStatusResponse {
        updated_count: servers.len(),
        servers,
    }))
}

/// Edit a published version (optional in the official API; not offered)
///
/// Versions are immutable here: publish a new version, or change a version's status. Answers 501 to an
/// authenticated caller (401 first without a token), as the official specification prescribes for
/// registries without updates.
#[utoipa::path(
    put,
    path = "/servers/{serverName}/versions/{version}",
    operation_id = "update_version",
    tag = TAG_PUBLISH,
    params(
        ("serverName" = String, Path, description = "URL-encoded server name"),
        ("version" = String, Path, description = "URL-encoded version"),
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 501, description = "This registry does not edit published versions", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn update_version(_publisher: Publisher) -> ApiError {
    ApiError::NotImplemented(
        "this registry does not edit published versions: versions are immutable; publish a new version, or PATCH …/status to deprecate or delete one".to_owned(),
    )
}

/// Delete a published version (optional in the official API; not offered)
///
/// Deletion is a status: `PATCH …/versions/{version}/status` with `{"status": "deleted"}` hides the
/// version and releases its remote URLs. Answers 501 to an authenticated caller (401 first without a
/// token).
#[utoipa::path(
    delete,
    path = "/servers/{serverName}/versions/{version}",
    operation_id = "delete_version",
    tag = TAG_PUBLISH,
    params(
        ("serverName" = String, Path, description = "URL-encoded server name"),
        ("version" = String, Path, description = "URL-encoded version"),
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 501, description = "This registry deletes by status change instead", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn delete_version(_publisher: Publisher) -> ApiError {
    ApiError::NotImplemented(
        "this registry deletes versions by status: PATCH …/versions/{version}/status with {\"status\": \"deleted\"}".to_owned(),
    )
}
