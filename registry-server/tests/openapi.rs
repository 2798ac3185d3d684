//! The OpenAPI document is part of the API: any change to it shows up here, on purpose.
//! Regenerate after an intended change with `UPDATE_SNAPSHOTS=1 cargo test -p registry-server --test openapi`.

#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::path::Path;

#[test]
fn openapi_spec_matches_the_snapshot() {
    let actual = registry_server::openapi().to_pretty_json().unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "the OpenAPI document changed; review the diff and rerun with UPDATE_SNAPSHOTS=1 if intended.\n{}",
        first_difference(&expected, &actual)
    );
}

#[test]
fn every_official_path_is_served_under_v0_1() {
    let spec = serde_json::to_value(registry_server::openapi()).unwrap();
    for (path, method) in [
        ("/v0.1/servers", "get"),
        ("/v0.1/servers/{serverName}/versions", "get"),
        ("/v0.1/servers/{serverName}/versions/{version}", "get"),
        (
            "/v0.1/servers/{serverName}/versions/{version}/status",
            "patch",
        ),
        ("/v0.1/servers/{serverName}/status", "patch"),
        ("/v0.1/publish", "post"),
        ("/v0.1/validate", "post"),
    ] {
        assert!(spec["paths"][path][method].is_object(), "{method} {path}");
    }
    assert!(spec["components"]["securitySchemes"]["bearerAuth"].is_object());
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (index, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n- {e}\n+ {a}", index + 1);
        }
    }
    format!(
        "lengths differ: {} vs {} lines",
        expected.lines().count(),
        actual.lines().count()
    )
}
