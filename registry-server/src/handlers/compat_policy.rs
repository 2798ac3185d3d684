//! Extension: the compatibility policy (`enforce` or `advise`) per namespace or server, set by `edit`
//! holders over the operator's default (`--compat-policy`).

use axum::Json;
use axum::extract::{Path, State};
use registry_schema::{Namespace, ServerName};
use serde::{Deserialize, Serialize};

use crate::audit::AuditSlot;
use crate::auth::Publisher;
use crate::db::{CompatPolicy, PolicyScope};
use crate::error::{ApiError, ApiResult, ProblemDetails};
use crate::extract::ApiJson;
use crate::handlers::TAG_COMPAT;
use crate::state::AppState;

/// `PUT` body: the policy to apply.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SetCompatPolicy {
    /// `enforce`: refuse breaks the version number does not announce (unless the publisher accepts
    /// them); `advise`: store them and flag them.
    #[schema(value_type = String, pattern = "^(enforce|advise)$")]
    pub policy: String,
}

/// The policy that applies to one namespace or server, and where it comes from.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CompatPolicyView {
    /// `namespace` or `server`.
    pub scope: &'static str,
    pub name: String,
    /// `enforce` or `advise`.
    pub policy: String,
    /// `override` (set for this scope) or `default` (the operator's default or an enclosing scope).
    pub source: &'static str,
}

/// Every override, and the operator's default.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CompatPolicyList {
    /// The policy where no override applies.
    pub default: String,
    pub overrides: Vec<CompatPolicyView>,
}

/// List compatibility policies
///
/// The operator's default and every namespace or server override.
#[utoipa::path(
    get,
    path = "/x/dev.mcp-reg/compat-policies",
    operation_id = "list_compat_policies",
    tag = TAG_COMPAT,
    responses((status = 200, description = "Default and overrides", body = CompatPolicyList))
)]
pub async fn list_compat_policies(
    State(state): State<AppState>,
) -> ApiResult<Json<CompatPolicyList>> {
    let overrides = state
        .store
        .compat_policies()
        .await?
        .into_iter()
        .map(|(scope, policy)| view(&scope, policy, "override"))
        .collect();
    Ok(Json(CompatPolicyList {
        default: state.config.compat_policy.as_str().to_owned(),
        overrides,
    }))
}

/// Set a namespace's compatibility policy
///
/// Needs `edit` on every name of the namespace (`<namespace>/*`). A server override still wins.
#[utoipa::path(
    put,
    path = "/x/dev.mcp-reg/namespaces/{namespace}/compat-policy",
    operation_id = "set_namespace_compat_policy",
    tag = TAG_COMPAT,
    params(("namespace" = String, Path, description = "The part of server names before `/`")),
    request_body = SetCompatPolicy,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The policy now in force", body = CompatPolicyView),
        (status = 400, description = "Not a namespace, or the body is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "No `edit` grant on the whole namespace", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "Not a policy", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn set_namespace_compat_policy(
    State(state): State<AppState>,
    audit: AuditSlot,
    publisher: Publisher,
    Path(namespace): Path<String>,
    ApiJson(request): ApiJson<SetCompatPolicy>,
) -> ApiResult<Json<CompatPolicyView>> {
    let scope = namespace_scope(&namespace, &audit, &publisher)?;
    set(
        &state,
        &publisher,
        scope,
        Some(parse_policy(&request.policy)?),
    )
    .await
}

/// Remove a namespace's compatibility policy override
///
/// The operator's default applies again. Needs `edit` on `<namespace>/*`.
#[utoipa::path(
    delete,
    path = "/x/dev.mcp-reg/namespaces/{namespace}/compat-policy",
    operation_id = "clear_namespace_compat_policy",
    tag = TAG_COMPAT,
    params(("namespace" = String, Path, description = "The part of server names before `/`")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The policy now in force", body = CompatPolicyView),
        (status = 400, description = "Not a namespace", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "No `edit` grant on the whole namespace", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn clear_namespace_compat_policy(
    State(state): State<AppState>,
    audit: AuditSlot,
    publisher: Publisher,
    Path(namespace): Path<String>,
) -> ApiResult<Json<CompatPolicyView>> {
    let scope = namespace_scope(&namespace, &audit, &publisher)?;
    set(&state, &publisher, scope, None).await
}

/// Set a server's compatibility policy
///
/// Needs `edit` on the server name. Wins over the namespace's policy.
#[utoipa::path(
    put,
    path = "/x/dev.mcp-reg/servers/{serverName}/compat-policy",
    operation_id = "set_server_compat_policy",
    tag = TAG_COMPAT,
    params(("serverName" = String, Path, description = "URL-encoded server name")),
    request_body = SetCompatPolicy,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The policy now in force", body = CompatPolicyView),
        (status = 400, description = "Not a server name, or the body is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "No `edit` grant on this server", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "Not a policy", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn set_server_compat_policy(
    State(state): State<AppState>,
    audit: AuditSlot,
    publisher: Publisher,
    Path(server_name): Path<String>,
    ApiJson(request): ApiJson<SetCompatPolicy>,
) -> ApiResult<Json<CompatPolicyView>> {
    let scope = server_scope(&server_name, &audit, &publisher)?;
    set(
        &state,
        &publisher,
        scope,
        Some(parse_policy(&request.policy)?),
    )
    .await
}

/// Remove a server's compatibility policy override
///
/// Its namespace's policy (or the operator's default) applies again. Needs `edit` on the server name.
#[utoipa::path(
    delete,
    path = "/x/dev.mcp-reg/servers/{serverName}/compat-policy",
    operation_id = "clear_server_compat_policy",
    tag = TAG_COMPAT,
    params(("serverName" = String, Path, description = "URL-encoded server name")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The policy now in force", body = CompatPolicyView),
        (status = 400, description = "Not a server name", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "No `edit` grant on this server", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn clear_server_compat_policy(
    State(state): State<AppState>,
    audit: AuditSlot,
    publisher: Publisher,
    Path(server_name): Path<String>,
) -> ApiResult<Json<CompatPolicyView>> {
    let scope = server_scope(&server_name, &audit, &publisher)?;
    set(&state, &publisher, scope, None).await
}

fn namespace_scope(
    namespace: &str,
    audit: &AuditSlot,
    publisher: &Publisher,
) -> ApiResult<PolicyScope> {
    Namespace::parse(namespace).map_err(|err| {
        ApiError::bad_parameter("path.namespace", format!("not a namespace: {err}"))
    })?;
    let pattern = format!("{namespace}/*");
    audit.subject(&pattern, None);
    publisher.require_edit(&pattern)?;
    Ok(PolicyScope::Namespace(namespace.to_owned()))
}

fn server_scope(
    server_name: &str,
    audit: &AuditSlot,
    publisher: &Publisher,
) -> ApiResult<PolicyScope> {
    ServerName::parse(server_name).map_err(|err| {
        ApiError::bad_parameter("path.serverName", format!("not a server name: {err}"))
    })?;
    audit.subject(server_name, None);
    publisher.require_edit(server_name)?;
    Ok(PolicyScope::Server(server_name.to_owned()))
}

fn parse_policy(policy: &str) -> ApiResult<CompatPolicy> {
    policy.parse().map_err(|_| ApiError::Unprocessable {
        detail: format!("`{policy}` is not a compatibility policy"),
        errors: vec![crate::error::ErrorItem::at_pointer(
            "/policy",
            "expected `enforce` or `advise`",
        )],
    })
}

async fn set(
    state: &AppState,
    publisher: &Publisher,
    scope: PolicyScope,
    policy: Option<CompatPolicy>,
) -> ApiResult<Json<CompatPolicyView>> {
    let actor = format!("token:{}", publisher.token_id);
    state
        .store
        .set_compat_policy(&scope, policy, Some(&actor))
        .await?;
    let in_force = match &scope {
        PolicyScope::Server(name) => state.store.compat_policy_for(name).await?,
        // A namespace's own policy: what a server without an override of its own gets.
        PolicyScope::Namespace(namespace) => {
            state
                .store
                .compat_policy_for(&format!("{namespace}/*"))
                .await?
        }
    };
    tracing::info!(scope = ?scope, policy = ?policy, publisher.id = %publisher.token_id, "compatibility policy changed");
    let source = if policy.is_some() {
        "override"
    } else {
        "default"
    };
    Ok(Json(view(
        &scope,
        in_force.unwrap_or(state.config.compat_policy),
        source,
    )))
}

fn view(scope: &PolicyScope, policy: CompatPolicy, source: &'static str) -> CompatPolicyView {
    let (kind, name) = match scope {
        PolicyScope::Namespace(namespace) => ("namespace", namespace.clone()),
        PolicyScope::Server(name) => ("server", name.clone()),
    };
    CompatPolicyView {
        scope: kind,
        name,
        policy: policy.as_str().to_owned(),
        source,
    }
}
