//! `/auth/github-oidc`: a GitHub Actions OIDC token (RS256), verified against the issuer's JWKS.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde::Deserialize;
use tokio::sync::Mutex;
use tracing::Instrument as _;

use super::AuthExchangeConfig;
use super::jwt::{CLOCK_LEEWAY_SECS, CompactJwt};
use crate::auth::{Action, Permission};
use crate::error::ApiError;

/// How long fetched keys are used before they are fetched again.
const JWKS_TTL: Duration = Duration::from_mins(10);
/// An unknown `kid` refetches the keys, at most this often (key rotation without a fetch storm).
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);
const JWKS_MAX_BYTES: usize = 256 * 1024;

/// Body of `POST /auth/github-oidc`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GithubOidcRequest {
    /// The GitHub Actions OIDC token (`ACTIONS_ID_TOKEN_REQUEST_URL`), with the registry as audience.
    pub oidc_token: String,
}

/// RSA keys by `kid`, with when they were fetched.
#[derive(Debug, Default)]
pub struct JwksCache {
    inner: Mutex<Option<CachedKeys>>,
}

#[derive(Debug)]
struct CachedKeys {
    url: String,
    fetched: Instant,
    keys: HashMap<String, RsaKey>,
}

#[derive(Debug, Clone)]
struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

impl JwksCache {
    async fn key(&self, url: &str, kid: &str) -> Result<RsaKey, ApiError> {
        let mut cached = self.inner.lock().await;
        let fresh = cached.as_ref().filter(|keys| keys.url == url);
        let refetch = match fresh {
            None => true,
            Some(keys) if keys.fetched.elapsed() > JWKS_TTL => true,
            Some(keys) => !keys.keys.contains_key(kid) && keys.fetched.elapsed() > JWKS_MIN_REFRESH,
        };
        if refetch {
            let keys = fetch_jwks(url).await?;
            *cached = Some(CachedKeys {
                url: url.to_owned(),
                fetched: Instant::now(),
                keys,
            });
        }
        cached
            .as_ref()
            .and_then(|keys| keys.keys.get(kid))
            .cloned()
            .ok_or_else(|| {
                ApiError::Unauthorized(format!(
                    "the OIDC token is signed with an unknown key (kid {kid})"
                ))
            })
    }
}

async fn fetch_jwks(url: &str) -> Result<HashMap<String, RsaKey>, ApiError> {
    let unavailable = |why: &str| {
        tracing::warn!(
            jwks.url = url,
            "fetching the OIDC signing keys failed: {why}"
        );
        ApiError::Unauthorized(
            "could not fetch the OIDC issuer's signing keys; try again later".to_owned(),
        )
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .user_agent("mcp-registry/1.0")
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|_| unavailable("client"))?;
    // Issue 18: the call's span and `traceparent`, when traces are exported.
    let span = crate::telemetry::client_span("GET", url);
    let mut response = crate::telemetry::propagate(&span, client.get(url))
        .send()
        .instrument(span.clone())
        .await
        .map_err(|err| {
            crate::telemetry::record_response(&span, None);
            unavailable(&err.without_url().to_string())
        })?;
    crate::telemetry::record_response(&span, Some(response.status().as_u16()));
    if !response.status().is_success() {
        return Err(unavailable(&response.status().to_string()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| unavailable(&err.without_url().to_string()))?
    {
        if body.len() + chunk.len() > JWKS_MAX_BYTES {
            return Err(unavailable("too large"));
        }
        body.extend_from_slice(&chunk);
    }
    let jwks: Jwks = serde_json::from_slice(&body).map_err(|_| unavailable("not a JWKS"))?;
    Ok(jwks
        .keys
        .into_iter()
        .filter(|jwk| jwk.kty == "RSA")
        .filter_map(|jwk| {
            let n = URL_SAFE_NO_PAD.decode(jwk.n?).ok()?;
            let e = URL_SAFE_NO_PAD.decode(jwk.e?).ok()?;
            Some((jwk.kid.unwrap_or_default(), RsaKey { n, e }))
        })
        .collect())
}

#[derive(Deserialize)]
struct OidcClaims {
    iss: String,
    aud: Audience,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    repository_owner: Option<String>,
    #[serde(default)]
    repository: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            Self::One(aud) => aud == wanted,
            Self::Many(auds) => auds.iter().any(|aud| aud == wanted),
        }
    }
}

/// Verifies the token and returns `(subject, permissions)`.
pub async fn verify(
    config: &AuthExchangeConfig,
    token: &str,
    now: i64,
) -> Result<(String, Vec<Permission>), ApiError> {
    let audience = config.github_oidc_audience.as_deref().ok_or_else(|| {
        ApiError::not_found(
            "GitHub OIDC login is not enabled on this registry (no --github-oidc-audience)",
        )
    })?;
    let jwt = CompactJwt::parse(token.trim()).map_err(ApiError::Unauthorized)?;
    if jwt.header.alg != "RS256" {
        return Err(ApiError::Unauthorized(format!(
            "the OIDC token must be RS256, not {}",
            jwt.header.alg
        )));
    }
    let kid = jwt.header.kid.as_deref().unwrap_or_default();
    let key = config.jwks.key(&config.github_oidc_jwks_url, kid).await?;
    RsaPublicKeyComponents {
        n: &key.n,
        e: &key.e,
    }
    .verify(
        &RSA_PKCS1_2048_8192_SHA256,
        jwt.signing_input.as_bytes(),
        &jwt.signature,
    )
    .map_err(|_| ApiError::Unauthorized("the OIDC token signature is invalid".to_owned()))?;
    let claims: OidcClaims = jwt.claims().map_err(ApiError::Unauthorized)?;
    if claims.iss != config.github_oidc_issuer {
        return Err(ApiError::Unauthorized(format!(
            "the OIDC token's issuer is {}, expected {}",
            claims.iss, config.github_oidc_issuer
        )));
    }
    if !claims.aud.contains(audience) {
        return Err(ApiError::Unauthorized(format!(
            "the OIDC token's audience is not {audience}"
        )));
    }
    if claims.exp <= now {
        return Err(ApiError::Unauthorized(
            "the OIDC token has expired".to_owned(),
        ));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + CLOCK_LEEWAY_SECS) {
        return Err(ApiError::Unauthorized(
            "the OIDC token is not valid yet (check the clocks)".to_owned(),
        ));
    }
    let owner = claims
        .repository_owner
        .filter(|owner| is_github_login(owner))
        .ok_or_else(|| {
            ApiError::Unauthorized("the OIDC token has no valid repository_owner claim".to_owned())
        })?;
    let subject = claims.repository.unwrap_or_else(|| owner.clone());
    Ok((
        subject,
        vec![Permission::new(
            Action::Publish,
            format!("io.github.{owner}/*"),
        )],
    ))
}

/// GitHub user and organisation names: letters, digits and single inner hyphens, at most 39.
pub fn is_github_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 39
        && !login.starts_with('-')
        && !login.ends_with('-')
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
