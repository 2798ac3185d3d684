#![allow(clippy::unwrap_used)]
//! Signed provenance end to end, through the real `mcp-reg` binary and the real registry: `keygen`,
//! `keys register`, `publish --sign-key`, `show`, `verify`, `install`; then a tampered stored bundle
//! makes `verify` and `install` fail, and the user's policy for unsigned versions.

mod common;

use std::path::Path;

use registry_server::cache::CacheConfig;
use registry_server::config::ServerConfig;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use common::{Registry, User, login, ok, text, write_json};

const NAME: &str = "com.example/weather";

fn manifest(version: &str) -> Value {
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": NAME,
        "description": "Weather for agents",
        "version": version,
        "remotes": [{ "type": "streamable-http", "url": "https://weather.example.com/mcp" }]
    })
}

fn publish(user: &User, url: &str, version: &str, extra: &[&str]) -> std::process::Output {
    let file = user.path(&format!("work/{version}/server.json"));
    write_json(&file, &manifest(version));
    let mut args = vec!["publish", file.to_str().unwrap(), "--no-probe"];
    args.extend_from_slice(extra);
    user.run(url, &args)
}

/// Rewrites the stored bundle of `version` in the registry's SQLite file: one byte of the DSSE
/// signature flipped, as an attacker with database access (or a bad mirror) would.
fn tamper_stored_bundle(database: &Path, version: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection as _;
        let url = format!("sqlite://{}", database.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let (id, bundle): (i64, String) = sqlx::query_as(
            "select b.version_id, b.bundle from provenance_bundles b \
             join server_versions v on v.id = b.version_id where v.server_name = ?1 and v.version = ?2",
        )
        .bind(NAME)
        .bind(version)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        let mut bundle: Value = serde_json::from_str(&bundle).unwrap();
        let signature = &mut bundle["dsseEnvelope"]["signatures"][0]["sig"];
        let mut bytes = STANDARD.decode(signature.as_str().unwrap()).unwrap();
        bytes[10] ^= 0x01;
        *signature = json!(STANDARD.encode(bytes));
        sqlx::query("update provenance_bundles set bundle = ?1 where version_id = ?2")
            .bind(bundle.to_string())
            .bind(id)
            .execute(&mut conn)
            .await
            .unwrap();
    });
}

#[test]
#[allow(clippy::too_many_lines)] // one flow, step after step
fn key_signed_publish_show_verify_install_and_tampering() {
    // No response cache: the test rewrites a stored bundle behind the registry's back.
    let registry = Registry::start_with(ServerConfig {
        cache: CacheConfig {
            max_bytes: 0,
            ..CacheConfig::default()
        },
        ..ServerConfig::default()
    });
    let url = registry.url.as_str();
    let user = User::new();
    login(&user, &registry);

    // keygen: private key 0600, public key beside it; never overwritten silently.
    let key = user.path("keys/release.key");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    let out = ok(&user.run(
        url,
        &[
            "keygen",
            "--out",
            key.to_str().unwrap(),
            "--algorithm",
            "ecdsa-p256",
        ],
    ));
    assert!(out.contains("key id:"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let again = user.run(url, &["keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("hint:"),
        "{}",
        text(&again.stderr)
    );

    // Signing with an unregistered key is refused by the registry, nothing is stored.
    let refused = publish(&user, url, "1.0.0", &["--sign-key", key.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("not registered"),
        "{}",
        text(&refused.stderr)
    );

    let public = format!("{}.pub", key.display());
    let registered = ok(&user.run(url, &["keys", "register", &public, "--namespace", NAME]));
    assert!(registered.contains("registered key"), "{registered}");
    let listed = ok(&user.run(url, &["keys", "list", "com.example", "--json"]));
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1);

    let published = ok(&publish(
        &user,
        url,
        "1.0.0",
        &["--sign-key", key.to_str().unwrap()],
    ));
    assert!(published.contains("provenance: verified"), "{published}");
    // An unsigned version beside it.
    ok(&publish(&user, url, "1.1.0", &[]));

    let show = ok(&user.run(url, &["show", &format!("{NAME}@1.0.0")]));
    assert!(show.contains("verified by the registry (key)"), "{show}");
    assert!(show.contains("key id"), "{show}");
    let show = ok(&user.run(url, &["show", &format!("{NAME}@1.1.0")]));
    assert!(show.contains("unsigned"), "{show}");

    let verified = user.run(url, &["verify", &format!("{NAME}@1.0.0")]);
    let stdout = ok(&verified);
    assert!(stdout.contains("VERIFIED"), "{stdout}");
    assert!(stdout.contains("key id"), "{stdout}");
    // Verifying 1.0.0 pinned its key: an unsigned later version is a change of signer (exit 1), which
    // --accept-signer lets through as what it is, unsigned (exit 3).
    let unsigned = user.run(url, &["verify", &format!("{NAME}@1.1.0")]);
    assert_eq!(
        unsigned.status.code(),
        Some(1),
        "{}",
        text(&unsigned.stdout)
    );
    assert!(
        text(&unsigned.stderr).contains("1.1.0 is unsigned")
            && text(&unsigned.stderr).contains("--accept-signer"),
        "{}",
        text(&unsigned.stderr)
    );
    let unsigned = user.run(
        url,
        &["verify", &format!("{NAME}@1.1.0"), "--accept-signer"],
    );
    assert_eq!(
        unsigned.status.code(),
        Some(3),
        "{}",
        text(&unsigned.stdout)
    );
    assert!(text(&unsigned.stdout).contains("UNSIGNED"));
    let json_out = ok(&user.run(url, &["verify", &format!("{NAME}@1.0.0"), "--json"]));
    let json_out: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(json_out["status"], "verified");
    assert_eq!(json_out["summary"]["mode"], "key");

    // install verifies first and records what verified.
    ok(&user.run(
        url,
        &[
            "install",
            &format!("{NAME}@1.0.0"),
            "--host",
            "cursor",
            "--yes",
        ],
    ));
    let records: Value = serde_json::from_str(&ok(&user.run(url, &["list", "--json"]))).unwrap();
    let record = &records[0];
    assert_eq!(record["version"], "1.0.0");
    assert_eq!(record["digest"], json_out["summary"]["digest"]);
    assert!(
        record["signed_by"].as_str().unwrap().starts_with("key:"),
        "{record}"
    );
    ok(&user.run(url, &["uninstall", NAME]));

    // The user's policy: unsigned versions need --allow-unsigned once the config requires signatures.
    std::fs::create_dir_all(user.path("config")).unwrap();
    std::fs::write(
        user.path("config/config.toml"),
        "# mine\n[provenance]\nrequire-signed = true\n",
    )
    .unwrap();
    let refused = user.run(
        url,
        &[
            "install",
            &format!("{NAME}@1.1.0"),
            "--host",
            "cursor",
            "--yes",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("--allow-unsigned"),
        "{}",
        text(&refused.stderr)
    );
    assert_not_installed(&user);
    ok(&user.run(
        url,
        &[
            "install",
            &format!("{NAME}@1.1.0"),
            "--host",
            "cursor",
            "--yes",
            "--allow-unsigned",
            "--accept-signer",
        ],
    ));
    ok(&user.run(url, &["uninstall", NAME]));

    // Tamper with the stored bundle: verify (exit 1) and install both refuse.
    tamper_stored_bundle(&registry.database_path(), "1.0.0");
    let failed = user.run(url, &["verify", &format!("{NAME}@1.0.0")]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stdout));
    assert!(
        text(&failed.stdout).contains("FAILED"),
        "{}",
        text(&failed.stdout)
    );
    let refused = user.run(
        url,
        &[
            "install",
            &format!("{NAME}@1.0.0"),
            "--host",
            "cursor",
            "--yes",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("does not verify"),
        "{}",
        text(&refused.stderr)
    );
    assert_not_installed(&user);
}

/// Cursor's config has no entry for the server (absent, or without its URL).
fn assert_not_installed(user: &User) {
    let config = user.home().join(".cursor/mcp.json");
    if let Ok(text) = std::fs::read_to_string(&config) {
        assert!(
            !text.contains("weather.example.com"),
            "installed anyway: {text}"
        );
    }
}

#[test]
fn prepare_writes_the_canonical_bytes_the_digest_covers() {
    let user = User::new();
    let file = user.path("work/server.json");
    write_json(&file, &manifest("2.0.0"));
    let out_file = user.path("work/server.canonical.json");
    let out = ok(&user.run(
        "http://127.0.0.1:1",
        &[
            "publish",
            file.to_str().unwrap(),
            "--no-probe",
            "--prepare",
            out_file.to_str().unwrap(),
        ],
    ));
    let bytes = std::fs::read(&out_file).unwrap();
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value, manifest("2.0.0"));
    // The printed digest is SHA-256 of exactly these bytes, which are the JCS form.
    let digest = registry_provenance::manifest_digest(&value).unwrap();
    assert!(out.starts_with(&digest.to_string()), "{out}");
    assert_eq!(bytes, registry_schema::canonicalize(&value).unwrap());
}
