//! Extensions under `/x/dev.mcp-reg`: a version's tool surface, its compatibility report, and the
//! comparison of any two versions.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;

use registry_schema::Manifest;

use crate::compat;
use crate::db::{VersionRecord, VersionSelector};
use crate::error::{ApiError, ApiResult, ProblemDetails};
use crate::extract::ApiQuery;
use crate::handlers::TAG_COMPAT;
use crate::state::AppState;

/// Get the tool surface of a version
///
/// What the server reported about itself (tools, prompts, resources, capabilities) when it was
/// published; deleted versions included.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/servers/{serverName}/versions/{version}/surface",
    operation_id = "get_surface",
    tag = TAG_COMPAT,
    params(
        ("serverName" = String, Path, description = "URL-encoded server name"),
        ("version" = String, Path, description = "URL-encoded version, or `latest`"),
    ),
    responses(
        (status = 200, description = "The tool surface (capture format)", body = Object),
        (status = 404, description = "No such version, or it was published without a surface", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn get_surface(
    State(state): State<AppState>,
    Path((server_name, version)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let record = find(&state, &server_name, &version).await?;
    let manifest = parse_stored(&record)?;
    let surface = compat::surface(manifest.server()).ok_or_else(|| {
        ApiError::not_found(format!(
            "`{server_name}` version `{}` was published without a tool surface",
            record.version
        ))
    })?;
    Ok(Json(surface.to_value()))
}

/// Get the compatibility report of a version
///
/// The report the publish gate computed when the version was accepted.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/servers/{serverName}/versions/{version}/compat",
    operation_id = "get_compat_report",
    tag = TAG_COMPAT,
    params(
        ("serverName" = String, Path, description = "URL-encoded server name"),
        ("version" = String, Path, description = "URL-encoded version, or `latest`"),
    ),
    responses(
        (status = 200, description = "The gate's report", body = Object),
        (status = 404, description = "No such version, or it was imported without passing the gate", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn get_compat_report(
    State(state): State<AppState>,
    Path((server_name, version)): Path<(String, String)>,
) -> ApiResult<Json<Box<serde_json::value::RawValue>>> {
    let record = find(&state, &server_name, &version).await?;
    let report = state
        .store
        .compat_report(&server_name, &record.version)
        .await?
        .flatten()
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "`{server_name}` version `{}` has no compatibility report (it was imported, not published)",
                record.version
            ))
        })?;
    let raw = serde_json::value::RawValue::from_string(report)
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("stored compat report: {err}")))?;
    Ok(Json(raw))
}

/// `from` and `to` of a diff.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The old version (or `latest`).
    pub from: String,
    /// The new version (or `latest`).
    pub to: String,
}

/// Compare two versions
///
/// The compatibility report from `from` to `to`: every change with its rule, level and fingerprint,
/// the bump it requires and, when `to` is the higher semver version, the verdict.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/servers/{serverName}/diff",
    operation_id = "diff_versions",
    tag = TAG_COMPAT,
    params(
        ("serverName" = String, Path, description = "URL-encoded server name"),
        DiffParams,
    ),
    responses(
        (status = 200, description = "The report", body = Object),
        (status = 422, description = "`from` or `to` is missing", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such server or version", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn diff_versions(
    State(state): State<AppState>,
    Path(server_name): Path<String>,
    ApiQuery(params): ApiQuery<DiffParams>,
) -> ApiResult<Json<Value>> {
    let from = find(&state, &server_name, &params.from).await?;
    let to = find(&state, &server_name, &params.to).await?;
    Ok(Json(compat::diff(
        &parse_stored(&from)?,
        &parse_stored(&to)?,
    )))
}

/// A version, deleted ones included (their surface and history stay inspectable).
async fn find(state: &AppState, server_name: &str, version: &str) -> ApiResult<VersionRecord> {
    state
        .store
        .find_version(server_name, &VersionSelector::parse(version), true)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Server version not found: `{server_name}` version `{version}`"
            ))
        })
}

fn parse_stored(record: &VersionRecord) -> ApiResult<Manifest> {
    Manifest::from_stored(record.manifest.as_str()).map_err(|err| {
        ApiError::Internal(anyhow::anyhow!(
            "stored manifest of `{}` `{}`: {err}",
            record.server_name,
            record.version
        ))
    })
}
