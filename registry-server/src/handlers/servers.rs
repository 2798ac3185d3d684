//! Reading the registry: `GET /servers`, `GET /servers/{serverName}/versions[/{version}]`.

use axum::Json;
use axum::extract::{Path, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::db::{Cursor, DEFAULT_PAGE_SIZE, ListQuery, MAX_PAGE_SIZE, VersionSelector};
use crate::error::{ApiError, ApiResult, ProblemDetails};
use crate::extract::ApiQuery;
use crate::handlers::TAG_SERVERS;
use crate::state::AppState;
use crate::views::{ListMetadata, ServerList, ServerResponse, responses};

/// Query parameters of `GET /servers`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListServersParams {
    /// Opaque cursor from a previous page's `metadata.nextCursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 30).
    pub limit: Option<i64>,
    /// Case-insensitive substring of the name or description, or words matched against name, title,
    /// description and package identifiers; results are ranked by relevance.
    pub search: Option<String>,
    /// Only versions updated after this RFC 3339 time (deleted versions included).
    pub updated_since: Option<String>,
    /// `latest` for each server's latest version, or an exact version.
    pub version: Option<String>,
    /// Include deleted versions (default false; always true with `updated_since`).
    pub include_deleted: Option<bool>,
    /// Extension: only servers with a package of this `registryType` (npm, pypi, oci, ...).
    pub registry_type: Option<String>,
    /// Extension: only servers with a package transport or remote of this type (stdio, streamable-http, sse).
    pub transport: Option<String>,
    /// Extension: only servers in this namespace (the part of the name before `/`).
    pub namespace: Option<String>,
}

impl ListServersParams {
    /// Applies the official registry's edge rules and turns the parameters into a store query.
    pub fn into_query(self) -> ApiResult<ListQuery> {
        let limit = match self.limit {
            None => DEFAULT_PAGE_SIZE,
            Some(limit) if (1..=i64::from(MAX_PAGE_SIZE)).contains(&limit) => {
                u32::try_from(limit).unwrap_or(DEFAULT_PAGE_SIZE)
            }
            Some(limit) => {
                return Err(ApiError::invalid_parameter(
                    "query.limit",
                    format!("limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}"),
                ));
            }
        };
        let cursor = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(decode_cursor(text).ok_or_else(|| {
                ApiError::bad_parameter("query.cursor", format!("Invalid cursor `{text}`"))
            })?),
        };
        let updated_since = match self.updated_since.as_deref() {
            None | Some("") => None,
            Some(text) => Some(OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                ApiError::bad_parameter(
                    "query.updated_since",
                    "Invalid updated_since format: expected RFC3339 timestamp (e.g., 2025-08-07T13:15:04.280Z)",
                )
            })?),
        };
        // Incremental sync must see deletions, so updated_since implies include_deleted.
        if updated_since.is_some() && self.include_deleted == Some(false) {
            return Err(ApiError::bad_parameter(
                "query.include_deleted",
                "Cannot set include_deleted=false when using updated_since (incremental sync requires deleted servers)",
            ));
        }
        let include_deleted = updated_since.is_some() || self.include_deleted.unwrap_or(false);
        let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        Ok(ListQuery {
            cursor,
            limit,
            search: non_empty(self.search).map(|s| s.trim().to_owned()),
            updated_since,
            version: non_empty(self.version).map(|v| VersionSelector::parse(&v)),
            include_deleted,
            registry_type: non_empty(self.registry_type),
            transport: non_empty(self.transport),
            namespace: non_empty(self.namespace),
        })
    }
}

/// The cursor as clients see it: base64url (no padding) of the store's cursor text, so it survives being
/// appended to a URL unencoded (VS Code's gallery does that; a `+` of build metadata would become a space).
pub fn encode_cursor(store_cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(store_cursor)
}

/// Reads a cursor: ours (base64url), or the official registry's `name:version` form, which always holds
/// a `/` or `:` — characters base64url never uses.
pub fn decode_cursor(text: &str) -> Option<Cursor> {
    if text.contains([':', '/']) {
        return Cursor::decode(text);
    }
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    let decoded = std::str::from_utf8(&bytes).ok()?;
    // Only cursors this registry issued decode to text; control characters mean a forged one.
    if decoded.chars().any(char::is_control) {
        return None;
    }
    Cursor::decode(decoded)
}

/// `include_deleted` on the detail endpoints.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncludeDeletedParams {
    /// Include deleted versions (default false).
    pub include_deleted: Option<bool>,
}

/// List MCP servers
///
/// One entry per version, in `(name, version)` order, or by relevance when `search` is given.
#[utoipa::path(
    get,
    path = "/servers",
    operation_id = "list_servers",
    tag = TAG_SERVERS,
    params(ListServersParams),
    responses(
        (status = 200, description = "A page of server versions", body = ServerList),
        (status = 400, description = "Bad cursor or timestamp", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is out of range", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn list_servers(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListServersParams>,
) -> ApiResult<Json<ServerList>> {
    let query = params.into_query()?;
    let page = state.store.list_servers(&query).await?;
    let servers = responses(page.items)?;
    Ok(Json(ServerList {
        metadata: ListMetadata {
            next_cursor: page.next_cursor.as_deref().map(encode_cursor),
            count: servers.len(),
        },
        servers,
    }))
}

/// List all versions of an MCP server
///
/// Newest publication first.
#[utoipa::path(
    get,
    path = "/servers/{serverName}/versions",
    operation_id = "list_versions",
    tag = TAG_SERVERS,
    params(
        ("serverName" = String, Path, description = "URL-encoded server name (e.g. `com.example%2Fmy-server`)"),
        IncludeDeletedParams,
    ),
    responses(
        (status = 200, description = "Every version of the server", body = ServerList),
        (status = 404, description = "Server not found", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn list_versions(
    State(state): State<AppState>,
    Path(server_name): Path<String>,
    ApiQuery(params): ApiQuery<IncludeDeletedParams>,
) -> ApiResult<Json<ServerList>> {
    let records = state
        .store
        .list_versions(&server_name, params.include_deleted.unwrap_or(false))
        .await?;
    if records.is_empty() {
        return Err(ApiError::not_found(format!(
            "Server not found: `{server_name}`"
        )));
    }
    let servers = responses(records)?;
    Ok(Json(ServerList {
        metadata: ListMetadata {
            next_cursor: None,
            count: servers.len(),
        },
        servers,
    }))
}

/// Get a specific MCP server version
///
/// `latest` selects the latest version.
#[utoipa::path(
    get,
    path = "/servers/{serverName}/versions/{version}",
    operation_id = "find_version",
    tag = TAG_SERVERS,
    params(
        ("serverName" = String, Path, description = "URL-encoded server name"),
        ("version" = String, Path, description = "URL-encoded version, or `latest`"),
        IncludeDeletedParams,
    ),
    responses(
        (status = 200, description = "The version", body = ServerResponse),
        (status = 404, description = "Server or version not found", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn find_version(
    State(state): State<AppState>,
    Path((server_name, version)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<IncludeDeletedParams>,
) -> ApiResult<Json<ServerResponse>> {
    let record = state
        .store
        .find_version(
            &server_name,
            &VersionSelector::parse(&version),
            params.include_deleted.unwrap_or(false),
        )
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Server version not found: `{server_name}` version `{version}`"
            ))
        })?;
    // A break the version number does not announce is said beside the manifest, so clients that read
    // one version (installers, upgrade checks) see it without fetching the report.
    let report = state
        .store
        .compat_report(&record.server_name, &record.version)
        .await?
        .flatten();
    let mut response = ServerResponse::try_from(record)?;
    response.meta.compat = report
        .as_deref()
        .and_then(crate::compat::unannounced_break_meta);
    Ok(Json(response))
}
