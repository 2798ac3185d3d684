//! Extensions under `/x/dev.mcp-reg`: a version's provenance (the stored Sigstore bundle and its
//! verified summary) and the signing keys registered for a namespace.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use registry_provenance::PublicKey;
use registry_provenance::key_log::{KeyLogEntry, LogHead};
use registry_schema::Namespace;
use serde::{Deserialize, Serialize};

use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::audit::AuditSlot;
use crate::auth::Publisher;
use crate::db::{SigningKeyRecord, VersionSelector, now};
use crate::error::{ApiError, ApiResult, ErrorItem, ProblemDetails};
use crate::extract::RawBody;
use crate::handlers::TAG_PROVENANCE;
use crate::state::AppState;

/// A version's provenance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceResponse {
    pub name: String,
    pub version: String,
    /// `verified` (verified by this registry at publish) or `unsigned`.
    pub status: &'static str,
    /// What the registry verified (mode, digest, identity, repository, commit, log index, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub summary: Option<Box<RawValue>>,
    /// The Sigstore bundle exactly as published, for clients to verify themselves.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub bundle: Option<Box<RawValue>>,
}

/// Get the provenance of a version
///
/// The Sigstore bundle the version was published with and what the registry verified; `status` is
/// `unsigned` (and there is no bundle) when it was published without one. Clients should verify the
/// bundle themselves (`mcp-reg verify`) rather than trust `status`.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/servers/{serverName}/versions/{version}/provenance",
    operation_id = "get_provenance",
    tag = TAG_PROVENANCE,
    params(
        ("serverName" = String, Path, description = "URL-encoded server name"),
        ("version" = String, Path, description = "URL-encoded version, or `latest`"),
    ),
    responses(
        (status = 200, description = "The provenance", body = ProvenanceResponse),
        (status = 404, description = "No such version", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn get_provenance(
    State(state): State<AppState>,
    Path((server_name, version)): Path<(String, String)>,
) -> ApiResult<Json<ProvenanceResponse>> {
    let record = state
        .store
        .provenance(&server_name, &VersionSelector::parse(&version), true)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Server version not found: `{server_name}` version `{version}`"
            ))
        })?;
    let raw = |text: String| {
        RawValue::from_string(text)
            .map_err(|err| ApiError::Internal(anyhow::anyhow!("stored provenance: {err}")))
    };
    let (status, summary, bundle) = match record.stored {
        Some(stored) => (
            "verified",
            Some(raw(stored.summary)?),
            Some(raw(stored.bundle)?),
        ),
        None => ("unsigned", None, None),
    };
    Ok(Json(ProvenanceResponse {
        name: record.server_name,
        version: record.version,
        status,
        summary,
        bundle,
    }))
}

/// A registered key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyView {
    pub namespace: String,
    /// Hex SHA-256 of the key's SubjectPublicKeyInfo (DER): the `publicKey.hint` of bundles it signs.
    pub key_id: String,
    /// `ed25519` or `ecdsa-p256`.
    pub algorithm: String,
    /// SPKI PEM.
    pub public_key: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Revoked keys verify nothing, including versions they signed before.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<SigningKeyRecord> for SigningKeyView {
    fn from(record: SigningKeyRecord) -> Self {
        Self {
            namespace: record.namespace,
            key_id: record.key_id,
            algorithm: record.algorithm,
            public_key: record.public_key,
            created_at: record.created_at,
            revoked_at: record.revoked_at,
        }
    }
}

/// The keys of a namespace.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SigningKeyList {
    pub keys: Vec<SigningKeyView>,
}

/// List the signing keys of a namespace
///
/// Key-based provenance bundles for names in the namespace must be signed by one of the unrevoked
/// keys. Revoked keys are listed with `revokedAt`.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/namespaces/{namespace}/keys",
    operation_id = "list_signing_keys",
    tag = TAG_PROVENANCE,
    params(("namespace" = String, Path, description = "The part of server names before `/`, e.g. `com.example`")),
    responses(
        (status = 200, description = "The keys, oldest first", body = SigningKeyList),
        (status = 400, description = "Not a namespace", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn list_signing_keys(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
) -> ApiResult<Json<SigningKeyList>> {
    check_namespace(&namespace)?;
    let keys = state.store.signing_keys(&namespace).await?;
    Ok(Json(SigningKeyList {
        keys: keys.into_iter().map(SigningKeyView::from).collect(),
    }))
}

/// Body of a key registration.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterKey {
    /// SPKI PEM (`-----BEGIN PUBLIC KEY-----`) of an Ed25519 or ECDSA P-256 key, as `mcp-reg keygen`
    /// writes it.
    pub public_key: String,
}

/// Register a signing key for a namespace
///
/// Needs a token that may publish every name in the namespace (`<namespace>/*`).
#[utoipa::path(
    post,
    path = "/x/dev.mcp-reg/namespaces/{namespace}/keys",
    operation_id = "register_signing_key",
    tag = TAG_PROVENANCE,
    params(("namespace" = String, Path, description = "The part of server names before `/`")),
    request_body(content = RegisterKey, content_type = "application/json"),
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Registered", body = SigningKeyView),
        (status = 400, description = "Not a namespace, or the body is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The token may not publish the whole namespace", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The key is already registered (or was revoked)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "Not an Ed25519 or P-256 public key", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn register_signing_key(
    State(state): State<AppState>,
    audit: AuditSlot,
    publisher: Publisher,
    Path(namespace): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<SigningKeyView>)> {
    check_namespace(&namespace)?;
    audit.subject(&namespace_pattern(&namespace), None);
    publisher.require_publish(&namespace_pattern(&namespace))?;
    let request: RegisterKey = serde_json::from_slice(&body).map_err(|err| {
        ApiError::bad_request(format!(
            "the body must be {{\"publicKey\": \"<PEM>\"}}: {err}"
        ))
    })?;
    let public_key =
        PublicKey::from_pem(&request.public_key).map_err(|err| ApiError::Unprocessable {
            detail: format!("not a usable public key: {err}"),
            errors: vec![ErrorItem::at_pointer("/publicKey", err.to_string())],
        })?;
    let record = SigningKeyRecord {
        namespace: namespace.clone(),
        key_id: public_key.key_id(),
        algorithm: public_key.algorithm().to_string(),
        public_key: public_key.to_pem(),
        created_at: now(),
        created_by: Some(format!("token:{}", publisher.token_id)),
        revoked_at: None,
    };
    audit.subject(&namespace_pattern(&namespace), Some(&record.key_id));
    state.store.insert_signing_key(&record).await?;
    tracing::info!(namespace, key.id = %record.key_id, publisher.id = %publisher.token_id, "signing key registered");
    Ok((StatusCode::CREATED, Json(SigningKeyView::from(record))))
}

/// Revoke a signing key
///
/// The key stays listed with `revokedAt` and verifies nothing from now on, including versions it
/// signed before. Needs a token that may publish every name in the namespace.
#[utoipa::path(
    delete,
    path = "/x/dev.mcp-reg/namespaces/{namespace}/keys/{keyId}",
    operation_id = "revoke_signing_key",
    tag = TAG_PROVENANCE,
    params(
        ("namespace" = String, Path, description = "The part of server names before `/`"),
        ("keyId" = String, Path, description = "Hex SHA-256 of the key's SPKI"),
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Revoked (or already revoked)", body = SigningKeyView),
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The token may not publish the whole namespace", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such key in the namespace", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_signing_key(
    State(state): State<AppState>,
    audit: AuditSlot,
    publisher: Publisher,
    Path((namespace, key_id)): Path<(String, String)>,
) -> ApiResult<Json<SigningKeyView>> {
    check_namespace(&namespace)?;
    audit.subject(&namespace_pattern(&namespace), Some(&key_id));
    publisher.require_publish(&namespace_pattern(&namespace))?;
    let record = state
        .store
        .revoke_signing_key(
            &namespace,
            &key_id,
            Some(&format!("token:{}", publisher.token_id)),
        )
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no key {key_id} is registered for namespace `{namespace}`"
            ))
        })?;
    tracing::info!(namespace, key.id = %key_id, publisher.id = %publisher.token_id, "signing key revoked");
    Ok(Json(SigningKeyView::from(record)))
}

/// A namespace's key log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyLogView {
    pub namespace: String,
    /// Every registration and revocation, oldest first. Each entry's `hash` is the hex SHA-256 of the JSON
    /// array `["mcp-reg key-log v1", namespace, seq, action, keyId, algorithm, publicKey, at, actor,
    /// prevHash]`; `prevHash` of the first entry is 64 zeros.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<KeyLogEntry>,
    /// The last entry's `seq` and `hash` (absent for an empty log): what a client remembers.
    #[schema(value_type = Option<Object>)]
    pub head: Option<LogHead>,
}

/// The key log of a namespace
///
/// Append-only and hash-chained: a client that remembers the last head it saw can tell a log that grew
/// from one that was rewritten, and derives the keys a namespace may sign with from the log itself.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/namespaces/{namespace}/key-log",
    operation_id = "get_key_log",
    tag = TAG_PROVENANCE,
    params(("namespace" = String, Path, description = "The part of server names before `/`")),
    responses(
        (status = 200, description = "The log, oldest entry first (empty for a namespace without keys)", body = KeyLogView),
        (status = 400, description = "Not a namespace", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn get_key_log(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
) -> ApiResult<Json<KeyLogView>> {
    check_namespace(&namespace)?;
    let entries = state.store.key_log(&namespace).await?;
    let head = entries.last().map(|entry| LogHead {
        seq: entry.seq,
        hash: entry.hash.clone(),
    });
    Ok(Json(KeyLogView {
        namespace,
        entries,
        head,
    }))
}

/// `<namespace>/*`: what a token must cover to manage the namespace's keys.
fn namespace_pattern(namespace: &str) -> String {
    format!("{namespace}/*")
}

/// A namespace is what a valid server name has before its `/`.
fn check_namespace(namespace: &str) -> ApiResult<()> {
    Namespace::parse(namespace).map(drop).map_err(|err| {
        ApiError::bad_parameter(
            "path.namespace",
            format!("not a namespace (the reverse-DNS part of a server name before `/`): {err}"),
        )
    })
}
