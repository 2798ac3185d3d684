//! `GET /ping`, `/version`, `/health`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::db::Backend;
use crate::handlers::TAG_OPS;
use crate::state::AppState;
use crate::views::{HealthResponse, PingResponse, VersionResponse};

/// Liveness
#[utoipa::path(get, path = "/ping", operation_id = "ping", tag = TAG_OPS,
    responses((status = 200, description = "The process is up: `{\"pong\": true}`, as the official registry answers", body = PingResponse)))]
pub async fn ping() -> Json<PingResponse> {
    Json(PingResponse { pong: true })
}

/// Server version
#[utoipa::path(get, path = "/version", operation_id = "find_version_info", tag = TAG_OPS,
    responses((status = 200, description = "Build information", body = VersionResponse)))]
pub async fn version() -> Json<VersionResponse> {
    Json(VersionResponse {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Readiness: the database answers
#[utoipa::path(get, path = "/health", operation_id = "health", tag = TAG_OPS,
    responses(
        (status = 200, description = "Ready", body = HealthResponse),
        (status = 503, description = "The database does not answer", body = HealthResponse),
    ))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let database = match state.store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(HealthResponse {
                status: "ok",
                database,
            }),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(HealthResponse {
                    status: "degraded",
                    database,
                }),
            )
        }
    }
}
