//! Extension: the security review of a version (issue 17).

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use crate::db::VersionSelector;
use crate::error::{ApiError, ApiResult, ProblemDetails};
use crate::handlers::TAG_COMPAT;
use crate::state::AppState;

/// Get the security review of a version
///
/// What the registry's review found in what the server tells the model (tool, prompt and resource
/// texts and schemas, the manifest's descriptions): `{"findings": [{rule, severity, category,
/// pointer, tool?, evidence, message}], "highest": "none|low|medium|high", "reviewedAt":
/// "publish"|"read"}`. Versions stored without a review (imported, mirrored, or published with the
/// review off) are reviewed when asked (`reviewedAt: "read"`). Rules: docs/security-review.md.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/servers/{serverName}/versions/{version}/review",
    operation_id = "get_security_review",
    tag = TAG_COMPAT,
    params(
        ("serverName" = String, Path, description = "URL-encoded server name"),
        ("version" = String, Path, description = "URL-encoded version, or `latest`"),
    ),
    responses(
        (status = 200, description = "The review", body = Object),
        (status = 404, description = "No such version", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn get_review(
    State(state): State<AppState>,
    Path((server_name, version)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (manifest, stored) = state
        .store
        .review(&server_name, &VersionSelector::parse(&version), true)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Server version not found: `{server_name}` version `{version}`"
            ))
        })?;
    let (mut review, when) = if let Some(text) = stored {
        let stored: Value = serde_json::from_str(&text)
            .map_err(|err| anyhow::anyhow!("stored review is not JSON: {err}"))?;
        (stored, "publish")
    } else {
        let value: Value = serde_json::from_str(&manifest)
            .map_err(|err| anyhow::anyhow!("stored manifest is not JSON: {err}"))?;
        let review = registry_schema::review::review_manifest_value(&value);
        let made = serde_json::to_value(&review).map_err(anyhow::Error::from)?;
        (made, "read")
    };
    review["reviewedAt"] = Value::from(when);
    Ok(Json(review))
}
