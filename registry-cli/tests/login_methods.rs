#![allow(clippy::unwrap_used)]
//! `mcp-reg login --method …` end to end: the real registry in-process with its `/v0.1/auth/*`
//! exchanges pointed at local fakes (a well-known host, a UDP DNS server, a GitHub API, an Actions
//! OIDC endpoint and JWKS) on 127.0.0.1, the real binary, and a publish with the stored token. Nothing
//! here reaches the internet.

mod common;

use std::net::SocketAddr;
use std::process::Output;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use registry_server::auth_exchange::ring::rand::SystemRandom;
use registry_server::auth_exchange::ring::signature::{
    Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use registry_server::auth_exchange::{AuthExchangeConfig, now_unix};
use registry_server::config::ServerConfig;
use serde_json::{Value, json};

use common::{Registry, User, ok, text, write_json};

const RSA_KEY_HEX: &str = "308204a20201000282010100b9e635a324946e80e25df3cdb10d381a766fb8fc1b28f39d51715eab8e3f57dedf8b6d3a4695176d9bb535a4324b95f7c02dc76b0391cef863b73189aeb829f4eb0dd164837d1bfdfcc8405eb5a3d885553842f96034f5da4dc4d58266bfbad2f71605188281c49509761a2dc7ac2fac102b527529cbcf40b45b5f11fe9e8796fedbd5799e85803f7dc392ba9124c5318d8fd3053e57e5b90a242b8cb51393c0c57833bd4d33fcf61e9f4f181eaeb0cfb622c61f9123e1b2754014f37b8a83f22fdc00619e1c7ae31e898fa1a0f5e5a3ca5e088e6e653019fc8de496aef2cb3c9dc41cc41bd9c164dd6607f858701c4401021d68719615abfd8545dd6d1b3a790203010001028201002a8f7459bec2f5deaf94c37fe4e86a1f12dd06bcbf4a1ba639926b527b1d70f46f79181f86afd51e8ccecab2662a6c71fd8f6d8fc8502e52ab5fb2697b7521f3f709a19631cd67a679646e6a508b2bc3f0ec11d74ea9a95cdabfb503271b7fbe138038d7f0ef1d4ee2cce576f4372d6de700c81ed75c183dcfdcf871e1f9b10062085d0f7a83bee2a2b7206e3aca5c91790fe821d800a45c57ec7e1ff03f4140807879ccf79ec4eecf3618c129e2ff7f88427248b55d794eb80e9b5cd174f0c54e39232a764af726a1f4dcd8da06d0f40773d210a925d2f85158f2f0f8b684d221076ddc18d79d41bf42be66269566526041c2f954d0ab55ebc4977b8a6518a502818100f61d487b6f4c222ebe320d7dcc091fa22dd835f94d1f4fb87be82474bbc0a7a69789ecd0f924dc504718f33b15ecd9c4c6387dd963a93726ab99690d01877684f10625d5462d82723aa773ef5072fa5d635577618e3a3a87d409e526599491c3321ae78168d912dd1bec1f02194a205069211c99821d42beba7a3749f86f922502818100c15dc0ccb201fb6ff056e803da280eae4abefc312397924de45c73f0d72cf5afc72d1fba94e8367d6952f5ed64e3693fd30f48d02e0374dca9c0af01bfaf0b6d2278964b802de76ca4eaa7beb41b63603a27a63107e583fdfdfe33d877bd42228a3d321cb86cba77a85a52520d6bb9ddc973212a1e127462ba00991830bb74c50281801875668ba5ceea22bd121a57231cd100fc0f5da5cded4bade8da742d09afa6b99e9bbd66332c5f9cb6c41b000738c7978f9f739a54162ffdeed5cb23d8c00e9e3d99bfcec72fa4a4178226ba64c35870497be7e6510d265df34b9c734839c496a2771c04b757c35128023a3eaa26bcb96109425f5b17ef57270f184988a005e50281804b70e984b33a84bfc29415875338e7a9666e26f480ff64cc50f9251ee4c49cc24cc2352bd566d7c38c311ad3d8d5c4bd6af9fe9d82264514c681ef858e249c1fa3204afafff268e5015eafbd7e8564fb29154908be1cf4a746ce43aa03e56a0511cc185e0e32157a13cbd16c43e230acf028a3dacbcac56fb3440276e6a46c450281803491a1a6a9bf255d53db361b9eea8b2e1ffb3893b806599fbeaec73b50f12e8940ce791fa0c7eff293762d62797a4428e5da364ad7c56a630693fe478e74ca2ee17455dce99eb62ed7e5f78a1ce14859986892c1c0699a4b3dabdd8c020d5fa08d95958352ca97fd03acbb421d1019b0115e4e1673b3f5976677efaa6e4e93dc";
const ISSUER: &str = "https://token.actions.test";
const AUDIENCE: &str = "https://registry.test";

/// Runs local fakes for the rest of the test.
struct Fakes {
    runtime: tokio::runtime::Runtime,
}

impl Fakes {
    fn new() -> Self {
        Self {
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn serve(&self, router: Router) -> SocketAddr {
        self.runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                axum::serve(listener, router).await.unwrap();
            });
            addr
        })
    }
}

fn registry_with(auth: AuthExchangeConfig) -> Registry {
    Registry::start_with(ServerConfig {
        auth,
        ..ServerConfig::default()
    })
}

fn manifest(name: &str, version: &str) -> Value {
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": name,
        "description": "Weather for agents",
        "version": version,
        "packages": [{
            "registryType": "npm",
            "identifier": "@acme/weather",
            "version": version,
            "transport": { "type": "stdio" }
        }]
    })
}

fn publish(user: &User, url: &str, name: &str, version: &str) -> Output {
    let file = user.path(&format!(
        "work/{}/{version}/server.json",
        name.replace('/', "_")
    ));
    write_json(&file, &manifest(name, version));
    user.run(url, &["publish", file.to_str().unwrap(), "--no-probe"])
}

/// The stored credential for `url`.
fn stored(user: &User, url: &str) -> Value {
    let path = user.path("config/credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let file: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    file["registries"][url].clone()
}

fn assert_no_leak(out: &Output, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text(&out.stdout).contains(secret), "leaked on stdout");
        assert!(!text(&out.stderr).contains(secret), "leaked on stderr");
    }
}

fn failed_with_hint(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("hint:"), "{stderr}");
    stderr
}

fn b64(bytes: &[u8], url_safe: bool) -> String {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let alphabet = if url_safe { URL } else { STD };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
        }
        if !url_safe {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

/// Writes the Ed25519 seed `[seed; 32]` as hex; returns the path and the expected record.
fn key_file(user: &User, name: &str, seed: u8) -> (String, String) {
    let path = user.path(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("{}\n", hex::encode([seed; 32]))).unwrap();
    let key = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
    let record = format!(
        "v=MCPv1; k=ed25519; p={}",
        b64(key.public_key().as_ref(), false)
    );
    (path.to_str().unwrap().to_owned(), record)
}

// ---- http ----

#[test]
fn http_login_print_record_then_publish() {
    let user = User::new();
    let (key, expected) = key_file(&user, "keys/key.hex", 7);
    // --print-record needs no registry.
    let out = user.run(
        "http://127.0.0.1:9",
        &[
            "login",
            "--method",
            "http",
            "--domain",
            "example.com",
            "--private-key",
            &key,
            "--print-record",
        ],
    );
    let record = ok(&out);
    assert_eq!(record.trim(), expected);
    assert!(text(&out.stderr).contains("https://example.com/.well-known/mcp-registry-auth"));

    // The domain serves the printed record.
    let fakes = Fakes::new();
    let body = record.clone();
    let host = fakes.serve(Router::new().route(
        "/.well-known/mcp-registry-auth",
        get(move || {
            let body = body.clone();
            async move { body }
        }),
    ));
    let registry = registry_with(AuthExchangeConfig {
        allow_private_targets: true,
        resolve_overrides: vec![("example.com".to_owned(), host)],
        ..AuthExchangeConfig::default()
    });
    let url = registry.url.as_str();

    let out = user.run(
        url,
        &[
            "login",
            "--method",
            "http",
            "--domain",
            "example.com",
            "--private-key",
            &key,
        ],
    );
    ok(&out);
    let credential = stored(&user, url);
    let token = credential["token"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert!(credential["expires_at"].as_i64().unwrap() > now_unix());
    assert_no_leak(&out, &[&token]);
    let out = publish(&user, url, "com.example/weather", "1.0.0");
    let stdout = ok(&out);
    assert!(
        stdout.contains("published com.example/weather 1.0.0"),
        "{stdout}"
    );
    assert_no_leak(&out, &[&token]);

    // A key the domain does not publish.
    let (wrong, _) = key_file(&user, "keys/wrong.hex", 8);
    let stderr = failed_with_hint(&user.run(
        url,
        &[
            "login",
            "--method",
            "http",
            "--domain",
            "example.com",
            "--private-key",
            &wrong,
        ],
    ));
    assert!(stderr.contains("ed25519:"), "{stderr}");
    assert!(stderr.contains("--print-record"), "{stderr}");
    // The failed login kept the previous credential.
    assert_eq!(stored(&user, url)["token"], token.as_str());

    // Not a key.
    std::fs::write(user.path("keys/bad"), "hello").unwrap();
    failed_with_hint(&user.run(
        url,
        &[
            "login",
            "--method",
            "http",
            "--domain",
            "example.com",
            "--private-key",
            user.path("keys/bad").to_str().unwrap(),
        ],
    ));
    // Missing --domain is a usage error.
    let out = user.run(url, &["login", "--method", "http", "--private-key", &key]);
    assert_eq!(out.status.code(), Some(2));

    // Once the registry token has expired, publish asks for a new login.
    let path = user.path("config/credentials.json");
    let mut file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    file["registries"][url]["expires_at"] = json!(now_unix() - 5);
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    let stderr = failed_with_hint(&publish(&user, url, "com.example/weather", "1.0.1"));
    assert!(stderr.contains("expired"), "{stderr}");
    assert!(stderr.contains("mcp-reg login"), "{stderr}");
}

#[test]
fn http_login_accepts_a_pkcs8_pem_key() {
    let user = User::new();
    // RFC 8410 §10.3's example key.
    let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
    std::fs::write(user.path("key.pem"), pem).unwrap();
    let out = user.run(
        "http://127.0.0.1:9",
        &[
            "login",
            "--method",
            "dns",
            "--domain",
            "example.org",
            "--private-key",
            user.path("key.pem").to_str().unwrap(),
            "--print-record",
        ],
    );
    let record = ok(&out);
    // RFC 8410's public key 19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1.
    assert_eq!(
        record.trim(),
        "v=MCPv1; k=ed25519; p=Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="
    );
    assert!(text(&out.stderr).contains("TXT record at example.org"));
}

// ---- github-at ----

fn fake_github(fakes: &Fakes) -> SocketAddr {
    fakes.serve(
        Router::new()
            .route(
                "/user",
                get(|headers: axum::http::HeaderMap| async move {
                    let auth = headers
                        .get(header::AUTHORIZATION)
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    if auth == "Bearer gho_owner" {
                        axum::Json(json!({"login": "alice", "id": 1})).into_response()
                    } else {
                        (
                            StatusCode::UNAUTHORIZED,
                            axum::Json(json!({"message": "Bad credentials"})),
                        )
                            .into_response()
                    }
                }),
            )
            .route(
                "/user/memberships/orgs",
                get(|| async {
                    axum::Json(json!([
                        {"state": "active", "role": "admin", "organization": {"login": "acme"}}
                    ]))
                }),
            ),
    )
}

#[test]
fn github_at_login_then_publish() {
    let fakes = Fakes::new();
    let github = fake_github(&fakes);
    let registry = registry_with(AuthExchangeConfig {
        github_api_url: format!("http://{github}"),
        ..AuthExchangeConfig::default()
    });
    let url = registry.url.as_str();
    let user = User::new();

    // From standard input.
    let out = user
        .cmd(url)
        .env_remove("GITHUB_TOKEN")
        .args(["login", "--method", "github-at"])
        .write_stdin("gho_owner\n")
        .output()
        .unwrap();
    ok(&out);
    let token = stored(&user, url)["token"].as_str().unwrap().to_owned();
    assert_no_leak(&out, &[&token, "gho_owner"]);
    ok(&publish(&user, url, "io.github.acme/tools", "1.0.0"));

    // From the environment.
    let out = user
        .cmd(url)
        .env("GITHUB_TOKEN", "gho_owner")
        .args(["login", "--method", "github-at"])
        .output()
        .unwrap();
    ok(&out);
    ok(&publish(&user, url, "io.github.alice/tools", "1.0.0"));

    // A bad token: exit 1 with a hint, never echoed.
    let out = user
        .cmd(url)
        .env_remove("GITHUB_TOKEN")
        .args([
            "login",
            "--method",
            "github-at",
            "--github-token",
            "gho_bad",
        ])
        .output()
        .unwrap();
    let stderr = failed_with_hint(&out);
    assert!(stderr.contains("GitHub token"), "{stderr}");
    assert_no_leak(&out, &["gho_bad"]);
    // No token at all.
    let out = user
        .cmd(url)
        .env_remove("GITHUB_TOKEN")
        .args(["login", "--method", "github-at"])
        .write_stdin("")
        .output()
        .unwrap();
    failed_with_hint(&out);
}

// ---- dns ----

/// A UDP DNS server answering TXT queries from `zone` (name → records); other names are NXDOMAIN.
fn dns_server(fakes: &Fakes, zone: Vec<(String, Vec<String>)>) -> SocketAddr {
    fakes.runtime.block_on(async move {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buffer = [0u8; 512];
            loop {
                let Ok((len, peer)) = socket.recv_from(&mut buffer).await else {
                    return;
                };
                let query = &buffer[..len];
                let mut at = 12;
                let mut labels = Vec::new();
                while query[at] != 0 {
                    let n = usize::from(query[at]);
                    labels.push(String::from_utf8_lossy(&query[at + 1..=at + n]).into_owned());
                    at += n + 1;
                }
                let question_end = at + 5;
                let name = labels.join(".").to_ascii_lowercase();
                let records = zone.iter().find(|(zone_name, _)| *zone_name == name);
                let mut answer = query[..2].to_vec();
                let rcode: u8 = if records.is_some() { 0 } else { 3 };
                answer.extend_from_slice(&[0x81, 0x80 | rcode, 0, 1, 0]);
                answer.push(u8::try_from(records.map_or(0, |(_, r)| r.len())).unwrap());
                answer.extend_from_slice(&[0, 0, 0, 0]);
                answer.extend_from_slice(&query[12..question_end]);
                for text in records.map(|(_, r)| r.as_slice()).unwrap_or_default() {
                    let mut rdata = Vec::new();
                    for chunk in text.as_bytes().chunks(40) {
                        rdata.push(u8::try_from(chunk.len()).unwrap());
                        rdata.extend_from_slice(chunk);
                    }
                    answer.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 44]);
                    answer.extend_from_slice(&u16::try_from(rdata.len()).unwrap().to_be_bytes());
                    answer.extend_from_slice(&rdata);
                }
                let _ = socket.send_to(&answer, peer).await;
            }
        });
        addr
    })
}

#[test]
fn dns_login_then_publish() {
    let user = User::new();
    let (key, record) = key_file(&user, "keys/key.hex", 9);
    let (wrong, _) = key_file(&user, "keys/wrong.hex", 4);
    let fakes = Fakes::new();
    let resolver = dns_server(&fakes, vec![("example.org".to_owned(), vec![record])]);
    let registry = registry_with(AuthExchangeConfig {
        dns_resolver: Some(resolver),
        ..AuthExchangeConfig::default()
    });
    let url = registry.url.as_str();
    let out = user.run(
        url,
        &[
            "login",
            "--method",
            "dns",
            "--domain",
            "example.org",
            "--private-key",
            &key,
        ],
    );
    ok(&out);
    let token = stored(&user, url)["token"].as_str().unwrap().to_owned();
    assert_no_leak(&out, &[&token]);
    // DNS proofs also cover subdomains.
    ok(&publish(&user, url, "org.example.api/weather", "1.0.0"));

    let stderr = failed_with_hint(&user.run(
        url,
        &[
            "login",
            "--method",
            "dns",
            "--domain",
            "example.org",
            "--private-key",
            &wrong,
        ],
    ));
    assert!(stderr.contains("TXT"), "{stderr}");
}

// ---- github-oidc ----

fn oidc_token(key: &RsaKeyPair, claims: &Value) -> String {
    let header = b64(
        json!({"alg": "RS256", "typ": "JWT", "kid": "k1"})
            .to_string()
            .as_bytes(),
        true,
    );
    let payload = b64(claims.to_string().as_bytes(), true);
    let input = format!("{header}.{payload}");
    let mut signature = vec![0u8; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{input}.{}", b64(&signature, true))
}

#[test]
fn github_oidc_login_in_actions_then_publish() {
    let key = RsaKeyPair::from_der(&hex::decode(RSA_KEY_HEX).unwrap()).unwrap();
    let public: RsaPublicKeyComponents<Vec<u8>> = key.public().into();
    let jwks = json!({"keys": [
        {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": b64(&public.n, true), "e": b64(&public.e, true)}
    ]});
    let now = now_unix();
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now - 5, "exp": now + 300,
        "sub": "repo:octo-org/weather:ref:refs/heads/main",
        "repository": "octo-org/weather", "repository_owner": "octo-org",
    });
    let id_token = oidc_token(&key, &claims);
    let fakes = Fakes::new();
    let served = id_token.clone();
    let issuer = fakes.serve(
        Router::new()
            .route(
                "/.well-known/jwks",
                get(move || {
                    let jwks = jwks.clone();
                    async move { axum::Json(jwks) }
                }),
            )
            // The Actions runtime's token endpoint: the request token and the audience are checked.
            .route(
                "/token",
                get(
                    move |headers: axum::http::HeaderMap,
                          query: axum::extract::Query<
                        std::collections::HashMap<String, String>,
                    >| {
                        let served = served.clone();
                        async move {
                            let auth = headers
                                .get(header::AUTHORIZATION)
                                .and_then(|h| h.to_str().ok())
                                .unwrap_or_default();
                            if !auth.eq_ignore_ascii_case("bearer request-secret")
                                || query.get("audience").map(String::as_str) != Some(AUDIENCE)
                                || query.get("api-version").map(String::as_str) != Some("2.0")
                            {
                                return StatusCode::FORBIDDEN.into_response();
                            }
                            axum::Json(json!({"count": 1, "value": served})).into_response()
                        }
                    },
                ),
            ),
    );
    let registry = registry_with(AuthExchangeConfig {
        github_oidc_audience: Some(AUDIENCE.to_owned()),
        github_oidc_issuer: ISSUER.to_owned(),
        github_oidc_jwks_url: format!("http://{issuer}/.well-known/jwks"),
        ..AuthExchangeConfig::default()
    });
    let url = registry.url.as_str();
    let user = User::new();

    // Outside Actions: exit 1 with a hint.
    let out = user
        .cmd(url)
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .args(["login", "--method", "github-oidc"])
        .output()
        .unwrap();
    let stderr = failed_with_hint(&out);
    assert!(stderr.contains("GitHub Actions"), "{stderr}");

    let actions = |audience: &str| {
        user.cmd(url)
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                format!("http://{issuer}/token?api-version=2.0"),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-secret")
            .args(["login", "--method", "github-oidc", "--audience", audience])
            .output()
            .unwrap()
    };
    let out = actions(AUDIENCE);
    ok(&out);
    let token = stored(&user, url)["token"].as_str().unwrap().to_owned();
    assert_no_leak(&out, &[&token, &id_token, "request-secret"]);
    ok(&publish(&user, url, "io.github.octo-org/weather", "1.0.0"));
    // Another audience: the fake endpoint refuses.
    failed_with_hint(&actions("https://elsewhere.test"));
}
