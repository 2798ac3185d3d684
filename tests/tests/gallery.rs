//! What hosts' own registry clients (VS Code's MCP gallery, GitHub Copilot, generated OpenAPI clients)
//! need from us: CORS, URL-safe cursors, honest `updatedAt`, the official API's optional routes, and a
//! compatibility policy real publishers can live with.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected shapes")]

use axum::http::{Method, StatusCode};
use registry_server::auth::Action;
use registry_server::config::ServerConfig;
use registry_server::cors::CorsOrigins;
use registry_server::db::CompatPolicy;
use registry_tests::app::{TestApp, encode, manifest};
use registry_tests::conformance_dir;
use registry_tests::db::TestDb;
use serde_json::{Value, json};

registry_tests::on_both_engines!(
    cors_on_reads_writes_and_errors,
    cors_preflight_is_answered_before_routing,
    cors_origin_list_and_off,
    cursors_survive_unencoded_urls,
    official_cursor_form_is_still_accepted,
    optional_official_routes_answer_501_after_authentication,
    validate_without_body_is_422,
    no_op_status_changes_answer_alike,
    official_seed_history_under_each_policy,
    official_examples_publish,
    accepting_breaks_by_fingerprint,
    policy_overrides_need_edit_and_apply_per_scope,
);

const ORIGIN: &str = "vscode-file://vscode-app";

fn header<'a>(response: &'a registry_tests::app::TestResponse, name: &str) -> Option<&'a str> {
    response.headers.get(name).and_then(|v| v.to_str().ok())
}

async fn cors_on_reads_writes_and_errors(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    app.publish(&token, &manifest("io.github.alice/weather", "1.0.0"))
        .await
        .ok();
    let origin = [("origin", ORIGIN)];
    for uri in [
        "/v0.1/servers",
        "/v0/servers?search=weather",
        "/v0.1/servers/io.github.alice%2Fweather/versions/latest",
        "/v0.1/servers/io.github.alice%2Fnothing/versions",
        "/v0.1/servers?cursor=%25%25%25",
        "/openapi.json",
    ] {
        let response = app.get_with_headers(uri, &origin).await;
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some("*"),
            "{uri} ({})",
            response.status
        );
        let exposed = header(&response, "access-control-expose-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        for name in ["etag", "retry-after", "location"] {
            assert!(exposed.contains(name), "{uri}: {exposed}");
        }
        assert!(
            header(&response, "access-control-allow-credentials").is_none(),
            "no credentials mode"
        );
    }
    // A conditional GET from the browser: 304 still carries the headers.
    let first = app.get_with_headers("/v0.1/servers", &origin).await;
    let etag = header(&first, "etag").unwrap().to_owned();
    let not_modified = app
        .get_with_headers(
            "/v0.1/servers",
            &[("origin", ORIGIN), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        header(&not_modified, "access-control-allow-origin"),
        Some("*")
    );
    // Writes and their refusals.
    let refused = app
        .request_with_headers(
            Method::POST,
            "/v0.1/publish",
            None,
            Some(b"{}".to_vec()),
            &origin,
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(header(&refused, "access-control-allow-origin"), Some("*"));
    let body = serde_json::to_vec(&manifest("io.github.alice/weather", "1.1.0")).unwrap();
    let published = app
        .request_with_headers(
            Method::POST,
            "/v0.1/publish",
            Some(&token),
            Some(body),
            &origin,
        )
        .await;
    assert_eq!(published.status, StatusCode::OK);
    assert_eq!(header(&published, "access-control-allow-origin"), Some("*"));
}

async fn cors_preflight_is_answered_before_routing(db: TestDb) {
    let app = TestApp::new(db).await;
    for (uri, method) in [
        ("/v0.1/servers", "GET"),
        ("/v0.1/publish", "POST"),
        ("/v0.1/validate", "POST"),
        (
            "/v0.1/servers/io.github.a%2Fb/versions/1.0.0/status",
            "PATCH",
        ),
        ("/v0.1/servers/io.github.a%2Fb/status", "PATCH"),
        ("/v0.1/auth/github-at", "POST"),
        ("/v0/servers/io.github.a%2Fb/versions/1.0.0", "GET"),
    ] {
        let response = app
            .request_with_headers(
                Method::OPTIONS,
                uri,
                None,
                None,
                &[
                    ("origin", ORIGIN),
                    ("access-control-request-method", method),
                    (
                        "access-control-request-headers",
                        "authorization, content-type, if-none-match",
                    ),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::NO_CONTENT, "{uri}");
        assert!(response.body.is_empty());
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
        let methods = header(&response, "access-control-allow-methods").unwrap();
        assert!(methods.contains(method), "{uri}: {methods}");
        let headers = header(&response, "access-control-allow-headers")
            .unwrap()
            .to_ascii_lowercase();
        for name in ["authorization", "content-type", "if-none-match"] {
            assert!(headers.contains(name), "{uri}: {headers}");
        }
        let max_age: u64 = header(&response, "access-control-max-age")
            .unwrap()
            .parse()
            .unwrap();
        assert!(max_age >= 600, "{max_age}");
    }
}

async fn cors_origin_list_and_off(db: TestDb) {
    let list = CorsOrigins::parse(&["https://vscode.dev".to_owned()]).unwrap();
    let app = TestApp::with_config(
        db,
        ServerConfig {
            cors: list,
            ..ServerConfig::default()
        },
    )
    .await;
    let allowed = app
        .get_with_headers("/v0.1/servers", &[("origin", "https://vscode.dev")])
        .await;
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some("https://vscode.dev")
    );
    assert!(
        header(&allowed, "vary")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .contains("origin")
    );
    let other = app
        .get_with_headers("/v0.1/servers", &[("origin", "https://evil.example")])
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(header(&other, "access-control-allow-origin").is_none());

    let off = app
        .replica_with(ServerConfig {
            cors: CorsOrigins::Disabled,
            ..ServerConfig::default()
        })
        .await;
    let response = off
        .get_with_headers("/v0.1/servers", &[("origin", ORIGIN)])
        .await;
    assert!(header(&response, "access-control-allow-origin").is_none());
    let preflight = off
        .request_with_headers(
            Method::OPTIONS,
            "/v0.1/servers",
            None,
            None,
            &[("origin", ORIGIN), ("access-control-request-method", "GET")],
        )
        .await;
    assert_eq!(preflight.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// VS Code appends `nextCursor` to the URL as it is: a `+` of build metadata would turn into a space.
async fn cursors_survive_unencoded_urls(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let versions = ["1.0.0+build.1", "1.0.1+build.2", "1.0.2+build.3", "1.0.3"];
    for version in versions {
        app.publish(&token, &manifest("io.github.alice/weather", version))
            .await
            .ok();
    }
    for base in [
        "/v0.1/servers?limit=1",
        "/v0.1/servers?limit=1&search=weather",
    ] {
        let mut seen = Vec::new();
        let mut uri = base.to_owned();
        for _ in 0..10 {
            let page = app.get(&uri).await.ok();
            for server in page["servers"].as_array().unwrap() {
                seen.push(server["server"]["version"].as_str().unwrap().to_owned());
            }
            let Some(cursor) = page["metadata"]["nextCursor"].as_str() else {
                break;
            };
            assert!(
                cursor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "cursor must be URL-safe: {cursor}"
            );
            // Appended without encoding, as VS Code does.
            uri = format!("{base}&cursor={cursor}");
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            versions.len(),
            "{base}: every version once: {seen:?}"
        );
        assert_eq!(seen.len(), versions.len(), "{base}: no repeats: {seen:?}");
    }
}

async fn official_cursor_form_is_still_accepted(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    for name in [
        "io.github.alice/aa",
        "io.github.alice/bb",
        "io.github.alice/cc",
    ] {
        app.publish(&token, &manifest(name, "1.0.0")).await.ok();
    }
    let page = app
        .get("/v0.1/servers?cursor=io.github.alice%2Faa%3A1.0.0")
        .await
        .ok();
    let names: Vec<&str> = page["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["server"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["io.github.alice/bb", "io.github.alice/cc"]);
    app.get("/v0.1/servers?cursor=%21%21")
        .await
        .problem(StatusCode::BAD_REQUEST);
}

async fn optional_official_routes_answer_501_after_authentication(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    app.publish(&token, &manifest("io.github.alice/weather", "1.0.0"))
        .await
        .ok();
    let uri = "/v0.1/servers/io.github.alice%2Fweather/versions/1.0.0";
    let body = serde_json::to_vec(&manifest("io.github.alice/weather", "1.0.0")).unwrap();
    for method in [Method::PUT, Method::DELETE] {
        app.request(method.clone(), uri, None, Some(body.clone()))
            .await
            .problem(StatusCode::UNAUTHORIZED);
        let refused = app
            .request(method.clone(), uri, Some(&token), Some(body.clone()))
            .await
            .problem(StatusCode::NOT_IMPLEMENTED);
        assert!(
            refused["detail"].as_str().unwrap().contains("status"),
            "{refused}"
        );
        app.request(
            method,
            &uri.replace("/v0.1/", "/v0/"),
            Some(&token),
            Some(body.clone()),
        )
        .await
        .problem(StatusCode::NOT_IMPLEMENTED);
    }
    // Nothing changed.
    app.get(uri).await.ok();
}

async fn validate_without_body_is_422(db: TestDb) {
    let app = TestApp::new(db).await;
    for body in [None, Some(b"  \n".to_vec())] {
        let problem = app
            .request(Method::POST, "/v0.1/validate", None, body)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["pointer"], "");
    }
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    app.request(Method::POST, "/v0.1/publish", Some(&token), None)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    // A body that is not a valid manifest is still a 200 report.
    let report = app
        .request(Method::POST, "/v0.1/validate", None, Some(b"{}".to_vec()))
        .await
        .ok();
    assert_eq!(report["valid"], false);
}

async fn no_op_status_changes_answer_alike(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let name = encode("io.github.alice/weather");
    app.publish(&token, &manifest("io.github.alice/weather", "1.0.0"))
        .await
        .ok();
    let one = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/versions/1.0.0/status"),
            &json!({"status": "active", "statusMessage": "ignored"}),
        )
        .await;
    let all = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/status"),
            &json!({"status": "active", "statusMessage": "ignored"}),
        )
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    assert_eq!(all.status, StatusCode::OK, "{}", all.text());
    assert_eq!(all.json()["updatedCount"], 0);
    let official = &one.json()["_meta"]["io.modelcontextprotocol.registry/official"];
    assert_eq!(official["status"], "active");
    assert!(official.get("statusMessage").is_none());
}

fn seed() -> Vec<Value> {
    let text = std::fs::read_to_string(conformance_dir().join("official/seed.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The official registry accepted airtable-mcp-server 1.7.2 and then 1.7.3, which made an environment
/// variable required: a provable break in a patch release.
#[allow(
    clippy::too_many_lines,
    reason = "one history replayed under each policy"
)]
async fn official_seed_history_under_each_policy(db: TestDb) {
    let enforce = TestApp::new(db).await;
    let token = enforce.token(&[(Action::Publish, "*")]).await;
    let mut refused = Vec::new();
    for server in seed() {
        let response = enforce.publish(&token, &server).await;
        match response.status {
            StatusCode::OK => {}
            StatusCode::CONFLICT => refused.push(server),
            other => panic!("{other}: {}", response.text()),
        }
    }
    assert_eq!(
        refused
            .iter()
            .map(|s| format!(
                "{}@{}",
                s["name"].as_str().unwrap(),
                s["version"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        ["io.github.domdomegg/airtable-mcp-server@1.7.3"],
        "enforce refuses the unannounced break"
    );
    // Accepting it stores it, flagged.
    for server in &refused {
        let accepted = enforce
            .request(
                Method::POST,
                "/v0.1/publish",
                Some(&token),
                Some(
                    serde_json::to_vec(&json!({"server": server, "accept_breaking": true}))
                        .unwrap(),
                ),
            )
            .await
            .ok();
        assert_eq!(
            accepted["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"],
            true
        );
        let name = encode(server["name"].as_str().unwrap());
        let report = enforce
            .get(&format!(
                "/v0.1/x/dev.mcp-reg/servers/{name}/versions/1.7.3/compat"
            ))
            .await
            .ok();
        assert_eq!(report["unannounced_break"]["how"], "accepted", "{report}");
        let served = enforce
            .get(&format!("/v0.1/servers/{name}/versions/1.7.3"))
            .await
            .ok();
        let flag = &served["_meta"]["dev.mcp-reg/compat"];
        assert_eq!(flag["breaking"], true, "{served}");
        assert_eq!(flag["how"], "accepted");
        assert_eq!(flag["requiredBump"], "major");
        let earlier = enforce
            .get(&format!("/v0.1/servers/{name}/versions/1.7.2"))
            .await
            .ok();
        assert!(earlier["_meta"].get("dev.mcp-reg/compat").is_none());
        assert_eq!(report["policy"], "enforce");
        assert!(
            !report["unannounced_break"]["reasons"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    let audit_token = enforce.token(&[(Action::Edit, "*")]).await;
    let audit = enforce
        .request(
            Method::GET,
            "/v0.1/x/dev.mcp-reg/audit",
            Some(&audit_token),
            None,
        )
        .await
        .ok();
    let accepted_entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "publish-breaking-accepted")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(accepted_entry["version"], "1.7.3");
    assert!(
        accepted_entry["actor"]
            .as_str()
            .unwrap()
            .starts_with("token:")
    );

    // Under `advise` every seed version is accepted as the official registry accepted it.
    let advise = enforce
        .replica_with(ServerConfig {
            compat_policy: CompatPolicy::Advise,
            ..ServerConfig::default()
        })
        .await;
    let other_token = advise.token(&[(Action::Publish, "*")]).await;
    for server in seed() {
        let mut renamed = server.clone();
        // A second copy of the history under another namespace, published through the advising replica.
        let name = server["name"]
            .as_str()
            .unwrap()
            .replace("io.github.", "io.github.copy-");
        renamed["name"] = json!(name);
        if let Some(remotes) = renamed.get_mut("remotes").and_then(Value::as_array_mut) {
            for remote in remotes {
                let url = remote["url"].as_str().unwrap().to_owned();
                remote["url"] = json!(format!("{url}/copy"));
            }
        }
        let response = advise.publish(&other_token, &renamed).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{name}: {}",
            response.text()
        );
    }
    let name = encode("io.github.copy-domdomegg/airtable-mcp-server");
    let report = advise
        .get(&format!(
            "/v0.1/x/dev.mcp-reg/servers/{name}/versions/1.7.3/compat"
        ))
        .await
        .ok();
    assert_eq!(report["verdict"], "reject");
    assert_eq!(report["policy"], "advise");
    assert_eq!(report["unannounced_break"]["how"], "advise");
}

async fn official_examples_publish(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "*")]).await;
    let dir = conformance_dir().join("official/examples/valid");
    let mut published = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let server: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let response = app.publish(&token, &server).await;
        assert!(
            response.status == StatusCode::OK,
            "{}: {} {}",
            path.display(),
            response.status,
            response.text()
        );
        published += 1;
    }
    assert!(published >= 3);
}

/// A surface whose only tool gains a required parameter: a major change.
fn with_surface(version: &str, required_extra: bool) -> Value {
    let mut properties = json!({"city": {"type": "string"}});
    let mut required = vec!["city"];
    if required_extra {
        properties["units"] = json!({"type": "string"});
        required.push("units");
    }
    let mut server = manifest("io.github.alice/weather", version);
    server["_meta"] = json!({"dev.mcp-reg/surface": {
        "serverInfo": {"name": "weather", "version": version},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "tools": [{"name": "forecast", "inputSchema": {"type": "object", "properties": properties, "required": required}}]
    }});
    server
}

async fn accepting_breaks_by_fingerprint(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    app.publish(&token, &with_surface("1.0.0", false))
        .await
        .ok();
    let refusal = app
        .publish(&token, &with_surface("1.0.1", true))
        .await
        .problem(StatusCode::CONFLICT);
    let fingerprints: Vec<String> = refusal["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "major")
        .map(|f| f["fingerprint"].as_str().unwrap().to_owned())
        .collect();
    assert!(!fingerprints.is_empty(), "{refusal}");
    let publish = |accept: Value| {
        let body = json!({"server": with_surface("1.0.1", true), "accept_breaking": accept});
        app.request(
            Method::POST,
            "/v0.1/publish",
            Some(&token),
            Some(serde_json::to_vec(&body).unwrap()),
        )
    };
    // Accepting something else does not cover the break.
    publish(json!(["000000000000"]))
        .await
        .problem(StatusCode::CONFLICT);
    publish(json!(["not-a-fingerprint"]))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    publish(json!(false)).await.problem(StatusCode::CONFLICT);
    publish(json!(fingerprints)).await.ok();
    let report = app
        .get("/v0.1/x/dev.mcp-reg/servers/io.github.alice%2Fweather/versions/1.0.1/compat")
        .await
        .ok();
    assert_eq!(
        report["unannounced_break"]["fingerprints"],
        json!(fingerprints)
    );
}

async fn policy_overrides_need_edit_and_apply_per_scope(db: TestDb) {
    let app = TestApp::new(db).await;
    let publisher = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let editor = app.token(&[(Action::Edit, "io.github.alice/*")]).await;
    app.publish(&publisher, &with_surface("1.0.0", false))
        .await
        .ok();
    let body = |policy: &str| Some(serde_json::to_vec(&json!({"policy": policy})).unwrap());
    let ns_uri = "/v0.1/x/dev.mcp-reg/namespaces/io.github.alice/compat-policy";
    let server_uri = "/v0.1/x/dev.mcp-reg/servers/io.github.alice%2Fweather/compat-policy";
    app.request(Method::PUT, ns_uri, None, body("advise"))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.request(Method::PUT, ns_uri, Some(&publisher), body("advise"))
        .await
        .problem(StatusCode::FORBIDDEN);
    app.request(Method::PUT, ns_uri, Some(&editor), body("lenient"))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let set = app
        .request(Method::PUT, ns_uri, Some(&editor), body("advise"))
        .await
        .ok();
    assert_eq!(
        set,
        json!({"scope": "namespace", "name": "io.github.alice", "policy": "advise", "source": "override"})
    );
    // The namespace advises: the break is stored.
    app.publish(&publisher, &with_surface("1.0.1", true))
        .await
        .ok();
    // A server override wins over the namespace's.
    app.request(Method::PUT, server_uri, Some(&editor), body("enforce"))
        .await
        .ok();
    let mut next = with_surface("1.0.2", false);
    next["version"] = json!("1.0.2");
    app.publish(&publisher, &next)
        .await
        .problem(StatusCode::CONFLICT);
    let listed = app.get("/v0.1/x/dev.mcp-reg/compat-policies").await.ok();
    assert_eq!(listed["default"], "enforce");
    assert_eq!(listed["overrides"].as_array().unwrap().len(), 2, "{listed}");
    // Clearing both brings back the default.
    app.request(Method::DELETE, server_uri, Some(&editor), None)
        .await
        .ok();
    let cleared = app
        .request(Method::DELETE, ns_uri, Some(&editor), None)
        .await
        .ok();
    assert_eq!(cleared["policy"], "enforce");
    assert_eq!(cleared["source"], "default");
    let listed = app.get("/v0.1/x/dev.mcp-reg/compat-policies").await.ok();
    assert_eq!(listed["overrides"], json!([]));
}

/// The response check every API test runs is itself able to fail.
#[test]
#[should_panic(expected = "does not document")]
fn contract_check_refuses_an_undocumented_status() {
    registry_tests::contract::check(
        &Method::GET,
        "/v0.1/servers?limit=3",
        StatusCode::IM_A_TEAPOT,
        Some("application/json"),
        b"{}",
    );
}

#[test]
#[should_panic(expected = "does not match the documented schema")]
fn contract_check_refuses_a_body_off_the_schema() {
    registry_tests::contract::check(
        &Method::GET,
        "/v0/servers",
        StatusCode::OK,
        Some("application/json"),
        br#"{"servers": "none"}"#,
    );
}

#[test]
fn contract_check_accepts_what_the_document_says() {
    registry_tests::contract::check(
        &Method::GET,
        "/v0.1/servers",
        StatusCode::OK,
        Some("application/json"),
        br#"{"servers": [], "metadata": {"count": 0}}"#,
    );
    registry_tests::contract::check(
        &Method::DELETE,
        "/v0.1/servers/io.github.a%2Fbb/versions/1.0.0",
        StatusCode::NOT_IMPLEMENTED,
        Some("application/problem+json"),
        br#"{"type": "about:blank", "title": "Not Implemented", "status": 501, "detail": "no"}"#,
    );
}
