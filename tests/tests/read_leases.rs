//! Read leases behind strict cache consistency on PostgreSQL (`registry_server::read_fence`,
//! `registry_server::db` `fence.rs`): a replica holding a lease serves cache hits without touching the
//! database, writers wait until every live lease covers their change or runs out, and a replica that
//! cannot keep its lease falls back to reading the change counter per hit.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::time::{Duration, Instant};

use registry_server::auth::Action;
use registry_server::read_fence::ReadFence;
use registry_tests::app::{TestApp, cache_outcome, encode, manifest};
use registry_tests::db::TestDb;

const NAME: &str = "io.github.alice/weather";

fn latest() -> String {
    format!("/v0.1/servers/{}/versions/latest", encode(NAME))
}

fn fence(app: &TestApp) -> &ReadFence {
    app.state
        .read_fence
        .as_ref()
        .expect("strict consistency on PostgreSQL has a read fence")
}

/// Waits up to 10 s for the fence's lease to be held (or, with `held` false, to be gone).
async fn until_lease(app: &TestApp, held: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while fence(app).holds_lease() != held {
        assert!(
            Instant::now() < deadline,
            "the read lease was not {} within 10 s",
            if held { "taken" } else { "given up" }
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How many leases are live now.
async fn live_leases(raw: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar("select count(*) from replica_leases where expires_at > now()")
        .fetch_one(raw)
        .await
        .unwrap()
}

/// A lease as another replica would have left it: covering `covered`, running out in `seconds`.
async fn leave_lease(raw: &mut sqlx::PgConnection, replica: &str, covered: i64, seconds: f64) {
    sqlx::query(
        "insert into replica_leases (replica, covered, expires_at) \
         values ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(replica)
    .bind(covered)
    .bind(seconds)
    .execute(raw)
    .await
    .unwrap();
}

/// Two replicas with a published server, the reader's cache warm.
async fn writer_and_reader() -> (TestApp, TestApp, String) {
    let writer = TestApp::new(TestDb::postgres().await).await;
    let reader = writer.replica().await;
    let token = writer
        .token(&[(Action::Publish, "io.github.alice/*")])
        .await;
    writer.publish(&token, &manifest(NAME, "1.0.0")).await.ok();
    reader.get(&latest()).await.ok();
    assert_eq!(cache_outcome(&reader.get(&latest()).await), "hit");
    (writer, reader, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hits_under_a_lease_do_not_read_the_counter() {
    let (writer, reader, token) = writer_and_reader().await;
    until_lease(&reader, true).await;
    let reads_before = fence(&reader).counter_reads();
    for _ in 0..200 {
        let response = reader.get(&latest()).await;
        assert_eq!(cache_outcome(&response), "hit");
        assert_eq!(response.ok()["server"]["version"], "1.0.0");
    }
    // Only lease extensions read the counter (two a second); per-hit fences would have read it 200 times.
    let reads = fence(&reader).counter_reads() - reads_before;
    assert!(reads <= 4, "{reads} counter reads for 200 hits");

    // The lease does not cost freshness: each acknowledged write is seen by the next read.
    for minor in 1..=10 {
        let version = format!("1.{minor}.0");
        writer.publish(&token, &manifest(NAME, &version)).await.ok();
        let seen = reader.get(&latest()).await;
        assert_eq!(seen.ok()["server"]["version"], version.as_str());
        assert_eq!(cache_outcome(&reader.get(&latest()).await), "hit");
    }
    assert!(fence(&reader).holds_lease());
    let metrics = reader.get("/metrics").await;
    assert!(
        String::from_utf8_lossy(&metrics.body).contains("mcp_registry_read_lease_held 1\n"),
        "/metrics says the lease is held"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_waits_for_a_lease_that_does_not_cover_it_to_run_out() {
    let db = TestDb::postgres().await;
    let mut raw = db.pg_connection().await;
    let writer = TestApp::new(db).await;
    let token = writer
        .token(&[(Action::Publish, "io.github.alice/*")])
        .await;
    // A replica that stopped answering (hung, or cut off from the database) left a live lease behind.
    leave_lease(&mut raw, "hung-replica", 0, 1.5).await;
    let started = Instant::now();
    writer.publish(&token, &manifest(NAME, "1.0.0")).await.ok();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1),
        "acknowledged after {waited:?}, before the hung replica's lease ran out"
    );
    // Once it ran out, writes no longer wait for it.
    let started = Instant::now();
    writer.publish(&token, &manifest(NAME, "1.1.0")).await.ok();
    assert!(started.elapsed() < Duration::from_secs(1));

    // A lease that covers everything drawn so far does not hold writers up either.
    leave_lease(&mut raw, "caught-up-replica", i64::MAX, 3600.0).await;
    let started = Instant::now();
    writer.publish(&token, &manifest(NAME, "1.2.0")).await.ok();
    assert!(started.elapsed() < Duration::from_secs(1));

    // Writers that advance the counter themselves wait the same way.
    leave_lease(&mut raw, "another-hung-replica", 0, 1.0).await;
    let drawn: i64 = sqlx::query_scalar("select nextval('mcp_reg_change_seq')")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    let started = Instant::now();
    writer.store.await_read_leases(drawn).await;
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_that_cannot_keep_its_lease_reads_the_counter_per_hit() {
    let (writer, reader, _token) = writer_and_reader().await;
    until_lease(&reader, true).await;
    let mut raw = writer.db.pg_connection().await;
    // The lease table out of reach: extensions fail, and the lease runs out.
    sqlx::query("alter table replica_leases rename to replica_leases_away")
        .execute(&mut raw)
        .await
        .unwrap();
    until_lease(&reader, false).await;

    // A write nobody waits for (no lease to wait on) and nobody announces: only a fence can see it.
    writer.db.deprecate_unannounced(NAME).await;
    let seen = reader.get(&latest()).await;
    assert_eq!(
        cache_outcome(&seen),
        "miss",
        "the fence dropped the old page"
    );
    assert_eq!(
        seen.ok()["_meta"]["io.modelcontextprotocol.registry/official"]["status"],
        "deprecated"
    );
    assert_eq!(cache_outcome(&reader.get(&latest()).await), "hit");

    // With the table back, the lease is taken again, even while hits keep the fence busy.
    sqlx::query("alter table replica_leases_away rename to replica_leases")
        .execute(&mut raw)
        .await
        .unwrap();
    let path = latest();
    let hits = || async {
        while !fence(&reader).holds_lease() {
            assert_eq!(cache_outcome(&reader.get(&path).await), "hit");
        }
    };
    tokio::join!(until_lease(&reader, true), hits(), hits(), hits(), hits());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_replica_gives_its_lease_up() {
    let (writer, reader, _token) = writer_and_reader().await;
    until_lease(&reader, true).await;
    let mut raw = writer.db.pg_connection().await;
    assert_eq!(live_leases(&mut raw).await, 2, "the writer and the reader");
    drop(reader);
    let deadline = Instant::now() + Duration::from_secs(1);
    while live_leases(&mut raw).await != 1 {
        assert!(
            Instant::now() < deadline,
            "the lease was not given up within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_under_a_lease_sees_every_acknowledged_write() {
    let (writer, reader, token) = writer_and_reader().await;
    until_lease(&reader, true).await;
    let search = |term: &str| format!("/v0.1/servers?search={term}");
    // Warm: the index is current as of the lease's coverage, so searches skip the database's check.
    assert_eq!(
        reader.get(&search("weather")).await.ok()["metadata"]["count"],
        1
    );
    for probe in 0..10 {
        let name = format!("io.github.alice/lease-probe-{probe}");
        writer.publish(&token, &manifest(&name, "1.0.0")).await.ok();
        // Through the writer's own index and through the other replica's, at once.
        for app in [&writer, &reader] {
            let found = app.get(&search(&format!("lease-probe-{probe}"))).await.ok();
            assert_eq!(found["servers"][0]["server"]["name"], name.as_str());
        }
    }
    assert!(fence(&reader).holds_lease());
}
