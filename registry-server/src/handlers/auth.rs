//! Namespace authentication: `POST /auth/{github-oidc,github-at,http,dns}` exchange a proof for a
//! short-lived registry token (the official registry's API).

use axum::Json;
use axum::extract::State;

use crate::auth_exchange::github_at::GithubTokenRequest;
use crate::auth_exchange::github_oidc::GithubOidcRequest;
use crate::auth_exchange::proof::{self, SignedTimestampRequest};
use crate::auth_exchange::{
    TokenResponse, dns_proof, github_at, github_oidc, http_proof, now_unix,
};
use crate::error::{ApiResult, ProblemDetails};
use crate::extract::ApiJson;
use crate::state::AppState;

/// OpenAPI tag of the auth exchanges.
pub const TAG_AUTH: &str = "auth";

/// Exchange a GitHub Actions OIDC token
///
/// The token must be signed by the configured issuer's keys (RS256), carry the registry's audience and
/// a `repository_owner`; the registry token may publish `io.github.<repository_owner>/*`.
#[utoipa::path(
    post,
    path = "/auth/github-oidc",
    operation_id = "exchange_github_oidc_token",
    tag = TAG_AUTH,
    request_body = GithubOidcRequest,
    responses(
        (status = 200, description = "A registry token", body = TokenResponse),
        (status = 401, description = "The OIDC token is invalid, expired, for another audience or signed by an unknown key", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "GitHub OIDC login is not enabled", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "The body is not `{\"oidc_token\"}`", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn exchange_github_oidc(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<GithubOidcRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let config = &state.config.auth;
    let (subject, permissions) =
        github_oidc::verify(config, &request.oidc_token, now_unix()).await?;
    Ok(Json(config.issue("github-oidc", &subject, permissions)?))
}

/// Exchange a GitHub access token
///
/// The registry asks the GitHub API who the token belongs to: the registry token may publish
/// `io.github.<login>/*`, and `io.github.<org>/*` for every organisation the user owns.
#[utoipa::path(
    post,
    path = "/auth/github-at",
    operation_id = "exchange_github_access_token",
    tag = TAG_AUTH,
    request_body = GithubTokenRequest,
    responses(
        (status = 200, description = "A registry token", body = TokenResponse),
        (status = 401, description = "GitHub rejected the token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "The body is not `{\"github_token\"}`", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn exchange_github_token(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<GithubTokenRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let config = &state.config.auth;
    let (login, permissions) = github_at::verify(config, &request.github_token).await?;
    Ok(Json(config.issue("github-at", &login, permissions)?))
}

/// Exchange a timestamp signed with a key published over HTTPS
///
/// The registry fetches `https://<domain>/.well-known/mcp-registry-auth` (`v=MCPv1; k=ed25519;
/// p=<base64 key>`; no redirects, public addresses only) and checks the signature; the registry token
/// may publish `<reversed domain>/*`.
#[utoipa::path(
    post,
    path = "/auth/http",
    operation_id = "exchange_http_proof",
    tag = TAG_AUTH,
    request_body = SignedTimestampRequest,
    responses(
        (status = 200, description = "A registry token", body = TokenResponse),
        (status = 401, description = "The timestamp is stale, the key file is unreachable or refused, or the signature does not verify", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "Malformed domain, timestamp or signature", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn exchange_http_proof(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SignedTimestampRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let config = &state.config.auth;
    let (domain, signature) = checked_proof(&request)?;
    let records = http_proof::fetch_records(config, &domain).await?;
    proof::verify_with_records(
        &records,
        &request.timestamp,
        &signature,
        &format!("https://{domain}{}", http_proof::WELL_KNOWN_PATH),
    )?;
    let permissions = proof::domain_permissions(&domain, false);
    Ok(Json(config.issue("http", &domain, permissions)?))
}

/// Exchange a timestamp signed with a key published in DNS
///
/// The registry reads the TXT records at the apex of `domain` (`v=MCPv1; k=ed25519|ecdsap384; p=<base64 key>`)
/// and checks the signature; the registry token may publish `<reversed domain>/*` and its subdomains
/// (`<reversed domain>.*`).
#[utoipa::path(
    post,
    path = "/auth/dns",
    operation_id = "exchange_dns_proof",
    tag = TAG_AUTH,
    request_body = SignedTimestampRequest,
    responses(
        (status = 200, description = "A registry token", body = TokenResponse),
        (status = 401, description = "The timestamp is stale, no record is found, or the signature does not verify", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "Malformed domain, timestamp or signature", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn exchange_dns_proof(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SignedTimestampRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let config = &state.config.auth;
    let (domain, signature) = checked_proof(&request)?;
    let records = dns_proof::fetch_records(config, &domain).await?;
    proof::verify_with_records(
        &records,
        &request.timestamp,
        &signature,
        &format!("the TXT records of {domain}"),
    )?;
    let permissions = proof::domain_permissions(&domain, true);
    Ok(Json(config.issue("dns", &domain, permissions)?))
}

/// The checks the http and dns proofs share before fetching any record: a plausible domain, a hex
/// signature, and a fresh timestamp. Returns the normalized domain and the signature bytes.
fn checked_proof(request: &SignedTimestampRequest) -> ApiResult<(String, Vec<u8>)> {
    let domain = proof::check_domain(&request.domain)?;
    let signature = proof::decode_signature(&request.signed_timestamp)?;
    proof::check_timestamp(&request.timestamp, time::OffsetDateTime::now_utc())?;
    Ok((domain, signature))
}
