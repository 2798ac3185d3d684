//! The production router, in-process, on a fresh test database: requests go through
//! `tower::ServiceExt::oneshot`, exactly as a socket would deliver them.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use registry_server::auth::{Action, Permission, issue_token};
use registry_server::config::ServerConfig;
use registry_server::db::Store;
use registry_server::{AppState, app};
use serde_json::Value;
use tower::ServiceExt;

use crate::db::TestDb;

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON; panics with the body text when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "{err}: body is not JSON: {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a problem+json error with this status, and returns its body.
    #[track_caller]
    pub fn problem(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json")
        );
        let body = self.json();
        assert_eq!(body["status"], status.as_u16());
        assert!(
            body["title"].is_string() && body["detail"].is_string(),
            "{body}"
        );
        body
    }

    /// Asserts 200 and returns the JSON body.
    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.text());
        self.json()
    }
}

/// The app on one test database.
pub struct TestApp {
    /// Shared with replicas; the database is dropped with the last of them.
    pub db: Arc<TestDb>,
    pub store: Store,
    /// The app's state (cache, read fence, metrics), as its router sees it.
    pub state: AppState,
    config: ServerConfig,
    router: Router,
}

impl TestApp {
    pub async fn new(db: TestDb) -> Self {
        Self::with_config(db, ServerConfig::default()).await
    }

    pub async fn with_config(db: TestDb, config: ServerConfig) -> Self {
        Self::on(Arc::new(db), config).await
    }

    async fn on(db: Arc<TestDb>, config: ServerConfig) -> Self {
        let store = db.store().await;
        let state = AppState::new(store.clone(), config.clone());
        // On PostgreSQL the cache waits for its change feed; tests start once it serves.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while state.cache.is_enabled() && !state.cache.is_serving() {
            assert!(
                std::time::Instant::now() < deadline,
                "the response cache's change feed did not connect within 10 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let router = app(state.clone());
        Self {
            db,
            store,
            state,
            config,
            router,
        }
    }

    /// A second server process on the same database (its own pool, cache and change feed), as another
    /// replica behind a load balancer would be.
    pub async fn replica(&self) -> Self {
        Self::on(Arc::clone(&self.db), self.config.clone()).await
    }

    /// Another server process on the same database with its own configuration.
    pub async fn replica_with(&self, config: ServerConfig) -> Self {
        Self::on(Arc::clone(&self.db), config).await
    }

    /// Creates a token with these `(action, pattern)` grants and returns its secret.
    pub async fn token(&self, grants: &[(Action, &str)]) -> String {
        let permissions: Vec<Permission> = grants
            .iter()
            .map(|(action, pattern)| Permission::new(*action, *pattern))
            .collect();
        let issued = issue_token(&permissions, Some("test".to_owned())).expect("token");
        self.store
            .insert_token(&issued.record)
            .await
            .expect("store token");
        issued.secret
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        self.request_with_headers(method, uri, token, body, &[])
            .await
    }

    /// A GET with extra request headers.
    pub async fn get_with_headers(&self, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.request_with_headers(Method::GET, uri, None, None, headers)
            .await
    }

    pub async fn request_with_headers(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder().method(method.clone()).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(body.map_or_else(Body::empty, Body::from))
            .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec();
        crate::contract::check(&method, uri, status, content_type.as_deref(), &body);
        TestResponse {
            status,
            content_type,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.request(Method::GET, uri, None, None).await
    }

    pub async fn publish(&self, token: &str, manifest: &Value) -> TestResponse {
        let body = serde_json::to_vec(manifest).expect("json");
        self.request(Method::POST, "/v0.1/publish", Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, token: &str, uri: &str, body: &Value) -> TestResponse {
        let body = serde_json::to_vec(body).expect("json");
        self.request(Method::PATCH, uri, Some(token), Some(body))
            .await
    }
}

/// A minimal valid manifest.
/// What the response cache did for `response` (its `x-cache` header: `hit`, `miss`), `none` without one.
pub fn cache_outcome(response: &TestResponse) -> &str {
    response
        .headers
        .get("x-cache")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none")
}

pub fn manifest(name: &str, version: &str) -> Value {
    serde_json::json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": name,
        "description": format!("Test server {name}"),
        "version": version,
        "packages": [{
            "registryType": "npm",
            "identifier": format!("@test/{}", name.split('/').next_back().unwrap_or("x")),
            "version": version,
            "transport": {"type": "stdio"}
        }]
    })
}

/// `name` percent-encoded for a path segment (`/` → `%2F`).
pub fn encode(segment: &str) -> String {
    segment
        .replace('%', "%25")
        .replace('/', "%2F")
        .replace('+', "%2B")
}
