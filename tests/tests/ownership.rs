//! Package ownership verification at publish (`--verify-packages`), against one fake package registry on
//! a loopback socket that speaks the npm, PyPI, NuGet, crates.io and OCI (with the anonymous token flow)
//! shapes from in-memory fixtures. No test reaches the internet.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use registry_server::auth::Action;
use registry_server::config::ServerConfig;
use registry_server::ownership::{OCI_LABEL, OwnershipConfig, RegistryKind};
use registry_tests::app::{TestApp, TestResponse, encode, manifest};
use registry_tests::db::TestDb;
use serde_json::{Value, json};
use url::Url;

registry_tests::on_both_engines!(
    npm_mcp_name,
    readme_markers,
    oci_labels,
    disabled_registries_are_not_checked,
    unreachable_registry_is_503,
);

const NAME: &str = "io.github.alice/weather";
const TOKEN: &str = "anonymous-pull-token";

/// Path → JSON or text body; everything else is 404.
type Fixtures = HashMap<String, Fixture>;

enum Fixture {
    Json(Value),
    Text(&'static str, String),
}

/// Starts the fake registry and returns its address.
async fn fake_registry() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let mut fixtures = Fixtures::new();
    oci_fixtures(&mut fixtures);
    let mut put = |path: &str, body: Value| {
        fixtures.insert(path.to_owned(), Fixture::Json(body));
    };
    // npm: the package document and one document per version.
    put(
        "/npm/@alice/weather",
        json!({"name": "@alice/weather", "versions": {}}),
    );
    put(
        "/npm/@alice/weather/1.0.0",
        json!({"name": "@alice/weather", "version": "1.0.0", "mcpName": NAME}),
    );
    put(
        "/npm/@alice/weather/2.0.0",
        json!({"name": "@alice/weather", "version": "2.0.0"}),
    );
    put(
        "/npm/@alice/weather/3.0.0",
        json!({"name": "@alice/weather", "version": "3.0.0", "mcpName": "io.github.bob/weather"}),
    );
    // PyPI: the version's JSON with the README as `info.description`.
    let pypi =
        |description: &str| json!({"info": {"name": "weather-mcp", "description": description}});
    put(
        "/pypi/pypi/weather-mcp/1.0.0/json",
        pypi(&format!("# Weather\n\nmcp-name: {NAME}\n")),
    );
    put("/pypi/pypi/weather-mcp/2.0.0/json", pypi("# Weather\n"));
    put(
        "/pypi/pypi/weather-mcp/3.0.0/json",
        pypi("mcp-name: io.github.bob/weather"),
    );
    // Marker followed by more name characters is another name.
    put(
        "/pypi/pypi/weather-mcp/4.0.0/json",
        pypi(&format!("mcp-name: {NAME}-pro")),
    );
    // NuGet: service index → README template and flat container.
    put(
        "/nuget/index.json",
        json!({"version": "3.0.0", "resources": [
            {"@id": format!("{base}/nuget/flat/"), "@type": "PackageBaseAddress/3.0.0"},
            {"@id": format!("{base}/nuget/flat/{{lower_id}}/{{lower_version}}/readme"), "@type": "ReadmeUriTemplate/6.13.0"}
        ]}),
    );
    put(
        "/nuget/flat/alice.weather/index.json",
        json!({"versions": ["1.0.0", "2.0.0", "3.0.0"]}),
    );
    // crates.io: the readme endpoint gives `{url}`; the README HTML lives there.
    for version in ["1.0.0", "2.0.0"] {
        put(
            &format!("/crates/api/v1/crates/weather-mcp/{version}/readme"),
            json!({"url": format!("{base}/static/readmes/weather-mcp/weather-mcp-{version}.html")}),
        );
    }
    put("/token", json!({"token": TOKEN}));
    fixtures.insert(
        "/nuget/flat/alice.weather/1.0.0/readme".to_owned(),
        Fixture::Text("text/markdown", format!("# Weather\n\nmcp-name: {NAME}\n")),
    );
    fixtures.insert(
        "/nuget/flat/alice.weather/2.0.0/readme".to_owned(),
        Fixture::Text("text/markdown", "# Weather\n".to_owned()),
    );
    fixtures.insert(
        "/static/readmes/weather-mcp/weather-mcp-1.0.0.html".to_owned(),
        Fixture::Text(
            "text/html",
            format!("<h1>Weather</h1>\n<p>mcp-name: {NAME}</p>"),
        ),
    );
    fixtures.insert(
        "/static/readmes/weather-mcp/weather-mcp-2.0.0.html".to_owned(),
        Fixture::Text("text/html", "<h1>Weather</h1>".to_owned()),
    );
    let state = Arc::new((fixtures, base));
    let router = Router::new().fallback(serve_fixture).with_state(state);
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// OCI: a multi-platform index for 1.0.0, a plain manifest for 2.0.0 and 3.0.0.
fn oci_fixtures(fixtures: &mut Fixtures) {
    let mut put = |path: &str, body: Value| {
        fixtures.insert(path.to_owned(), Fixture::Json(body));
    };
    put(
        "/v2/alice/weather/manifests/1.0.0",
        json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
            {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64"}},
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}}
        ]}),
    );
    put(
        "/v2/alice/weather/manifests/sha256:amd",
        json!({"schemaVersion": 2, "config": {"digest": "sha256:cfg-good"}}),
    );
    put(
        "/v2/alice/weather/manifests/sha256:arm",
        json!({"schemaVersion": 2, "config": {"digest": "sha256:cfg-none"}}),
    );
    put(
        "/v2/alice/weather/manifests/2.0.0",
        json!({"schemaVersion": 2, "config": {"digest": "sha256:cfg-none"}}),
    );
    put(
        "/v2/alice/weather/manifests/3.0.0",
        json!({"schemaVersion": 2, "config": {"digest": "sha256:cfg-bob"}}),
    );
    put(
        "/v2/alice/weather/blobs/sha256:cfg-good",
        json!({"architecture": "amd64", "config": {"Labels": {OCI_LABEL: NAME, "other": "x"}}}),
    );
    put(
        "/v2/alice/weather/blobs/sha256:cfg-none",
        json!({"architecture": "arm64", "config": {"Labels": {"other": "x"}}}),
    );
    put(
        "/v2/alice/weather/blobs/sha256:cfg-bob",
        json!({"config": {"Labels": {OCI_LABEL: "io.github.bob/weather"}}}),
    );
}

async fn serve_fixture(
    State(state): State<Arc<(Fixtures, String)>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (fixtures, base) = state.as_ref();
    let path = uri.path();
    // The OCI API wants the anonymous token the realm hands out.
    let bearer = format!("Bearer {TOKEN}");
    if path.starts_with("/v2/")
        && headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            != Some(&bearer)
    {
        let challenge = format!(
            "Bearer realm=\"{base}/token\",service=\"fake-registry\",scope=\"repository:alice/weather:pull\""
        );
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
            "{}",
        )
            .into_response();
    }
    if path == "/token" {
        let query = uri.query().unwrap_or_default();
        assert!(
            query.contains("service=fake-registry") && query.contains("scope=repository"),
            "{query}"
        );
    }
    match fixtures.get(path) {
        Some(Fixture::Json(body)) => axum::Json(body.clone()).into_response(),
        Some(Fixture::Text(content_type, body)) => {
            ([(header::CONTENT_TYPE, *content_type)], body.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// Every registry type enabled, all pointed at the fake.
fn config_for(addr: SocketAddr, enabled: &[RegistryKind]) -> ServerConfig {
    let url = |path: &str| Url::parse(&format!("http://{addr}{path}")).unwrap();
    ServerConfig {
        ownership: OwnershipConfig {
            enabled: enabled.to_vec(),
            npm_url: url("/npm"),
            pypi_url: url("/pypi"),
            nuget_url: url("/nuget/index.json"),
            crates_url: url("/crates"),
            oci_url: Some(url("/")),
        },
        ..ServerConfig::default()
    }
}

const ALL: [RegistryKind; 5] = [
    RegistryKind::Npm,
    RegistryKind::Pypi,
    RegistryKind::Nuget,
    RegistryKind::Cargo,
    RegistryKind::Oci,
];

/// A manifest whose packages are `(registryType, identifier, version)`.
fn with_packages(server_version: &str, packages: &[(&str, &str, Option<&str>)]) -> Value {
    let mut manifest = manifest(NAME, server_version);
    manifest["packages"] = packages
        .iter()
        .map(|(registry_type, identifier, version)| {
            let mut package = json!({
                "registryType": registry_type,
                "identifier": identifier,
                "transport": {"type": "stdio"}
            });
            if let Some(version) = version {
                package["version"] = json!(version);
            }
            package
        })
        .collect();
    manifest
}

/// Asserts a 422 whose only error points at `packages[index]` and mentions every `needle`.
#[track_caller]
fn assert_refused(response: &TestResponse, index: usize, needles: &[&str]) {
    let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{problem}");
    assert_eq!(
        errors[0]["pointer"],
        format!("/packages/{index}/identifier"),
        "{problem}"
    );
    let message = errors[0]["message"].as_str().unwrap();
    for needle in needles {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
}

async fn versions(app: &TestApp) -> usize {
    let response = app
        .get(&format!("/v0.1/servers/{}/versions", encode(NAME)))
        .await;
    if response.status == StatusCode::NOT_FOUND {
        return 0;
    }
    response.ok()["servers"].as_array().unwrap().len()
}

async fn npm_mcp_name(db: TestDb) {
    let addr = fake_registry().await;
    let app = TestApp::with_config(db, config_for(addr, &ALL)).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let npm = |version| with_packages("1.0.0", &[("npm", "@alice/weather", Some(version))]);

    assert_refused(
        &app.publish(&token, &npm("2.0.0")).await,
        0,
        &[
            "npm",
            "`@alice/weather@2.0.0`",
            "has no `mcpName`",
            &format!("\"mcpName\": \"{NAME}\""),
        ],
    );
    assert_refused(
        &app.publish(&token, &npm("3.0.0")).await,
        0,
        &["io.github.bob/weather", NAME],
    );
    assert_refused(
        &app.publish(&token, &npm("9.9.9")).await,
        0,
        &["`@alice/weather` has no version `9.9.9`"],
    );
    assert_refused(
        &app.publish(
            &token,
            &with_packages("1.0.0", &[("npm", "@alice/ghost", Some("1.0.0"))]),
        )
        .await,
        0,
        &["`@alice/ghost` does not exist"],
    );
    assert_eq!(versions(&app).await, 0);

    // The envelope form: pointers are under `/server`.
    let envelope = json!({"server": npm("2.0.0"), "acknowledge": []});
    let problem = app
        .publish(&token, &envelope)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem["errors"][0]["pointer"],
        "/server/packages/0/identifier"
    );

    app.publish(&token, &npm("1.0.0")).await.ok();
    assert_eq!(versions(&app).await, 1);
}

async fn readme_markers(db: TestDb) {
    let addr = fake_registry().await;
    let app = TestApp::with_config(db, config_for(addr, &ALL)).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let one = |registry_type, identifier, version| {
        with_packages("1.0.0", &[(registry_type, identifier, Some(version))])
    };
    let marker = format!("mcp-name: {NAME}");

    // PyPI.
    assert_refused(
        &app.publish(&token, &one("pypi", "weather-mcp", "2.0.0"))
            .await,
        0,
        &[
            "PyPI",
            "`weather-mcp==2.0.0`",
            "no `mcp-name:` marker",
            &marker,
        ],
    );
    assert_refused(
        &app.publish(&token, &one("pypi", "weather-mcp", "3.0.0"))
            .await,
        0,
        &["`mcp-name: io.github.bob/weather`", &marker],
    );
    assert_refused(
        &app.publish(&token, &one("pypi", "weather-mcp", "4.0.0"))
            .await,
        0,
        &[&format!("`mcp-name: {NAME}-pro`")],
    );
    assert_refused(
        &app.publish(&token, &one("pypi", "weather-mcp", "5.0.0"))
            .await,
        0,
        &["PyPI has no package `weather-mcp` with version `5.0.0`"],
    );

    // NuGet: the README, the version and the package are told apart.
    assert_refused(
        &app.publish(&token, &one("nuget", "Alice.Weather", "2.0.0"))
            .await,
        0,
        &[
            "NuGet",
            "`Alice.Weather 2.0.0`",
            "no `mcp-name:` marker",
            &marker,
        ],
    );
    assert_refused(
        &app.publish(&token, &one("nuget", "Alice.Weather", "3.0.0"))
            .await,
        0,
        &["`Alice.Weather 3.0.0` has no README"],
    );
    assert_refused(
        &app.publish(&token, &one("nuget", "Alice.Weather", "4.0.0"))
            .await,
        0,
        &["`Alice.Weather` has no version `4.0.0`"],
    );
    assert_refused(
        &app.publish(&token, &one("nuget", "Bob.Ghost", "1.0.0"))
            .await,
        0,
        &["`Bob.Ghost` does not exist"],
    );

    // crates.io.
    assert_refused(
        &app.publish(&token, &one("cargo", "weather-mcp", "2.0.0"))
            .await,
        0,
        &["crates.io", "`weather-mcp@2.0.0`", "visible text", &marker],
    );
    assert_refused(
        &app.publish(&token, &one("cargo", "weather-mcp", "3.0.0"))
            .await,
        0,
        &["crates.io has no README for crate `weather-mcp@3.0.0`"],
    );

    // Several packages: each problem points at its own package.
    let problem = app
        .publish(
            &token,
            &with_packages(
                "1.0.0",
                &[
                    ("pypi", "weather-mcp", Some("1.0.0")),
                    ("nuget", "Alice.Weather", Some("2.0.0")),
                    ("cargo", "weather-mcp", Some("2.0.0")),
                ],
            ),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        ["/packages/1/identifier", "/packages/2/identifier"],
        "{problem}"
    );
    assert_eq!(versions(&app).await, 0);

    app.publish(
        &token,
        &with_packages(
            "1.0.0",
            &[
                ("pypi", "weather-mcp", Some("1.0.0")),
                ("nuget", "Alice.Weather", Some("1.0.0")),
                ("cargo", "weather-mcp", Some("1.0.0")),
            ],
        ),
    )
    .await
    .ok();
    assert_eq!(versions(&app).await, 1);
}

async fn oci_labels(db: TestDb) {
    let addr = fake_registry().await;
    let app = TestApp::with_config(db, config_for(addr, &ALL)).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let image = |identifier| with_packages("1.0.0", &[("oci", identifier, None)]);

    assert_refused(
        &app.publish(&token, &image("ghcr.io/alice/weather:2.0.0"))
            .await,
        0,
        &[
            "OCI image `ghcr.io/alice/weather:2.0.0` has no label",
            &format!("LABEL {OCI_LABEL}=\"{NAME}\""),
        ],
    );
    assert_refused(
        &app.publish(&token, &image("ghcr.io/alice/weather:3.0.0"))
            .await,
        0,
        &["io.github.bob/weather", NAME],
    );
    assert_refused(
        &app.publish(&token, &image("ghcr.io/alice/weather:9.0.0"))
            .await,
        0,
        &["`ghcr.io/alice/weather:9.0.0` was not found"],
    );
    assert_eq!(versions(&app).await, 0);
    // An index: the linux/amd64 image's labels count (through the anonymous token flow).
    app.publish(&token, &image("ghcr.io/alice/weather:1.0.0"))
        .await
        .ok();
    assert_eq!(versions(&app).await, 1);
}

async fn disabled_registries_are_not_checked(db: TestDb) {
    let addr = fake_registry().await;
    // Only PyPI is checked: an npm package without `mcpName` passes.
    let app = TestApp::with_config(db, config_for(addr, &[RegistryKind::Pypi])).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    app.publish(
        &token,
        &with_packages(
            "1.0.0",
            &[
                ("npm", "@alice/weather", Some("2.0.0")),
                ("pypi", "weather-mcp", Some("1.0.0")),
                ("oci", "ghcr.io/alice/weather:2.0.0", None),
            ],
        ),
    )
    .await
    .ok();
    assert_refused(
        &app.publish(
            &token,
            &with_packages(
                "1.1.0",
                &[
                    ("npm", "@alice/weather", Some("2.0.0")),
                    ("pypi", "weather-mcp", Some("2.0.0")),
                ],
            ),
        )
        .await,
        1,
        &["PyPI"],
    );

    // The default configuration checks nothing (and contacts nobody).
    assert!(ServerConfig::default().ownership.enabled.is_empty());
    let app = TestApp::new(TestDb::sqlite().await).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    app.publish(
        &token,
        &with_packages("1.0.0", &[("npm", "@nobody/nothing", Some("1.0.0"))]),
    )
    .await
    .ok();
}

async fn unreachable_registry_is_503(db: TestDb) {
    // A port that was just free: nothing listens there.
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let app = TestApp::with_config(db, config_for(closed, &ALL)).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let response = app
        .publish(
            &token,
            &with_packages("1.0.0", &[("npm", "@alice/weather", Some("1.0.0"))]),
        )
        .await;
    let problem = response.problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("30")
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("npm registry") && detail.contains(&closed.to_string()),
        "{detail}"
    );
    assert_eq!(problem["errors"][0]["pointer"], "/packages/0/identifier");
    assert_eq!(versions(&app).await, 0);
}
