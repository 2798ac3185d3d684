//! The OpenAPI document (generated from the handlers' annotations) and the offline docs page.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorItem, ProblemDetails};
use crate::handlers::{TAG_COMPAT, TAG_OPS, TAG_PROVENANCE, TAG_PUBLISH, TAG_SERVERS};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mcp-reg",
        description = "MCP server registry. Speaks the official MCP registry API under /v0.1 (and /v0); extensions live under /v0.1/x/.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = TAG_SERVERS, description = "Discovering MCP servers"),
        (name = TAG_PUBLISH, description = "Publishing MCP servers"),
        (name = TAG_OPS, description = "Health and build information"),
        (name = TAG_COMPAT, description = "Extension: tool surfaces and semver compatibility reports"),
        (name = TAG_PROVENANCE, description = "Extension: signed provenance (Sigstore bundles) and namespace signing keys"),
    ),
    components(schemas(ProblemDetails, ErrorItem)),
    modifiers(&SecurityAddon)
)]
pub struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A publisher token created with `registry-server token create`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// A self-contained page that renders `/openapi.json` (no CDN, so it works offline).
pub const DOCS_HTML: &str = include_str!("docs.html");
