//! Wire types of the official API (shapes from the official openapi.yaml), built from storage records.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::db::{Status, VersionRecord};
use crate::error::ApiError;

/// `ServerResponse`: the publisher's server.json, unchanged, and the registry's metadata beside it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServerResponse {
    /// The exact server.json the publisher sent.
    #[schema(value_type = Object)]
    pub server: Box<RawValue>,
    #[serde(rename = "_meta")]
    pub meta: ResponseMeta,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResponseMeta {
    #[serde(rename = "io.modelcontextprotocol.registry/official")]
    pub official: OfficialMeta,
    #[serde(rename = "dev.mcp-reg/provenance")]
    pub provenance: ProvenanceMeta,
    /// Present on a single version's read when the version ships a break its number does not announce
    /// (`advise` policy, or accepted by the publisher): `{"breaking": true, "how", "requiredBump",
    /// "reasons"}`.
    #[serde(rename = "dev.mcp-reg/compat", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub compat: Option<serde_json::Value>,
    /// The security review made at publish: `{"highest": "none|low|medium|high", "counts": {"low",
    /// "medium", "high"}}`; the findings are at `…/versions/{version}/review`. Absent when the version
    /// was stored without one (imported, mirrored, or the review was off).
    #[serde(rename = "dev.mcp-reg/review", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub review: Option<Box<RawValue>>,
}

/// Whether the version was published with a verified Sigstore bundle, and who signed it. The bundle
/// itself is at `/v0.1/x/dev.mcp-reg/servers/{name}/versions/{version}/provenance`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProvenanceMeta {
    /// `verified` (the registry verified the bundle at publish) or `unsigned`.
    pub status: &'static str,
    /// The verified summary: mode (`keyless`/`key`), digest, issuer, identity, repository, commit,
    /// workflow, log index, signed-at, key id (absent when unsigned).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub summary: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ProvenanceMeta {
    /// From the stored summary (JSON text); `None` is unsigned.
    pub fn from_stored(summary: Option<&str>) -> Result<Self, ApiError> {
        let Some(summary) = summary else {
            return Ok(Self {
                status: "unsigned",
                summary: None,
            });
        };
        let summary = serde_json::from_str(summary).map_err(|err| {
            anyhow::anyhow!("stored provenance summary is not a JSON object: {err}")
        })?;
        Ok(Self {
            status: "verified",
            summary: Some(summary),
        })
    }
}

/// Registry-managed metadata of one version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfficialMeta {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub status_changed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    pub is_latest: bool,
}

impl TryFrom<VersionRecord> for ServerResponse {
    type Error = ApiError;

    fn try_from(record: VersionRecord) -> Result<Self, ApiError> {
        let server = RawValue::from_string(record.manifest).map_err(|err| {
            anyhow::anyhow!(
                "stored manifest of {} {} is not JSON: {err}",
                record.server_name,
                record.version
            )
        })?;
        let provenance = ProvenanceMeta::from_stored(record.provenance.as_deref())?;
        let review = record
            .review
            .map(RawValue::from_string)
            .transpose()
            .map_err(|err| anyhow::anyhow!("stored review summary is not JSON: {err}"))?;
        Ok(Self {
            server,
            meta: ResponseMeta {
                provenance,
                compat: None,
                review,
                official: OfficialMeta {
                    status: record.status,
                    status_message: record.status_message,
                    status_changed_at: record.status_changed_at,
                    published_at: record.published_at,
                    updated_at: record.updated_at,
                    is_latest: record.is_latest,
                },
            },
        })
    }
}

/// Converts records, failing on the first corrupt one.
pub fn responses(records: Vec<VersionRecord>) -> Result<Vec<ServerResponse>, ApiError> {
    records.into_iter().map(ServerResponse::try_from).collect()
}

/// `ServerList`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServerList {
    pub servers: Vec<ServerResponse>,
    pub metadata: ListMetadata,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMetadata {
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub count: usize,
}

/// `StatusUpdateRequest`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdateRequest {
    pub status: Status,
    /// Why (e.g. a deprecation reason); at most 500 characters; not allowed with `active`.
    #[serde(default)]
    pub status_message: Option<String>,
}

/// `AllVersionsStatusResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllVersionsStatusResponse {
    pub updated_count: usize,
    pub servers: Vec<ServerResponse>,
}

/// `POST /validate`'s answer: always 200, `valid` says whether a publish would be accepted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ValidateResponse {
    pub valid: bool,
    pub issues: Vec<ValidationIssue>,
}

/// One validation finding, in the official shape (`type`, `path`, `message`, `severity`, `reference`)
/// plus our `rule` and `pointer`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ValidationIssue {
    /// `json`, `schema` or `semantic`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// JSON pointer of the offending value.
    pub path: String,
    pub pointer: String,
    pub rule: String,
    pub message: String,
    /// `error` or `warning`.
    pub severity: String,
    /// The rule id, where the official API puts a documentation reference.
    pub reference: String,
}

impl From<&registry_schema::Issue> for ValidationIssue {
    fn from(issue: &registry_schema::Issue) -> Self {
        let kind = if issue.rule == "json-syntax" {
            "json"
        } else if issue.rule.starts_with("schema.") {
            "schema"
        } else {
            "semantic"
        };
        Self {
            kind,
            path: issue.pointer.clone(),
            pointer: issue.pointer.clone(),
            rule: issue.rule.to_string(),
            message: issue.message.clone(),
            severity: issue.severity.to_string(),
            reference: issue.rule.to_string(),
        }
    }
}

/// `GET /ping`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PingResponse {
    /// Always `true`.
    pub pong: bool,
}

/// `GET /health`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthResponse {
    /// `ok`, or `degraded` when the database does not answer.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
}

/// `GET /version`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionResponse {
    pub version: &'static str,
    pub name: &'static str,
}
