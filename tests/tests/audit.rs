//! The audit log on both engines: every write attempt is recorded with actor, subject, address and
//! outcome; only edit holders read it, only for the names they cover; no secret is ever in it.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use axum::http::{Method, StatusCode};
use registry_server::auth::Action;
use registry_server::config::ServerConfig;
use registry_tests::app::{TestApp, encode, manifest};
use registry_tests::db::TestDb;
use serde_json::{Value, json};

registry_tests::on_both_engines!(
    every_write_attempt_is_audited,
    audit_reads_are_scoped_and_paged
);

async fn audit(app: &TestApp, token: &str, query: &str) -> (StatusCode, Value) {
    let response = app
        .request(
            Method::GET,
            &format!("/v0.1/x/dev.mcp-reg/audit{query}"),
            Some(token),
            None,
        )
        .await;
    let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response.status, body)
}

async fn every_write_attempt_is_audited(db: TestDb) {
    let config = ServerConfig {
        trust_forwarded_for: true,
        ..ServerConfig::default()
    };
    let app = TestApp::with_config(db, config).await;
    let alice = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let moderator = app.token(&[(Action::Edit, "*")]).await;
    let name = "io.github.alice/weather";

    let body = serde_json::to_vec(&manifest(name, "1.0.0")).unwrap();
    let response = app
        .request_with_headers(
            Method::POST,
            "/v0.1/publish",
            Some(&alice),
            Some(body),
            &[("x-forwarded-for", "203.0.113.50")],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    // The identical manifest again is a retry (200); another one under that version a conflict.
    app.publish(&alice, &manifest(name, "1.0.0")).await.ok();
    let mut other = manifest(name, "1.0.0");
    other["description"] = json!("Another description");
    app.publish(&alice, &other)
        .await
        .problem(StatusCode::CONFLICT);
    app.publish(&alice, &manifest("io.github.bob/tools", "1.0.0"))
        .await
        .problem(StatusCode::FORBIDDEN);
    app.request(Method::POST, "/v0.1/publish", None, Some(b"{}".to_vec()))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.patch(
        &moderator,
        &format!("/v0.1/servers/{}/versions/1.0.0/status", encode(name)),
        &json!({"status": "deprecated", "statusMessage": "use 2.x"}),
    )
    .await
    .ok();
    // Reads are not audited.
    app.get("/v0.1/servers").await.ok();

    let (status, page) = audit(&app, &moderator, "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let entries = page["entries"].as_array().unwrap();
    let summary: Vec<(&str, Option<&str>, u64, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["server_name"].as_str(),
                e["status"].as_u64().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("status", Some(name), 200, "ok"),
            ("publish", None, 401, "unauthenticated"),
            ("publish", Some("io.github.bob/tools"), 403, "forbidden"),
            ("publish", Some(name), 409, "conflict"),
            ("publish-retried", Some(name), 200, "ok"),
            ("publish", Some(name), 200, "ok"),
        ]
    );
    let first_publish = &entries[5];
    assert_eq!(first_publish["version"], "1.0.0");
    assert_eq!(first_publish["remote_addr"], "203.0.113.50");
    let alice_id = first_publish["actor"].as_str().unwrap();
    assert!(alice_id.starts_with("token:"), "{first_publish}");
    assert_eq!(entries[1]["actor"], Value::Null);
    assert_eq!(entries[0]["version"], "1.0.0");
    assert!(entries[0]["at"].as_str().unwrap().ends_with('Z'));

    // Never a secret: neither token appears anywhere in the log.
    let text = page.to_string();
    assert!(!text.contains(&alice) && !text.contains(&moderator));
    assert!(!text.contains("mcpr_"));
}

async fn audit_reads_are_scoped_and_paged(db: TestDb) {
    let app = TestApp::new(db).await;
    let publisher = app
        .token(&[
            (Action::Publish, "io.github.alice/*"),
            (Action::Publish, "io.github.bob/*"),
        ])
        .await;
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        app.publish(&publisher, &manifest("io.github.alice/weather", version))
            .await
            .ok();
    }
    app.publish(&publisher, &manifest("io.github.bob/tools", "1.0.0"))
        .await
        .ok();

    // Publish grants alone do not open the log.
    let (status, _) = audit(&app, &publisher, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .request(Method::GET, "/v0.1/x/dev.mcp-reg/audit", None, None)
        .await
        .json()
        .get("status")
        .map_or((StatusCode::OK, Value::Null), |s| {
            (
                StatusCode::from_u16(u16::try_from(s.as_u64().unwrap()).unwrap()).unwrap(),
                Value::Null,
            )
        });
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An edit grant on alice's namespace sees only alice's entries, newest first, page by page.
    let alice_moderator = app.token(&[(Action::Edit, "io.github.alice/*")]).await;
    let (status, page) = audit(&app, &alice_moderator, "?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    let versions = |page: &Value| -> Vec<String> {
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                assert_eq!(e["server_name"], "io.github.alice/weather");
                e["version"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    assert_eq!(versions(&page), ["1.2.0", "1.1.0"]);
    let cursor = page["metadata"]["nextCursor"].as_str().unwrap().to_owned();
    let (_, rest) = audit(&app, &alice_moderator, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(versions(&rest), ["1.0.0"]);
    assert!(rest["metadata"].get("nextCursor").is_none());

    // A prefix grant is not a substring match: `io.github.al*` must not be read as a LIKE pattern.
    let odd = app.token(&[(Action::Edit, "io.github.bo%*")]).await;
    let (status, page) = audit(&app, &odd, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["metadata"]["count"], 0, "{page}");

    let (_, filtered) = audit(
        &app,
        &app.token(&[(Action::Edit, "*")]).await,
        "?server_name=io.github.bob%2Ftools",
    )
    .await;
    assert_eq!(filtered["metadata"]["count"], 1);
    let (status, _) = audit(&app, &alice_moderator, "?cursor=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = audit(&app, &alice_moderator, "?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
