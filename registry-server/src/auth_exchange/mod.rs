//! Namespace authentication compatible with the official registry's `/v0.1/auth/*` exchange: a proof of
//! a namespace (GitHub Actions OIDC token, a signed timestamp checked against a well-known file or a DNS
//! TXT record, a GitHub access token) is exchanged for a short-lived registry JWT (EdDSA) carrying
//! `permissions`, which the [`Publisher`](crate::auth::Publisher) extractor accepts beside `mcpr_`
//! tokens.

pub mod dns_proof;
pub mod github_at;
pub mod github_oidc;
pub mod http_proof;
pub mod jwt;
pub mod proof;
pub mod ssrf;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::Permission;
use crate::error::ApiError;
use jwt::{REGISTRY_ISSUER, RegistryClaims, RegistryKey};

/// Test helpers sign with the same primitives (RS256 OIDC tokens, Ed25519 timestamps).
#[doc(hidden)]
pub use ring;

/// The official registry's defaults.
pub const GITHUB_OIDC_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const GITHUB_OIDC_JWKS_URL: &str =
    "https://token.actions.githubusercontent.com/.well-known/jwks";
pub const GITHUB_API_URL: &str = "https://api.github.com";

/// `registry-server serve` flags of the auth exchanges.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthArgs {
    /// Ed25519 key that signs registry tokens: a PKCS#8 PEM file or a file holding the 32-byte seed as
    /// hex or base64. Every replica needs the same key. Without it (and without REGISTRY_JWT_KEY) a
    /// random key is made at start: tokens then die with the process and fail on other replicas.
    #[arg(long, env = "REGISTRY_JWT_KEY_FILE")]
    pub jwt_key_file: Option<PathBuf>,
    /// The same key as a base64 (or hex) 32-byte seed.
    #[arg(
        long,
        env = "REGISTRY_JWT_KEY",
        hide_env_values = true,
        conflicts_with = "jwt_key_file"
    )]
    pub jwt_key: Option<String>,
    /// Lifetime of registry tokens, in seconds (the official registry uses 5 minutes).
    #[arg(long, env = "REGISTRY_JWT_TTL", default_value_t = 300)]
    pub jwt_ttl: u64,
    /// `aud` that GitHub Actions OIDC tokens must carry (mcp-publisher uses the registry's
    /// `scheme://host`). Without it `/auth/github-oidc` is off.
    #[arg(long, env = "REGISTRY_GITHUB_OIDC_AUDIENCE")]
    pub github_oidc_audience: Option<String>,
    /// Issuer of GitHub Actions OIDC tokens.
    #[arg(long, env = "REGISTRY_GITHUB_OIDC_ISSUER", default_value = GITHUB_OIDC_ISSUER)]
    pub github_oidc_issuer: String,
    /// Where the OIDC issuer's signing keys (JWKS) are fetched from.
    #[arg(long, env = "REGISTRY_GITHUB_OIDC_JWKS_URL", default_value = GITHUB_OIDC_JWKS_URL)]
    pub github_oidc_jwks_url: String,
    /// GitHub REST API base URL for `/auth/github-at` (GitHub Enterprise: `https://HOST/api/v3`).
    #[arg(long, env = "REGISTRY_GITHUB_API_URL", default_value = GITHUB_API_URL)]
    pub github_api_url: String,
    /// DNS server (`ip:port`) asked for the TXT records of `/auth/dns` (default: the first nameserver
    /// of /etc/resolv.conf).
    #[arg(long, env = "REGISTRY_AUTH_DNS_RESOLVER")]
    pub auth_dns_resolver: Option<SocketAddr>,
    /// TESTS ONLY: let `/auth/http` fetch over plain HTTP and reach loopback, private and link-local
    /// addresses. Never set this on a public registry.
    #[arg(long, env = "REGISTRY_AUTH_ALLOW_PRIVATE_TARGETS", hide = true)]
    pub auth_allow_private_targets: bool,
}

impl AuthArgs {
    /// The exchange settings, loading (or, when none is configured, generating) the signing key.
    pub fn to_config(&self) -> anyhow::Result<AuthExchangeConfig> {
        let key = match (&self.jwt_key_file, &self.jwt_key) {
            (Some(path), _) => RegistryKey::from_file(path)?,
            (None, Some(seed)) => RegistryKey::from_seed_text(seed)
                .map_err(|err| anyhow::anyhow!("REGISTRY_JWT_KEY: {err}"))?,
            (None, None) => {
                tracing::warn!(
                    "no --jwt-key-file or REGISTRY_JWT_KEY: signing registry tokens with a random key; \
                     tokens will not survive a restart and are not valid on other replicas"
                );
                RegistryKey::generate()?
            }
        };
        if self.auth_allow_private_targets {
            tracing::warn!(
                "--auth-allow-private-targets is set: /auth/http may fetch plain HTTP and private addresses (tests only)"
            );
        }
        Ok(AuthExchangeConfig {
            key,
            token_ttl: Duration::from_secs(self.jwt_ttl.max(1)),
            github_oidc_audience: self.github_oidc_audience.clone(),
            github_oidc_issuer: self.github_oidc_issuer.clone(),
            github_oidc_jwks_url: self.github_oidc_jwks_url.clone(),
            github_api_url: self.github_api_url.trim_end_matches('/').to_owned(),
            dns_resolver: self.auth_dns_resolver,
            allow_private_targets: self.auth_allow_private_targets,
            resolve_overrides: Vec::new(),
            jwks: Arc::default(),
        })
    }
}

/// What the exchanges need at run time (part of [`ServerConfig`](crate::config::ServerConfig)).
#[derive(Debug, Clone)]
pub struct AuthExchangeConfig {
    pub key: RegistryKey,
    pub token_ttl: Duration,
    pub github_oidc_audience: Option<String>,
    pub github_oidc_issuer: String,
    pub github_oidc_jwks_url: String,
    pub github_api_url: String,
    pub dns_resolver: Option<SocketAddr>,
    pub allow_private_targets: bool,
    /// Host names answered without DNS by `/auth/http` (tests point a domain at a local server); the
    /// SSRF guard still judges the address.
    pub resolve_overrides: Vec<(String, SocketAddr)>,
    /// Cached JWKS of the OIDC issuer.
    pub jwks: Arc<github_oidc::JwksCache>,
}

impl Default for AuthExchangeConfig {
    /// The defaults with a random key (no warning: for tests and embedding).
    fn default() -> Self {
        let mut seed = [0u8; 32];
        // Without system randomness a fixed seed would be a forgeable key; fall back to a per-process
        // mix that is at least not constant.
        if getrandom::fill(&mut seed).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            seed[..16].copy_from_slice(&nanos.to_le_bytes());
        }
        Self {
            key: RegistryKey::from_seed(&seed).unwrap_or_else(|_| unreachable!("32-byte seed")),
            token_ttl: Duration::from_mins(5),
            github_oidc_audience: None,
            github_oidc_issuer: GITHUB_OIDC_ISSUER.to_owned(),
            github_oidc_jwks_url: GITHUB_OIDC_JWKS_URL.to_owned(),
            github_api_url: GITHUB_API_URL.to_owned(),
            dns_resolver: None,
            allow_private_targets: false,
            resolve_overrides: Vec::new(),
            jwks: Arc::default(),
        }
    }
}

/// The answer of every exchange (the official shape).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The registry JWT; send it as `Authorization: Bearer <registry_token>`.
    pub registry_token: String,
    /// When it expires, in unix seconds.
    pub expires_at: i64,
}

/// Unix seconds now.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl AuthExchangeConfig {
    /// Signs a registry token for a verified subject.
    pub fn issue(
        &self,
        auth_method: &str,
        subject: &str,
        permissions: Vec<Permission>,
    ) -> Result<TokenResponse, ApiError> {
        let now = now_unix();
        let exp = now.saturating_add(i64::try_from(self.token_ttl.as_secs()).unwrap_or(300));
        let claims = RegistryClaims {
            iss: REGISTRY_ISSUER.to_owned(),
            iat: now,
            nbf: Some(now),
            exp,
            auth_method: auth_method.to_owned(),
            auth_method_sub: subject.to_owned(),
            permissions,
        };
        let registry_token = self.key.sign(&claims)?;
        tracing::info!(
            auth.method = auth_method,
            auth.subject = subject,
            "registry token issued"
        );
        Ok(TokenResponse {
            registry_token,
            expires_at: exp,
        })
    }
}
