#![allow(clippy::unwrap_used)]
//! `mcp-reg trust update` / `trust show` end to end: a real TUF repository (ed25519 keys, signed root,
//! targets, snapshot and timestamp over TUF canonical JSON) built in a temp dir and served on 127.0.0.1,
//! and the real binary. Nothing here reaches the internet.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use registry_provenance::PUBLIC_GOOD_TRUSTED_ROOT;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

use common::{User, text};

const FAR_FUTURE: &str = "2999-01-01T00:00:00Z";
const PAST: &str = "2001-01-01T00:00:00Z";

/// Serves a directory over HTTP on a loopback port for the rest of the test.
struct Server {
    _runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
}

impl Server {
    fn start(dir: &Path) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = Arc::new(dir.to_path_buf());
        let router = Router::new().fallback(move |uri: Uri| {
            let dir = Arc::clone(&dir);
            async move {
                let rel = uri.path().trim_start_matches('/');
                if rel.split('/').any(|part| part == "..") {
                    return StatusCode::BAD_REQUEST.into_response();
                }
                match std::fs::read(dir.join(rel)) {
                    Ok(bytes) => bytes.into_response(),
                    Err(_) => StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let addr = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                axum::serve(listener, router).await.unwrap();
            });
            addr
        });
        Self {
            _runtime: runtime,
            addr,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

struct Signer {
    pair: Ed25519KeyPair,
    id: String,
    key: Value,
}

impl Signer {
    fn generate() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let key = json!({
            "keytype": "ed25519",
            "scheme": "ed25519",
            "keyval": { "public": hex::encode(pair.public_key().as_ref()) },
        });
        // The key ID is the SHA-256 of the key's canonical JSON (the TUF convention).
        let id = hex::encode(sha256(&canonical(&key)));
        Self { pair, id, key }
    }

    /// `{signed, signatures}`, signed over the TUF (OLPC) canonical JSON of `signed`.
    fn envelope(&self, signed: &Value) -> Vec<u8> {
        let sig = self.pair.sign(&canonical(signed));
        serde_json::to_vec_pretty(&json!({
            "signed": signed,
            "signatures": [{ "keyid": self.id, "sig": hex::encode(sig.as_ref()) }],
        }))
        .unwrap()
    }
}

fn canonical(value: &Value) -> Vec<u8> {
    sigstore_tuf::canonical_json::to_canonical_bytes(value).unwrap()
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

fn meta(bytes: &[u8], version: u64) -> Value {
    json!({
        "version": version,
        "length": bytes.len(),
        "hashes": { "sha256": hex::encode(sha256(bytes)) },
    })
}

/// A TUF repository in a directory: one key for every role, `trusted_root.json` as its only target.
struct Repo {
    dir: tempfile::TempDir,
    signer: Signer,
    root: Vec<u8>,
}

impl Repo {
    fn new() -> Self {
        let signer = Signer::generate();
        let role = json!({ "keyids": [signer.id], "threshold": 1 });
        let root = signer.envelope(&json!({
            "_type": "root",
            "spec_version": "1.0.0",
            "version": 1,
            "expires": FAR_FUTURE,
            "consistent_snapshot": false,
            "keys": { signer.id.clone(): signer.key },
            "roles": { "root": role, "timestamp": role, "snapshot": role, "targets": role },
        }));
        let repo = Self {
            dir: tempfile::tempdir().unwrap(),
            signer,
            root,
        };
        std::fs::create_dir_all(repo.dir.path().join("targets")).unwrap();
        repo
    }

    /// Publish `listed` as the target (its length and hash go into targets.json) and serve `served`.
    fn publish(&self, version: u64, listed: &[u8], served: &[u8], timestamp_expires: &str) {
        let targets = self.signer.envelope(&json!({
            "_type": "targets",
            "spec_version": "1.0.0",
            "version": version,
            "expires": FAR_FUTURE,
            "targets": { "trusted_root.json": {
                "length": listed.len(),
                "hashes": { "sha256": hex::encode(sha256(listed)) },
            }},
        }));
        let snapshot = self.signer.envelope(&json!({
            "_type": "snapshot",
            "spec_version": "1.0.0",
            "version": version,
            "expires": FAR_FUTURE,
            "meta": { "targets.json": meta(&targets, version) },
        }));
        let timestamp = self.signer.envelope(&json!({
            "_type": "timestamp",
            "spec_version": "1.0.0",
            "version": version,
            "expires": timestamp_expires,
            "meta": { "snapshot.json": meta(&snapshot, version) },
        }));
        let dir = self.dir.path();
        std::fs::write(dir.join("1.root.json"), &self.root).unwrap();
        std::fs::write(dir.join("targets.json"), targets).unwrap();
        std::fs::write(dir.join("snapshot.json"), snapshot).unwrap();
        std::fs::write(dir.join("timestamp.json"), timestamp).unwrap();
        std::fs::write(dir.join("targets/trusted_root.json"), served).unwrap();
    }

    /// The pinned root, as a user would get it out of band.
    fn root_file(&self, user: &User) -> PathBuf {
        let path = user.path("tuf-root.json");
        std::fs::write(&path, &self.root).unwrap();
        path
    }
}

fn run(user: &User, args: &[&str]) -> Output {
    user.run("http://127.0.0.1:9", args)
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// `mcp-reg trust update --tuf-url URL --tuf-root ROOT` as `user`.
fn update(user: &User, url: &str, root: &Path) -> Output {
    run(
        user,
        &[
            "trust",
            "update",
            "--tuf-url",
            url,
            "--tuf-root",
            root.to_str().unwrap(),
        ],
    )
}

fn stored(user: &User) -> PathBuf {
    user.path("data/trust/trusted_root.json")
}

#[test]
fn update_fetches_verifies_and_stores_the_trusted_root() {
    let repo = Repo::new();
    let target = PUBLIC_GOOD_TRUSTED_ROOT.as_bytes();
    repo.publish(1, target, target, FAR_FUTURE);
    let server = Server::start(repo.dir.path());
    let user = User::new();
    let root = repo.root_file(&user);

    let out = update(&user, &server.url(), &root);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Fulcio CAs"), "{stdout}");
    assert!(stdout.contains("first update"), "{stdout}");
    assert_eq!(std::fs::read(stored(&user)).unwrap(), target);

    let out = run(&user, &["trust", "show"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("updated: updated at"), "{stdout}");
    assert!(stdout.contains(&server.url()), "{stdout}");

    let out = run(&user, &["trust", "show", "--json"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["updated"]["source"]["url"], server.url());
    assert_eq!(shown["updated"]["source"]["tuf_root_version"], 1);

    let mut newer: Value = serde_json::from_str(PUBLIC_GOOD_TRUSTED_ROOT).unwrap();
    newer["tlogs"].as_array_mut().unwrap().truncate(1);
    let newer = serde_json::to_vec(&newer).unwrap();
    repo.publish(2, &newer, &newer, FAR_FUTURE);
    // Next time the repository comes from the config and its root is remembered; a new version of the
    // target is picked up.
    std::fs::create_dir_all(user.path("config")).unwrap();
    std::fs::write(
        user.path("config/config.toml"),
        format!("[provenance]\ntuf-url = \"{}\"\n", server.url()),
    )
    .unwrap();
    let out = run(&user, &["trust", "update"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert!(text(&out.stdout).contains("was "), "{}", describe(&out));
    assert_eq!(std::fs::read(stored(&user)).unwrap(), newer);

    // A repository serving older metadata than already seen is a rollback: refused, nothing changes.
    repo.publish(1, target, target, FAR_FUTURE);
    let out = run(&user, &["trust", "update", "--tuf-url", &server.url()]);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("TUF verification failed"),
        "{}",
        describe(&out)
    );
    assert_eq!(std::fs::read(stored(&user)).unwrap(), newer);

    // Verification reads the stored root (offline, before it asks the registry anything): a damaged
    // one is reported rather than skipped.
    let out = run(&user, &["verify", "io.github.acme/memory@1.0.0"]);
    assert!(
        !text(&out.stderr).contains("updated trusted root"),
        "{}",
        describe(&out)
    );
    std::fs::write(stored(&user), "not json").unwrap();
    let out = run(&user, &["verify", "io.github.acme/memory@1.0.0"]);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("updated trusted root"),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_tampered_target_is_refused_and_nothing_is_stored() {
    let repo = Repo::new();
    let target = PUBLIC_GOOD_TRUSTED_ROOT.as_bytes();
    let mut tampered = target.to_vec();
    let last = tampered.iter().rposition(|b| *b == b'}').unwrap();
    tampered.insert(last, b' ');
    tampered.truncate(target.len()); // same length, different bytes: only the hash can tell
    repo.publish(1, target, &tampered, FAR_FUTURE);
    let server = Server::start(repo.dir.path());
    let user = User::new();
    let root = repo.root_file(&user);

    let out = update(&user, &server.url(), &root);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("TUF verification failed"), "{stderr}");
    assert!(stderr.contains("sha256 mismatch"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!user.path("data/trust").exists(), "{}", describe(&out));
}

#[test]
fn an_expired_timestamp_is_refused_and_nothing_is_stored() {
    let repo = Repo::new();
    let target = PUBLIC_GOOD_TRUSTED_ROOT.as_bytes();
    repo.publish(1, target, target, PAST);
    let server = Server::start(repo.dir.path());
    let user = User::new();
    let root = repo.root_file(&user);

    let out = update(&user, &server.url(), &root);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("expired"), "{stderr}");
    assert!(!user.path("data/trust").exists(), "{}", describe(&out));
}

#[test]
fn failures_before_verification_are_clean() {
    let user = User::new();

    // Nothing listens on the port: a network failure, exit 1, one line and a hint.
    let (_held, address) = common::refused_address();
    let url = format!("http://{address}");
    let repo = Repo::new();
    let root = repo.root_file(&user);
    let out = run(
        &user,
        &[
            "trust",
            "update",
            "--tuf-url",
            &url,
            "--tuf-root",
            root.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot update the trusted root"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!stderr.contains("bug"), "{stderr}");
    assert!(!user.path("data/trust").exists());

    // A repository other than Sigstore's needs its root once: usage error.
    let out = run(&user, &["trust", "update", "--tuf-url", &url]);
    assert_eq!(code(&out), Some(2), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("--tuf-root"),
        "{}",
        describe(&out)
    );

    // Not a URL: usage error.
    let out = run(&user, &["trust", "update", "--tuf-url", "ftp://example"]);
    assert_eq!(code(&out), Some(2), "{}", describe(&out));

    // A root file that is not TUF metadata: refused before anything is fetched or stored.
    let bad = user.path("bad-root.json");
    std::fs::write(&bad, "{\"not\": \"a root\"}").unwrap();
    let out = run(
        &user,
        &[
            "trust",
            "update",
            "--tuf-url",
            &url,
            "--tuf-root",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("is not a usable TUF root.json"),
        "{}",
        describe(&out)
    );
    assert!(!user.path("data/trust").exists());

    // Without an update, `show` lists the shipped root only.
    let out = run(&user, &["trust", "show"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("updated: none"),
        "{}",
        describe(&out)
    );
}
