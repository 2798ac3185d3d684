//! Extension: who a token is (`whoami`, for `mcp-reg login` to check a token before storing it), and
//! the operator's token list and revocation for holders of `edit` on every name (`*`).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use time::OffsetDateTime;

use crate::auth::{Action, Permission, Publisher};
use crate::db::TokenRecord;
use crate::error::{ApiError, ApiResult, ProblemDetails};
use crate::handlers::TAG_PUBLISH;
use crate::state::AppState;

/// The caller's identity and grants.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// The token's id (operator tokens), or `<method>:<subject>` for a registry token from `/auth/*`.
    pub token_id: String,
    #[schema(value_type = Vec<Object>)]
    pub permissions: Vec<Permission>,
}

/// One API token as operators see it (never its secret or the secret's hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub permissions: Vec<Permission>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
}

impl TryFrom<TokenRecord> for TokenView {
    type Error = ApiError;

    fn try_from(record: TokenRecord) -> Result<Self, ApiError> {
        let permissions = serde_json::from_str(&record.permissions).map_err(|err| {
            anyhow::anyhow!("token {} has unreadable permissions: {err}", record.id)
        })?;
        Ok(Self {
            id: record.id,
            description: record.description,
            permissions,
            created_at: record.created_at,
            revoked_at: record.revoked_at,
        })
    }
}

/// Every token, revoked ones included, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

/// Who am I
///
/// The token's id and grants: a cheap way to check a token before storing it.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/whoami",
    operation_id = "whoami",
    tag = TAG_PUBLISH,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller", body = WhoAmI),
        (status = 401, description = "Missing, unknown or revoked token", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn whoami(publisher: Publisher) -> Json<WhoAmI> {
    Json(WhoAmI {
        token_id: publisher.token_id,
        permissions: publisher.permissions,
    })
}

/// 403 unless the caller holds `edit` on every name: tokens span namespaces.
fn require_operator(publisher: &Publisher) -> ApiResult<()> {
    if publisher
        .permissions
        .iter()
        .any(|p| p.action == Action::Edit && p.resource == "*")
    {
        return Ok(());
    }
    Err(ApiError::Forbidden(
        "Managing tokens needs the `edit` grant on every name (`*`)".to_owned(),
    ))
}

/// List API tokens
///
/// Every operator token, revoked ones included, oldest first. Needs `edit` on `*`.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/tokens",
    operation_id = "list_tokens",
    tag = TAG_PUBLISH,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The tokens", body = TokenList),
        (status = 401, description = "Missing, unknown or revoked token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `edit` on `*`", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    publisher: Publisher,
) -> ApiResult<Json<TokenList>> {
    require_operator(&publisher)?;
    let tokens = state
        .store
        .tokens()
        .await?
        .into_iter()
        .map(TokenView::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Json(TokenList { tokens }))
}

/// Revoke an API token
///
/// From now on the token authenticates nothing, on every replica; revoking twice keeps the first
/// time. Needs `edit` on `*`.
#[utoipa::path(
    delete,
    path = "/x/dev.mcp-reg/tokens/{tokenId}",
    operation_id = "revoke_token",
    tag = TAG_PUBLISH,
    params(("tokenId" = String, Path, description = "The token's id (from the list)")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The token, revoked", body = TokenView),
        (status = 401, description = "Missing, unknown or revoked token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `edit` on `*`", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such token", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    publisher: Publisher,
    Path(token_id): Path<String>,
) -> ApiResult<Json<TokenView>> {
    require_operator(&publisher)?;
    let revoked = state
        .store
        .revoke_token(&token_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No token with id `{token_id}`")))?;
    Ok(Json(TokenView::try_from(revoked)?))
}
