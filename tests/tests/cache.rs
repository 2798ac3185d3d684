//! The read-response cache on both engines: hits are byte-identical to what the handler renders, ETags
//! revalidate with 304, and no write (through this process or, on PostgreSQL, through another replica)
//! is hidden by a cached response: with strict consistency not even for the milliseconds a notification
//! takes.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use registry_server::auth::Action;
use registry_server::cache::{CacheConfig, CacheConsistency};
use registry_server::config::ServerConfig;
use registry_server::db::Backend;
use registry_tests::app::{TestApp, TestResponse, cache_outcome, encode, manifest};
use registry_tests::db::TestDb;
use serde_json::json;

registry_tests::on_both_engines!(
    hits_match_misses_and_revalidate_with_etags,
    local_writes_invalidate_at_once,
    failed_writes_keep_the_cache,
    other_replicas_writes_are_seen,
    a_disabled_cache_always_renders,
);

async fn hits_match_misses_and_revalidate_with_etags(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    app.publish(&token, &manifest("io.github.alice/weather", "1.0.0"))
        .await
        .ok();
    let uri = format!(
        "/v0.1/servers/{}/versions/latest",
        encode("io.github.alice/weather")
    );

    let first = app.get(&uri).await;
    first.ok();
    assert_eq!(cache_outcome(&first), "miss");
    let second = app.get(&uri).await;
    second.ok();
    assert_eq!(cache_outcome(&second), "hit");
    assert_eq!(first.body, second.body, "a hit serves the rendered bytes");
    assert_eq!(second.content_type.as_deref(), Some("application/json"));
    let etag = first
        .headers
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(second.headers.get("etag").unwrap(), etag.as_str());

    let revalidated = app
        .get_with_headers(&uri, &[("if-none-match", etag.as_str())])
        .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert!(revalidated.body.is_empty());
    let other_tag = app
        .get_with_headers(&uri, &[("if-none-match", "\"0000\"")])
        .await;
    assert_eq!(other_tag.status, StatusCode::OK);
    assert_eq!(other_tag.body, first.body);

    // The query string is part of the key: a different page is a different entry.
    let page = app.get("/v0.1/servers?limit=1").await;
    assert_eq!(cache_outcome(&page), "miss");
    assert_eq!(page.ok()["servers"].as_array().unwrap().len(), 1);
    assert_eq!(
        cache_outcome(&app.get("/v0.1/servers?limit=1").await),
        "hit"
    );
    assert_eq!(
        cache_outcome(&app.get("/v0.1/servers?limit=2").await),
        "miss"
    );

    // Errors are never cached.
    let missing = format!(
        "/v0.1/servers/{}/versions/9.9.9",
        encode("io.github.alice/weather")
    );
    app.get(&missing).await.problem(StatusCode::NOT_FOUND);
    assert_eq!(cache_outcome(&app.get(&missing).await), "none");
}

async fn local_writes_invalidate_at_once(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app
        .token(&[
            (Action::Publish, "io.github.alice/*"),
            (Action::Edit, "io.github.alice/*"),
        ])
        .await;
    let name = "io.github.alice/weather";
    app.publish(&token, &manifest(name, "1.0.0")).await.ok();
    let latest = format!("/v0.1/servers/{}/versions/latest", encode(name));
    let list = "/v0.1/servers?version=latest";
    assert_eq!(app.get(&latest).await.ok()["server"]["version"], "1.0.0");
    assert_eq!(app.get(list).await.ok()["metadata"]["count"], 1);
    assert_eq!(cache_outcome(&app.get(&latest).await), "hit");

    app.publish(&token, &manifest(name, "1.1.0")).await.ok();
    let after_publish = app.get(&latest).await;
    assert_eq!(cache_outcome(&after_publish), "miss");
    assert_eq!(after_publish.ok()["server"]["version"], "1.1.0");
    assert_eq!(
        app.get(list).await.ok()["servers"][0]["server"]["version"],
        "1.1.0"
    );

    let status_uri = format!("/v0.1/servers/{}/versions/1.1.0/status", encode(name));
    app.patch(&token, &status_uri, &json!({"status": "deleted"}))
        .await
        .ok();
    let after_delete = app.get(&latest).await.ok();
    assert_eq!(after_delete["server"]["version"], "1.0.0");
    assert_eq!(
        after_delete["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"],
        true
    );
}

async fn failed_writes_keep_the_cache(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let name = "io.github.alice/weather";
    app.publish(&token, &manifest(name, "1.0.0")).await.ok();
    let uri = format!("/v0.1/servers/{}/versions", encode(name));
    app.get(&uri).await.ok();
    // Another manifest under a published version (the identical one would be answered 200).
    let mut changed = manifest(name, "1.0.0");
    changed["description"] = json!("Changed after publishing");
    app.publish(&token, &changed)
        .await
        .problem(StatusCode::CONFLICT);
    app.publish(&token, &manifest("io.github.bob/tools", "1.0.0"))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(cache_outcome(&app.get(&uri).await), "hit");
}

/// Two replicas on one database. On PostgreSQL with `notify` consistency the writer's `NOTIFY` reaches
/// the reader's change feed (strict consistency has its own test below); on SQLite (one process per
/// file is the supported set-up) the time-to-live bounds staleness.
async fn other_replicas_writes_are_seen(db: TestDb) {
    let ttl = match db.backend() {
        Backend::Postgres => Duration::from_hours(1),
        Backend::Sqlite => Duration::from_millis(300),
    };
    let config = ServerConfig {
        cache: CacheConfig {
            ttl,
            consistency: CacheConsistency::Notify,
            ..CacheConfig::default()
        },
        ..ServerConfig::default()
    };
    let writer = TestApp::with_config(db, config).await;
    let reader = writer.replica().await;
    let token = writer
        .token(&[(Action::Publish, "io.github.alice/*")])
        .await;
    let name = "io.github.alice/weather";
    writer.publish(&token, &manifest(name, "1.0.0")).await.ok();
    let latest = format!("/v0.1/servers/{}/versions/latest", encode(name));

    // The reader's feed connects in the background; until it listens, the reader bypasses its cache.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        reader.get(&latest).await.ok();
        if cache_outcome(&reader.get(&latest).await) == "hit" {
            break;
        }
        assert!(Instant::now() < deadline, "the reader never cached");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    writer.publish(&token, &manifest(name, "2.0.0")).await.ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = reader.get(&latest).await.ok();
        if seen["server"]["version"] == "2.0.0" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the reader still serves {} after 10 s",
            seen["server"]["version"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Strict consistency (the default) on PostgreSQL: a write acknowledged by one replica is seen by the
/// next read on every other replica, even when its notification never arrives; `notify` consistency
/// serves its cached page until the notification comes. (`read_leases.rs` tests how.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strict_reads_see_every_acknowledged_write() {
    let db = TestDb::postgres().await;
    let config = |consistency| ServerConfig {
        cache: CacheConfig {
            ttl: Duration::from_hours(1),
            consistency,
            ..CacheConfig::default()
        },
        ..ServerConfig::default()
    };
    let writer = TestApp::with_config(db, config(CacheConsistency::Strict)).await;
    let strict = writer.replica().await;
    let eventual = writer.replica_with(config(CacheConsistency::Notify)).await;
    let token = writer
        .token(&[(Action::Publish, "io.github.alice/*")])
        .await;
    let name = "io.github.alice/weather";
    writer.publish(&token, &manifest(name, "1.0.0")).await.ok();
    let latest = format!("/v0.1/servers/{}/versions/latest", encode(name));
    let status_of = |response: &TestResponse| {
        response.json()["_meta"]["io.modelcontextprotocol.registry/official"]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for reader in [&strict, &eventual] {
        reader.get(&latest).await.ok();
        let cached = reader.get(&latest).await;
        assert_eq!(cache_outcome(&cached), "hit");
        assert_eq!(status_of(&cached), "active");
    }

    // A write whose notifications never arrive (as if lost): committed, then the change counter
    // advanced, then the wait for every read lease to cover it or run out, as every write does
    // before it is acknowledged.
    let drawn = writer.db.deprecate_unannounced(name).await;
    writer.store.await_read_leases(drawn).await;
    let seen = strict.get(&latest).await;
    assert_eq!(status_of(&seen), "deprecated", "strict: seen at once");
    assert_eq!(
        cache_outcome(&seen),
        "miss",
        "the fence dropped the old page"
    );
    assert_eq!(cache_outcome(&strict.get(&latest).await), "hit");
    let stale = eventual.get(&latest).await;
    assert_eq!(
        status_of(&stale),
        "active",
        "notify: the cached page stands until a notification arrives"
    );
    assert_eq!(cache_outcome(&stale), "hit");

    // Real writes through the writer, each read back at once through the strict replica's warm cache.
    for minor in 1..=20 {
        let version = format!("1.{minor}.0");
        writer.publish(&token, &manifest(name, &version)).await.ok();
        let seen = strict.get(&latest).await.ok();
        assert_eq!(seen["server"]["version"], version.as_str());
        assert_eq!(cache_outcome(&strict.get(&latest).await), "hit");
    }
}

async fn a_disabled_cache_always_renders(db: TestDb) {
    let config = ServerConfig {
        cache: CacheConfig {
            max_bytes: 0,
            ..CacheConfig::default()
        },
        ..ServerConfig::default()
    };
    let app = TestApp::with_config(db, config).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    app.publish(&token, &manifest("io.github.alice/weather", "1.0.0"))
        .await
        .ok();
    for _ in 0..2 {
        let response = app.get("/v0.1/servers").await;
        assert_eq!(response.ok()["metadata"]["count"], 1);
        assert_eq!(cache_outcome(&response), "none");
        assert!(response.headers.get("etag").is_none());
    }
}
