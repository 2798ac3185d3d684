use registry_provenance::testing::TestPki;
use registry_provenance::{RegisteredKey, Summary, TrustRoots, VerifyError, VerifyRequest, verify};
use serde_json::{Value, json};

pub const GITHUB_NAME: &str = "io.github.alice/weather";
pub const DOMAIN_NAME: &str = "com.example/weather";
pub const VERSION: &str = "1.0.0";

/// A server.json as published, `_meta` included (it is part of what is signed).
pub fn manifest(name: &str) -> Value {
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json",
        "name": name,
        "version": VERSION,
        "description": "Weather forecasts",
        "packages": [{
            "registryType": "npm",
            "identifier": "@alice/weather-mcp",
            "version": VERSION,
            "transport": { "type": "stdio" },
        }],
        "_meta": { "io.modelcontextprotocol.registry/publisher-provided": { "build": 7 } },
    })
}

/// A PKI with its trust roots.
pub fn pki() -> (TestPki, TrustRoots) {
    let pki = TestPki::new();
    let trust = TrustRoots::from_json(&pki.trusted_root_json()).expect("test trust root loads");
    (pki, trust)
}

pub fn check(
    manifest: &Value,
    name: &str,
    bundle: &Value,
    trust: &TrustRoots,
    keys: &[RegisteredKey],
) -> Result<Summary, VerifyError> {
    verify(&VerifyRequest {
        manifest,
        name,
        version: VERSION,
        bundle,
        trust,
        registered_keys: keys,
    })
}
