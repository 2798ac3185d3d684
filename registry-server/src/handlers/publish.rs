//! Publishing: `POST /publish` and the dry run `POST /validate`.

use axum::Json;
use axum::extract::State;
use registry_schema::validate::validate_bytes;
use registry_schema::{Error as SchemaError, Manifest, ServerName};

use crate::audit::AuditSlot;
use crate::auth::Publisher;
use crate::compat;
use crate::db::{GateDecision, PublishExtras, StoreError};
use crate::error::{ApiError, ApiResult, ErrorItem, ProblemDetails};
use crate::extract::RawBody;
use crate::handlers::TAG_PUBLISH;
use crate::ownership;
use crate::provenance;
use crate::state::AppState;
use crate::views::{ServerResponse, ValidateResponse, ValidationIssue};

/// Publish an MCP server version
///
/// The body is a server.json, or `{"server": {…}, "acknowledge": ["<fingerprint>", …], "bundle": {…}}`
/// where `bundle` is a Sigstore bundle attesting the manifest (verified per the registry's provenance
/// policy; a failure is a 422 pointing at `/bundle`, and nothing is stored). Versions are
/// immutable: publishing a version that exists (or one with the same semver precedence) is a 409,
/// except that re-sending the identical manifest (same digest) answers 200 with the stored version. A
/// version whose tool surface or runtime breaks compatibility without the semver bump the break needs
/// is also a 409, with the compatibility report as extension members. The new version becomes latest
/// when it is the highest release.
#[utoipa::path(
    post,
    path = "/publish",
    operation_id = "publish_version",
    tag = TAG_PUBLISH,
    request_body(content = Object, description = "server.json", content_type = "application/json"),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Published", body = ServerResponse),
        (status = 400, description = "The body is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The token may not publish this name", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Another manifest with this version (or its semver precedence) is already published (re-sending the identical manifest answers 200 with the stored version), or breaks compatibility without the bump it needs (the report is in the body)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "The manifest is invalid, a package does not carry its ownership marker (`--verify-packages`), or the provenance bundle does not verify (or is required and missing); `errors[]` lists every problem with its JSON pointer", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "A package registry could not be reached to verify ownership; retry after `Retry-After` seconds", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn publish_version(
    State(state): State<AppState>,
    audit: AuditSlot,
    publisher: Publisher,
    RawBody(body): RawBody,
) -> axum::response::Result<Json<ServerResponse>> {
    let request = PublishRequest::from_body(&body)?;
    // Authorize on the name before judging the rest, so a caller learns nothing about names it may
    // not publish; an unreadable name is left to validation.
    if let Some((name, version)) = claimed_name(request.manifest) {
        audit.subject(name.as_str(), version.as_deref());
        publisher.require_publish(name.as_str())?;
    }
    let manifest = match Manifest::parse(request.manifest, &state.config.policy) {
        Ok(manifest) => manifest,
        Err(SchemaError::Invalid(report)) => {
            return Err(ApiError::invalid_manifest(&report)
                .under_pointer(request.pointer_prefix)
                .into());
        }
        Err(other) => return Err(ApiError::Internal(other.into()).into()),
    };
    publisher.require_publish(manifest.name().as_str())?;
    // Package ownership (enabled registry types only): 422 when a marker is missing, 503 when a
    // package registry cannot answer.
    ownership::check_publish(
        manifest.server(),
        &state.config.ownership,
        request.pointer_prefix,
    )
    .await?;
    let provenance = provenance::check_publish(
        &state.store,
        &state.config.provenance,
        &manifest,
        request.bundle,
    )
    .await?;
    let review = crate::review::check_publish(
        &manifest,
        state.config.review_policy,
        request.pointer_prefix,
    )?;
    let policy = state
        .store
        .compat_policy_for(manifest.name().as_str())
        .await
        .map_err(ApiError::from)?
        .unwrap_or(state.config.compat_policy);
    let gate_request = compat::GateRequest {
        acknowledged: request.acknowledge,
        accept_breaking: request.accept_breaking,
        policy,
        publisher: publisher.token_id.clone(),
    };
    let mut accepted = false;
    let gated = state
        .store
        .publish_gated(
            &manifest,
            PublishExtras {
                provenance: provenance.as_ref(),
                review: review.as_ref(),
            },
            |history| {
                let decision = compat::gate_publish(&manifest, history, &gate_request);
                accepted = matches!(&decision, GateDecision::Decided(Ok(Some(report)))
                    if compat::accepts_break(report));
                decision
            },
        )
        .await;
    let gated = match gated {
        // A retry of a publish that was stored (its answer lost, or a 503 after the commit): the
        // same document gets the stored version back, so the client's retry is not a conflict.
        Err(StoreError::Duplicate {
            identical: Some(stored),
            ..
        }) => {
            audit.action("publish-retried");
            return Ok(Json(ServerResponse::try_from(*stored)?));
        }
        other => other.map_err(ApiError::from)?,
    };
    let record = gated.map_err(|refusal| ApiError::Incompatible(refusal.0))?;
    if accepted {
        // The audit log says who shipped a break its version number does not announce.
        audit.action("publish-breaking-accepted");
    }
    tracing::info!(
        server.name = %record.server_name,
        version.num = %record.version,
        publisher.id = %publisher.token_id,
        is_latest = record.is_latest,
        "published"
    );
    Ok(Json(ServerResponse::try_from(record)?))
}

/// A publish body: a bare server.json (the official API), or the envelope
/// `{"server": {…}, "acknowledge": ["<fingerprint>", …]}` that also acknowledges compatibility
/// findings the checker could not decide (or flagged as warnings).
struct PublishRequest<'a> {
    /// The exact bytes of the server.json.
    manifest: &'a [u8],
    acknowledge: Vec<String>,
    accept_breaking: compat::AcceptBreaking,
    /// The Sigstore bundle attesting the manifest, as sent.
    bundle: Option<&'a serde_json::value::RawValue>,
    /// Where the server.json sits in the body, for error pointers.
    pointer_prefix: &'static str,
}

impl<'a> PublishRequest<'a> {
    fn from_body(body: &'a [u8]) -> ApiResult<Self> {
        #[derive(serde::Deserialize)]
        struct Envelope<'b> {
            #[serde(borrow)]
            server: &'b serde_json::value::RawValue,
            #[serde(default)]
            acknowledge: Vec<String>,
            #[serde(default)]
            accept_breaking: Option<AcceptBreakingField>,
            #[serde(borrow, default)]
            bundle: Option<&'b serde_json::value::RawValue>,
            /// An envelope has no `name` of its own; a server.json always does.
            name: Option<serde::de::IgnoredAny>,
        }
        match serde_json::from_slice::<Envelope<'a>>(body) {
            Ok(envelope) if envelope.name.is_none() && envelope.server.get().starts_with('{') => {
                check_fingerprints(&envelope.acknowledge, "/acknowledge")?;
                let accept_breaking = match envelope.accept_breaking {
                    None | Some(AcceptBreakingField::All(false)) => compat::AcceptBreaking::No,
                    Some(AcceptBreakingField::All(true)) => compat::AcceptBreaking::All,
                    Some(AcceptBreakingField::Fingerprints(fingerprints)) => {
                        check_fingerprints(&fingerprints, "/accept_breaking")?;
                        compat::AcceptBreaking::Fingerprints(
                            fingerprints
                                .iter()
                                .map(|fp| fp.to_ascii_lowercase())
                                .collect(),
                        )
                    }
                };
                Ok(Self {
                    manifest: envelope.server.get().as_bytes(),
                    acknowledge: envelope.acknowledge,
                    accept_breaking,
                    bundle: envelope.bundle,
                    pointer_prefix: "/server",
                })
            }
            _ => Ok(Self {
                manifest: body,
                acknowledge: Vec::new(),
                accept_breaking: compat::AcceptBreaking::No,
                bundle: None,
                pointer_prefix: "",
            }),
        }
    }
}

/// `accept_breaking`: `true`/`false`, or the fingerprints of the breaks accepted.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum AcceptBreakingField {
    All(bool),
    Fingerprints(Vec<String>),
}

/// 422 unless every entry is a 12-hex-digit finding fingerprint.
fn check_fingerprints(fingerprints: &[String], pointer: &str) -> ApiResult<()> {
    match fingerprints
        .iter()
        .position(|fp| fp.len() != 12 || !fp.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        None => Ok(()),
        Some(bad) => Err(ApiError::Unprocessable {
            detail: "fingerprints are the 12 hex digits a compatibility finding carries".to_owned(),
            errors: vec![ErrorItem::at_pointer(
                format!("{pointer}/{bad}"),
                format!("`{}` is not a finding fingerprint", fingerprints[bad]),
            )],
        }),
    }
}

/// The `name` (and `version`) a body claims, when it has a valid name.
fn claimed_name(body: &[u8]) -> Option<(ServerName, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct NameOnly {
        name: String,
        version: Option<serde_json::Value>,
    }
    let NameOnly { name, version } = serde_json::from_slice(body).ok()?;
    let version = version.and_then(|v| v.as_str().map(str::to_owned));
    Some((ServerName::parse(name).ok()?, version))
}

/// Validate a server.json
///
/// Runs the same checks as publish without storing anything. Always 200; `valid` says whether a
/// publish would pass validation.
#[utoipa::path(
    post,
    path = "/validate",
    operation_id = "validate_manifest",
    tag = TAG_PUBLISH,
    request_body(content = Object, description = "server.json", content_type = "application/json"),
    responses(
        (status = 200, description = "Validation result", body = ValidateResponse),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "No body: there is nothing to validate", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn validate_manifest(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> ApiResult<Json<ValidateResponse>> {
    // As publish does: a missing body is a request error, not a manifest with one syntax issue.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::Unprocessable {
            detail: "the request has no body; send the server.json to validate".to_owned(),
            errors: vec![ErrorItem::at_pointer("", "expected a server.json object")],
        });
    }
    let (_, report) = validate_bytes(&body, &state.config.policy);
    Ok(Json(ValidateResponse {
        valid: report.is_valid(),
        issues: report.issues.iter().map(ValidationIssue::from).collect(),
    }))
}
