//! `GET /x/dev.mcp-reg/audit`: the write history, for moderators (`edit` grants).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::auth::{Action, Publisher};
use crate::db::{AuditEntry, AuditQuery};
use crate::error::{ApiError, ApiResult, ProblemDetails};
use crate::extract::ApiQuery;
use crate::handlers::TAG_PUBLISH;
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// Query parameters of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries about this server.
    pub server_name: Option<String>,
    /// `metadata.nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub metadata: AuditMetadata,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub count: usize,
}

/// Read the audit log
///
/// Every write attempt (publish, status changes) on the servers the caller's `edit` grants cover:
/// who (token id), what, when, from which address, and the outcome. Newest first.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/audit",
    operation_id = "list_audit_entries",
    tag = TAG_PUBLISH,
    params(AuditParams),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 400, description = "Bad cursor", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The token has no edit grant", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "Limit out of range", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn list_audit_entries(
    State(state): State<AppState>,
    publisher: Publisher,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    let patterns: Vec<String> = publisher
        .patterns(Action::Edit)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if patterns.is_empty() {
        return Err(ApiError::Forbidden(
            "reading the audit log needs an edit grant".to_owned(),
        ));
    }
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_parameter(
            "query.limit",
            format!("limit must be between 1 and {MAX_LIMIT}, not {limit}"),
        ));
    }
    let before_id = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            ApiError::bad_parameter("query.cursor", format!("Invalid cursor `{text}`"))
        })?),
    };
    let everything = patterns.iter().any(|pattern| pattern == "*");
    let entries = state
        .store
        .audit_entries(&AuditQuery {
            patterns: (!everything).then_some(patterns),
            server_name: params.server_name.filter(|name| !name.is_empty()),
            before_id,
            limit,
        })
        .await?;
    let next_cursor = (entries.len() == limit as usize)
        .then(|| entries.last().map(|entry| entry.id.to_string()))
        .flatten();
    Ok(Json(AuditPage {
        metadata: AuditMetadata {
            next_cursor,
            count: entries.len(),
        },
        entries,
    }))
}
