//! The MCP `server.json` model shared by the registry server and the `mcp-reg` CLI.
//!
//! - [`manifest`]: the typed `server.json` view kept beside the exact bytes a publisher sent;
//! - [`name`] and [`version`]: newtypes that cannot hold invalid values;
//! - [`validate`]: JSON Schema plus the official semantic rules, reporting every problem at once;
//! - [`tools`]: what a running server reports about itself (its tool surface);
//! - [`canonical`]: RFC 8785 canonical JSON and SHA-256 digests;
//! - [`compat`]: semver compatibility of two tool surfaces / manifests and the publish gate.

pub mod canonical;
pub mod compat;
pub mod discovery;
pub mod error;
pub mod manifest;
pub mod name;
pub mod review;
pub mod tools;
pub mod validate;
pub mod version;

pub use canonical::{Digest, canonicalize};
pub use error::{Error, Result};
pub use manifest::{Manifest, ServerJson};
pub use name::{Namespace, ServerName};
pub use tools::ToolSurface;
pub use validate::{Issue, Policy, Report, Severity};
pub use version::ServerVersion;
