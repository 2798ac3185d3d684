//! `registry-server mirror`: an upstream (our own server on a loopback socket, SQLite) is mirrored into a
//! downstream database on each engine, then followed incrementally; interrupted passes resume; failures
//! name the upstream.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::time::Duration;

use registry_server::auth::Action;
use registry_server::config::ServerConfig;
use registry_server::db::VersionSelector;
use registry_server::mirror::{MirrorError, MirrorOptions, mirror_once};
use registry_server::{AppState, serve};
use registry_tests::app::{TestApp, encode, manifest};
use registry_tests::db::TestDb;
use serde_json::{Value, json};
use url::Url;

registry_tests::on_both_engines!(
    first_pass_copies_then_passes_follow_changes,
    interrupted_pass_resumes_and_reapplying_is_idempotent,
);

/// Both sides answer from the database, so a write through one path is seen by the other at once.
fn uncached() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.cache.max_bytes = 0;
    config
}

/// Tests do not wait out a clock margin: the upstream is on this machine and commits before it answers.
fn options() -> MirrorOptions {
    MirrorOptions {
        settle: Duration::ZERO,
        retries: 1,
        backoff: Duration::from_millis(5),
        ..MirrorOptions::default()
    }
}

/// Our own server as the upstream: written to through its API in-process, read by the mirror over a
/// real socket.
struct Upstream {
    app: TestApp,
    url: Url,
    token: String,
    /// Dropping it stops the socket server.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Upstream {
    async fn start() -> Self {
        let app = TestApp::with_config(TestDb::sqlite().await, uncached()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(app.store.clone(), uncached());
        tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        let token = app
            .token(&[(Action::Publish, "*"), (Action::Edit, "*")])
            .await;
        Self {
            app,
            url: Url::parse(&format!("http://{address}/")).unwrap(),
            token,
            _stop: stop,
        }
    }

    async fn publish(&self, name: &str, version: &str) {
        self.app
            .publish(&self.token, &manifest(name, version))
            .await
            .ok();
    }

    async fn set_status(&self, name: &str, version: &str, status: &str, message: Option<&str>) {
        let mut body = json!({ "status": status });
        if let Some(message) = message {
            body["statusMessage"] = json!(message);
        }
        self.app
            .patch(
                &self.token,
                &format!(
                    "/v0.1/servers/{}/versions/{}/status",
                    encode(name),
                    encode(version)
                ),
                &body,
            )
            .await
            .ok();
    }

    /// The key the mirror saves its progress under.
    fn key(&self) -> String {
        self.url.as_str().trim_end_matches('/').to_owned()
    }
}

/// Everything `GET /v0.1/servers?include_deleted=true` shows that a mirror must reproduce (all but the
/// local `updatedAt`), walking every page.
async fn listing(app: &TestApp) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(cursor) => format!(
                "/v0.1/servers?include_deleted=true&limit=3&cursor={}",
                encode(cursor)
            ),
            None => "/v0.1/servers?include_deleted=true&limit=3".to_owned(),
        };
        let page = app.get(&uri).await.ok();
        for entry in page["servers"].as_array().unwrap() {
            let official = &entry["_meta"]["io.modelcontextprotocol.registry/official"];
            rows.push(json!({
                "name": entry["server"]["name"],
                "version": entry["server"]["version"],
                "status": official["status"],
                "statusMessage": official["statusMessage"],
                "statusChangedAt": official["statusChangedAt"],
                "publishedAt": official["publishedAt"],
                "isLatest": official["isLatest"],
            }));
        }
        match page["metadata"]["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => return rows,
        }
    }
}

/// Asserts the downstream shows what the upstream shows, manifests byte for byte.
async fn assert_mirrored(upstream: &Upstream, downstream: &TestApp) -> usize {
    let expected = listing(&upstream.app).await;
    assert_eq!(listing(downstream).await, expected);
    for row in &expected {
        let (name, version) = (
            row["name"].as_str().unwrap(),
            row["version"].as_str().unwrap(),
        );
        let selector = VersionSelector::Exact(version.to_owned());
        let up = upstream.app.store.find_version(name, &selector, true);
        let down = downstream.store.find_version(name, &selector, true);
        assert_eq!(
            down.await.unwrap().unwrap().manifest,
            up.await.unwrap().unwrap().manifest
        );
    }
    expected.len()
}

/// The pass-start bound on the mark has one-second resolution (the `Date` header): let the clock move
/// past the upstream's last write so the mark is exactly its largest `updatedAt`.
async fn next_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

async fn first_pass_copies_then_passes_follow_changes(db: TestDb) {
    let upstream = Upstream::start().await;
    for (name, version) in [
        ("io.test/alpha", "1.0.0"),
        ("io.test/alpha", "1.1.0"),
        ("io.test/beta", "0.1.0"),
        ("io.test/beta", "0.2.0"),
        ("io.test/gamma", "2.0.0"),
    ] {
        upstream.publish(name, version).await;
    }
    upstream
        .set_status("io.test/alpha", "1.0.0", "deprecated", Some("use 1.1"))
        .await;
    // Deleted before the first pass: copied too, and beta's latest moves back to 0.1.0 on both sides.
    upstream
        .set_status("io.test/beta", "0.2.0", "deleted", None)
        .await;
    next_second().await;

    let downstream = TestApp::with_config(db, uncached()).await;
    let first = mirror_once(&downstream.store, &upstream.url, &options())
        .await
        .unwrap();
    assert!(first.complete, "{first:?}");
    assert_eq!(
        (first.fetched, first.imported, first.statuses_updated),
        (5, 5, 0)
    );
    assert!(first.rejected.is_empty(), "{first:?}");
    assert!(first.updated_since.is_some());
    assert_eq!(assert_mirrored(&upstream, &downstream).await, 5);

    // Nothing changed upstream: the next pass asks only for later changes and gets none.
    let idle = mirror_once(&downstream.store, &upstream.url, &options())
        .await
        .unwrap();
    assert_eq!((idle.requests, idle.fetched, idle.imported), (1, 0, 0));

    upstream
        .set_status("io.test/gamma", "2.0.0", "deprecated", Some("moved"))
        .await;
    upstream
        .set_status("io.test/alpha", "1.0.0", "deleted", None)
        .await;
    // Moves alpha's latest flag off 1.1.0, which makes 1.1.0 an update upstream too.
    upstream.publish("io.test/alpha", "2.0.0").await;

    let second = mirror_once(&downstream.store, &upstream.url, &options())
        .await
        .unwrap();
    assert!(second.complete);
    // Only the four changed rows travel: gamma 2.0.0, alpha 1.0.0, 1.1.0 (flag) and 2.0.0.
    assert_eq!(second.fetched, 4, "{second:?}");
    assert_eq!(
        (second.imported, second.statuses_updated, second.unchanged),
        (1, 2, 1)
    );
    assert_eq!(assert_mirrored(&upstream, &downstream).await, 6);
    let latest = downstream.get("/v0.1/servers?version=latest").await.ok();
    let latest: Vec<(&str, &str)> = latest["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["server"]["name"].as_str().unwrap(),
                entry["server"]["version"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        latest,
        [
            ("io.test/alpha", "2.0.0"),
            ("io.test/beta", "0.1.0"),
            ("io.test/gamma", "2.0.0")
        ]
    );
}

async fn interrupted_pass_resumes_and_reapplying_is_idempotent(db: TestDb) {
    let upstream = Upstream::start().await;
    for name in ["a", "b", "c", "d", "e"] {
        upstream
            .publish(&format!("io.test/srv-{name}"), "1.0.0")
            .await;
    }
    upstream
        .set_status("io.test/srv-c", "1.0.0", "deprecated", Some("old"))
        .await;
    next_second().await;
    let downstream = TestApp::with_config(db, uncached()).await;
    let paged = MirrorOptions {
        page_size: 2,
        ..options()
    };

    // Stopped after one page, as a crash after its commit would leave it.
    let stopped = mirror_once(
        &downstream.store,
        &upstream.url,
        &MirrorOptions {
            max_pages: Some(1),
            ..paged.clone()
        },
    )
    .await
    .unwrap();
    assert!(!stopped.complete);
    assert_eq!(
        (stopped.pages, stopped.fetched, stopped.imported),
        (1, 2, 2)
    );
    let saved = downstream
        .store
        .mirror_state(&upstream.key())
        .await
        .unwrap()
        .unwrap();
    // The upstream's opaque cursor, kept as it sent it (ours: base64url of the `name:version` position).
    assert_eq!(
        saved.pass_cursor,
        Some(registry_server::handlers::servers::encode_cursor(
            "io.test/srv-b:1.0.0"
        ))
    );
    assert_eq!(saved.updated_since, None);

    // The next run continues after the saved cursor, not from the start.
    let resumed = mirror_once(&downstream.store, &upstream.url, &paged)
        .await
        .unwrap();
    assert!(resumed.complete);
    assert_eq!((resumed.fetched, resumed.imported), (3, 3));
    assert_eq!(assert_mirrored(&upstream, &downstream).await, 5);

    // A crash after applying pages but before saving them replays them: nothing changes twice.
    downstream
        .store
        .save_mirror_state(&upstream.key(), &saved)
        .await
        .unwrap();
    let replayed = mirror_once(&downstream.store, &upstream.url, &paged)
        .await
        .unwrap();
    assert_eq!(
        (
            replayed.fetched,
            replayed.imported,
            replayed.statuses_updated,
            replayed.times_updated,
            replayed.unchanged
        ),
        (3, 0, 0, 0, 3)
    );
    assert_eq!(assert_mirrored(&upstream, &downstream).await, 5);
}

#[tokio::test]
async fn unreachable_upstream_is_a_clear_error() {
    // Nothing listens there.
    let (_held, address) = registry_tests::refused_address();
    let port = address.port();
    let url = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    let err = mirror_once(&store, &url, &options()).await.unwrap_err();
    assert!(
        matches!(err, MirrorError::Unreachable { attempts: 2, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("cannot reach the upstream registry")
            && message.contains(&format!("127.0.0.1:{port}")),
        "{message}"
    );
    // Nothing was recorded for a pass that never got a page.
    let key = url.as_str().trim_end_matches('/');
    assert_eq!(store.mirror_state(key).await.unwrap(), None);
}

#[tokio::test]
async fn a_registry_that_is_not_there_is_not_retried() {
    let upstream = Upstream::start().await;
    let wrong = upstream.url.join("not-a-registry/").unwrap();
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    let err = mirror_once(&store, &wrong, &options()).await.unwrap_err();
    assert!(
        matches!(err, MirrorError::Status { status, .. } if status.as_u16() == 404),
        "{err:?}"
    );
    let unusable = Url::parse("ftp://127.0.0.1/").unwrap();
    assert!(matches!(
        mirror_once(&store, &unusable, &options()).await,
        Err(MirrorError::BadUrl { .. })
    ));
}

/// An official-registry page as upstream writes it: nanosecond timestamps, fields we do not know.
const OFFICIAL_PAGE: &str = r#"{"servers":[{"server":{"$schema":"https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json","name":"io.github.someone/tool","description":"A tool","version":"0.3.0","packages":[{"registryType":"npm","identifier":"@someone/tool","version":"0.3.0","transport":{"type":"stdio"}}]},"_meta":{"io.modelcontextprotocol.registry/official":{"status":"deprecated","statusMessage":"use v2","statusChangedAt":"2025-10-02T08:00:00.123456789Z","publishedAt":"2025-09-30T12:34:56.987654321Z","updatedAt":"2025-10-02T08:00:00.123456789Z","isLatest":true,"serverId":"legacy"}}}],"metadata":{"count":1}}"#;

/// Answers the first request 503, the rest with [`OFFICIAL_PAGE`]; returns the base URL.
async fn flaky_official_upstream() -> Url {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut served = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0u8; 4096];
            let _ = socket.read(&mut request).await;
            let (status, body) = if served == 0 {
                ("503 Service Unavailable", "{}")
            } else {
                ("200 OK", OFFICIAL_PAGE)
            };
            served += 1;
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    Url::parse(&format!("http://{address}")).unwrap()
}

#[tokio::test]
async fn server_errors_are_retried_and_official_pages_are_read() {
    let url = flaky_official_upstream().await;
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    let summary = mirror_once(&store, &url, &options()).await.unwrap();
    assert_eq!(
        (summary.requests, summary.fetched, summary.imported),
        (2, 1, 1),
        "{summary:?}"
    );
    let record = store
        .find_version(
            "io.github.someone/tool",
            &VersionSelector::Exact("0.3.0".into()),
            true,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, registry_server::db::Status::Deprecated);
    assert_eq!(record.status_message.as_deref(), Some("use v2"));
    assert!(record.is_latest);
    // Kept at the store's microsecond precision.
    assert_eq!(record.published_at.unix_timestamp(), 1_759_235_696);
    assert_eq!(record.published_at.nanosecond(), 987_654_000);
    assert_eq!(record.status_changed_at.nanosecond(), 123_456_000);
    // The mark is the largest `updatedAt` applied (long before the pass began).
    assert_eq!(
        summary.updated_since.as_deref(),
        Some("2025-10-02T08:00:00.123456Z")
    );
}
