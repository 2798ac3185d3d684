//! Routes: every API route is declared once (its `#[utoipa::path]`) and mounted under `/v0.1` and `/v0`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::cache;
use crate::handlers::{
    audit as audit_log, auth, compat, compat_policy, health, provenance, publish, review, servers,
    status, tokens,
};
use crate::metrics;
use crate::openapi::{ApiDoc, DOCS_HTML};
use crate::rate_limit;
use crate::state::AppState;
use crate::telemetry;

/// Reads of registry data: served through the response cache.
fn read_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(servers::list_servers))
        .routes(routes!(servers::list_versions))
        .routes(routes!(servers::find_version))
        .routes(routes!(compat::get_surface))
        .routes(routes!(compat::get_compat_report))
        .routes(routes!(compat::diff_versions))
        .routes(routes!(provenance::get_provenance))
        .routes(routes!(provenance::list_signing_keys))
        .routes(routes!(provenance::get_key_log))
        .routes(routes!(review::get_review))
}

/// Writes of registry data: a success invalidates the response cache.
fn write_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(publish::publish_version))
        .routes(routes!(status::update_version_status))
        .routes(routes!(status::update_server_status))
        .routes(routes!(provenance::register_signing_key))
        .routes(routes!(provenance::revoke_signing_key))
        .routes(routes!(
            compat_policy::set_namespace_compat_policy,
            compat_policy::clear_namespace_compat_policy
        ))
        .routes(routes!(
            compat_policy::set_server_compat_policy,
            compat_policy::clear_server_compat_policy
        ))
        .routes(routes!(tokens::revoke_token))
}

/// Everything else: neither cached nor invalidating.
fn other_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(publish::validate_manifest))
        .routes(routes!(compat_policy::list_compat_policies))
        // Optional in the official API; answered 501 (after authentication).
        .routes(routes!(status::update_version))
        .routes(routes!(status::delete_version))
        // Per-caller answers: never through the response cache.
        .routes(routes!(audit_log::list_audit_entries))
        .routes(routes!(tokens::whoami))
        .routes(routes!(tokens::list_tokens))
        .routes(routes!(health::ping))
        .routes(routes!(health::version))
        .routes(routes!(health::health))
}

/// Namespace authentication: proofs exchanged for registry tokens. Each exchange makes outgoing requests
/// (JWKS, well-known files, DNS, GitHub), so they share the write limits per client address.
fn auth_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::exchange_github_oidc))
        .routes(routes!(auth::exchange_github_token))
        .routes(routes!(auth::exchange_http_proof))
        .routes(routes!(auth::exchange_dns_proof))
}

/// The API routes, relative to a version prefix; with `state`, the cache layers are applied.
fn api_routes(state: Option<&AppState>) -> OpenApiRouter<AppState> {
    let auth = match state {
        Some(state) => {
            auth_routes().route_layer(from_fn_with_state(state.clone(), rate_limit::limit_writes))
        }
        None => auth_routes(),
    };
    let (reads, writes) = match state {
        // A later `route_layer` wraps the earlier ones: reads are limited before the cache; writes are
        // audited outermost (so 429s are recorded too), then limited, then invalidate on success.
        Some(state) => (
            read_routes()
                .route_layer(from_fn_with_state(state.clone(), cache::serve_cached))
                .route_layer(from_fn_with_state(state.clone(), rate_limit::limit_reads)),
            write_routes()
                // Issue 18 (input hygiene): U+0000 in a JSON body is a 422, on both engines.
                .route_layer(from_fn_with_state(
                    state.clone(),
                    crate::hygiene::reject_nul_in_body,
                ))
                .route_layer(from_fn_with_state(
                    state.clone(),
                    cache::invalidate_on_write,
                ))
                .route_layer(from_fn_with_state(state.clone(), rate_limit::limit_writes))
                .route_layer(from_fn_with_state(state.clone(), audit::record_writes)),
        ),
        None => (read_routes(), write_routes()),
    };
    let routes = reads.merge(writes).merge(auth).merge(other_routes());
    // Issue 18 (input hygiene): undecodable or control-character path and query values, first.
    routes.route_layer(axum::middleware::from_fn(
        crate::hygiene::reject_control_characters,
    ))
}

/// The OpenAPI document of the running server (paths under `/v0.1`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, spec) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest("/v0.1", api_routes(None))
        .split_for_parts();
    crate::openapi_contract::complete(spec)
}

/// The whole application: API under `/v0.1` and `/v0`, the spec, the docs page, and the middleware.
pub fn app(state: AppState) -> Router {
    let (v0_1, spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/v0.1", api_routes(Some(&state)))
        .split_for_parts();
    let (v0, _) = api_routes(Some(&state)).split_for_parts();
    let spec = crate::openapi_contract::complete(spec);
    let spec_json: Arc<str> = serde_json::to_string_pretty(&spec)
        .unwrap_or_else(|_| "{}".to_owned())
        .into();

    let max_body = state.config.max_body_bytes;
    let timeout = state.config.request_timeout;
    let cors = state.config.cors.layer();
    let api_and_pages = Router::new()
        .merge(v0_1)
        .nest("/v0", v0)
        .route(
            "/openapi.json",
            get(move || {
                let spec = spec_json.clone();
                async move { json_text(&spec) }
            }),
        )
        .route("/docs", get(|| async { Html(DOCS_HTML) }))
        .route("/metrics", get(metrics::serve_metrics))
        // Issue 16: the HTML pages, through the response cache like `read_routes` (see `web::routes`).
        .merge(crate::web::routes(&state))
        .route_layer(from_fn_with_state(state.clone(), metrics::track_requests))
        // Issue 16: an HTML 404 for browsers (`Accept: text/html`), problem+json for everything else.
        .fallback(crate::web::fallback)
        .method_not_allowed_fallback(|| async {
            ProblemStatus(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this endpoint; see /docs",
            )
        })
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(telemetry::log_server_errors))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout.max(Duration::from_millis(1)),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::make_request_span));
    // Fresh cached API reads are answered before routing (see `cache::CacheHits`).
    let hits = cache::CacheHits::new(state, api_and_pages);
    // CORS outermost, so preflights are answered before routing (which would say 405 to OPTIONS) and
    // every response, errors and 304s included, carries the headers a browser needs to read it. Composed
    // as one service rather than `Router::layer`s, which would box each layer once more per request.
    match cors {
        Some(cors) => Router::new().fallback_service(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(crate::cors::preflight_no_content))
                .layer(cors)
                .service(hits),
        ),
        None => Router::new().fallback_service(hits),
    }
}

fn json_text(text: &str) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text.to_owned(),
    )
        .into_response()
}

/// A problem+json response for statuses that have no `ApiError` variant.
struct ProblemStatus(StatusCode, &'static str);

impl IntoResponse for ProblemStatus {
    fn into_response(self) -> Response {
        let body = crate::error::ProblemDetails {
            kind: "about:blank",
            title: self.0.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.0.as_u16(),
            detail: self.1.to_owned(),
            errors: Vec::new(),
        };
        let mut response = (self.0, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::error::PROBLEM_JSON),
        );
        response
    }
}
