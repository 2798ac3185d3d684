//! Cross-origin access for browser-side registry clients (VS Code's MCP gallery, GitHub's registry policy,
//! web pages of other origins). Tokens travel in `Authorization`, never in cookies, so credentials mode
//! stays off and `*` is a safe default.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may reuse a preflight answer (Chromium caps this at two hours).
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_hours(2);

/// Which origins may read responses, from `--cors-allowed-origins`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsOrigins {
    /// `*`: every origin (the default, as the official registry does).
    #[default]
    Any,
    /// `none`: no CORS headers at all; browsers of other origins cannot read responses.
    Disabled,
    /// Exactly these origins (`scheme://host[:port]`).
    List(Vec<HeaderValue>),
}

impl CorsOrigins {
    /// Parses the flag's values: `*`, `none`, or origins such as `https://vscode.dev`.
    pub fn parse(values: &[String]) -> Result<Self, String> {
        let values: Vec<&str> = values
            .iter()
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
            .collect();
        match values.as_slice() {
            [] | ["*"] => Ok(Self::Any),
            ["none"] => Ok(Self::Disabled),
            _ if values.iter().any(|value| *value == "*" || *value == "none") => {
                Err("`*` and `none` stand alone; list origins without them".to_owned())
            }
            _ => values
                .iter()
                .map(|value| parse_origin(value))
                .collect::<Result<Vec<_>, _>>()
                .map(Self::List),
        }
    }

    /// The tower-http layer for these origins, or `None` when CORS is off.
    pub fn layer(&self) -> Option<CorsLayer> {
        let allow_origin = match self {
            Self::Disabled => return None,
            Self::Any => AllowOrigin::any(),
            Self::List(origins) => AllowOrigin::list(origins.iter().cloned()),
        };
        Some(
            CorsLayer::new()
                .allow_origin(allow_origin)
                .allow_methods([
                    Method::GET,
                    Method::HEAD,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::IF_NONE_MATCH,
                ])
                .expose_headers([
                    header::ETAG,
                    header::RETRY_AFTER,
                    header::LOCATION,
                    HeaderName::from_static("x-request-id"),
                ])
                .max_age(PREFLIGHT_MAX_AGE),
        )
    }
}

/// `scheme://host[:port]` with nothing after it, as browsers send in `Origin`.
fn parse_origin(value: &str) -> Result<HeaderValue, String> {
    let url = url::Url::parse(value).map_err(|err| format!("`{value}` is not an origin: {err}"))?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !bare {
        return Err(format!(
            "`{value}` is not an origin; write scheme://host[:port], e.g. https://vscode.dev"
        ));
    }
    // Browsers send the origin without a trailing slash; match that form exactly.
    let origin = url.origin().ascii_serialization();
    HeaderValue::from_str(&origin).map_err(|err| format!("`{value}`: {err}"))
}

/// tower-http answers preflights with 200; the fetch standard's "ok status" allows any 2xx, and 204 says
/// plainly that the answer has no body.
pub async fn preflight_no_content(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS;
    let mut response = next.run(request).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<CorsOrigins, String> {
        CorsOrigins::parse(&values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_any_none_and_lists() {
        assert_eq!(parse(&["*"]), Ok(CorsOrigins::Any));
        assert_eq!(parse(&[]), Ok(CorsOrigins::Any));
        assert_eq!(parse(&["none"]), Ok(CorsOrigins::Disabled));
        assert_eq!(
            parse(&["https://vscode.dev/", " http://localhost:3000"]),
            Ok(CorsOrigins::List(vec![
                HeaderValue::from_static("https://vscode.dev"),
                HeaderValue::from_static("http://localhost:3000"),
            ]))
        );
    }

    #[test]
    fn refuses_what_is_not_an_origin() {
        assert!(parse(&["vscode.dev"]).is_err());
        assert!(parse(&["https://vscode.dev/path"]).is_err());
        assert!(parse(&["ftp://example.com"]).is_err());
        assert!(parse(&["*", "https://vscode.dev"]).is_err());
        assert!(parse(&["none", "https://vscode.dev"]).is_err());
    }
}
