#![allow(clippy::unwrap_used)]
//! Signer pinning against a hostile registry, through the real `mcp-reg` binary. The user reaches the
//! registry through a proxy on one URL; the proxy is then pointed at a second registry run by an attacker,
//! who registered their own key for the namespace there and re-signed an altered manifest with it. Whatever
//! that registry lists, `verify`, `install` and `upgrade` refuse it: its key log rewrites the history the
//! user saw, and without a key log its signer is not the pinned one. A real key rotation on the honest
//! registry is refused too until the user accepts it with `--accept-signer`.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use common::{Registry, User, login, ok, text, write_json};

const NAME: &str = "com.example/weather";

/// Where the proxy forwards, and whether it hides the key log (as a registry without one would).
#[derive(Clone)]
struct Upstream {
    target: Arc<Mutex<(String, bool)>>,
    client: reqwest::Client,
}

/// A reverse proxy on 127.0.0.1 whose upstream the test can switch; stops with the test process.
fn start_proxy(first: &str) -> (String, Upstream) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let upstream = Upstream {
        target: Arc::new(Mutex::new((first.to_owned(), false))),
        client: reqwest::Client::new(),
    };
    let router = Router::new().fallback(forward).with_state(upstream.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, router).await.unwrap();
        });
    });
    (url, upstream)
}

async fn forward(
    State(upstream): State<Upstream>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (base, hide_key_log) = upstream.target.lock().unwrap().clone();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    if hide_key_log && uri.path().ends_with("/key-log") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut request = upstream
        .client
        .request(method, format!("{base}{path}"))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let mut out = HeaderMap::new();
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            out.insert(name, value.clone());
        }
    }
    (status, out, answer.bytes().await.unwrap()).into_response()
}

fn manifest(version: &str, url: &str) -> Value {
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": NAME,
        "description": "Weather for agents",
        "version": version,
        "remotes": [{ "type": "streamable-http", "url": url }]
    })
}

/// A publisher with a fresh key registered for the namespace at `registry`; returns the key's path.
fn publisher_with_key(registry: &Registry, user: &User, file: &str) -> String {
    login(user, registry);
    let key = user.path(file);
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    ok(&user.run(&registry.url, &["keygen", "--out", key.to_str().unwrap()]));
    let public = format!("{}.pub", key.display());
    ok(&user.run(
        &registry.url,
        &["keys", "register", &public, "--namespace", NAME],
    ));
    key.to_str().unwrap().to_owned()
}

fn publish_signed(registry: &Registry, user: &User, key: &str, version: &str, url: &str) {
    let file = user.path(&format!("work/{version}/server.json"));
    write_json(&file, &manifest(version, url));
    let out = ok(&user.run(
        &registry.url,
        &[
            "publish",
            file.to_str().unwrap(),
            "--no-probe",
            "--sign-key",
            key,
        ],
    ));
    assert!(out.contains("provenance: verified"), "{out}");
}

fn cursor_config(user: &User) -> String {
    std::fs::read_to_string(user.home().join(".cursor/mcp.json")).unwrap_or_default()
}

fn install(user: &User, proxy: &str, version: &str, extra: &[&str]) -> std::process::Output {
    let spec = format!("{NAME}@{version}");
    let mut args = vec!["install", spec.as_str(), "--host", "cursor", "--yes"];
    args.extend_from_slice(extra);
    user.run(proxy, &args)
}

fn assert_refused(out: &std::process::Output, needle: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains(needle),
        "expected `{needle}` in:\n{}",
        text(&out.stderr)
    );
}

#[test]
#[allow(clippy::too_many_lines)] // one story, step after step
fn a_hostile_registry_cannot_swap_the_signer_and_a_real_rotation_needs_consent() {
    let honest = Registry::start();
    let hostile = Registry::start();
    let (proxy, upstream) = start_proxy(&honest.url);

    // The publisher signs 1.0.0 on the honest registry; the user installs it through the proxy, which
    // pins the publisher's key and remembers the namespace's key log head.
    let publisher = User::new();
    let publisher_key = publisher_with_key(&honest, &publisher, "keys/release.key");
    publish_signed(
        &honest,
        &publisher,
        &publisher_key,
        "1.0.0",
        "https://weather.example.com/mcp",
    );
    let user = User::new();
    ok(&install(&user, &proxy, "1.0.0", &[]));
    assert!(cursor_config(&user).contains("weather.example.com"));
    let record: Value =
        serde_json::from_slice(&std::fs::read(user.path("data/installed.json")).unwrap()).unwrap();
    assert_eq!(record["signers"][NAME]["mode"], "key", "{record}");
    assert_eq!(
        record["key_logs"][format!("{proxy} com.example")]["seq"],
        1,
        "{record}"
    );

    // The attacker's registry: their own key for the namespace, an altered 1.1.0 signed with it.
    let attacker = User::new();
    let attacker_key = publisher_with_key(&hostile, &attacker, "keys/evil.key");
    publish_signed(
        &hostile,
        &attacker,
        &attacker_key,
        "1.1.0",
        "https://evil.example.net/mcp",
    );
    *upstream.target.lock().unwrap() = (hostile.url.clone(), false);

    // Its key log is self-consistent but is not the history the user saw.
    let verify = user.run(&proxy, &["verify", &format!("{NAME}@1.1.0")]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify.stderr));
    assert!(
        text(&verify.stdout).contains("rewrites history"),
        "{}",
        text(&verify.stdout)
    );
    assert!(!text(&verify.stdout).contains("VERIFIED"));
    assert_refused(&install(&user, &proxy, "1.1.0", &[]), "rewrites history");
    assert!(!cursor_config(&user).contains("evil.example.net"));
    // --accept-signer does not make a rewritten log acceptable.
    assert_refused(
        &install(&user, &proxy, "1.1.0", &["--accept-signer"]),
        "rewrites history",
    );

    // Pretending to have no key log leaves only the key list, which names the attacker's key: the
    // bundle checks out against it, but the signer is not the pinned one.
    upstream.target.lock().unwrap().1 = true;
    assert_refused(
        &install(&user, &proxy, "1.1.0", &[]),
        "the signer of com.example/weather changed",
    );
    let verify = user.run(&proxy, &["verify", &format!("{NAME}@1.1.0")]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify.stderr));
    assert!(
        text(&verify.stderr).contains("--accept-signer"),
        "{}",
        text(&verify.stderr)
    );
    assert!(!cursor_config(&user).contains("evil.example.net"));
    // A user who never saw this server is not protected by a pin, which is what trust on first use means;
    // the pin holds from then on.
    let newcomer = User::new();
    ok(&install(&newcomer, &proxy, "1.1.0", &[]));

    // Back on the honest registry: the publisher rotates to a new key and signs 1.2.0 with it. The log is
    // a clean extension of what the user saw, but the signer changed: refused until accepted.
    *upstream.target.lock().unwrap() = (honest.url.clone(), false);
    let rotated_key = user_key(&honest, &publisher, "keys/rotated.key");
    publish_signed(
        &honest,
        &publisher,
        &rotated_key,
        "1.2.0",
        "https://weather.example.com/mcp",
    );
    assert_refused(
        &user.run(&proxy, &["upgrade", NAME, "--yes"]),
        "the signer of com.example/weather changed",
    );
    assert_eq!(installed_version(&user), "1.0.0");
    ok(&user.run(&proxy, &["upgrade", NAME, "--yes", "--accept-signer"]));
    assert_eq!(installed_version(&user), "1.2.0");
    let verified = ok(&user.run(&proxy, &["verify", &format!("{NAME}@1.2.0")]));
    assert!(verified.contains("VERIFIED"), "{verified}");
    // The old key's version now fails the pin.
    let old = user.run(&proxy, &["verify", &format!("{NAME}@1.0.0")]);
    assert_eq!(old.status.code(), Some(1), "{}", text(&old.stderr));
    let record: Value =
        serde_json::from_slice(&std::fs::read(user.path("data/installed.json")).unwrap()).unwrap();
    assert_eq!(
        record["key_logs"][format!("{proxy} com.example")]["seq"],
        2,
        "{record}"
    );
    assert!(Path::new(&rotated_key).is_file());
}

fn installed_version(user: &User) -> String {
    let record: Value =
        serde_json::from_slice(&std::fs::read(user.path("data/installed.json")).unwrap()).unwrap();
    record["installs"][0]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A second key for the publisher, registered beside the first.
fn user_key(registry: &Registry, user: &User, file: &str) -> String {
    let key = user.path(file);
    ok(&user.run(&registry.url, &["keygen", "--out", key.to_str().unwrap()]));
    let public = format!("{}.pub", key.display());
    ok(&user.run(
        &registry.url,
        &["keys", "register", &public, "--namespace", NAME],
    ));
    key.to_str().unwrap().to_owned()
}
