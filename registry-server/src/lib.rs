//! The mcp-reg registry server. The HTTP API and storage land with the server issue; until then this
//! crate only exposes the shared manifest model it will serve.

pub use registry_schema as schema;
