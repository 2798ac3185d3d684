//! `/auth/github-at`: a GitHub access token exchanged for `io.github.<login>/*`, plus
//! `io.github.<org>/*` for the organisations the user owns (role `admin`).

use std::time::Duration;

use serde::Deserialize;
use tracing::Instrument as _;

use super::AuthExchangeConfig;
use super::github_oidc::is_github_login;
use crate::auth::{Action, Permission};
use crate::error::ApiError;

const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BYTES: usize = 1024 * 1024;

/// Body of `POST /auth/github-at`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GithubTokenRequest {
    /// A GitHub access token (device flow, or a PAT with `read:org` to include owned organisations).
    pub github_token: String,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

#[derive(Deserialize)]
struct Membership {
    #[serde(default)]
    state: Option<String>,
    role: String,
    organization: Org,
}

#[derive(Deserialize)]
struct Org {
    login: String,
}

/// Verifies the token with GitHub and returns `(login, permissions)`.
pub async fn verify(
    config: &AuthExchangeConfig,
    token: &str,
) -> Result<(String, Vec<Permission>), ApiError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::invalid_parameter(
            "body.github_token",
            "github_token must not be empty",
        ));
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .user_agent("mcp-registry/1.0")
        .timeout(TIMEOUT)
        .build()
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("HTTP client: {err}")))?;
    let base = &config.github_api_url;

    let (status, headers, body) = get(&client, &format!("{base}/user"), token).await?;
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(ApiError::Unauthorized(
            "GitHub rejected the token (invalid or expired)".to_owned(),
        ));
    }
    if !status.is_success() {
        return Err(ApiError::Unauthorized(format!(
            "GitHub answered {status} for /user{}",
            blocked_hint(&headers)
        )));
    }
    let user: User = serde_json::from_slice(&body)
        .map_err(|_| ApiError::Unauthorized("GitHub's /user answer is unreadable".to_owned()))?;
    if !is_github_login(&user.login) {
        return Err(ApiError::Unauthorized(
            "GitHub returned an invalid login".to_owned(),
        ));
    }
    let mut permissions = vec![Permission::new(
        Action::Publish,
        format!("io.github.{}/*", user.login),
    )];

    let url = format!("{base}/user/memberships/orgs?state=active&per_page=100");
    let (status, headers, body) = get(&client, &url, token).await?;
    if status == reqwest::StatusCode::FORBIDDEN && !is_rate_limited_or_sso(&headers) {
        // No `read:org` scope: the user still gets their own namespace.
        return Ok((user.login, permissions));
    }
    if !status.is_success() {
        return Err(ApiError::Unauthorized(format!(
            "GitHub answered {status} for the organisation memberships{}",
            blocked_hint(&headers)
        )));
    }
    let memberships: Vec<Membership> = serde_json::from_slice(&body).map_err(|_| {
        ApiError::Unauthorized("GitHub's memberships answer is unreadable".to_owned())
    })?;
    for membership in memberships {
        let active = membership
            .state
            .as_deref()
            .is_none_or(|state| state == "active");
        if active && membership.role == "admin" && is_github_login(&membership.organization.login) {
            permissions.push(Permission::new(
                Action::Publish,
                format!("io.github.{}/*", membership.organization.login),
            ));
        }
    }
    Ok((user.login, permissions))
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>), ApiError> {
    let unreachable =
        || ApiError::Unauthorized("could not reach the GitHub API; try again later".to_owned());
    // Issue 18: the call's span and `traceparent`, when traces are exported.
    let span = crate::telemetry::client_span("GET", url);
    let mut response = crate::telemetry::propagate(&span, client.get(url))
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/vnd.github+json")
        .send()
        .instrument(span.clone())
        .await
        .map_err(|_| {
            crate::telemetry::record_response(&span, None);
            unreachable()
        })?;
    let status = response.status();
    crate::telemetry::record_response(&span, Some(status.as_u16()));
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| unreachable())? {
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(unreachable());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, body))
}

fn is_rate_limited_or_sso(headers: &reqwest::header::HeaderMap) -> bool {
    headers.contains_key("x-github-sso")
        || headers
            .get("x-ratelimit-remaining")
            .and_then(|value| value.to_str().ok())
            == Some("0")
}

fn blocked_hint(headers: &reqwest::header::HeaderMap) -> &'static str {
    if headers.contains_key("x-github-sso") {
        " (the organisation requires SSO authorization of this token)"
    } else if is_rate_limited_or_sso(headers) {
        " (rate limited; try again later)"
    } else {
        ""
    }
}
