//! Issue 16: the registry's own web pages, on the API's port.
//!
//! Server-rendered HTML (maud: compiled templates that escape every interpolation) that works with
//! JavaScript off; one small script adds search-as-you-type and copy buttons. Everything a page loads
//! (CSS, JS, the icon) is embedded in the binary and served from `/assets/` under a content-hashed name
//! with immutable caching, and the Content-Security-Policy allows nothing but this origin, and no inline
//! script or style.
//!
//! Pages read registry data only through [`crate::db::Store`], and go through the same response cache
//! (and `ETag` / `304`) as the API's read routes: [`routes`] applies `cache::serve_cached_page` exactly as
//! `router.rs` does to `read_routes`, and [`page_headers`] (outermost) gives every page its content type
//! and security headers, which a cache hit does not carry.
//!
//! URL scheme: `/` (search box, counts, recent servers, filters), `/servers?q=…` (ranked results,
//! keyset pagination), `/servers/{namespace}/{name}` (latest version), `…/versions/{version}`,
//! `…/diff?from=A&to=B`, `…/feed.atom`, `/namespaces/{ns}`, `/feed.atom`.

mod assets;
mod data;
mod error;
mod feed;
mod install;
mod layout;
mod pages;
mod schema_view;
mod server_page;
mod surface;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;

use crate::state::AppState;
use crate::{cache, rate_limit};

pub use error::fallback;

/// The policy every page is sent with: this origin only, no inline script or style, no framing, forms
/// post only here. Nothing a page does may reach another origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The web routes, with the response cache and the read limits applied as for the API's reads.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/servers", get(pages::search))
        .route("/servers/{*path}", get(server_page::server_path))
        .route("/namespaces/{namespace}", get(pages::namespace))
        .route("/feed.atom", get(feed::registry_feed))
        // As `router.rs` layers `read_routes`: limited before the cache, the cache innermost.
        .route_layer(from_fn_with_state(state.clone(), cache::serve_cached_page))
        .route_layer(from_fn_with_state(state.clone(), rate_limit::limit_reads))
        .route_layer(from_fn(page_headers))
        // Assets are static and immutable: never through the response cache.
        .route("/assets/{file}", get(assets::serve))
}

/// Content type and security headers of every page, fragment and feed, on cache hits and misses alike
/// (a cached response carries only its body, `ETag` and `Cache-Control`).
async fn page_headers(request: Request, next: Next) -> Response {
    let is_feed = request.uri().path().ends_with("/feed.atom");
    let mut response = next.run(request).await;
    let status = response.status();
    let headers = response.headers_mut();
    if status != StatusCode::NOT_MODIFIED {
        let content_type = if is_feed && status == StatusCode::OK {
            "application/atom+xml; charset=utf-8"
        } else {
            "text/html; charset=utf-8"
        };
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    security_headers(headers);
    response
}

/// The headers every HTML response carries (pages, error pages, the HTML 404).
fn security_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}
