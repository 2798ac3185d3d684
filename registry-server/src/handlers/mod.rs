//! HTTP handlers: extract, validate, one store call, map to the wire type. Nothing else.

pub mod audit;
pub mod auth;
pub mod compat;
pub mod compat_policy;
pub mod health;
pub mod provenance;
pub mod publish;
pub mod review;
pub mod servers;
pub mod status;
pub mod tokens;

/// OpenAPI tag of read endpoints.
pub const TAG_SERVERS: &str = "servers";
/// OpenAPI tag of write endpoints.
pub const TAG_PUBLISH: &str = "publish";
/// OpenAPI tag of operational endpoints.
pub const TAG_OPS: &str = "operations";
/// OpenAPI tag of the compatibility extensions.
pub const TAG_COMPAT: &str = "compatibility";
/// OpenAPI tag of the provenance extensions.
pub const TAG_PROVENANCE: &str = "provenance";
