//! Issue 16: the HTML pages. HTTP-level checks on both engines (status, content type, escaping, CSP,
//! links, caching), and real-browser checks (headless Chromium through chromedriver) in `web/browser.rs`.

#![allow(clippy::unwrap_used)]

#[path = "web/browser.rs"]
mod browser;
#[path = "web/fixtures.rs"]
mod fixtures;

use axum::http::StatusCode;
use registry_tests::app::{TestApp, TestResponse};
use registry_tests::db::TestDb;

use fixtures::{EVIL, MORE_WEATHER, SIGNED, WEATHER, seed};

registry_tests::on_both_engines!(
    every_page_is_html_with_a_strict_policy,
    hostile_manifests_render_inert,
    search_ranks_paginates_and_filters,
    server_page_shows_install_tools_provenance_and_versions,
    diff_page_says_what_breaks_callers,
    namespace_pages_and_feeds,
    missing_pages_are_html_for_browsers_and_json_for_clients,
    pages_go_through_the_response_cache,
    assets_are_hashed_and_immutable,
);

fn header<'a>(response: &'a TestResponse, name: &str) -> &'a str {
    response
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A page as a browser gets it: 200, HTML, the policy, the text.
async fn html(app: &TestApp, uri: &str) -> String {
    let response = app.get_with_headers(uri, &[("accept", "text/html")]).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{uri}: {}",
        response.text()
    );
    assert_html(uri, &response);
    response.text()
}

#[track_caller]
fn assert_html(uri: &str, response: &TestResponse) {
    assert_eq!(
        header(response, "content-type"),
        "text/html; charset=utf-8",
        "{uri}"
    );
    let csp = header(response, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{uri}: CSP `{csp}` lacks {directive}"
        );
    }
    assert!(!csp.contains("unsafe-inline"), "{uri}: {csp}");
    assert_eq!(
        header(response, "x-content-type-options"),
        "nosniff",
        "{uri}"
    );
}

/// No inline script, no inline style, no reference to another origin.
#[track_caller]
fn assert_self_contained(uri: &str, body: &str) {
    assert!(body.starts_with("<!DOCTYPE html>"), "{uri}");
    for (index, _) in body.match_indices("<script") {
        let tag = &body[index
            ..body[index..]
                .find('>')
                .map_or(body.len(), |end| index + end)];
        assert!(tag.contains("src=\"/assets/"), "{uri}: inline script {tag}");
    }
    assert!(!body.contains("<style"), "{uri}: inline style");
    assert!(!body.contains(" style=\""), "{uri}: style attribute");
    for attribute in ["src=\"", "href=\""] {
        for (index, _) in body.match_indices(attribute) {
            let value = &body[index + attribute.len()..];
            let value = &value[..value.find('"').unwrap_or(value.len())];
            let external = value.starts_with("//")
                || (value.contains("://") && !value.starts_with("cursor://"))
                    && !value.starts_with("https://github.com/acme/");
            assert!(
                !(attribute == "src=\"" && external),
                "{uri}: loads {value} from another origin"
            );
        }
    }
}

async fn every_page_is_html_with_a_strict_policy(db: TestDb) {
    let app = TestApp::new(db).await;
    seed(&app).await;
    let encoded_weather = WEATHER.replace('/', "%2F");
    for uri in [
        "/".to_owned(),
        "/servers".to_owned(),
        "/servers?q=weather".to_owned(),
        format!("/servers/{WEATHER}"),
        format!("/servers/{encoded_weather}"),
        format!("/servers/{WEATHER}/versions/1.0.0"),
        format!("/servers/{WEATHER}/diff?from=1.1.0&to=2.0.0"),
        format!("/servers/{WEATHER}/diff"),
        format!("/servers/{SIGNED}"),
        format!("/servers/{EVIL}"),
        "/namespaces/io.github.acme".to_owned(),
    ] {
        let body = html(&app, &uri).await;
        assert_self_contained(&uri, &body);
        assert!(
            body.contains("<main id=\"main\""),
            "{uri}: no main landmark"
        );
        assert!(body.contains("lang=\"en\""), "{uri}");
    }
}

async fn hostile_manifests_render_inert(db: TestDb) {
    let app = TestApp::new(db).await;
    seed(&app).await;
    for uri in [
        format!("/servers/{EVIL}"),
        format!("/servers/{EVIL}/versions/1.0.0"),
        "/servers?q=evil".to_owned(),
        "/servers?q=%3Cscript%3Ealert(1)%3C/script%3E".to_owned(),
        "/namespaces/io.github.evil".to_owned(),
        "/".to_owned(),
    ] {
        let body = html(&app, &uri).await;
        assert!(!body.contains("<script>alert"), "{uri}: raw script");
        assert!(!body.contains("<script>bad"), "{uri}: raw script");
        assert!(!body.contains("<img src=x"), "{uri}: raw img");
        assert!(!body.contains("<b>pkg"), "{uri}: raw markup");
        assert!(
            !body.contains("href=\"javascript:"),
            "{uri}: javascript: link"
        );
    }
    let body = html(&app, &format!("/servers/{EVIL}")).await;
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; \"quoted\"")
            || body.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;"),
        "{body}"
    );
    assert!(body.contains("javascript:alert(1)"), "shown as text");
    // The query is echoed escaped.
    let body = html(&app, "/servers?q=%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

async fn search_ranks_paginates_and_filters(db: TestDb) {
    let app = TestApp::new(db).await;
    seed(&app).await;
    let first = html(&app, "/servers?q=weather").await;
    // The exact name ranks first.
    let position = |body: &str, needle: &str| body.find(needle).unwrap_or(usize::MAX);
    assert!(
        position(&first, &format!("href=\"/servers/{WEATHER}\""))
            < position(&first, "href=\"/servers/io.github.acme/weather-00\""),
        "exact name first"
    );
    assert!(first.contains("20 servers for “weather”"), "one full page");
    assert!(
        first.contains("data-live"),
        "the form is marked for search-as-you-type"
    );
    let next = first
        .split("rel=\"next\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a next page link")
        .replace("&amp;", "&");
    assert!(next.starts_with("/servers?q=weather&cursor="), "{next}");
    let second = html(&app, &next).await;
    let total = 1 + MORE_WEATHER;
    assert!(
        second.contains(&format!(
            "{} servers for “weather” on this page",
            total - 20
        )),
        "{second}"
    );
    assert!(second.contains("First page"));

    // The fragment the script fetches: the results only.
    let fragment = app
        .get_with_headers("/servers?q=weather&fragment=1", &[("accept", "text/html")])
        .await;
    assert_html("fragment", &fragment);
    let text = fragment.text();
    assert!(!text.contains("<html") && text.contains("<ol class=\"results\">"));

    // Filters: signed, has tools, namespace, transport.
    let signed = html(&app, "/servers?signed=1").await;
    assert!(signed.contains(&format!("href=\"/servers/{SIGNED}\"")));
    assert!(signed.contains("1 server"), "{signed}");
    let tools = html(&app, "/servers?has_tools=1").await;
    assert!(tools.contains(&format!("href=\"/servers/{WEATHER}\"")));
    assert!(tools.contains("1 server"));
    let namespace = html(&app, "/servers?namespace=io.github.evil").await;
    assert!(
        namespace.contains(&format!("href=\"/servers/{EVIL}\"")) && namespace.contains("1 server")
    );
    let none = html(&app, "/servers?transport=sse").await;
    assert!(none.contains("No servers match."));

    let bad = app.get("/servers?cursor=!!!").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_html("bad cursor", &bad);
}

async fn server_page_shows_install_tools_provenance_and_versions(db: TestDb) {
    let app = TestApp::new(db).await;
    seed(&app).await;
    let body = html(&app, &format!("/servers/{WEATHER}")).await;
    for needle in [
        "<h1>Acme Weather</h1>",
        "v2.0.0",
        "Forecasts and alerts for any city.",
        "href=\"https://github.com/acme/weather\"",
        // Install: the command per host, the deep links, copy buttons (revealed by the script).
        "mcp-reg install io.github.acme/weather --host cursor",
        "mcp-reg install io.github.acme/weather --host claude-desktop",
        "href=\"vscode:mcp/install?",
        "href=\"cursor://anysphere.cursor-deeplink/mcp/install?name=weather&amp;config=",
        "data-copy=",
        // Inputs.
        "ACME_API_KEY",
        "Your Acme API key",
        "secret",
        // Tools, their schemas and annotations; prompts.
        "get_forecast",
        "City name, e.g. Oslo",
        "What the sky does",
        "read-only",
        "daily-brief",
        // Provenance and versions.
        "unsigned",
        "1.1.0",
        "1.0.0",
        "breaking history",
        "href=\"/servers/io.github.acme/weather/diff?from=1.1.0&amp;to=2.0.0\"",
        "href=\"/servers/io.github.acme/weather/feed.atom\"",
    ] {
        assert!(body.contains(needle), "server page lacks {needle}");
    }
    assert!(!body.contains("get_alerts"), "2.0.0 removed it");

    let old = html(&app, &format!("/servers/{WEATHER}/versions/1.1.0")).await;
    assert!(old.contains("get_alerts") && old.contains("This is not the latest version"));
    assert!(old.contains("mcp-reg install io.github.acme/weather@1.1.0 --host cursor"));

    let signed = html(&app, &format!("/servers/{SIGNED}")).await;
    for needle in ["verified", "key:feedbeef", "sha256:0123abcd", "signed"] {
        assert!(signed.contains(needle), "signed page lacks {needle}");
    }

    let missing = app
        .get_with_headers(
            &format!("/servers/{WEATHER}/versions/9.9.9"),
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_html("missing version", &missing);
}

async fn diff_page_says_what_breaks_callers(db: TestDb) {
    let app = TestApp::new(db).await;
    seed(&app).await;
    let body = html(
        &app,
        &format!("/servers/{WEATHER}/diff?from=1.1.0&to=2.0.0"),
    )
    .await;
    for needle in [
        "get_alerts",
        "removed",
        "breaks callers",
        "major",
        "compatible",
    ] {
        assert!(body.contains(needle), "diff lacks {needle}");
    }
    let added = html(
        &app,
        &format!("/servers/{WEATHER}/diff?from=1.0.0&to=1.1.0"),
    )
    .await;
    assert!(
        added.contains("added") && added.contains("none breaks callers"),
        "{added}"
    );
    // Without parameters: the latest against the one before it, with pickers.
    let default = html(&app, &format!("/servers/{WEATHER}/diff")).await;
    assert!(default.contains("<select id=\"from\" name=\"from\">"));
    assert!(default.contains("get_alerts"));
    let missing = app
        .get(&format!("/servers/{WEATHER}/diff?from=0.0.1&to=2.0.0"))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn namespace_pages_and_feeds(db: TestDb) {
    let app = TestApp::new(db).await;
    seed(&app).await;
    let body = html(&app, "/namespaces/io.github.acme").await;
    assert!(
        body.contains(&format!("href=\"/servers/{WEATHER}\"")) && body.contains("rel=\"next\"")
    );
    assert_eq!(
        app.get("/namespaces/io.github.nobody").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/namespaces/not%20a%20namespace").await.status,
        StatusCode::NOT_FOUND
    );

    for uri in [
        "/feed.atom".to_owned(),
        format!("/servers/{WEATHER}/feed.atom"),
    ] {
        let feed = app.get(&uri).await;
        assert_eq!(feed.status, StatusCode::OK, "{uri}");
        assert_eq!(
            header(&feed, "content-type"),
            "application/atom+xml; charset=utf-8"
        );
        let text = feed.text();
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"), "{text}");
        assert!(
            text.contains("<entry>") && text.contains("Acme Weather 2.0.0"),
            "{uri}: {text}"
        );
        assert!(!text.contains("<script>"), "{uri}");
    }
    let server_feed = app
        .get(&format!("/servers/{WEATHER}/feed.atom"))
        .await
        .text();
    assert_eq!(server_feed.matches("<entry>").count(), 3);
    let home = html(&app, "/").await;
    assert!(home.contains("Recently updated") && home.contains("rel=\"alternate\""));
    assert!(home.contains(" servers in "), "counts: {home}");
}

async fn missing_pages_are_html_for_browsers_and_json_for_clients(db: TestDb) {
    let app = TestApp::new(db).await;
    for uri in [
        "/nothing/here",
        "/servers/io.github.x/none",
        "/servers/io.github.x/none/whatever",
    ] {
        let browser = app
            .get_with_headers(uri, &[("accept", "text/html,application/xhtml+xml")])
            .await;
        assert_eq!(browser.status, StatusCode::NOT_FOUND, "{uri}");
        assert_html(uri, &browser);
        assert!(
            browser.text().contains("Not found") && browser.text().contains("href=\"/servers\"")
        );
    }
    let client = app.get("/nothing/here").await;
    client.problem(StatusCode::NOT_FOUND);
    let api = app.get("/v0.1/servers/io.github.x%2Fnone/versions").await;
    api.problem(StatusCode::NOT_FOUND);
}

async fn pages_go_through_the_response_cache(db: TestDb) {
    let app = TestApp::new(db).await;
    seed(&app).await;
    let uri = format!("/servers/{WEATHER}");
    // On PostgreSQL the seed's direct store writes reach the change feed a moment later, each dropping
    // the cache again: wait for a hit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (first, second) = loop {
        let first = app.get(&uri).await;
        let second = app.get(&uri).await;
        if header(&second, "x-cache") == "hit" {
            break (first, second);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never served from the cache"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_html("cached", &second);
    assert_eq!(first.body, second.body);
    let etag = header(&first, "etag").to_owned();
    assert!(!etag.is_empty());
    let not_modified = app
        .get_with_headers(&uri, &[("if-none-match", &etag)])
        .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    // A write drops the cached pages: a new server shows up in the results at once.
    let results = "/servers?q=weather-fresh";
    assert!(app.get(results).await.text().contains("No servers match."));
    assert_eq!(header(&app.get(results).await, "x-cache"), "hit");
    let token = app
        .token(&[(registry_server::auth::Action::Publish, "io.github.acme/*")])
        .await;
    let fresh = registry_tests::app::manifest("io.github.acme/weather-fresh", "0.1.0");
    assert!(app.publish(&token, &fresh).await.status.is_success());
    let after = app.get(results).await;
    assert_eq!(header(&after, "x-cache"), "miss");
    assert!(after.text().contains("io.github.acme/weather-fresh"));
}

async fn assets_are_hashed_and_immutable(db: TestDb) {
    let app = TestApp::new(db).await;
    let home = html(&app, "/").await;
    let mut found = 0;
    for (prefix, content_type) in [
        ("/assets/web.", "text/css; charset=utf-8"),
        ("/assets/web.", "text/javascript; charset=utf-8"),
        ("/assets/icon.", "image/svg+xml"),
    ] {
        let ext = content_type.split(['/', ';']).nth(1).unwrap_or_default();
        let ext = match ext {
            "javascript" => "js",
            "svg+xml" => "svg",
            other => other,
        };
        let url = home
            .split('"')
            .find(|part| part.starts_with(prefix) && part.ends_with(&format!(".{ext}")))
            .unwrap_or_else(|| panic!("no {prefix}*.{ext} in the page"));
        let asset = app.get(url).await;
        assert_eq!(asset.status, StatusCode::OK, "{url}");
        assert_eq!(header(&asset, "content-type"), content_type);
        assert_eq!(
            header(&asset, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        found += 1;
        let stale = url.replace(prefix, &format!("{prefix}0000"));
        assert_eq!(
            app.get(&stale).await.status,
            StatusCode::NOT_FOUND,
            "{stale}"
        );
    }
    assert_eq!(found, 3);
}
