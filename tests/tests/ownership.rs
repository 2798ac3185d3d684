//! Package ownership verification at publish (`--verify-packages`), against one fake package registry on
//! a loopback socket that speaks the npm, PyPI, NuGet, crates.io and OCI (with the anonymous token flow)
//! shapes from in-memory fixtures, and serves MCPB bundles at their github.com / gitlab.com paths
//! (through the download mirror setting). No test reaches the internet.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

registry_tests::on_both_engines!(
    npm_mcp_name,
    readme_markers,
    oci_labels,
    oci_registry_allow_list,
    oci_registries_added_by_config,
    oci_private_addresses_are_refused,
    mcpb_bundles,
    mcpb_digests,
    mcpb_url_rules,
    mcpb_size_cap,
    mcpb_download_failures,
    mcpb_private_addresses_are_refused,
    mcpb_not_checked_when_disabled,
    disabled_registries_are_not_checked,
    unreachable_registry_is_503,
);

const NAME: &str = "io.github.alice/weather";
const TOKEN: &str = "anonymous-pull-token";

/// An MCPB bundle (its bytes only matter for the digest).
const BUNDLE: &[u8] = b"PK\x03\x04 fake MCP bundle for io.github.alice/weather\n";
/// `sha256sum` of [`BUNDLE`], computed outside the code under test.
const BUNDLE_SHA256: &str = "762d3f8793b6cc774b3b649a983f77ef5a8f7411119bec3eaca601dd673d3993";
/// Where the fake serves the bundle: a github.com release asset path.
const RELEASE: &str = "/alice/weather-mcp/releases/download/v1.0.0";

/// Path → JSON or text body, bytes, a redirect or a bare status; everything else is 404.
type Fixtures = HashMap<String, Fixture>;

enum Fixture {
    Json(Value),
    Text(&'static str, String),
    Bytes(Vec<u8>),
    Redirect(String),
    Status(StatusCode),
}

/// The fake registry: its address and the paths it was asked for.
struct Fake {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

struct FakeState {
    fixtures: Fixtures,
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
}

/// Starts the fake registry.
async fn fake_registry() -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let mut fixtures = Fixtures::new();
    oci_fixtures(&mut fixtures);
    mcpb_fixtures(&mut fixtures);
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
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Arc::new(FakeState {
        fixtures,
        base,
        seen: seen.clone(),
    });
    let router = Router::new().fallback(serve_fixture).with_state(state);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Fake { addr, seen }
}

/// MCPB: bundles at release-asset paths (as the download mirror sees them), and the ways a
/// download goes wrong.
fn mcpb_fixtures(fixtures: &mut Fixtures) {
    let mut put = |path: &str, fixture: Fixture| {
        fixtures.insert(path.to_owned(), fixture);
    };
    put(
        &format!("{RELEASE}/weather-mcp.mcpb"),
        Fixture::Bytes(BUNDLE.to_vec()),
    );
    put(
        "/alice/weather-mcp/-/releases/v1.0.0/downloads/weather.mcpb",
        Fixture::Bytes(BUNDLE.to_vec()),
    );
    put(
        "/alice/weather-mcp/-/package_files/42/download",
        Fixture::Bytes(BUNDLE.to_vec()),
    );
    put(
        "/any/where/weather-mcp.bin",
        Fixture::Bytes(BUNDLE.to_vec()),
    );
    put(
        &format!("{RELEASE}/big-mcp.mcpb"),
        Fixture::Bytes(vec![b'x'; 64 * 1024]),
    );
    put(
        &format!("{RELEASE}/broken-mcp.mcpb"),
        Fixture::Status(StatusCode::INTERNAL_SERVER_ERROR),
    );
    put(
        &format!("{RELEASE}/private-mcp.mcpb"),
        Fixture::Status(StatusCode::FORBIDDEN),
    );
    // GitHub hands release assets out from its CDN; relative redirects stay on the host.
    put(
        &format!("{RELEASE}/moved-mcp.mcpb"),
        Fixture::Redirect(
            "https://release-assets.githubusercontent.com/cdn/weather-mcp.mcpb".to_owned(),
        ),
    );
    put(
        "/cdn/weather-mcp.mcpb",
        Fixture::Redirect(format!("{RELEASE}/weather-mcp.mcpb")),
    );
    put(
        &format!("{RELEASE}/escape-mcp.mcpb"),
        Fixture::Redirect("https://evil.example.com/weather-mcp.mcpb".to_owned()),
    );
    put(
        &format!("{RELEASE}/downgrade-mcp.mcpb"),
        Fixture::Redirect(format!("http://github.com{RELEASE}/weather-mcp.mcpb")),
    );
    put(
        &format!("{RELEASE}/loop-mcp.mcpb"),
        Fixture::Redirect(format!("{RELEASE}/loop-mcp.mcpb")),
    );
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
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let FakeState {
        fixtures,
        base,
        seen,
    } = state.as_ref();
    let path = uri.path();
    seen.lock().unwrap().push(path.to_owned());
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
        Some(Fixture::Bytes(body)) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            body.clone(),
        )
            .into_response(),
        Some(Fixture::Redirect(location)) => {
            (StatusCode::FOUND, [(header::LOCATION, location.clone())]).into_response()
        }
        Some(Fixture::Status(status)) => (*status, "no").into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// A plain-HTTP server that answers every request with an endless chunked body (no
/// `Content-Length`), so only a cap on the bytes read ends the download.
async fn endless_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut chunk = b"1000\r\n".to_vec();
                chunk.extend_from_slice(&[b'y'; 0x1000]);
                chunk.extend_from_slice(b"\r\n");
                // At most 256 MiB, so a missing cap fails the test instead of hanging it.
                for _ in 0..65_536 {
                    if socket.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    addr
}

/// A listener that only counts the connections made to it.
async fn counting_listener() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (addr, count)
}

/// These registry types enabled, all pointed at the fake (OCI and MCPB through their mirrors).
fn config_for(addr: SocketAddr, enabled: &[RegistryKind]) -> ServerConfig {
    with_ownership(addr, enabled, |_| {})
}

/// [`config_for`], then `change` applied to the ownership settings.
fn with_ownership(
    addr: SocketAddr,
    enabled: &[RegistryKind],
    change: impl FnOnce(&mut OwnershipConfig),
) -> ServerConfig {
    let url = |path: &str| Url::parse(&format!("http://{addr}{path}")).unwrap();
    let mut ownership = OwnershipConfig {
        enabled: enabled.to_vec(),
        npm_url: url("/npm"),
        pypi_url: url("/pypi"),
        nuget_url: url("/nuget/index.json"),
        crates_url: url("/crates"),
        oci_url: Some(url("/")),
        mcpb_base_override: Some(url("/")),
        ..OwnershipConfig::default()
    };
    change(&mut ownership);
    ServerConfig {
        ownership,
        ..ServerConfig::default()
    }
}

const ALL: [RegistryKind; 6] = [
    RegistryKind::Npm,
    RegistryKind::Pypi,
    RegistryKind::Nuget,
    RegistryKind::Cargo,
    RegistryKind::Oci,
    RegistryKind::Mcpb,
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

/// A manifest with one MCPB package.
fn with_bundle(server_version: &str, url: &str, sha256: Option<&str>) -> Value {
    let mut manifest = with_packages(server_version, &[("mcpb", url, None)]);
    if let Some(sha256) = sha256 {
        manifest["packages"][0]["fileSha256"] = json!(sha256);
    }
    manifest
}

/// Asserts a 422 whose only error points at `packages[index].identifier` and mentions every
/// `needle`.
#[track_caller]
fn assert_refused(response: &TestResponse, index: usize, needles: &[&str]) {
    assert_refused_at(response, &format!("/packages/{index}/identifier"), needles);
}

/// Asserts a 422 whose only error points at `pointer` and mentions every `needle`.
#[track_caller]
fn assert_refused_at(response: &TestResponse, pointer: &str, needles: &[&str]) {
    let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{problem}");
    assert_eq!(errors[0]["pointer"], pointer, "{problem}");
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
    let fake = fake_registry().await;
    let app = TestApp::with_config(db, config_for(fake.addr, &ALL)).await;
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
    let fake = fake_registry().await;
    let app = TestApp::with_config(db, config_for(fake.addr, &ALL)).await;
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
    let fake = fake_registry().await;
    let app = TestApp::with_config(db, config_for(fake.addr, &ALL)).await;
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

async fn oci_registry_allow_list(db: TestDb) {
    let fake = fake_registry().await;
    let app = TestApp::with_config(db, config_for(fake.addr, &ALL)).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let image = |identifier| with_packages("1.0.0", &[("oci", identifier, None)]);

    // Judged on the reference before any request, even with a mirror configured.
    for (identifier, registry) in [
        (
            "registry.example.com/alice/weather:1.0.0",
            "registry.example.com",
        ),
        ("localhost:5000/alice/weather:1.0.0", "localhost:5000"),
        ("pkg.dev/alice/weather:1.0.0", "pkg.dev"),
    ] {
        assert_refused(
            &app.publish(&token, &image(identifier)).await,
            0,
            &[
                &format!(
                    "OCI image `{identifier}` is on registry `{registry}`, which this registry does not accept"
                ),
                "images must come from: docker.io, index.docker.io, registry-1.docker.io, ghcr.io, *.pkg.dev, *.azurecr.io, mcr.microsoft.com, quay.io",
            ],
        );
    }
    assert_eq!(fake.requests(), Vec::<String>::new());
    assert_eq!(versions(&app).await, 0);

    // The defaults: Docker Hub (a bare name) and `*.pkg.dev` reach the registry.
    app.publish(&token, &image("alice/weather:1.0.0"))
        .await
        .ok();
    app.publish(
        &token,
        &with_packages(
            "2.0.0",
            &[("oci", "europe-docker.pkg.dev/alice/weather:1.0.0", None)],
        ),
    )
    .await
    .ok();
    assert!(
        fake.requests()
            .contains(&"/v2/alice/weather/manifests/1.0.0".to_owned()),
        "{:?}",
        fake.requests()
    );
    assert_eq!(versions(&app).await, 2);
}

async fn oci_registries_added_by_config(db: TestDb) {
    let fake = fake_registry().await;
    let config = with_ownership(fake.addr, &ALL, |ownership| {
        ownership.oci_allowed_registries = vec![
            "registry.example.com".parse().unwrap(),
            "*.example.org".parse().unwrap(),
        ];
    });
    let app = TestApp::with_config(db, config).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let image = |version, identifier| with_packages(version, &[("oci", identifier, None)]);

    app.publish(
        &token,
        &image("1.0.0", "registry.example.com/alice/weather:1.0.0"),
    )
    .await
    .ok();
    app.publish(
        &token,
        &image("2.0.0", "eu.example.org/alice/weather:1.0.0"),
    )
    .await
    .ok();
    assert_eq!(versions(&app).await, 2);
    // The label check still runs on an added registry.
    assert_refused(
        &app.publish(
            &token,
            &image("3.0.0", "registry.example.com/alice/weather:2.0.0"),
        )
        .await,
        0,
        &["OCI image `registry.example.com/alice/weather:2.0.0` has no label"],
    );
    // A wildcard covers names under the suffix, not the suffix itself.
    assert_refused(
        &app.publish(&token, &image("3.0.0", "example.org/alice/weather:1.0.0"))
            .await,
        0,
        &[
            "registry `example.org`",
            "quay.io, registry.example.com, *.example.org",
        ],
    );
}

async fn oci_private_addresses_are_refused(db: TestDb) {
    // No mirror: the image's own registry is contacted, and it must be public.
    let (addr, connections) = counting_listener().await;
    let port = addr.port();
    let config = with_ownership(addr, &[RegistryKind::Oci], |ownership| {
        ownership.oci_url = None;
        ownership.oci_allowed_registries = vec![
            format!("localhost:{port}").parse().unwrap(),
            format!("127.0.0.1:{port}").parse().unwrap(),
        ];
    });
    let app = TestApp::with_config(db, config).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    for registry in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let identifier = format!("{registry}/alice/weather:1.0.0");
        assert_refused(
            &app.publish(
                &token,
                &with_packages("1.0.0", &[("oci", &identifier, None)]),
            )
            .await,
            0,
            &[
                "the OCI registry at `https://",
                "cannot be used",
                "a loopback address; the registry only fetches from public addresses",
                "the registry only fetches from public addresses",
            ],
        );
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0);
    assert_eq!(versions(&app).await, 0);
}

/// `https://github.com{RELEASE}/{file}`.
fn github_asset(file: &str) -> String {
    format!("https://github.com{RELEASE}/{file}")
}

async fn mcpb_bundles(db: TestDb) {
    let fake = fake_registry().await;
    let config = with_ownership(fake.addr, &ALL, |ownership| {
        ownership.mcpb_allowed_hosts = vec!["downloads.example.com".parse().unwrap()];
    });
    let app = TestApp::with_config(db, config).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let good = |version, url: &str| with_bundle(version, url, Some(BUNDLE_SHA256));

    // A github.com release asset, through the mirror.
    app.publish(&token, &good("1.0.0", &github_asset("weather-mcp.mcpb")))
        .await
        .ok();
    assert_eq!(
        fake.requests(),
        [format!("{RELEASE}/weather-mcp.mcpb")],
        "the mirror gets the path of the bundle URL"
    );
    // GitHub's CDN redirect, then a relative one.
    app.publish(&token, &good("2.0.0", &github_asset("moved-mcp.mcpb")))
        .await
        .ok();
    // gitlab.com: both release-asset forms.
    app.publish(
        &token,
        &good(
            "3.0.0",
            "https://gitlab.com/alice/weather-mcp/-/releases/v1.0.0/downloads/weather.mcpb",
        ),
    )
    .await
    .ok();
    app.publish(
        &token,
        &good(
            "4.0.0",
            "https://gitlab.com/alice/weather-mcp/-/package_files/42/download",
        ),
    )
    .await
    .ok();
    // An added host: any path.
    app.publish(
        &token,
        &good(
            "5.0.0",
            "https://downloads.example.com/any/where/weather-mcp.bin",
        ),
    )
    .await
    .ok();
    assert_eq!(versions(&app).await, 5);

    // Redirects must stay on https and on allowed hosts, and end.
    let refusals = [
        (
            "escape-mcp.mcpb",
            "redirects to `https://evil.example.com/weather-mcp.mcpb`, a host this registry does not download from",
        ),
        ("downgrade-mcp.mcpb", ", which is not https"),
        ("loop-mcp.mcpb", "redirects more than 5 times"),
    ];
    for (file, needle) in refusals {
        assert_refused(
            &app.publish(&token, &good("9.0.0", &github_asset(file)))
                .await,
            0,
            &[&format!("MCPB bundle `{}`", github_asset(file)), needle],
        );
    }
    let loops = fake
        .requests()
        .iter()
        .filter(|path| path.ends_with("loop-mcp.mcpb"))
        .count();
    assert_eq!(loops, 6, "the first request and five redirects");
    assert!(
        !fake.requests().iter().any(|p| p.contains("evil")),
        "{:?}",
        fake.requests()
    );
    assert_eq!(versions(&app).await, 5);
}

async fn mcpb_digests(db: TestDb) {
    let fake = fake_registry().await;
    let app = TestApp::with_config(db, config_for(fake.addr, &ALL)).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let url = github_asset("weather-mcp.mcpb");
    let wrong = "0".repeat(64);

    assert_refused_at(
        &app.publish(&token, &with_bundle("1.0.0", &url, Some(&wrong)))
            .await,
        "/packages/0/fileSha256",
        &[&format!(
            "`fileSha256` is {wrong}, but the bundle at `{url}` has SHA-256 {BUNDLE_SHA256}"
        )],
    );
    // Ill-formed or missing: manifest validation (the schema's pattern) refuses them before the
    // ownership check (whose own messages the server's unit tests cover), at the same place.
    let upper = BUNDLE_SHA256.to_ascii_uppercase();
    let (not_hex, too_long) = ("g".repeat(64), format!("{BUNDLE_SHA256}0"));
    for bad in ["abc", not_hex.as_str(), too_long.as_str(), upper.as_str()] {
        assert_refused_at(
            &app.publish(&token, &with_bundle("1.0.0", &url, Some(bad)))
                .await,
            "/packages/0/fileSha256",
            &[&format!("\"{bad}\""), "{64}"],
        );
    }
    assert_refused_at(
        &app.publish(&token, &with_bundle("1.0.0", &url, None)).await,
        "/packages/0/fileSha256",
        &["mcpb packages need fileSha256"],
    );
    // Only the wrong digest needed the download.
    assert_eq!(fake.requests(), [format!("{RELEASE}/weather-mcp.mcpb")]);
    assert_eq!(versions(&app).await, 0);
}

async fn mcpb_url_rules(db: TestDb) {
    let fake = fake_registry().await;
    let app = TestApp::with_config(db, config_for(fake.addr, &ALL)).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let refusals = [
        (
            "https://github.com/alice/weather-mcp/raw/main/weather-mcp.mcpb",
            "is not a release asset; on github.com a bundle must be a release download: `https://github.com/{owner}/{repo}/releases/download/{tag}/{file}`",
        ),
        (
            "https://github.com/alice/weather-mcp/releases/latest/download/weather-mcp.mcpb",
            "is not a release asset",
        ),
        (
            "https://gitlab.com/alice/weather-mcp/-/raw/main/weather.mcpb",
            "is not a release asset; on gitlab.com",
        ),
        (
            "https://downloads.example.com/weather-mcp.mcpb",
            "MCPB bundle host `downloads.example.com` is not accepted; bundles must be downloadable from: github.com, gitlab.com",
        ),
        (
            "https://github.com/alice/weather/releases/download/v1.0.0/weather.zip",
            "must contain `mcp`",
        ),
    ];
    for (url, needle) in refusals {
        assert_refused(
            &app.publish(&token, &with_bundle("1.0.0", url, Some(BUNDLE_SHA256)))
                .await,
            0,
            &[needle],
        );
    }
    // http: manifest validation refuses it first, at the same place.
    assert_refused(
        &app.publish(
            &token,
            &with_bundle(
                "1.0.0",
                "http://github.com/a/b/releases/download/v1/mcp.mcpb",
                Some(BUNDLE_SHA256),
            ),
        )
        .await,
        0,
        &["https"],
    );
    assert_eq!(fake.requests(), Vec::<String>::new());
    assert_eq!(versions(&app).await, 0);
}

async fn mcpb_size_cap(db: TestDb) {
    let fake = fake_registry().await;
    let config = with_ownership(fake.addr, &ALL, |ownership| {
        ownership.mcpb_max_bytes = 1024;
    });
    let app = TestApp::with_config(db, config).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let url = github_asset("big-mcp.mcpb");
    // Refused on its `Content-Length`.
    assert_refused(
        &app.publish(&token, &with_bundle("1.0.0", &url, Some(BUNDLE_SHA256)))
            .await,
        0,
        &[&format!("MCPB bundle `{url}` is larger than 1024 bytes")],
    );
    // The small bundle still passes under the cap.
    app.publish(
        &token,
        &with_bundle(
            "1.0.0",
            &github_asset("weather-mcp.mcpb"),
            Some(BUNDLE_SHA256),
        ),
    )
    .await
    .ok();

    // No length announced: the download stops once it passes the cap.
    let endless = endless_server().await;
    let config = with_ownership(endless, &ALL, |ownership| {
        ownership.mcpb_max_bytes = 1024;
    });
    let app = TestApp::with_config(TestDb::sqlite().await, config).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let url = github_asset("endless-mcp.mcpb");
    assert_refused(
        &app.publish(&token, &with_bundle("1.0.0", &url, Some(BUNDLE_SHA256)))
            .await,
        0,
        &[&format!("MCPB bundle `{url}` is larger than 1024 bytes")],
    );
}

async fn mcpb_download_failures(db: TestDb) {
    let fake = fake_registry().await;
    let app = TestApp::with_config(db, config_for(fake.addr, &ALL)).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;

    let missing = github_asset("missing-mcp.mcpb");
    assert_refused(
        &app.publish(&token, &with_bundle("1.0.0", &missing, Some(BUNDLE_SHA256)))
            .await,
        0,
        &[&format!(
            "MCPB bundle `{missing}` was not found (the download answered 404 Not Found)"
        )],
    );
    let private = github_asset("private-mcp.mcpb");
    assert_refused(
        &app.publish(&token, &with_bundle("1.0.0", &private, Some(BUNDLE_SHA256)))
            .await,
        0,
        &["answered 403 Forbidden", "it must be public"],
    );

    let broken = github_asset("broken-mcp.mcpb");
    let response = app
        .publish(&token, &with_bundle("1.0.0", &broken, Some(BUNDLE_SHA256)))
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
        detail.contains(&format!(
            "the MCPB download `{broken}` answered 500 Internal Server Error"
        )),
        "{detail}"
    );
    assert_eq!(problem["errors"][0]["pointer"], "/packages/0/identifier");

    // Nothing listening at the mirror: 503 too.
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let app = TestApp::with_config(TestDb::sqlite().await, config_for(closed, &ALL)).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let url = github_asset("weather-mcp.mcpb");
    let problem = app
        .publish(&token, &with_bundle("1.0.0", &url, Some(BUNDLE_SHA256)))
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("the MCPB download `{url}` could not be reached")),
        "{detail}"
    );
    assert_eq!(problem["errors"][0]["pointer"], "/packages/0/identifier");
}

async fn mcpb_private_addresses_are_refused(db: TestDb) {
    // No mirror: the bundle's own host is contacted, and it must be public.
    let (addr, connections) = counting_listener().await;
    let port = addr.port();
    let config = with_ownership(addr, &[RegistryKind::Mcpb], |ownership| {
        ownership.mcpb_base_override = None;
        ownership.mcpb_allowed_hosts = vec![
            format!("localhost:{port}").parse().unwrap(),
            format!("127.0.0.1:{port}").parse().unwrap(),
        ];
    });
    let app = TestApp::with_config(db, config).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let url = format!("https://{host}/bundles/weather-mcp.mcpb");
        assert_refused(
            &app.publish(&token, &with_bundle("1.0.0", &url, Some(BUNDLE_SHA256)))
                .await,
            0,
            &[
                &format!("MCPB bundle `{url}` cannot be downloaded"),
                "a loopback address; the registry only fetches from public addresses",
                "the registry only fetches from public addresses",
            ],
        );
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0);
    assert_eq!(versions(&app).await, 0);
}

async fn mcpb_not_checked_when_disabled(db: TestDb) {
    let fake = fake_registry().await;
    let enabled: Vec<RegistryKind> = ALL
        .into_iter()
        .filter(|kind| *kind != RegistryKind::Mcpb)
        .collect();
    let app = TestApp::with_config(db, config_for(fake.addr, &enabled)).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    // A wrong digest on a host that is not allowed: not looked at.
    app.publish(
        &token,
        &with_bundle(
            "1.0.0",
            "https://downloads.example.com/weather.mcpb",
            Some(&"0".repeat(64)),
        ),
    )
    .await
    .ok();
    assert_eq!(fake.requests(), Vec::<String>::new());
    assert_eq!(versions(&app).await, 1);
    // `all_enabled` includes it.
    assert!(
        OwnershipConfig::default()
            .all_enabled()
            .is_enabled(RegistryKind::Mcpb)
    );
}

async fn disabled_registries_are_not_checked(db: TestDb) {
    let fake = fake_registry().await;
    // Only PyPI is checked: an npm package without `mcpName` passes.
    let app = TestApp::with_config(db, config_for(fake.addr, &[RegistryKind::Pypi])).await;
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
