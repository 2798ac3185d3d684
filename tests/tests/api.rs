//! The official `/v0.1` API on both engines, through the production router: every endpoint and edge
//! rule, the authorization matrix, concurrency, and response shapes checked against the official
//! openapi.yaml's component schemas.
#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom"
)]

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use axum::http::{Method, StatusCode};
use registry_server::auth::Action;
use registry_server::config::ServerConfig;
use registry_tests::app::{TestApp, encode, manifest};
use registry_tests::conformance_dir;
use registry_tests::db::TestDb;
use serde_json::{Value, json};

registry_tests::on_both_engines!(
    publish_and_read_back,
    writes_need_a_known_token,
    authorization_matrix,
    duplicate_versions_conflict,
    invalid_manifests_list_every_problem,
    oversized_bodies_are_refused,
    list_parameters_follow_the_official_edge_rules,
    status_changes_recompute_latest,
    all_versions_status,
    concurrent_publishes_of_one_version,
    corpus_pagination_walks_every_server_once,
    search_ranks_and_filters,
    validate_is_a_dry_run,
    operational_endpoints,
    responses_match_the_official_schemas,
);

fn official(body: &Value) -> &Value {
    &body["_meta"]["io.modelcontextprotocol.registry/official"]
}

async fn publish_and_read_back(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let sent = serde_json::to_string_pretty(&manifest("io.github.alice/weather", "1.0.0")).unwrap();
    let response = app
        .request(
            Method::POST,
            "/v0.1/publish",
            Some(&token),
            Some(sent.clone().into_bytes()),
        )
        .await;
    let body = response.ok();
    assert_eq!(body["server"]["name"], "io.github.alice/weather");
    let meta = official(&body);
    assert_eq!(meta["status"], "active");
    assert_eq!(meta["isLatest"], true);
    assert_eq!(meta["publishedAt"], meta["updatedAt"]);
    assert!(meta.get("statusMessage").is_none());

    app.publish(&token, &manifest("io.github.alice/weather", "1.1.0"))
        .await
        .ok();
    let name = encode("io.github.alice/weather");
    for prefix in ["/v0.1", "/v0"] {
        let latest = app
            .get(&format!("{prefix}/servers/{name}/versions/latest"))
            .await
            .ok();
        assert_eq!(latest["server"]["version"], "1.1.0");
        assert_eq!(official(&latest)["isLatest"], true);
        let old = app
            .get(&format!("{prefix}/servers/{name}/versions/1.0.0"))
            .await
            .ok();
        assert_eq!(official(&old)["isLatest"], false);
        let versions = app
            .get(&format!("{prefix}/servers/{name}/versions"))
            .await
            .ok();
        let listed: Vec<&str> = versions["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["server"]["version"].as_str().unwrap())
            .collect();
        assert_eq!(listed, ["1.1.0", "1.0.0"], "newest publication first");
        assert_eq!(versions["metadata"]["count"], 2);
    }
    // The exact bytes the publisher sent come back (whitespace included).
    let raw = app
        .get(&format!("/v0.1/servers/{name}/versions/1.0.0"))
        .await;
    let text = raw.text();
    let server_start = text.find("\"server\":").unwrap() + "\"server\":".len();
    assert!(text[server_start..].starts_with(&sent), "{text}");
    // Build metadata needs %2B in the path, as upstream documents.
    app.publish(&token, &manifest("io.github.alice/build", "2.0.0+20130313"))
        .await
        .ok();
    let build = app
        .get(&format!(
            "/v0.1/servers/{}/versions/{}",
            encode("io.github.alice/build"),
            encode("2.0.0+20130313")
        ))
        .await
        .ok();
    assert_eq!(build["server"]["version"], "2.0.0+20130313");

    app.get(&format!(
        "/v0.1/servers/{}/versions",
        encode("io.github.nobody/x1")
    ))
    .await
    .problem(StatusCode::NOT_FOUND);
    app.get(&format!("/v0.1/servers/{name}/versions/9.9.9"))
        .await
        .problem(StatusCode::NOT_FOUND);
    app.get("/v0.1/nothing-here")
        .await
        .problem(StatusCode::NOT_FOUND);
}

async fn writes_need_a_known_token(db: TestDb) {
    let app = TestApp::new(db).await;
    let body = serde_json::to_vec(&manifest("io.github.alice/weather", "1.0.0")).unwrap();
    let missing = app
        .request(Method::POST, "/v0.1/publish", None, Some(body.clone()))
        .await;
    missing.problem(StatusCode::UNAUTHORIZED);
    assert!(missing.headers.contains_key("www-authenticate"));
    app.request(
        Method::POST,
        "/v0.1/publish",
        Some("mcpr_not-a-real-token"),
        Some(body.clone()),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    let name = encode("io.github.alice/weather");
    app.request(
        Method::PATCH,
        &format!("/v0.1/servers/{name}/status"),
        None,
        Some(br#"{"status":"deprecated"}"#.to_vec()),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
}

/// Every combination of grant and target: who may publish and who may change status.
async fn authorization_matrix(db: TestDb) {
    let app = TestApp::new(db).await;
    let alice_all = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let alice_one = app
        .token(&[(Action::Publish, "io.github.alice/weather")])
        .await;
    let everything = app.token(&[(Action::Publish, "*")]).await;
    let bob_editor = app.token(&[(Action::Edit, "io.github.bob/*")]).await;
    let prefix = app.token(&[(Action::Publish, "io.github.ali*")]).await;

    let publish_cases = [
        (&alice_all, "io.github.alice/weather", StatusCode::OK),
        (&alice_all, "io.github.alice/maps", StatusCode::OK),
        (&alice_all, "io.github.bob/x1", StatusCode::FORBIDDEN),
        (&alice_all, "io.github.alice2/x1", StatusCode::FORBIDDEN),
        (&alice_one, "io.github.alice/weather", StatusCode::OK),
        (&alice_one, "io.github.alice/maps", StatusCode::FORBIDDEN),
        (&everything, "io.github.bob/x1", StatusCode::OK),
        (&bob_editor, "io.github.bob/x2", StatusCode::FORBIDDEN),
        (&prefix, "io.github.alicia/x1", StatusCode::OK),
        (&prefix, "io.github.bob/x3", StatusCode::FORBIDDEN),
    ];
    for (index, (token, name, expected)) in publish_cases.iter().enumerate() {
        let version = format!("1.0.{index}");
        let response = app.publish(token, &manifest(name, &version)).await;
        assert_eq!(
            response.status,
            *expected,
            "case {index}: {name}: {}",
            response.text()
        );
        if *expected == StatusCode::FORBIDDEN {
            let detail = response.problem(StatusCode::FORBIDDEN)["detail"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(detail.contains(name), "{detail}");
        }
    }
    let deprecate = json!({"status": "deprecated", "statusMessage": "use v2"});
    let status_cases = [
        (&alice_all, "io.github.bob/x1", StatusCode::FORBIDDEN),
        (&bob_editor, "io.github.bob/x1", StatusCode::OK),
        (&alice_all, "io.github.alice/maps", StatusCode::OK),
        (
            &bob_editor,
            "io.github.alice/weather",
            StatusCode::FORBIDDEN,
        ),
    ];
    for (token, name, expected) in status_cases {
        let response = app
            .patch(
                token,
                &format!("/v0.1/servers/{}/status", encode(name)),
                &deprecate,
            )
            .await;
        assert_eq!(
            response.status,
            expected,
            "status {name}: {}",
            response.text()
        );
    }
    // A 403 on a name that does not exist reveals nothing, and never becomes a 404.
    app.patch(
        &alice_all,
        &format!("/v0.1/servers/{}/status", encode("io.github.zed/none")),
        &deprecate,
    )
    .await
    .problem(StatusCode::FORBIDDEN);
}

async fn duplicate_versions_conflict(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "*")]).await;
    let first = app
        .publish(
            &token,
            &manifest("io.github.alice/weather", "1.0.0+build.1"),
        )
        .await
        .ok();
    // The identical manifest again is a retry: 200 with the stored version, nothing new stored.
    let retried = app
        .publish(
            &token,
            &manifest("io.github.alice/weather", "1.0.0+build.1"),
        )
        .await
        .ok();
    assert_eq!(retried, first);
    let mut changed = manifest("io.github.alice/weather", "1.0.0+build.1");
    changed["description"] = json!("Another description under the same version");
    app.publish(&token, &changed)
        .await
        .problem(StatusCode::CONFLICT);
    for version in ["1.0.0+build.2", "1.0.0"] {
        let body = app
            .publish(&token, &manifest("io.github.alice/weather", version))
            .await
            .problem(StatusCode::CONFLICT);
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("already published"),
            "{body}"
        );
    }
    app.publish(&token, &manifest("io.github.alice/weather", "1.0.1"))
        .await
        .ok();
}

async fn invalid_manifests_list_every_problem(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "*")]).await;
    let mut bad = manifest("io.github.alice/weather", "latest");
    bad["description"] = json!("x".repeat(150));
    bad["packages"][0]["version"] = json!("latest");
    let body = app
        .publish(&token, &bad)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let errors = body["errors"].as_array().unwrap();
    let found: BTreeSet<(String, String)> = errors
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap().to_owned(),
                e["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("/version", "version-latest"),
        ("/description", "schema.maxLength"),
        ("/packages/0/version", "package-version-latest"),
    ] {
        assert!(
            found.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {found:?}"
        );
    }
    let syntax = app
        .request(
            Method::POST,
            "/v0.1/publish",
            Some(&token),
            Some(b"{\"name\":".to_vec()),
        )
        .await;
    let syntax = syntax.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(syntax["errors"][0]["rule"], "json-syntax");
    // Nothing was stored.
    let list = app.get("/v0.1/servers").await.ok();
    assert_eq!(list["metadata"]["count"], 0);
}

async fn oversized_bodies_are_refused(db: TestDb) {
    let config = ServerConfig {
        max_body_bytes: 2048,
        ..ServerConfig::default()
    };
    let app = TestApp::with_config(db, config).await;
    let token = app.token(&[(Action::Publish, "*")]).await;
    let mut big = manifest("io.github.alice/weather", "1.0.0");
    big["x-padding"] = json!("p".repeat(4096));
    let body = app
        .publish(&token, &big)
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body["detail"].as_str().unwrap().contains("2048"));
    let validate = app
        .request(
            Method::POST,
            "/v0.1/validate",
            None,
            Some(serde_json::to_vec(&big).unwrap()),
        )
        .await;
    validate.problem(StatusCode::PAYLOAD_TOO_LARGE);
}

async fn list_parameters_follow_the_official_edge_rules(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "*")]).await;
    for (name, version) in [
        ("io.github.a/one", "1.0.0"),
        ("io.github.a/one", "2.0.0"),
        ("io.github.b/two", "0.1.0"),
    ] {
        app.publish(&token, &manifest(name, version)).await.ok();
    }
    for limit in ["0", "101", "-1"] {
        let body = app
            .get(&format!("/v0.1/servers?limit={limit}"))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["location"], "query.limit");
    }
    app.get("/v0.1/servers?limit=abc")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.get("/v0.1/servers?include_deleted=maybe")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.get("/v0.1/servers?cursor=9x%7Cio.github.a%2Fone%3A1")
        .await
        .problem(StatusCode::BAD_REQUEST);
    let bad_time = app
        .get("/v0.1/servers?updated_since=yesterday")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(
        bad_time["detail"]
            .as_str()
            .unwrap()
            .starts_with("Invalid updated_since format")
    );
    let conflict = app
        .get("/v0.1/servers?updated_since=2020-01-01T00:00:00Z&include_deleted=false")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(
        conflict["detail"]
            .as_str()
            .unwrap()
            .contains("include_deleted=false")
    );

    let all = app.get("/v0.1/servers").await.ok();
    assert_eq!(all["metadata"]["count"], 3);
    assert!(
        all["metadata"].get("nextCursor").is_none(),
        "a short page has no cursor"
    );
    let latest = app.get("/v0.1/servers?version=latest").await.ok();
    let versions: Vec<&str> = latest["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["server"]["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["2.0.0", "0.1.0"]);
    let exact = app.get("/v0.1/servers?version=1.0.0").await.ok();
    assert_eq!(exact["metadata"]["count"], 1);

    // A full last page still carries a cursor; following it gives an empty page.
    let page = app.get("/v0.1/servers?limit=3").await.ok();
    let cursor = page["metadata"]["nextCursor"].as_str().unwrap().to_owned();
    assert_eq!(
        cursor,
        registry_server::handlers::servers::encode_cursor("io.github.b/two:0.1.0"),
        "the official name:version position, base64url-encoded"
    );
    let after = app
        .get(&format!(
            "/v0.1/servers?limit=3&cursor={}",
            encode(&cursor).replace(':', "%3A")
        ))
        .await
        .ok();
    assert_eq!(after["metadata"]["count"], 0);

    // Deletion hides a version unless asked for; updated_since includes it.
    let one = encode("io.github.a/one");
    app.patch(
        &token,
        &format!("/v0.1/servers/{one}/versions/1.0.0/status"),
        &json!({"status": "deleted"}),
    )
    .await
    .ok();
    assert_eq!(app.get("/v0.1/servers").await.ok()["metadata"]["count"], 2);
    assert_eq!(
        app.get("/v0.1/servers?include_deleted=true").await.ok()["metadata"]["count"],
        3
    );
    let since = app
        .get("/v0.1/servers?updated_since=2020-01-01T00:00:00Z")
        .await
        .ok();
    assert_eq!(since["metadata"]["count"], 3);
    app.get(&format!("/v0.1/servers/{one}/versions/1.0.0"))
        .await
        .problem(StatusCode::NOT_FOUND);
    app.get(&format!(
        "/v0.1/servers/{one}/versions/1.0.0?include_deleted=true"
    ))
    .await
    .ok();
}

async fn status_changes_recompute_latest(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let name = encode("io.github.alice/weather");
    for version in ["1.0.0", "2.0.0", "3.0.0-rc.1"] {
        app.publish(&token, &manifest("io.github.alice/weather", version))
            .await
            .ok();
    }
    assert_eq!(
        app.get(&format!("/v0.1/servers/{name}/versions/latest"))
            .await
            .ok()["server"]["version"],
        "2.0.0",
        "a release beats a newer pre-release"
    );

    let deleted = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/versions/2.0.0/status"),
            &json!({"status": "deleted", "statusMessage": "broken"}),
        )
        .await
        .ok();
    assert_eq!(official(&deleted)["status"], "deleted");
    assert_eq!(official(&deleted)["statusMessage"], "broken");
    assert_eq!(official(&deleted)["isLatest"], false);
    assert_eq!(
        app.get(&format!("/v0.1/servers/{name}/versions/latest"))
            .await
            .ok()["server"]["version"],
        "1.0.0"
    );

    let deprecated = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/versions/1.0.0/status"),
            &json!({"status": "deprecated"}),
        )
        .await
        .ok();
    assert_eq!(
        official(&deprecated)["isLatest"],
        true,
        "deprecated versions stay eligible"
    );

    // A no-op answers 200 with the version unchanged (as the all-versions route answers 0 updated).
    let again = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/versions/1.0.0/status"),
            &json!({"status": "deprecated"}),
        )
        .await
        .ok();
    assert_eq!(official(&again)["status"], "deprecated");
    assert_eq!(
        official(&again)["statusChangedAt"],
        official(&deprecated)["statusChangedAt"]
    );

    let restored = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/versions/2.0.0/status"),
            &json!({"status": "active"}),
        )
        .await
        .ok();
    assert_eq!(official(&restored)["isLatest"], true);
    assert!(official(&restored).get("statusMessage").is_none());
    assert_ne!(
        official(&restored)["statusChangedAt"],
        official(&deleted)["statusChangedAt"]
    );

    // Upstream accepts a message with `active` and clears it.
    app.patch(
        &token,
        &format!("/v0.1/servers/{name}/versions/2.0.0/status"),
        &json!({"status": "deprecated", "statusMessage": "old"}),
    )
    .await
    .ok();
    let with_message = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/versions/2.0.0/status"),
            &json!({"status": "active", "statusMessage": "x"}),
        )
        .await
        .ok();
    assert_eq!(official(&with_message)["status"], "active");
    assert!(official(&with_message).get("statusMessage").is_none());
    app.patch(
        &token,
        &format!("/v0.1/servers/{name}/versions/2.0.0/status"),
        &json!({"status": "deprecated", "statusMessage": "m".repeat(501)}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.patch(
        &token,
        &format!("/v0.1/servers/{name}/versions/2.0.0/status"),
        &json!({"status": "gone"}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.patch(
        &token,
        &format!("/v0.1/servers/{name}/versions/7.0.0/status"),
        &json!({"status": "deleted"}),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
}

async fn all_versions_status(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let name = encode("io.github.alice/weather");
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        app.publish(&token, &manifest("io.github.alice/weather", version))
            .await
            .ok();
    }
    app.patch(
        &token,
        &format!("/v0.1/servers/{name}/versions/1.0.0/status"),
        &json!({"status": "deprecated", "statusMessage": "old"}),
    )
    .await
    .ok();
    let body = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/status"),
            &json!({"status": "deprecated", "statusMessage": "old"}),
        )
        .await
        .ok();
    assert_eq!(
        body["updatedCount"], 2,
        "only versions that differed are counted: {body}"
    );
    assert_eq!(body["servers"].as_array().unwrap().len(), 2);
    let gone = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/status"),
            &json!({"status": "deleted"}),
        )
        .await
        .ok();
    assert_eq!(gone["updatedCount"], 3);
    app.get(&format!("/v0.1/servers/{name}/versions"))
        .await
        .problem(StatusCode::NOT_FOUND);
    let hidden = app
        .get(&format!(
            "/v0.1/servers/{name}/versions?include_deleted=true"
        ))
        .await
        .ok();
    assert_eq!(hidden["metadata"]["count"], 3);
    app.patch(
        &token,
        &format!("/v0.1/servers/{}/status", encode("io.github.alice/none")),
        &json!({"status": "deleted"}),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
}

async fn concurrent_publishes_of_one_version(db: TestDb) {
    let app = Arc::new(TestApp::new(db).await);
    let token = Arc::new(app.token(&[(Action::Publish, "*")]).await);
    // Fifty different documents under one version: exactly one is stored, the others conflict.
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                let mut body = manifest("io.github.race/one", "1.0.0");
                body["description"] = json!(format!("Racer {i}"));
                app.publish(&token, &body).await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        49,
        "{statuses:?}"
    );
    let versions = app
        .get(&format!(
            "/v0.1/servers/{}/versions",
            encode("io.github.race/one")
        ))
        .await
        .ok();
    assert_eq!(versions["metadata"]["count"], 1);
    assert_eq!(official(&versions["servers"][0])["isLatest"], true);

    // The same document sent fifty times at once (a client retrying): every answer is the one
    // stored version.
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                let response = app
                    .publish(&token, &manifest("io.github.race/two", "1.0.0"))
                    .await;
                (response.status, response.json())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert!(answers.iter().all(|(status, _)| *status == StatusCode::OK));
    assert!(answers.iter().all(|(_, body)| *body == answers[0].1));
    let versions = app
        .get(&format!(
            "/v0.1/servers/{}/versions",
            encode("io.github.race/two")
        ))
        .await
        .ok();
    assert_eq!(versions["metadata"]["count"], 1);
}

static CORPUS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let bytes = std::fs::read(conformance_dir().join("corpus/servers-2025-12-11.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
});

async fn import_corpus(app: &TestApp) {
    let text = serde_json::to_string(&*CORPUS).unwrap();
    let entries = registry_server::import::read_entries(&text).unwrap();
    let report = registry_server::import::import_entries(
        &app.store,
        &entries,
        &registry_schema::Policy::lenient(),
        |_| {},
    )
    .await
    .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.inserted, 464);
}

async fn corpus_pagination_walks_every_server_once(db: TestDb) {
    let app = TestApp::new(db).await;
    import_corpus(&app).await;
    let expected: BTreeSet<(String, String)> = CORPUS
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for limit in [1, 30, 100] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let uri = match &cursor {
                Some(c) => format!(
                    "/v0.1/servers?limit={limit}&cursor={}",
                    encode(c).replace(':', "%3A")
                ),
                None => format!("/v0.1/servers?limit={limit}"),
            };
            let page = app.get(&uri).await.ok();
            for server in page["servers"].as_array().unwrap() {
                seen.push((
                    server["server"]["name"].as_str().unwrap().to_owned(),
                    server["server"]["version"].as_str().unwrap().to_owned(),
                ));
            }
            match page["metadata"]["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let unique: BTreeSet<_> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "limit {limit}: a row came twice");
        assert_eq!(unique, expected, "limit {limit}");
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "limit {limit}: (name, version) order");
    }
}

async fn search_ranks_and_filters(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "*")]).await;
    let mut described = manifest("io.github.zed/tools", "1.0.0");
    described["description"] = json!("Reads the weather forecast");
    app.publish(&token, &described).await.ok();
    app.publish(&token, &manifest("io.github.alice/weather-maps", "1.0.0"))
        .await
        .ok();
    app.publish(&token, &manifest("io.github.bob/weather", "1.0.0"))
        .await
        .ok();
    let mut remote = json!({"name": "com.example/live-weather", "description": "Remote one", "version": "1.0.0",
        "remotes": [{"type": "streamable-http", "url": "https://example.com/mcp"}]});
    remote["$schema"] =
        json!("https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json");
    app.publish(&token, &remote).await.ok();

    let hits = app.get("/v0.1/servers?search=WEATHER").await.ok();
    let names: Vec<&str> = hits["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["server"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "io.github.bob/weather",
            "io.github.alice/weather-maps",
            "com.example/live-weather",
            "io.github.zed/tools"
        ]
    );
    assert_eq!(
        app.get("/v0.1/servers?search=_").await.ok()["metadata"]["count"],
        0,
        "`_` is not a wildcard"
    );
    assert_eq!(
        app.get("/v0.1/servers?search=%25").await.ok()["metadata"]["count"],
        0,
        "`%` is not a wildcard"
    );
    let npm = app
        .get("/v0.1/servers?registry_type=npm&search=weather")
        .await
        .ok();
    assert_eq!(npm["metadata"]["count"], 3);
    let remote_only = app
        .get("/v0.1/servers?transport=streamable-http")
        .await
        .ok();
    assert_eq!(
        remote_only["servers"][0]["server"]["name"],
        "com.example/live-weather"
    );
    assert_eq!(remote_only["metadata"]["count"], 1);
    let namespace = app
        .get("/v0.1/servers?namespace=io.github.alice")
        .await
        .ok();
    assert_eq!(namespace["metadata"]["count"], 1);

    // Ranked pagination: one hit per page, same order, nothing repeated.
    let mut walked = Vec::new();
    let mut uri = "/v0.1/servers?search=weather&limit=1".to_owned();
    loop {
        let page = app.get(&uri).await.ok();
        walked.extend(
            page["servers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["server"]["name"].as_str().unwrap().to_owned()),
        );
        let Some(next) = page["metadata"]["nextCursor"].as_str() else {
            break;
        };
        uri = format!(
            "/v0.1/servers?search=weather&limit=1&cursor={}",
            encode(next).replace(':', "%3A").replace('|', "%7C")
        );
    }
    assert_eq!(walked, names);
}

async fn validate_is_a_dry_run(db: TestDb) {
    let app = TestApp::new(db).await;
    let good = app
        .request(
            Method::POST,
            "/v0.1/validate",
            None,
            Some(serde_json::to_vec(&manifest("io.github.a/ok", "1.0.0")).unwrap()),
        )
        .await
        .ok();
    assert_eq!(good["valid"], true);
    let bad = app
        .request(
            Method::POST,
            "/v0.1/validate",
            None,
            Some(br#"{"name":"bad","description":"d","version":"latest"}"#.to_vec()),
        )
        .await
        .ok();
    assert_eq!(bad["valid"], false);
    let issue = bad["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["rule"] == "version-latest")
        .unwrap();
    assert_eq!(issue["path"], "/version");
    assert_eq!(issue["type"], "semantic");
    assert_eq!(issue["severity"], "error");
    assert_eq!(app.get("/v0.1/servers").await.ok()["metadata"]["count"], 0);
}

async fn operational_endpoints(db: TestDb) {
    let app = TestApp::new(db).await;
    for prefix in ["/v0.1", "/v0"] {
        assert_eq!(
            app.get(&format!("{prefix}/ping")).await.json(),
            serde_json::json!({"pong": true})
        );
        assert_eq!(
            app.get(&format!("{prefix}/version")).await.ok()["name"],
            "registry-server"
        );
        let health = app.get(&format!("{prefix}/health")).await.ok();
        assert_eq!(health["status"], "ok");
    }
    let spec = app.get("/openapi.json").await.ok();
    assert!(spec["paths"]["/v0.1/servers"]["get"].is_object());
    let docs = app.get("/docs").await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text().contains("/openapi.json") && !docs.text().contains("https://cdn"));
    app.request(Method::DELETE, "/v0.1/servers", None, None)
        .await
        .problem(StatusCode::METHOD_NOT_ALLOWED);
}

/// The official openapi.yaml's component schemas, compiled once.
static OFFICIAL: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(conformance_dir().join("official/openapi.yaml")).unwrap();
    let spec: Value = serde_saphyr::from_str(&text).unwrap();
    json!({"components": spec["components"]})
});

fn check_against(component: &str, instance: &Value) {
    let errors = schema_errors(component, instance);
    assert!(errors.is_empty(), "{component}: {errors:#?}\n{instance}");
}

fn schema_errors(component: &str, instance: &Value) -> Vec<String> {
    let mut root = OFFICIAL.clone();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["$ref"] = json!(format!("#/components/schemas/{component}"));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap();
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path().as_str()))
        .collect()
}

async fn responses_match_the_official_schemas(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "*")]).await;
    for example in ["with-package.json", "with-remote.json", "minimal.json"] {
        let body: Value = serde_json::from_slice(
            &std::fs::read(
                conformance_dir()
                    .join("official/examples/valid")
                    .join(example),
            )
            .unwrap(),
        )
        .unwrap();
        let published = app.publish(&token, &body).await.ok();
        check_against("ServerResponse", &published);
        // The check can fail: a wrongly typed flag is caught.
        let mut broken = published.clone();
        broken["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"] = json!("yes");
        assert!(!schema_errors("ServerResponse", &broken).is_empty());
    }
    import_corpus(&app).await;
    let list = app.get("/v0.1/servers?limit=100").await.ok();
    check_against("ServerList", &list);
    let name = encode("io.github.user/weather");
    check_against(
        "ServerResponse",
        &app.get(&format!("/v0.1/servers/{name}/versions/latest"))
            .await
            .ok(),
    );
    check_against(
        "ServerList",
        &app.get(&format!("/v0.1/servers/{name}/versions"))
            .await
            .ok(),
    );
    let deprecated = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/versions/1.0.2/status"),
            &json!({"status": "deprecated", "statusMessage": "use 2"}),
        )
        .await
        .ok();
    check_against("ServerResponse", &deprecated);
    let all = app
        .patch(
            &token,
            &format!("/v0.1/servers/{name}/status"),
            &json!({"status": "deleted", "statusMessage": "gone"}),
        )
        .await
        .ok();
    check_against("AllVersionsStatusResponse", &all);
}
