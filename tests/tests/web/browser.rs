//! Real-browser checks: headless Chromium (Debian's `chromium` + `chromium-driver`) driven over
//! WebDriver against a registry served on 127.0.0.1. Skipped, with a message saying so, when either
//! program is missing. Screenshots go to `target/web-screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use registry_server::config::ServerConfig;
use registry_server::{AppState, serve};
use registry_tests::app::TestApp;
use registry_tests::db::TestDb;
use serde_json::{Value, json};

use super::fixtures::{WEATHER, seed};

const CHROMIUM: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];
const CHROMEDRIVER: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

fn find(candidates: &[&str], env: &str) -> Option<PathBuf> {
    std::env::var_os(env)
        .map(PathBuf::from)
        .into_iter()
        .chain(candidates.iter().map(PathBuf::from))
        .find(|path| path.is_file())
}

/// Debian's chromium and chromedriver, or `None` after saying which test is skipped and why.
fn browser_tools(test: &str) -> Option<(PathBuf, PathBuf)> {
    let found = (
        find(CHROMIUM, "MCPREG_CHROMIUM"),
        find(CHROMEDRIVER, "MCPREG_CHROMEDRIVER"),
    );
    if let (Some(chromium), Some(chromedriver)) = found {
        return Some((chromium, chromedriver));
    }
    eprintln!(
        "SKIPPED {test}: chromium and chromedriver are not installed \
         (Debian: apt-get install -y chromium chromium-driver)"
    );
    None
}

/// chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver on a port it picks itself (`--port=0`) and reads the port from the line it
/// prints once it listens. Picking a free port here and handing it over raced with the other
/// browser tests' processes: a port freed for chromedriver could be taken again before it bound.
async fn start_driver(path: &PathBuf) -> Driver {
    let mut child = Command::new(path)
        .arg("--port=0")
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let stdout = child.stdout.take().expect("chromedriver's stdout");
    let (port_found, port) = std::sync::mpsc::channel();
    // Reads until the port line, then keeps draining so chromedriver never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut port_found = Some(port_found);
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            let port = line
                .split_once("started successfully on port ")
                .and_then(|(_, rest)| rest.trim_end_matches('.').trim().parse::<u16>().ok());
            if let (Some(port), Some(sender)) = (port, port_found.as_ref()) {
                let _ = sender.send(port);
                port_found = None;
            }
        }
    });
    let driver_waiting =
        tokio::task::spawn_blocking(move || port.recv_timeout(Duration::from_secs(20)));
    let mut driver = Driver {
        child,
        url: String::new(),
    };
    // `driver` is dropped (and chromedriver killed) if this panics.
    let port = driver_waiting
        .await
        .unwrap()
        .expect("chromedriver did not say which port it listens on within 20 s");
    driver.url = format!("http://127.0.0.1:{port}");
    driver
}

async fn session(
    driver: &Driver,
    chromium: &PathBuf,
    extra_args: &[&str],
    javascript: bool,
) -> Client {
    let mut args = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--window-size=1200,900",
    ];
    args.extend_from_slice(extra_args);
    let mut options = json!({"binary": chromium, "args": args});
    if !javascript {
        options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let dir = target.join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Polls `check` (a JS expression returning a boolean) until it holds.
async fn wait_for(client: &Client, what: &str, check: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = client
            .execute(&format!("return !!({check});"), vec![])
            .await
            .unwrap();
        if value == Value::Bool(true) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every resource the page loaded came from `origin`.
async fn assert_same_origin(client: &Client, origin: &str) {
    let names = client
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)\
             .concat(performance.getEntriesByType('navigation').map(e => e.name));",
            vec![],
        )
        .await
        .unwrap();
    let names = names.as_array().cloned().unwrap_or_default();
    assert!(!names.is_empty());
    for name in names {
        let name = name.as_str().unwrap_or_default();
        assert!(
            name.starts_with(origin),
            "a request left the registry: {name}"
        );
    }
    let inline = client
        .execute(
            "return document.querySelectorAll('script:not([src]), style, [style]').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(inline, json!(0), "inline script or style");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[allow(
    clippy::too_many_lines,
    reason = "one browser session walks every page in turn"
)]
async fn pages_in_a_real_browser() {
    let Some((chromium, chromedriver)) = browser_tools("pages_in_a_real_browser") else {
        return;
    };
    let app = TestApp::new(TestDb::sqlite().await).await;
    seed(&app).await;
    let (origin, stop, server) = serve_registry(&app, ServerConfig::default()).await;
    let driver = start_driver(&chromedriver).await;

    // With JavaScript: search by typing, follow a result, open a diff.
    let client = session(&driver, &chromium, &["--force-color-profile=srgb"], true).await;
    client.goto(&format!("{origin}/")).await.unwrap();
    wait_for(&client, "the start page", "document.querySelector('h1')").await;
    assert_same_origin(&client, &origin).await;
    screenshot(&client, "home").await;

    client.goto(&format!("{origin}/servers")).await.unwrap();
    let input = client
        .find(Locator::Css("form[data-live] input[name=q]"))
        .await
        .unwrap();
    input.send_keys("acme/weath").await.unwrap();
    wait_for(
        &client,
        "results updated in place",
        "location.search === '?q=acme%2Fweath' && document.querySelector('#results .count').textContent.includes('acme/weath')",
    )
    .await;
    let latency = client
        .execute(
            "return Number(document.getElementById('results').dataset.latencyMs);",
            vec![],
        )
        .await
        .unwrap();
    eprintln!("search-as-you-type: results {latency} ms after the debounced request started");
    let copy_visible = client
        .find(Locator::Css("#results button[data-copy]"))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap();
    assert!(copy_visible, "the script reveals copy buttons");
    assert_same_origin(&client, &origin).await;
    screenshot(&client, "search").await;

    let first = client
        .find(Locator::Css("#results ol.results li h2 a"))
        .await
        .unwrap();
    assert_eq!(
        first.attr("href").await.unwrap().as_deref(),
        Some(format!("/servers/{WEATHER}").as_str())
    );
    first.click().await.unwrap();
    wait_for(&client, "the server page", "document.querySelector('h1') && document.querySelector('h1').textContent === 'Acme Weather'").await;
    assert_same_origin(&client, &origin).await;
    screenshot(&client, "server").await;

    // Copy a snippet: the button hands the snippet's exact text to the clipboard and says so.
    client
        .execute(
            "window.__copied = null;
             navigator.clipboard.writeText = t => { window.__copied = t; return Promise.resolve(); };",
            vec![],
        )
        .await
        .unwrap();
    let copy = client
        .find(Locator::Css("#install button[data-copy]"))
        .await
        .unwrap();
    copy.click().await.unwrap();
    wait_for(
        &client,
        "the copied snippet",
        "window.__copied !== null && document.querySelector('#install button[data-copy]').textContent === 'Copied'",
    )
    .await;
    let copied = client
        .execute(
            "const b = document.querySelector('#install button[data-copy]');
             return [window.__copied, document.getElementById(b.dataset.copy).textContent];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        copied[0], copied[1],
        "the clipboard gets the snippet as shown"
    );
    assert!(
        copied[0].as_str().is_some_and(|t| t.contains("weather")),
        "{copied}"
    );

    let diff = client
        .find(Locator::Css("a[href*='/diff?from=1.1.0']"))
        .await
        .unwrap();
    diff.click().await.unwrap();
    wait_for(
        &client,
        "the diff page",
        "document.body.textContent.includes('breaks callers')",
    )
    .await;
    assert_same_origin(&client, &origin).await;
    screenshot(&client, "diff").await;
    let light_background = client
        .execute(
            "return getComputedStyle(document.body).backgroundColor;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(light_background, json!("rgb(251, 251, 250)"));
    client.close().await.unwrap();

    // Without JavaScript: the form submits and the server renders the results.
    let client = session(&driver, &chromium, &[], false).await;
    client.goto(&format!("{origin}/servers")).await.unwrap();
    let input = client
        .find(Locator::Css("form[data-live] input[name=q]"))
        .await
        .unwrap();
    input.send_keys("weather\n").await.unwrap();
    wait_for(
        &client,
        "the submitted search",
        "location.search.startsWith('?q=weather')",
    )
    .await;
    let text = client
        .find(Locator::Css("#results .count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("for “weather”"), "{text}");
    let copy_hidden = !client
        .find(Locator::Css("#results button[data-copy]"))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap();
    assert!(copy_hidden, "copy buttons stay hidden without the script");
    let script_ran = client
        .execute(
            "return 'latencyMs' in document.getElementById('results').dataset;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        script_ran,
        json!(false),
        "the page script must not have run"
    );
    screenshot(&client, "search-no-js").await;
    client.close().await.unwrap();

    // Dark mode follows the system's preference.
    let client = session(
        &driver,
        &chromium,
        &[
            "--force-dark-mode",
            "--blink-settings=preferredColorScheme=0",
        ],
        true,
    )
    .await;
    client
        .goto(&format!("{origin}/servers/{WEATHER}"))
        .await
        .unwrap();
    wait_for(&client, "the server page", "document.querySelector('h1')").await;
    let dark = client
        .execute("return [matchMedia('(prefers-color-scheme: dark)').matches, getComputedStyle(document.body).backgroundColor];", vec![])
        .await
        .unwrap();
    assert_eq!(dark, json!([true, "rgb(21, 24, 28)"]));
    screenshot(&client, "server-dark").await;
    client.close().await.unwrap();

    drop(driver);
    let _ = stop.send(());
    let _ = server.await;
}

/// A page on `127.0.0.1:<own port>` with no policy of its own: the "other origin" a hosted gallery
/// (VS Code's, a web IDE's) runs its registry client from.
async fn other_origin() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let page = axum::Router::new().route(
        "/",
        axum::routing::get(|| async {
            axum::response::Html("<!doctype html><title>gallery</title><h1>gallery</h1>")
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, page).await;
    });
    (origin, task)
}

/// The registry on a loopback port with `config`; stopped by sending on the returned channel.
async fn serve_registry(
    app: &TestApp,
    config: ServerConfig,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(app.store.clone(), config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    (origin, stop, server)
}

/// What a gallery's `fetch` calls see: each request from the other origin, with headers that force a
/// preflight (`Authorization`, `If-None-Match`, a JSON body), answered as `{status, etag, body}` or
/// `{error}` when the browser refused to hand over the response.
const GALLERY_FETCHES: &str = r#"
const [registry, done] = arguments;
const call = (path, init) => fetch(registry + path, init)
  .then(async r => ({status: r.status, etag: r.headers.get('etag'), body: await r.text()}))
  .catch(e => ({error: String(e)}));
Promise.all([
  call('/v0.1/servers?limit=1', {headers: {'If-None-Match': '"stale"'}}),
  call('/v0.1/validate', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'}),
  call('/v0.1/servers/' + encodeURIComponent('io.github.acme/weather') + '/status', {
    method: 'PATCH',
    headers: {'Authorization': 'Bearer not-a-token', 'Content-Type': 'application/json'},
    body: '{"status":"deprecated"}',
  }),
]).then(done);
"#;

/// Issue 14: a registry client running in a browser page of another origin (VS Code's gallery) reads
/// the API, including preflighted writes and their errors; with CORS off the browser refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gallery_on_another_origin_reads_the_api() {
    let Some((chromium, chromedriver)) = browser_tools("a_gallery_on_another_origin_reads_the_api")
    else {
        return;
    };
    let app = TestApp::new(TestDb::sqlite().await).await;
    seed(&app).await;
    let (gallery, gallery_task) = other_origin().await;
    let (registry, stop, server) = serve_registry(&app, ServerConfig::default()).await;
    let (closed, stop_closed, closed_server) = serve_registry(
        &app,
        ServerConfig {
            cors: registry_server::cors::CorsOrigins::Disabled,
            ..ServerConfig::default()
        },
    )
    .await;
    let driver = start_driver(&chromedriver).await;
    let client = session(&driver, &chromium, &[], true).await;
    client.goto(&format!("{gallery}/")).await.unwrap();
    wait_for(&client, "the gallery page", "document.querySelector('h1')").await;

    let open = client
        .execute_async(GALLERY_FETCHES, vec![json!(registry)])
        .await
        .unwrap();
    let [list, validate, status] = [&open[0], &open[1], &open[2]];
    assert_eq!(list["status"], json!(200), "{list}");
    assert!(
        list["etag"].as_str().is_some_and(|etag| !etag.is_empty()),
        "the ETag is exposed to the page: {list}"
    );
    let body: Value = serde_json::from_str(list["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["servers"].as_array().map(Vec::len), Some(1));
    assert_eq!(validate["status"], json!(200), "{validate}");
    let verdict: Value = serde_json::from_str(validate["body"].as_str().unwrap()).unwrap();
    assert_eq!(verdict["valid"], json!(false), "the page reads the verdict");
    assert_eq!(status["status"], json!(401), "{status}");

    let refused = client
        .execute_async(GALLERY_FETCHES, vec![json!(closed)])
        .await
        .unwrap();
    for call in refused.as_array().unwrap() {
        assert!(
            call["error"]
                .as_str()
                .is_some_and(|e| e.contains("TypeError")),
            "with CORS off the browser must refuse: {call}"
        );
    }
    client.close().await.unwrap();

    drop(driver);
    let _ = stop.send(());
    let _ = stop_closed.send(());
    let _ = server.await;
    let _ = closed_server.await;
    gallery_task.abort();
}

/// axe-core, vendored for the tests only (tests/fixtures/axe/README.md).
const AXE: &str = include_str!("../../fixtures/axe/axe.min.js");

/// Runs axe-core on the loaded page: the serious and critical violations, as `rule: targets`.
async fn accessibility_violations(client: &Client) -> Vec<String> {
    client.execute(AXE, vec![]).await.unwrap();
    let result = client
        .execute_async(
            "const done = arguments[0];
             axe.run(document, {resultTypes: ['violations']})
               .then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(result).unwrap()
}

/// Issue 16: every page type has zero serious or critical axe-core violations, in light and dark mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_page_type_passes_axe() {
    let Some((chromium, chromedriver)) = browser_tools("every_page_type_passes_axe") else {
        return;
    };
    let app = TestApp::new(TestDb::sqlite().await).await;
    seed(&app).await;
    let (origin, stop, server) = serve_registry(&app, ServerConfig::default()).await;
    let driver = start_driver(&chromedriver).await;
    let pages = [
        "/".to_owned(),
        "/servers?q=weather".to_owned(),
        "/servers?q=nothing-matches-this".to_owned(),
        format!("/servers/{WEATHER}"),
        format!("/servers/{WEATHER}/versions/1.0.0"),
        format!("/servers/{WEATHER}/diff?from=1.1.0&to=2.0.0"),
        "/namespaces/io.github.acme".to_owned(),
        "/servers/io.github.nobody/missing".to_owned(),
    ];
    let mut failures = Vec::new();
    for dark in [false, true] {
        let args: &[&str] = if dark {
            &[
                "--force-dark-mode",
                "--blink-settings=preferredColorScheme=0",
            ]
        } else {
            &[]
        };
        let client = session(&driver, &chromium, args, true).await;
        for page in &pages {
            client.goto(&format!("{origin}{page}")).await.unwrap();
            wait_for(&client, page, "document.readyState === 'complete'").await;
            for violation in accessibility_violations(&client).await {
                failures.push(format!(
                    "{page} ({}): {violation}",
                    if dark { "dark" } else { "light" }
                ));
            }
        }
        client.close().await.unwrap();
    }
    drop(driver);
    let _ = stop.send(());
    let _ = server.await;
    assert!(
        failures.is_empty(),
        "accessibility violations:\n{}",
        failures.join("\n")
    );
}
