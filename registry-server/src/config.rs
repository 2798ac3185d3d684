//! Configuration: every setting is a flag and an environment variable (`--help` is the reference).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use registry_schema::Policy;

use crate::cache::{CacheConfig, CacheConsistency};
use crate::cors::CorsOrigins;
use crate::db::{CompatPolicy, DatabaseConfig};
use crate::rate_limit::RateLimits;

/// Where the data lives. Shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL (`postgres://user@host/db`) or SQLite (`sqlite:///path/registry.db`) URL. Without it the
    /// registry uses an embedded SQLite file in --data-dir.
    #[arg(long, env = "REGISTRY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Folder for the embedded SQLite database (default: the platform data dir, e.g.
    /// ~/.local/share/mcp-reg).
    #[arg(long, env = "REGISTRY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database connections per server process (0: 16 on PostgreSQL; on SQLite two per CPU core, at
    /// least 4, at most 16, since its connections share one file and each keeps a thread and a cache).
    #[arg(long, env = "REGISTRY_DB_MAX_CONNECTIONS", default_value_t = 0)]
    pub db_max_connections: u32,
    /// Seconds a request may wait for a free database connection before getting 503.
    #[arg(long, env = "REGISTRY_DB_ACQUIRE_TIMEOUT", default_value_t = 5)]
    pub db_acquire_timeout: u64,
}

impl DatabaseArgs {
    pub fn to_config(&self) -> DatabaseConfig {
        DatabaseConfig {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            max_connections: self.db_max_connections,
            // Kept open by `serve` only (`ServeArgs::db_min_connections`): the one-shot commands
            // would open them for nothing.
            min_connections: 0,
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout),
        }
    }
}

/// `registry-server serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "REGISTRY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Database connections kept open even when idle (at most the maximum), so requests do not wait
    /// while new ones are opened (TLS set-up and a cold PostgreSQL backend: a few ms each).
    #[arg(long, env = "REGISTRY_DB_MIN_CONNECTIONS", default_value_t = 4)]
    pub db_min_connections: u32,
    /// Do not apply pending migrations at start (run `registry-server migrate` separately).
    #[arg(long, env = "REGISTRY_NO_MIGRATE")]
    pub no_migrate: bool,
    /// Export request traces (spans of requests, database statements and outgoing calls) over
    /// OTLP/HTTP to this collector, e.g. `http://otel-collector:4318` (`/v1/traces` is appended unless
    /// the path ends with it). An incoming W3C `traceparent` becomes the request's parent. Off unless
    /// given (or `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set).
    #[arg(
        long,
        env = "REGISTRY_OTLP_ENDPOINT",
        value_parser = crate::telemetry::parse_otlp_endpoint
    )]
    pub otlp_endpoint: Option<url::Url>,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub auth: crate::auth_exchange::AuthArgs,
    #[command(flatten)]
    pub ownership: Box<crate::ownership::OwnershipArgs>,
    #[command(flatten)]
    pub provenance: Box<crate::provenance::ProvenanceArgs>,
}

/// Request handling settings.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// Largest request body accepted, in bytes (larger gets 413).
    #[arg(long, env = "REGISTRY_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Seconds before a request is abandoned with 408.
    #[arg(long, env = "REGISTRY_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    // Issue 18 (connection hardening): connection caps, header-read and idle timeouts.
    #[command(flatten)]
    pub connections: crate::conn_limits::ConnectionArgs,
    /// Memory for cached read responses, in MiB (0 turns the cache off).
    #[arg(long, env = "REGISTRY_CACHE_MB", default_value_t = 64)]
    pub cache_mb: u64,
    /// Seconds a cached response may be served without a write having been seen. Writes through this
    /// process (and, on PostgreSQL, through any replica) invalidate at once; this bounds the rest, such as
    /// another process writing to the same SQLite file. 0 turns the cache off.
    #[arg(long, env = "REGISTRY_CACHE_TTL", default_value_t = 10)]
    pub cache_ttl: u64,
    /// With several replicas on one PostgreSQL: `strict` confirms each cache hit against the database's
    /// change counter (about one round trip, shared by concurrent requests), so every read sees every
    /// write acknowledged before it; `notify` serves hits without that and sees other replicas' writes
    /// when their notification arrives (milliseconds).
    #[arg(
        long,
        env = "REGISTRY_CACHE_CONSISTENCY",
        value_enum,
        default_value_t = CacheConsistency::Strict
    )]
    pub cache_consistency: CacheConsistency,
    /// Write requests (publish, status changes) per minute per presented token, counted across all
    /// replicas (0: no limit).
    #[arg(long, env = "REGISTRY_WRITE_LIMIT_PER_TOKEN", default_value_t = 600)]
    pub write_limit_per_token: u32,
    /// Write requests per minute per client address, counted across all replicas (0: no limit).
    #[arg(long, env = "REGISTRY_WRITE_LIMIT_PER_IP", default_value_t = 1200)]
    pub write_limit_per_ip: u32,
    /// Read requests per minute per client address, counted by each replica (0: no limit).
    #[arg(long, env = "REGISTRY_READ_LIMIT_PER_IP", default_value_t = 0)]
    pub read_limit_per_ip: u32,
    /// Take the client address from the last `X-Forwarded-For` entry (for the audit log and per-IP
    /// rate limits). Only behind a proxy that sets it; otherwise clients could pick their address.
    #[arg(long, env = "REGISTRY_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Judge manifests by a public registry's rules: unknown package types, http remotes and the like
    /// are errors instead of warnings.
    #[arg(long, env = "REGISTRY_STRICT_VALIDATION")]
    pub strict_validation: bool,
    /// Origins whose browser-side code may read and write the API (VS Code's gallery, web pages):
    /// `*` (any), `none` (no CORS headers), or a comma-separated list such as
    /// `https://vscode.dev,http://localhost:3000`. Tokens travel in `Authorization`, never cookies.
    #[arg(
        long,
        env = "REGISTRY_CORS_ALLOWED_ORIGINS",
        default_value = "*",
        value_parser = parse_cors_origins
    )]
    pub cors_allowed_origins: CorsOrigins,
    /// What a version that breaks compatibility without the semver bump it needs gets: `enforce`
    /// refuses it (409, unless the publisher accepts the break explicitly), `advise` stores it and
    /// keeps the report. `edit` holders can override it per namespace or server.
    #[arg(
        long,
        env = "REGISTRY_COMPAT_POLICY",
        default_value = "enforce",
        value_parser = parse_compat_policy
    )]
    pub compat_policy: CompatPolicy,
    /// The security review of what each new version tells the model: `off`, `report` (store and
    /// show the findings) or `block-high` (also refuse a version with a high-severity finding, 422).
    #[arg(
        long,
        env = "REGISTRY_REVIEW_POLICY",
        value_enum,
        default_value = "report"
    )]
    pub review_policy: crate::review::ReviewPolicy,
}

fn parse_compat_policy(value: &str) -> Result<CompatPolicy, String> {
    value
        .parse()
        .map_err(|_| format!("`{value}` is not a policy; use enforce or advise"))
}

fn parse_cors_origins(value: &str) -> Result<CorsOrigins, String> {
    CorsOrigins::parse(&value.split(',').map(str::to_owned).collect::<Vec<_>>())
}

impl Default for HttpArgs {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout: 30,
            connections: crate::conn_limits::ConnectionArgs::default(), // issue 18
            cache_mb: 64,
            cache_ttl: 10,
            cache_consistency: CacheConsistency::Strict,
            write_limit_per_token: 600,
            write_limit_per_ip: 1200,
            read_limit_per_ip: 0,
            trust_forwarded_for: false,
            strict_validation: false,
            cors_allowed_origins: CorsOrigins::Any,
            compat_policy: CompatPolicy::Enforce,
            review_policy: crate::review::ReviewPolicy::Report,
        }
    }
}

/// What the running server needs to know (derived from the flags).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub policy: Policy,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Connection caps and timeouts of `serve` (issue 18, connection hardening).
    pub connections: crate::conn_limits::ConnectionLimits,
    pub cache: CacheConfig,
    pub trust_forwarded_for: bool,
    pub rate_limits: RateLimits,
    /// The `/auth/*` exchanges and the key of registry tokens (default: a random key).
    pub auth: crate::auth_exchange::AuthExchangeConfig,
    /// Package ownership verification at publish (default: off).
    pub ownership: crate::ownership::OwnershipConfig,
    /// Provenance policy and trust roots at publish (default: verify bundles when present).
    pub provenance: crate::provenance::ProvenanceConfig,
    /// Origins allowed to call the API from a browser.
    pub cors: CorsOrigins,
    /// The compatibility policy where no namespace or server override applies.
    pub compat_policy: CompatPolicy,
    /// What the security review at publish does.
    pub review_policy: crate::review::ReviewPolicy,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::from(&HttpArgs::default())
    }
}

impl From<&HttpArgs> for ServerConfig {
    fn from(args: &HttpArgs) -> Self {
        Self {
            policy: if args.strict_validation {
                Policy::strict()
            } else {
                Policy::lenient()
            },
            max_body_bytes: args.max_body_bytes,
            request_timeout: Duration::from_secs(args.request_timeout),
            connections: args.connections.to_limits(), // issue 18
            cache: CacheConfig {
                max_bytes: args.cache_mb.saturating_mul(1024 * 1024),
                ttl: Duration::from_secs(args.cache_ttl),
                consistency: args.cache_consistency,
            },
            trust_forwarded_for: args.trust_forwarded_for,
            rate_limits: RateLimits {
                writes_per_token: args.write_limit_per_token,
                writes_per_ip: args.write_limit_per_ip,
                reads_per_ip: args.read_limit_per_ip,
            },
            auth: crate::auth_exchange::AuthExchangeConfig::default(),
            ownership: crate::ownership::OwnershipConfig::default(),
            provenance: crate::provenance::ProvenanceConfig::default(),
            cors: args.cors_allowed_origins.clone(),
            compat_policy: args.compat_policy,
            review_policy: args.review_policy,
        }
    }
}
