//! The page shell (landmarks, skip link, header with the search box, footer) and small shared pieces:
//! URLs of pages, dates, badges.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use time::OffsetDateTime;
use time::macros::format_description;

use super::assets::ASSETS;

/// What one page puts into the shell.
pub struct Page<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    /// An Atom feed to advertise (`<link rel="alternate">`).
    pub feed: Option<String>,
    /// The search box's current text.
    pub query: Option<&'a str>,
    pub body: Markup,
}

/// The whole document.
pub fn page(page: &Page<'_>) -> Html<String> {
    let assets = &*ASSETS;
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (page.title) " · MCP registry" }
                @if let Some(description) = page.description {
                    meta name="description" content=(description);
                }
                link rel="icon" href=(assets.icon.url) type="image/svg+xml";
                link rel="stylesheet" href=(assets.css.url);
                @if let Some(feed) = &page.feed {
                    link rel="alternate" type="application/atom+xml" href=(feed) title="New versions";
                }
                script src=(assets.js.url) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.site {
                    nav aria-label="Site" {
                        a.brand href="/" {
                            img src=(assets.icon.url) alt="" width="24" height="24";
                            span { "MCP registry" }
                        }
                        form.site-search role="search" action="/servers" method="get" {
                            label.visually-hidden for="site-q" { "Search servers" }
                            input #site-q type="search" name="q" value=[page.query]
                                placeholder="Search servers" autocomplete="off";
                            button type="submit" { "Search" }
                        }
                    }
                }
                main #main tabindex="-1" { (page.body) }
                footer.site {
                    p {
                        a href="/servers" { "All servers" } " · "
                        a href="/feed.atom" { "New versions (Atom)" } " · "
                        a href="/docs" { "API docs" } " · "
                        a href="/openapi.json" { "OpenAPI" }
                    }
                }
            }
        }
    };
    Html(markup.into_string())
}

/// What a path segment may hold unescaped (RFC 3986 `pchar` minus what routers split on).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'+')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');

/// Query-string values: everything but unreserved characters.
const QUERY_VALUE: &AsciiSet = &SEGMENT
    .add(b'&')
    .add(b'=')
    .add(b';')
    .add(b'\'')
    .add(b',')
    .add(b'!')
    .add(b'$')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b':')
    .add(b'@');

pub fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

pub fn query_value(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// `/servers/io.github.acme/weather`: the name keeps its one slash, each side is encoded.
pub fn server_url(name: &str) -> String {
    match name.split_once('/') {
        Some((namespace, local)) => format!("/servers/{}/{}", segment(namespace), segment(local)),
        None => format!("/servers/{}", segment(name)),
    }
}

pub fn version_url(name: &str, version: &str) -> String {
    format!("{}/versions/{}", server_url(name), segment(version))
}

pub fn diff_url(name: &str, from: &str, to: &str) -> String {
    format!(
        "{}/diff?from={}&to={}",
        server_url(name),
        query_value(from),
        query_value(to)
    )
}

pub fn namespace_url(namespace: &str) -> String {
    format!("/namespaces/{}", segment(namespace))
}

/// `2026-03-04`.
pub fn date(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// RFC 3339, for `<time datetime>` and feeds.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `<time>` with the date shown and the full time as its machine value and tooltip.
pub fn time_tag(at: OffsetDateTime) -> Markup {
    let full = rfc3339(at);
    html! { time datetime=(full) title=(full) { (date(at)) } }
}

/// The kinds of badge, each with its own look (never colour alone: every badge has its text).
#[derive(Debug, Clone, Copy)]
pub enum Tone {
    Good,
    Warn,
    Bad,
    Plain,
}

pub fn badge(tone: Tone, text: &str, title: &str) -> Markup {
    let class = match tone {
        Tone::Good => "badge good",
        Tone::Warn => "badge warn",
        Tone::Bad => "badge bad",
        Tone::Plain => "badge",
    };
    html! { span class=(class) title=(title) { (text) } }
}

/// A `<pre>` holding text to copy, with a copy button the script reveals.
pub fn copyable(id: &str, text: &str) -> Markup {
    html! {
        div.copyable {
            pre { code id=(id) { (text) } }
            button.copy type="button" data-copy=(id) hidden { "Copy" }
        }
    }
}

/// An `http(s)` link, or the text alone: `javascript:` and other schemes never become links.
pub fn safe_link(url: &str) -> Markup {
    if is_web_url(url) {
        html! { a href=(url) rel="nofollow noopener noreferrer" { (url) } }
    } else {
        html! { span.unsafe-url { (url) } }
    }
}

pub fn is_web_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_names_slash_and_encode_the_rest() {
        assert_eq!(
            server_url("io.github.acme/weather"),
            "/servers/io.github.acme/weather"
        );
        assert_eq!(
            version_url("a.b/c", "1.0.0+build/x"),
            "/servers/a.b/c/versions/1.0.0%2Bbuild%2Fx"
        );
        assert_eq!(
            diff_url("a.b/c", "1.0.0", "2.0.0+b&c"),
            "/servers/a.b/c/diff?from=1.0.0&to=2.0.0%2Bb%26c"
        );
    }

    #[test]
    fn only_web_urls_become_links() {
        assert!(is_web_url("https://github.com/acme/weather"));
        assert!(is_web_url("HTTP://example.com"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url(" javascript:alert(1)"));
        assert!(!is_web_url("data:text/html,<script>"));
        assert!(!is_web_url("https://x.example/\nb"));
        let markup = safe_link("javascript:alert(1)").into_string();
        assert!(!markup.contains("href"), "{markup}");
    }
}
