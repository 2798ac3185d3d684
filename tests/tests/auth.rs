//! Namespace authentication (`/v0.1/auth/*`): every exchange against local fakes (a JWKS issuer, a
//! well-known host, a DNS server over UDP and TCP, a GitHub API) on 127.0.0.1, and the registry
//! tokens they issue accepted by publish. Nothing here reaches the internet.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use registry_server::auth::{Action, Permission};
use registry_server::auth_exchange::jwt::{RegistryClaims, RegistryKey};
use registry_server::auth_exchange::ring::rand::SystemRandom;
use registry_server::auth_exchange::ring::signature::{
    Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use registry_server::auth_exchange::{AuthExchangeConfig, now_unix};
use registry_server::config::ServerConfig;
use registry_tests::app::{TestApp, TestResponse, manifest};
use registry_tests::db::TestDb;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

registry_tests::on_both_engines!(
    registry_jwts_are_accepted_by_publish,
    github_oidc_exchange,
    http_exchange,
    http_exchange_refuses_ssrf_targets,
    dns_exchange,
    dns_exchange_falls_back_to_tcp,
    dns_exchange_truncated_without_tcp,
    dns_exchange_refuses_mismatched_tcp_answer,
    p384_http_exchange,
    p384_dns_exchange,
    github_at_exchange,
);

const ISSUER: &str = "https://token.actions.test";
const AUDIENCE: &str = "https://registry.test";
/// A throwaway 2048-bit RSA key (PKCS#1 RSAPrivateKey DER, hex) for the fake OIDC issuer.
const RSA_KEY_HEX: &str = "308204a20201000282010100b9e635a324946e80e25df3cdb10d381a766fb8fc1b28f39d51715eab8e3f57dedf8b6d3a4695176d9bb535a4324b95f7c02dc76b0391cef863b73189aeb829f4eb0dd164837d1bfdfcc8405eb5a3d885553842f96034f5da4dc4d58266bfbad2f71605188281c49509761a2dc7ac2fac102b527529cbcf40b45b5f11fe9e8796fedbd5799e85803f7dc392ba9124c5318d8fd3053e57e5b90a242b8cb51393c0c57833bd4d33fcf61e9f4f181eaeb0cfb622c61f9123e1b2754014f37b8a83f22fdc00619e1c7ae31e898fa1a0f5e5a3ca5e088e6e653019fc8de496aef2cb3c9dc41cc41bd9c164dd6607f858701c4401021d68719615abfd8545dd6d1b3a790203010001028201002a8f7459bec2f5deaf94c37fe4e86a1f12dd06bcbf4a1ba639926b527b1d70f46f79181f86afd51e8ccecab2662a6c71fd8f6d8fc8502e52ab5fb2697b7521f3f709a19631cd67a679646e6a508b2bc3f0ec11d74ea9a95cdabfb503271b7fbe138038d7f0ef1d4ee2cce576f4372d6de700c81ed75c183dcfdcf871e1f9b10062085d0f7a83bee2a2b7206e3aca5c91790fe821d800a45c57ec7e1ff03f4140807879ccf79ec4eecf3618c129e2ff7f88427248b55d794eb80e9b5cd174f0c54e39232a764af726a1f4dcd8da06d0f40773d210a925d2f85158f2f0f8b684d221076ddc18d79d41bf42be66269566526041c2f954d0ab55ebc4977b8a6518a502818100f61d487b6f4c222ebe320d7dcc091fa22dd835f94d1f4fb87be82474bbc0a7a69789ecd0f924dc504718f33b15ecd9c4c6387dd963a93726ab99690d01877684f10625d5462d82723aa773ef5072fa5d635577618e3a3a87d409e526599491c3321ae78168d912dd1bec1f02194a205069211c99821d42beba7a3749f86f922502818100c15dc0ccb201fb6ff056e803da280eae4abefc312397924de45c73f0d72cf5afc72d1fba94e8367d6952f5ed64e3693fd30f48d02e0374dca9c0af01bfaf0b6d2278964b802de76ca4eaa7beb41b63603a27a63107e583fdfdfe33d877bd42228a3d321cb86cba77a85a52520d6bb9ddc973212a1e127462ba00991830bb74c50281801875668ba5ceea22bd121a57231cd100fc0f5da5cded4bade8da742d09afa6b99e9bbd66332c5f9cb6c41b000738c7978f9f739a54162ffdeed5cb23d8c00e9e3d99bfcec72fa4a4178226ba64c35870497be7e6510d265df34b9c734839c496a2771c04b757c35128023a3eaa26bcb96109425f5b17ef57270f184988a005e50281804b70e984b33a84bfc29415875338e7a9666e26f480ff64cc50f9251ee4c49cc24cc2352bd566d7c38c311ad3d8d5c4bd6af9fe9d82264514c681ef858e249c1fa3204afafff268e5015eafbd7e8564fb29154908be1cf4a746ce43aa03e56a0511cc185e0e32157a13cbd16c43e230acf028a3dacbcac56fb3440276e6a46c450281803491a1a6a9bf255d53db361b9eea8b2e1ffb3893b806599fbeaec73b50f12e8940ce791fa0c7eff293762d62797a4428e5da364ad7c56a630693fe478e74ca2ee17455dce99eb62ed7e5f78a1ce14859986892c1c0699a4b3dabdd8c020d5fa08d95958352ca97fd03acbb421d1019b0115e4e1673b3f5976677efaa6e4e93dc";

fn registry_key() -> RegistryKey {
    RegistryKey::from_seed(&[42u8; 32]).unwrap()
}

fn auth_config() -> AuthExchangeConfig {
    AuthExchangeConfig {
        key: registry_key(),
        ..AuthExchangeConfig::default()
    }
}

async fn app_with(db: TestDb, auth: AuthExchangeConfig) -> TestApp {
    let config = ServerConfig {
        auth,
        ..ServerConfig::default()
    };
    TestApp::with_config(db, config).await
}

async fn post(app: &TestApp, path: &str, body: &Value) -> TestResponse {
    app.request(
        Method::POST,
        path,
        None,
        Some(serde_json::to_vec(body).unwrap()),
    )
    .await
}

/// The permissions of a token the exchange returned (verified with the registry's key).
fn granted(response: &TestResponse) -> (RegistryClaims, Vec<String>) {
    let body = response.ok();
    let token = body["registry_token"].as_str().unwrap();
    let claims = registry_key().verify(token, now_unix()).unwrap();
    assert_eq!(body["expires_at"].as_i64().unwrap(), claims.exp);
    assert!(claims.exp > now_unix() && claims.exp <= now_unix() + 301);
    let resources = claims
        .permissions
        .iter()
        .map(|permission| {
            assert_eq!(permission.action, Action::Publish);
            permission.resource.clone()
        })
        .collect();
    (claims, resources)
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

fn timestamp(offset_secs: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs))
        .format(&Rfc3339)
        .unwrap()
}

/// Serves `router` on 127.0.0.1 for the rest of the test.
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

// ---- registry JWT ----

async fn registry_jwts_are_accepted_by_publish(db: TestDb) {
    let app = app_with(db, auth_config()).await;
    let claims = |exp: i64| RegistryClaims {
        iss: "mcp-registry".to_owned(),
        iat: now_unix(),
        nbf: Some(now_unix()),
        exp,
        auth_method: "github-at".to_owned(),
        auth_method_sub: "alice".to_owned(),
        permissions: vec![Permission::new(Action::Publish, "io.github.alice/*")],
    };
    let token = registry_key().sign(&claims(now_unix() + 60)).unwrap();
    app.publish(&token, &manifest("io.github.alice/weather", "1.0.0"))
        .await
        .ok();
    let forbidden = app
        .publish(&token, &manifest("io.github.bob/weather", "1.0.0"))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert!(
        forbidden["detail"]
            .as_str()
            .unwrap()
            .contains("io.github.alice/*")
    );

    let expired = registry_key().sign(&claims(now_unix() - 1)).unwrap();
    let problem = app
        .publish(&expired, &manifest("io.github.alice/weather", "1.0.1"))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );

    let foreign = RegistryKey::from_seed(&[1u8; 32])
        .unwrap()
        .sign(&claims(now_unix() + 60))
        .unwrap();
    let problem = app
        .publish(&foreign, &manifest("io.github.alice/weather", "1.0.1"))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("signature"),
        "{problem}"
    );

    let mut other_issuer = claims(now_unix() + 60);
    "someone-else".clone_into(&mut other_issuer.iss);
    let token = registry_key().sign(&other_issuer).unwrap();
    app.publish(&token, &manifest("io.github.alice/weather", "1.0.1"))
        .await
        .problem(StatusCode::UNAUTHORIZED);

    app.publish("a.b.c", &manifest("io.github.alice/weather", "1.0.1"))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // Operator tokens still work beside JWTs.
    let operator = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    app.publish(&operator, &manifest("io.github.alice/weather", "1.0.1"))
        .await
        .ok();
}

// ---- github-oidc ----

struct Issuer {
    key: RsaKeyPair,
    jwks_url: String,
}

impl Issuer {
    async fn start() -> Self {
        let key = RsaKeyPair::from_der(&hex::decode(RSA_KEY_HEX).unwrap()).unwrap();
        let public: RsaPublicKeyComponents<Vec<u8>> = key.public().into();
        let n = b64(&public.n, true);
        let e = b64(&public.e, true);
        let jwks = json!({"keys": [
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": n, "e": e}
        ]});
        let router = Router::new().route(
            "/.well-known/jwks",
            get(move || {
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        let addr = serve(router).await;
        Self {
            key,
            jwks_url: format!("http://{addr}/.well-known/jwks"),
        }
    }

    fn config(&self) -> AuthExchangeConfig {
        AuthExchangeConfig {
            github_oidc_audience: Some(AUDIENCE.to_owned()),
            github_oidc_issuer: ISSUER.to_owned(),
            github_oidc_jwks_url: self.jwks_url.clone(),
            ..auth_config()
        }
    }

    fn token(&self, kid: &str, claims: &Value) -> String {
        let header = b64(
            json!({"alg": "RS256", "typ": "JWT", "kid": kid})
                .to_string()
                .as_bytes(),
            true,
        );
        let payload = b64(claims.to_string().as_bytes(), true);
        let input = format!("{header}.{payload}");
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{input}.{}", b64(&signature, true))
    }
}

fn oidc_claims(overrides: &Value) -> Value {
    let now = now_unix();
    let mut claims = json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
        "sub": "repo:octo-org/weather:ref:refs/heads/main",
        "repository": "octo-org/weather",
        "repository_owner": "octo-org",
    });
    for (key, value) in overrides.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

async fn github_oidc_exchange(db: TestDb) {
    let issuer = Issuer::start().await;
    let app = app_with(db, issuer.config()).await;
    let exchange = |token: String| {
        let app = &app;
        async move { post(app, "/v0.1/auth/github-oidc", &json!({"oidc_token": token})).await }
    };

    let response = exchange(issuer.token("k1", &oidc_claims(&json!({})))).await;
    let (claims, resources) = granted(&response);
    assert_eq!(resources, ["io.github.octo-org/*"]);
    assert_eq!(claims.auth_method, "github-oidc");
    let token = response.json()["registry_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&token, &manifest("io.github.octo-org/weather", "1.0.0"))
        .await
        .ok();
    // The audience may also come as a list.
    let listed = oidc_claims(&json!({"aud": ["other", AUDIENCE]}));
    exchange(issuer.token("k1", &listed)).await.ok();

    // (expected reason, claims, kid): expired, wrong audience, wrong issuer, clock skew, no or bad
    // owner, unknown key.
    let refused = [
        (
            "has expired",
            oidc_claims(&json!({"exp": now_unix() - 1})),
            "k1",
        ),
        (
            "audience is not",
            oidc_claims(&json!({"aud": "https://elsewhere.test"})),
            "k1",
        ),
        (
            "issuer is https://evil.test",
            oidc_claims(&json!({"iss": "https://evil.test"})),
            "k1",
        ),
        (
            "not valid yet",
            oidc_claims(&json!({"nbf": now_unix() + 120})),
            "k1",
        ),
        (
            "repository_owner",
            oidc_claims(&json!({"repository_owner": null})),
            "k1",
        ),
        (
            "repository_owner",
            oidc_claims(&json!({"repository_owner": "../x"})),
            "k1",
        ),
        ("unknown key (kid k2)", oidc_claims(&json!({})), "k2"),
    ];
    for (reason, claims, kid) in refused {
        let response = exchange(issuer.token(kid, &claims)).await;
        let problem = response.problem(StatusCode::UNAUTHORIZED);
        assert!(
            problem["detail"].as_str().unwrap().contains(reason),
            "{reason}: {problem}"
        );
    }
    // Wrong key: a valid signature of other claims.
    let good = issuer.token("k1", &oidc_claims(&json!({})));
    let evil = issuer.token("k1", &oidc_claims(&json!({"repository_owner": "evil"})));
    let forged = format!(
        "{}.{}",
        evil.rsplit_once('.').unwrap().0,
        good.rsplit_once('.').unwrap().1
    );
    let problem = exchange(forged).await.problem(StatusCode::UNAUTHORIZED);
    assert!(problem["detail"].as_str().unwrap().contains("signature"));
    // An HS256 token is refused before any key is looked up.
    let hs = format!(
        "{}.{}.AAAA",
        b64(br#"{"alg":"HS256"}"#, true),
        b64(oidc_claims(&json!({})).to_string().as_bytes(), true)
    );
    exchange(hs).await.problem(StatusCode::UNAUTHORIZED);
    // Malformed bodies.
    post(&app, "/v0.1/auth/github-oidc", &json!({"token": "x"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
}

// ---- http ----

fn signer(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}

fn record(key: &Ed25519KeyPair) -> String {
    format!(
        "v=MCPv1; k=ed25519; p={}",
        b64(key.public_key().as_ref(), false)
    )
}

fn proof(domain: &str, key: &Ed25519KeyPair, offset_secs: i64) -> Value {
    let timestamp = timestamp(offset_secs);
    let signature = hex::encode(key.sign(timestamp.as_bytes()).as_ref());
    json!({"domain": domain, "timestamp": timestamp, "signed_timestamp": signature})
}

/// A well-known host: the record at the right path, plus a redirect and an oversized file.
async fn well_known_host(body: String) -> SocketAddr {
    let router = Router::new().route(
        "/.well-known/mcp-registry-auth",
        get(move |headers: axum::http::HeaderMap| {
            let body = body.clone();
            async move {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if host.starts_with("redirect.") {
                    (
                        StatusCode::FOUND,
                        [(header::LOCATION, "http://example.com/")],
                        String::new(),
                    )
                        .into_response()
                } else if host.starts_with("big.") {
                    "x".repeat(8192).into_response()
                } else {
                    body.into_response()
                }
            }
        }),
    );
    serve(router).await
}

async fn http_exchange(db: TestDb) {
    let key = signer(7);
    let host = well_known_host(format!("# keys\n{}\n", record(&key))).await;
    let overrides = ["example.com", "redirect.example.com", "big.example.com"]
        .map(|name| (name.to_owned(), host))
        .to_vec();
    let app = app_with(
        db,
        AuthExchangeConfig {
            allow_private_targets: true,
            resolve_overrides: overrides,
            ..auth_config()
        },
    )
    .await;
    let response = post(&app, "/v0.1/auth/http", &proof("Example.com", &key, 0)).await;
    let (claims, resources) = granted(&response);
    assert_eq!(resources, ["com.example/*"]);
    assert_eq!(claims.auth_method_sub, "example.com");
    let token = response.json()["registry_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&token, &manifest("com.example/weather", "1.0.0"))
        .await
        .ok();
    app.publish(&token, &manifest("com.example.api/weather", "1.0.0"))
        .await
        .problem(StatusCode::FORBIDDEN);

    // Clock skew: ±15 s.
    post(&app, "/v0.1/auth/http", &proof("example.com", &key, 10))
        .await
        .ok();
    for skew in [-60, 60] {
        let problem = post(&app, "/v0.1/auth/http", &proof("example.com", &key, skew))
            .await
            .problem(StatusCode::UNAUTHORIZED);
        assert!(
            problem["detail"].as_str().unwrap().contains("clock"),
            "{problem}"
        );
    }
    // Wrong key: the fingerprints tried are listed.
    let problem = post(
        &app,
        "/v0.1/auth/http",
        &proof("example.com", &signer(8), 0),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    let fingerprint = &b64(key.public_key().as_ref(), false)[..8];
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("ed25519:{fingerprint}")),
        "{problem}"
    );
    // A signature over another timestamp.
    let mut replay = proof("example.com", &key, 0);
    replay["timestamp"] = json!(timestamp(-1));
    post(&app, "/v0.1/auth/http", &replay)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // No redirects, no oversized files.
    let problem = post(
        &app,
        "/v0.1/auth/http",
        &proof("redirect.example.com", &key, 0),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("redirect"),
        "{problem}"
    );
    let problem = post(&app, "/v0.1/auth/http", &proof("big.example.com", &key, 0))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("4096"),
        "{problem}"
    );
    // Malformed requests.
    for bad in [
        json!({"domain": "example.com", "timestamp": "yesterday", "signed_timestamp": "00"}),
        json!({"domain": "example.com", "timestamp": timestamp(0), "signed_timestamp": "not hex"}),
        json!({"domain": "localhost", "timestamp": timestamp(0), "signed_timestamp": "00"}),
        json!({"domain": "example.com"}),
    ] {
        post(&app, "/v0.1/auth/http", &bad)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
}

async fn http_exchange_refuses_ssrf_targets(db: TestDb) {
    let key = signer(7);
    let host = well_known_host(record(&key)).await;
    let targets: Vec<(String, SocketAddr)> = vec![
        ("loopback.example.com".to_owned(), host),
        (
            "private.example.com".to_owned(),
            "10.0.0.1:443".parse().unwrap(),
        ),
        (
            "metadata.example.com".to_owned(),
            "169.254.169.254:443".parse().unwrap(),
        ),
        ("v6.example.com".to_owned(), "[::1]:443".parse().unwrap()),
        (
            "mapped.example.com".to_owned(),
            "[::ffff:192.168.0.1]:443".parse().unwrap(),
        ),
        (
            "zero.example.com".to_owned(),
            "0.0.0.0:443".parse().unwrap(),
        ),
    ];
    // Without the test-only switch, the same local host that works above is refused.
    let app = app_with(
        db,
        AuthExchangeConfig {
            resolve_overrides: targets.clone(),
            ..auth_config()
        },
    )
    .await;
    for (domain, _) in &targets {
        let problem = post(&app, "/v0.1/auth/http", &proof(domain, &key, 0))
            .await
            .problem(StatusCode::UNAUTHORIZED);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("only fetches from public addresses"),
            "{domain}: {problem}"
        );
    }
    // IP literals are refused outright.
    for literal in ["127.0.0.1", "169.254.169.254", "[::1]"] {
        post(&app, "/v0.1/auth/http", &proof(literal, &key, 0))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
}

// ---- dns ----

/// The queries a fake DNS server saw, with their transport ("udp" or "tcp"), in order.
type QueryLog = Arc<Mutex<Vec<(&'static str, Vec<u8>)>>>;

/// How the fake DNS server answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DnsMode {
    /// Full answers over UDP; nothing on TCP.
    Udp,
    /// UDP answers are truncated; TCP on the same port answers in full.
    TcpFallback,
    /// UDP answers are truncated and nothing listens on TCP.
    TruncatedWithoutTcp,
    /// UDP answers are truncated; the TCP answer carries another id.
    TcpWrongId,
}

/// A DNS server on 127.0.0.1 answering TXT queries from a zone (name → records; other names are
/// NXDOMAIN), and every query it saw with its transport, in order.
struct DnsServer {
    addr: SocketAddr,
    seen: QueryLog,
    // Bound but not listening, so connections are refused and no other test takes the port.
    _tcp_port: Option<tokio::net::TcpSocket>,
}

impl DnsServer {
    async fn start(zone: Vec<(String, Vec<String>)>, mode: DnsMode) -> Self {
        let zone = Arc::new(zone);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (udp, tcp) = if mode == DnsMode::Udp {
            let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            (udp, None)
        } else {
            let (udp, tcp) = udp_and_tcp_on_one_port().await;
            (udp, Some(tcp))
        };
        let addr = udp.local_addr().unwrap();
        let truncate = mode != DnsMode::Udp;
        tokio::spawn({
            let (zone, seen) = (zone.clone(), seen.clone());
            async move {
                let mut buffer = [0u8; 512];
                while let Ok((len, peer)) = udp.recv_from(&mut buffer).await {
                    let query = &buffer[..len];
                    seen.lock().unwrap().push(("udp", query.to_vec()));
                    let _ = udp.send_to(&dns_answer(&zone, query, truncate), peer).await;
                }
            }
        });
        let held = match (mode, tcp) {
            (DnsMode::TcpFallback | DnsMode::TcpWrongId, Some(tcp)) => {
                let listener = tcp.listen(16).unwrap();
                tokio::spawn(serve_dns_tcp(listener, zone, seen.clone(), mode));
                None
            }
            (_, tcp) => tcp,
        };
        Self {
            addr,
            seen,
            _tcp_port: held,
        }
    }

    /// The transports of the queries seen so far, in order.
    fn transports(&self) -> Vec<&'static str> {
        self.seen.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }
}

/// A UDP and a TCP socket bound to the same free port (the TCP one not listening yet).
async fn udp_and_tcp_on_one_port() -> (tokio::net::UdpSocket, tokio::net::TcpSocket) {
    loop {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        // Free over UDP does not mean free over TCP: try another port then.
        if tcp.bind(udp.local_addr().unwrap()).is_ok() {
            return (udp, tcp);
        }
    }
}

/// Answers length-prefixed queries on each connection (RFC 7766), the prefix and the message in two
/// writes so the client has to reassemble them.
async fn serve_dns_tcp(
    listener: tokio::net::TcpListener,
    zone: Arc<Vec<(String, Vec<String>)>>,
    seen: QueryLog,
    mode: DnsMode,
) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let (zone, seen) = (zone.clone(), seen.clone());
        tokio::spawn(async move {
            let mut prefix = [0u8; 2];
            while stream.read_exact(&mut prefix).await.is_ok() {
                let mut query = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
                if stream.read_exact(&mut query).await.is_err() {
                    return;
                }
                seen.lock().unwrap().push(("tcp", query.clone()));
                let mut answer = dns_answer(&zone, &query, false);
                if mode == DnsMode::TcpWrongId {
                    answer[0] ^= 0xff;
                }
                let len = u16::try_from(answer.len()).unwrap().to_be_bytes();
                if stream.write_all(&len).await.is_err() || stream.write_all(&answer).await.is_err()
                {
                    return;
                }
            }
        });
    }
}

/// The answer to `query` from `zone`. `truncate` sets TC and keeps only the first record, as a
/// server does when the rest does not fit in a datagram.
fn dns_answer(zone: &[(String, Vec<String>)], query: &[u8], truncate: bool) -> Vec<u8> {
    let mut at = 12;
    let mut labels = Vec::new();
    while query[at] != 0 {
        let n = usize::from(query[at]);
        labels.push(String::from_utf8_lossy(&query[at + 1..=at + n]).into_owned());
        at += n + 1;
    }
    let question_end = at + 5;
    let name = labels.join(".").to_ascii_lowercase();
    let found = zone
        .iter()
        .find(|(zone_name, _)| *zone_name == name)
        .map(|(_, records)| records.as_slice());
    let rcode: u8 = if found.is_some() { 0 } else { 3 };
    let mut records = found.unwrap_or_default();
    if truncate {
        records = &records[..records.len().min(1)];
    }
    let mut answer = query[..2].to_vec();
    answer.extend_from_slice(&[if truncate { 0x83 } else { 0x81 }, 0x80 | rcode, 0, 1, 0]);
    answer.push(u8::try_from(records.len()).unwrap());
    answer.extend_from_slice(&[0, 0, 0, 0]);
    answer.extend_from_slice(&query[12..question_end]);
    for text in records {
        let mut rdata = Vec::new();
        // Long records come as several strings, as in real zones.
        for chunk in text.as_bytes().chunks(40) {
            rdata.push(u8::try_from(chunk.len()).unwrap());
            rdata.extend_from_slice(chunk);
        }
        answer.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 44]);
        answer.extend_from_slice(&u16::try_from(rdata.len()).unwrap().to_be_bytes());
        answer.extend_from_slice(&rdata);
    }
    answer
}

/// A UDP-only DNS server for `zone`.
async fn dns_server(zone: Vec<(String, Vec<String>)>) -> SocketAddr {
    DnsServer::start(zone, DnsMode::Udp).await.addr
}

async fn dns_exchange(db: TestDb) {
    let key = signer(9);
    let resolver = dns_server(vec![
        (
            "example.org".to_owned(),
            vec!["v=spf1 -all".to_owned(), record(&signer(3)), record(&key)],
        ),
        ("_mcp-auth.misplaced.org".to_owned(), vec![record(&key)]),
    ])
    .await;
    let app = app_with(
        db,
        AuthExchangeConfig {
            dns_resolver: Some(resolver),
            ..auth_config()
        },
    )
    .await;
    let response = post(&app, "/v0.1/auth/dns", &proof("example.org", &key, 0)).await;
    let (claims, resources) = granted(&response);
    assert_eq!(resources, ["org.example/*", "org.example.*"]);
    assert_eq!(claims.auth_method, "dns");
    let token = response.json()["registry_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&token, &manifest("org.example.api/weather", "1.0.0"))
        .await
        .ok();

    let problem = post(&app, "/v0.1/auth/dns", &proof("example.org", &signer(4), 0))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("tried"),
        "{problem}"
    );
    post(&app, "/v0.1/auth/dns", &proof("example.org", &key, -30))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let problem = post(&app, "/v0.1/auth/dns", &proof("nothing.org", &key, 0))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("no `v=MCPv1"),
        "{problem}"
    );
    let problem = post(&app, "/v0.1/auth/dns", &proof("misplaced.org", &key, 0))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("_mcp-auth.misplaced.org"),
        "{problem}"
    );
}

async fn dns_exchange_falls_back_to_tcp(db: TestDb) {
    let key = signer(11);
    // Verification tokens ahead of the MCPv1 record: far more than a datagram holds (and more
    // than the client's 4 KiB UDP buffer), so the record only arrives over TCP.
    let mut records: Vec<String> = (0..20)
        .map(|i| format!("site-verification-{i}={}", "x".repeat(240)))
        .collect();
    records.push(record(&key));
    let dns = DnsServer::start(
        vec![("example.org".to_owned(), records)],
        DnsMode::TcpFallback,
    )
    .await;
    let app = app_with(
        db,
        AuthExchangeConfig {
            dns_resolver: Some(dns.addr),
            ..auth_config()
        },
    )
    .await;
    let response = post(&app, "/v0.1/auth/dns", &proof("example.org", &key, 0)).await;
    let (claims, resources) = granted(&response);
    assert_eq!(resources, ["org.example/*", "org.example.*"]);
    assert_eq!(claims.auth_method, "dns");
    // UDP first, then the very same query (id and question) over TCP.
    {
        let seen = dns.seen.lock().unwrap();
        let transports: Vec<_> = seen.iter().map(|(t, _)| *t).collect();
        assert_eq!(transports, ["udp", "tcp"]);
        assert_eq!(seen[0].1, seen[1].1);
    }

    // NXDOMAIN over TCP is no records, as over UDP; the subdomain checks go through TCP too.
    let problem = post(&app, "/v0.1/auth/dns", &proof("nothing.org", &key, 0))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("no `v=MCPv1"),
        "{problem}"
    );
    assert_eq!(dns.transports()[2..], ["udp", "tcp"].repeat(3));
}

/// A valid proof whose record only a responder in `mode` serves (its truncated UDP answer holds the record
/// too, which must not be used): the 401's detail and the transports the responder saw.
async fn refused_dns_proof(db: TestDb, seed: u8, mode: DnsMode) -> (String, Vec<&'static str>) {
    let key = signer(seed);
    let dns = DnsServer::start(vec![("example.org".to_owned(), vec![record(&key)])], mode).await;
    let app = app_with(
        db,
        AuthExchangeConfig {
            dns_resolver: Some(dns.addr),
            ..auth_config()
        },
    )
    .await;
    let problem = post(&app, "/v0.1/auth/dns", &proof("example.org", &key, 0))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let detail = problem["detail"].as_str().unwrap().to_owned();
    (detail, dns.transports())
}

async fn dns_exchange_truncated_without_tcp(db: TestDb) {
    let (detail, transports) = refused_dns_proof(db, 12, DnsMode::TruncatedWithoutTcp).await;
    assert!(detail.contains("truncated"), "{detail}");
    assert!(detail.contains("retry over TCP failed"), "{detail}");
    assert!(detail.contains("connection refused"), "{detail}");
    assert_eq!(transports, ["udp"]);
}

async fn dns_exchange_refuses_mismatched_tcp_answer(db: TestDb) {
    // The TCP answer holds the valid record too, under the wrong id.
    let (detail, transports) = refused_dns_proof(db, 13, DnsMode::TcpWrongId).await;
    assert!(detail.contains("TCP"), "{detail}");
    assert!(detail.contains("id does not match"), "{detail}");
    assert_eq!(transports, ["udp", "tcp"]);
}

// ---- ECDSA P-384 (`k=ecdsap384`) ----

fn p384_signer() -> p384::ecdsa::SigningKey {
    p384::ecdsa::SigningKey::random(&mut p384::elliptic_curve::rand_core::OsRng)
}

/// The 49-byte compressed SEC1 point, base64, as `mcp-publisher --algorithm ecdsap384` publishes it.
fn p384_public(key: &p384::ecdsa::SigningKey) -> String {
    b64(key.verifying_key().to_encoded_point(true).as_bytes(), false)
}

fn p384_record(key: &p384::ecdsa::SigningKey) -> String {
    format!("v=MCPv1; k=ecdsap384; p={}", p384_public(key))
}

/// A fixed 96-byte `r‖s` signature over SHA-384 of the timestamp, hex.
fn p384_proof(domain: &str, key: &p384::ecdsa::SigningKey, offset_secs: i64) -> Value {
    use p384::ecdsa::signature::Signer;
    let timestamp = timestamp(offset_secs);
    let signature: p384::ecdsa::Signature = key.sign(timestamp.as_bytes());
    assert_eq!(signature.to_bytes().len(), 96);
    json!({
        "domain": domain,
        "timestamp": timestamp,
        "signed_timestamp": hex::encode(signature.to_bytes()),
    })
}

/// Records whose `k=ecdsap384` key is unusable: not 49 bytes (an uncompressed point), and 49 bytes
/// that are not a point on the curve.
fn malformed_p384_records(key: &p384::ecdsa::SigningKey) -> Vec<String> {
    let uncompressed = key.verifying_key().to_encoded_point(false);
    // x = 1: 1 - 3 + b is not a square mod p, so no point has it.
    let mut off_curve = [0u8; 49];
    off_curve[0] = 2;
    off_curve[48] = 1;
    vec![
        format!(
            "v=MCPv1; k=ecdsap384; p={}",
            b64(uncompressed.as_bytes(), false)
        ),
        format!("v=MCPv1; k=ecdsap384; p={}", b64(&off_curve, false)),
    ]
}

fn assert_tried(problem: &Value, fingerprint: &str) {
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("tried"), "{problem}");
    assert!(detail.contains(fingerprint), "{problem}");
}

async fn p384_http_exchange(db: TestDb) {
    let key = p384_signer();
    let ed_key = signer(5);
    let host = well_known_host(format!("{}\n{}\n", record(&ed_key), p384_record(&key))).await;
    let bad_key = p384_signer();
    let malformed_host = well_known_host(malformed_p384_records(&bad_key).join("\n")).await;
    let app = app_with(
        db,
        AuthExchangeConfig {
            allow_private_targets: true,
            resolve_overrides: vec![
                ("example.com".to_owned(), host),
                ("malformed.example.com".to_owned(), malformed_host),
            ],
            ..auth_config()
        },
    )
    .await;
    // A P-384 key next to an Ed25519 one: each verifies its own signatures.
    let response = post(&app, "/v0.1/auth/http", &p384_proof("example.com", &key, 0)).await;
    let (claims, resources) = granted(&response);
    assert_eq!(resources, ["com.example/*"]);
    assert_eq!(claims.auth_method_sub, "example.com");
    let token = response.json()["registry_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&token, &manifest("com.example/p384", "1.0.0"))
        .await
        .ok();
    post(&app, "/v0.1/auth/http", &proof("example.com", &ed_key, 0))
        .await
        .ok();

    // Wrong P-384 key: 401 listing both fingerprints tried.
    let problem = post(
        &app,
        "/v0.1/auth/http",
        &p384_proof("example.com", &p384_signer(), 0),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    assert_tried(&problem, &format!("ecdsap384:{}", &p384_public(&key)[..8]));
    assert_tried(
        &problem,
        &format!("ed25519:{}", &b64(ed_key.public_key().as_ref(), false)[..8]),
    );
    // A P-384 signature over another timestamp, and one in ASN.1 DER rather than r‖s.
    let mut replay = p384_proof("example.com", &key, 0);
    replay["timestamp"] = json!(timestamp(-1));
    post(&app, "/v0.1/auth/http", &replay)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let mut der = p384_proof("example.com", &key, 0);
    let raw = hex::decode(der["signed_timestamp"].as_str().unwrap()).unwrap();
    let signature = p384::ecdsa::Signature::from_slice(&raw).unwrap();
    der["signed_timestamp"] = json!(hex::encode(signature.to_der().as_bytes()));
    post(&app, "/v0.1/auth/http", &der)
        .await
        .problem(StatusCode::UNAUTHORIZED);

    // Malformed P-384 keys: 401 saying why, as for a malformed Ed25519 key.
    let problem = post(
        &app,
        "/v0.1/auth/http",
        &p384_proof("malformed.example.com", &bad_key, 0),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("no usable MCPv1 record"), "{problem}");
    assert!(detail.contains("49 bytes"), "{problem}");
    assert!(detail.contains("not a point on the curve"), "{problem}");
}

async fn p384_dns_exchange(db: TestDb) {
    let key = p384_signer();
    let bad_key = p384_signer();
    let resolver = dns_server(vec![
        (
            "example.org".to_owned(),
            vec![
                "v=spf1 -all".to_owned(),
                p384_record(&p384_signer()),
                record(&signer(3)),
                p384_record(&key),
            ],
        ),
        ("malformed.org".to_owned(), malformed_p384_records(&bad_key)),
    ])
    .await;
    let app = app_with(
        db,
        AuthExchangeConfig {
            dns_resolver: Some(resolver),
            ..auth_config()
        },
    )
    .await;
    let response = post(&app, "/v0.1/auth/dns", &p384_proof("example.org", &key, 0)).await;
    let (claims, resources) = granted(&response);
    assert_eq!(resources, ["org.example/*", "org.example.*"]);
    assert_eq!(claims.auth_method, "dns");
    let token = response.json()["registry_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&token, &manifest("org.example.api/p384", "1.0.0"))
        .await
        .ok();

    let problem = post(
        &app,
        "/v0.1/auth/dns",
        &p384_proof("example.org", &bad_key, 0),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    assert_tried(&problem, &format!("ecdsap384:{}", &p384_public(&key)[..8]));
    post(
        &app,
        "/v0.1/auth/dns",
        &p384_proof("example.org", &key, -30),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);

    let problem = post(
        &app,
        "/v0.1/auth/dns",
        &p384_proof("malformed.org", &bad_key, 0),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("no usable MCPv1 record"), "{problem}");
    assert!(detail.contains("compressed"), "{problem}");
}

// ---- github-at ----

async fn fake_github() -> SocketAddr {
    fn bearer(headers: &axum::http::HeaderMap) -> String {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned()
    }
    let router = Router::new()
        .route(
            "/user",
            get(|headers: axum::http::HeaderMap| async move {
                match bearer(&headers).as_str() {
                    "gho_owner" | "gho_noscope" | "gho_limited" => {
                        axum::Json(json!({"login": "alice", "id": 1})).into_response()
                    }
                    _ => (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"message": "Bad credentials"})),
                    )
                        .into_response(),
                }
            }),
        )
        .route(
            "/user/memberships/orgs",
            get(|headers: axum::http::HeaderMap| async move {
                match bearer(&headers).as_str() {
                    "gho_owner" => axum::Json(json!([
                        {"state": "active", "role": "admin", "organization": {"login": "acme"}},
                        {"state": "active", "role": "member", "organization": {"login": "other"}},
                        {"state": "pending", "role": "admin", "organization": {"login": "pending"}}
                    ]))
                    .into_response(),
                    "gho_limited" => (
                        StatusCode::FORBIDDEN,
                        [("x-ratelimit-remaining", "0")],
                        "rate limited",
                    )
                        .into_response(),
                    _ => (StatusCode::FORBIDDEN, "needs read:org").into_response(),
                }
            }),
        );
    serve(router).await
}

async fn github_at_exchange(db: TestDb) {
    let github = fake_github().await;
    let app = app_with(
        db,
        AuthExchangeConfig {
            github_api_url: format!("http://{github}"),
            ..auth_config()
        },
    )
    .await;
    let exchange = |token: &'static str| {
        let app = &app;
        async move { post(app, "/v0.1/auth/github-at", &json!({"github_token": token})).await }
    };
    let response = exchange("gho_owner").await;
    let (claims, resources) = granted(&response);
    assert_eq!(resources, ["io.github.alice/*", "io.github.acme/*"]);
    assert_eq!(claims.auth_method_sub, "alice");
    let token = response.json()["registry_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&token, &manifest("io.github.acme/tools", "1.0.0"))
        .await
        .ok();
    app.publish(&token, &manifest("io.github.other/tools", "1.0.0"))
        .await
        .problem(StatusCode::FORBIDDEN);

    let (_, resources) = granted(&exchange("gho_noscope").await);
    assert_eq!(resources, ["io.github.alice/*"]);
    exchange("gho_limited")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let problem = exchange("gho_bad").await.problem(StatusCode::UNAUTHORIZED);
    assert!(!problem["detail"].as_str().unwrap().contains("gho_bad"));
    exchange("").await.problem(StatusCode::UNPROCESSABLE_ENTITY);
}
