//! MCPB bundles: no marker (as the official registry); the download's SHA-256 must equal
//! `fileSha256`. Bundles come from release assets on github.com or gitlab.com, or any path on
//! `--mcpb-allowed-hosts`, and the URL must contain `mcp`.

use std::time::Duration;

use axum::http::{StatusCode, header};
use registry_schema::manifest::Package;
use reqwest::Url;
use sha2::{Digest as _, Sha256};
use tracing::Instrument as _;

use super::client::{Clients, error_chain, literal_refusal, private_address};
use super::config::{DEFAULT_MCPB_HOSTS, allowed_list, host_allowed};
use super::{Check, Failure, OwnershipConfig};

/// Where github.com release downloads redirect to: allowed as redirect targets only.
const MCPB_REDIRECT_HOSTS: &[&str] = &[
    "objects.githubusercontent.com",
    "release-assets.githubusercontent.com",
];
/// Redirects followed by an MCPB download.
pub const MCPB_MAX_REDIRECTS: usize = 5;
/// Whole-download deadline for an MCPB bundle: larger than [`super::REQUEST_TIMEOUT`] because bundles are
/// large; each read still waits at most [`super::REQUEST_TIMEOUT`].
pub const MCPB_DOWNLOAD_TIMEOUT: Duration = Duration::from_mins(2);

pub(super) async fn check(clients: &Clients, config: &OwnershipConfig, package: &Package) -> Check {
    let id = package.identifier.as_str();
    let url = mcpb_url(config, id)?;
    let expected = expected_sha256(package)?;
    let actual = mcpb_sha256(clients, config, id, url).await?;
    if actual == expected {
        Ok(())
    } else {
        Err(Failure::Digest(format!(
            "`fileSha256` is {expected}, but the bundle at `{id}` has SHA-256 {actual}; set `fileSha256` to the digest of the published bundle"
        )))
    }
}

/// The checks of an MCPB bundle URL that need no request: https, an allowed host, a release asset
/// on github.com and gitlab.com, and `mcp` somewhere in it (as the official registry requires).
fn mcpb_url(config: &OwnershipConfig, id: &str) -> Result<Url, Failure> {
    let url = Url::parse(id)
        .map_err(|err| Failure::NotOwned(format!("MCPB identifier `{id}` is not a URL: {err}")))?;
    if url.scheme() != "https" {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle URL `{id}` must use https"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle URL `{id}` must not carry credentials"
        )));
    }
    let Some(host) = authority(&url) else {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle URL `{id}` has no host"
        )));
    };
    if !host_allowed(DEFAULT_MCPB_HOSTS, &config.mcpb_allowed_hosts, &host) {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle host `{host}` is not accepted; bundles must be downloadable from: {}",
            allowed_list(DEFAULT_MCPB_HOSTS, &config.mcpb_allowed_hosts)
        )));
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    let shape = match host.as_str() {
        "github.com" if !is_github_release_asset(&segments) => {
            Some("`https://github.com/{owner}/{repo}/releases/download/{tag}/{file}`")
        }
        "gitlab.com" if !is_gitlab_release_asset(&segments) => Some(
            "`https://gitlab.com/{group}/{project}/-/releases/{tag}/downloads/{file}` or `https://gitlab.com/{group}/{project}/-/package_files/{id}/download`",
        ),
        _ => None,
    };
    if let Some(shape) = shape {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle URL `{id}` is not a release asset; on {host} a bundle must be a release download: {shape}"
        )));
    }
    if !id.to_ascii_lowercase().contains("mcp") {
        return Err(Failure::NotOwned(format!(
            "MCPB bundle URL `{id}` must contain `mcp` (for example in the file name), as the official registry requires"
        )));
    }
    Ok(url)
}

/// `/{owner}/{repo}/releases/download/{tag}/{file}`.
fn is_github_release_asset(segments: &[&str]) -> bool {
    matches!(
        segments,
        [owner, repo, "releases", "download", tag, file]
            if [owner, repo, tag, file].iter().all(|s| !s.is_empty())
    )
}

/// `/{group…}/{project}/-/releases/{tag}/downloads/{file…}` or
/// `/{group…}/{project}/-/package_files/{N}/download`.
fn is_gitlab_release_asset(segments: &[&str]) -> bool {
    let Some(dash) = segments.iter().position(|s| *s == "-") else {
        return false;
    };
    let (project, rest) = (&segments[..dash], &segments[dash + 1..]);
    project.len() >= 2
        && project.iter().all(|s| !s.is_empty())
        && match rest {
            ["releases", tag, "downloads", file @ ..] => {
                !tag.is_empty() && !file.is_empty() && file.iter().all(|s| !s.is_empty())
            }
            ["package_files", number, "download"] => {
                !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
            }
            _ => false,
        }
}

/// `fileSha256`, lowercase, when it is 64 hex digits.
fn expected_sha256(package: &Package) -> Result<String, Failure> {
    let Some(sha) = package.file_sha256.as_deref() else {
        return Err(Failure::Digest(
            "MCPB packages need `fileSha256`: the SHA-256 of the bundle (64 hex digits)".to_owned(),
        ));
    };
    if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha.to_ascii_lowercase())
    } else {
        let shown: String = sha.chars().take(80).collect();
        Err(Failure::Digest(format!(
            "`fileSha256` `{shown}` is not a SHA-256: it must be 64 hex digits (the `sha256sum` of the bundle)"
        )))
    }
}

/// `host` or `host:port` of `url`, lowercase (the port only when not the scheme's default).
fn authority(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// `url` on the mirror: the mirror's scheme, host and port with `url`'s path and query.
fn rebase(url: &Url, mirror: &Url) -> Url {
    let mut rebased = mirror.clone();
    rebased.set_path(url.path());
    rebased.set_query(url.query());
    rebased.set_fragment(None);
    rebased
}

/// Why a redirect target may not be downloaded, or `None`: it must be https, on an allowed host or
/// on a host the default hosts' downloads redirect to.
fn mcpb_redirect_refusal(config: &OwnershipConfig, next: &Url) -> Option<String> {
    if next.scheme() != "https" {
        return Some("which is not https".to_owned());
    }
    let host = authority(next).unwrap_or_default();
    if host_allowed(DEFAULT_MCPB_HOSTS, &config.mcpb_allowed_hosts, &host)
        || MCPB_REDIRECT_HOSTS.contains(&host.as_str())
    {
        return None;
    }
    Some(format!(
        "a host this registry does not download from (allowed: {}, {})",
        allowed_list(DEFAULT_MCPB_HOSTS, &config.mcpb_allowed_hosts),
        MCPB_REDIRECT_HOSTS.join(", ")
    ))
}

/// Downloads the bundle (following allowed redirects) and returns its SHA-256, never holding more
/// than one chunk.
async fn mcpb_sha256(
    clients: &Clients,
    config: &OwnershipConfig,
    id: &str,
    url: Url,
) -> Result<String, Failure> {
    let mirror = config.mcpb_base_override.as_ref();
    let client = if mirror.is_some() {
        &clients.download
    } else {
        &clients.guarded_download
    };
    // `current` is the URL as the publisher's host sees it; a mirror only changes where it is sent.
    let mut current = url;
    let mut redirects = 0;
    loop {
        let shown = current.to_string();
        let refused = |reason: String| {
            Failure::NotOwned(format!(
                "MCPB bundle `{id}` cannot be downloaded from `{shown}`: {reason}"
            ))
        };
        let target = if let Some(mirror) = mirror {
            rebase(&current, mirror)
        } else {
            if let Some(reason) = literal_refusal(&current) {
                return Err(refused(reason));
            }
            current.clone()
        };
        // One client span per hop (redirects included), carried as `traceparent`, when traces are exported.
        let span = crate::telemetry::client_span("GET", target.as_str());
        let request =
            crate::telemetry::propagate(&span, client.get(target)).header(header::ACCEPT, "*/*");
        let response = request
            .send()
            .instrument(span.clone())
            .await
            .inspect(|response| {
                crate::telemetry::record_response(&span, Some(response.status().as_u16()));
            })
            .inspect_err(|_| crate::telemetry::record_response(&span, None))
            .map_err(|err| match private_address(&err) {
                Some(reason) => refused(reason),
                None if err.is_timeout() => {
                    Failure::Upstream(format!("the MCPB download `{shown}` timed out"))
                }
                None => Failure::Upstream(format!(
                    "the MCPB download `{shown}` could not be reached: {}",
                    error_chain(&err.without_url())
                )),
            })?;
        let status = response.status();
        match status {
            StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT => {
                redirects += 1;
                if redirects > MCPB_MAX_REDIRECTS {
                    return Err(Failure::NotOwned(format!(
                        "MCPB bundle `{id}` redirects more than {MCPB_MAX_REDIRECTS} times"
                    )));
                }
                let next = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|location| current.join(location).ok());
                let Some(next) = next else {
                    return Err(Failure::NotOwned(format!(
                        "the MCPB download `{shown}` answered {status} without a usable `Location`"
                    )));
                };
                if let Some(why) = mcpb_redirect_refusal(config, &next) {
                    return Err(Failure::NotOwned(format!(
                        "MCPB bundle `{id}` redirects to `{next}`, {why}"
                    )));
                }
                current = next;
            }
            s if s.is_success() => {
                return stream_sha256(response, config.mcpb_max_bytes, id, &shown).await;
            }
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                return Err(Failure::NotOwned(format!(
                    "MCPB bundle `{id}` was not found (the download answered {status}); publish the release asset before the server version that lists it"
                )));
            }
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                return Err(Failure::Upstream(format!(
                    "the MCPB download `{shown}` answered {s}"
                )));
            }
            s => {
                return Err(Failure::NotOwned(format!(
                    "MCPB bundle `{id}` cannot be downloaded (the download answered {s}); it must be public"
                )));
            }
        }
    }
}

/// SHA-256 of the body, read chunk by chunk and abandoned past `max` bytes.
async fn stream_sha256(
    mut response: reqwest::Response,
    max: u64,
    id: &str,
    shown: &str,
) -> Result<String, Failure> {
    let too_large = || {
        Failure::NotOwned(format!(
            "MCPB bundle `{id}` is larger than {max} bytes, the most this registry downloads to check `fileSha256`"
        ))
    };
    if response.content_length().is_some_and(|len| len > max) {
        return Err(too_large());
    }
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    loop {
        let chunk = response.chunk().await.map_err(|err| {
            if err.is_timeout() {
                Failure::Upstream(format!("the MCPB download `{shown}` timed out"))
            } else {
                Failure::Upstream(format!(
                    "the MCPB download `{shown}` broke off: {}",
                    error_chain(&err.without_url())
                ))
            }
        })?;
        let Some(chunk) = chunk else { break };
        total = total.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        if total > max {
            return Err(too_large());
        }
        hasher.update(&chunk);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mcpb_package(identifier: &str, sha: Option<&str>) -> Package {
        serde_json::from_value(serde_json::json!({
            "registryType": "mcpb",
            "identifier": identifier,
            "fileSha256": sha,
            "transport": {"type": "stdio"}
        }))
        .unwrap()
    }

    #[test]
    fn mcpb_urls() {
        let config = OwnershipConfig {
            mcpb_allowed_hosts: vec!["downloads.example.com".parse().unwrap()],
            ..OwnershipConfig::default()
        };
        let judge = |url: &str| match mcpb_url(&config, url) {
            Ok(_) => String::new(),
            Err(Failure::NotOwned(message)) => message,
            Err(other) => panic!("{other:?}"),
        };
        for good in [
            "https://github.com/alice/weather/releases/download/v1.0.0/weather-mcp.mcpb",
            "https://GitHub.com/alice/weather-mcp/releases/download/v1/w.mcpb",
            "https://gitlab.com/alice/weather-mcp/-/releases/v1/downloads/w.mcpb",
            "https://gitlab.com/group/sub/weather/-/releases/v1/downloads/bin/mcp.mcpb",
            "https://gitlab.com/alice/weather-mcp/-/package_files/42/download",
            "https://downloads.example.com/anything/mcp.bin",
        ] {
            assert_eq!(judge(good), "", "{good}");
        }
        let refusals = [
            (
                "http://github.com/alice/weather/releases/download/v1/weather-mcp.mcpb",
                "must use https",
            ),
            (
                "https://evil.com/mcp.mcpb",
                "host `evil.com` is not accepted; bundles must be downloadable from: github.com, gitlab.com, downloads.example.com",
            ),
            (
                "https://github.com/alice/weather-mcp/raw/main/w.mcpb",
                "is not a release asset",
            ),
            (
                "https://github.com/alice/weather-mcp/releases/latest/download/w.mcpb",
                "is not a release asset",
            ),
            (
                "https://github.com/alice/weather-mcp/releases/download/v1/",
                "is not a release asset",
            ),
            (
                "https://gitlab.com/weather-mcp/-/releases/v1/downloads/w.mcpb",
                "is not a release asset",
            ),
            (
                "https://gitlab.com/alice/weather-mcp/-/package_files/x/download",
                "is not a release asset",
            ),
            (
                "https://github.com/alice/weather/releases/download/v1/weather.zip",
                "must contain `mcp`",
            ),
            (
                "https://user:pw@github.com/alice/weather/releases/download/v1/mcp.mcpb",
                "credentials",
            ),
            ("not a url", "is not a URL"),
        ];
        for (bad, needle) in refusals {
            let message = judge(bad);
            assert!(message.contains(needle), "{bad}: {message}");
        }
    }

    #[test]
    fn mcpb_digests() {
        let url = "https://github.com/a/b/releases/download/v1/mcp.mcpb";
        let upper = "762D3F8793B6CC774B3B649A983F77EF5A8F7411119BEC3EACA601DD673D3993";
        assert_eq!(
            expected_sha256(&mcpb_package(url, Some(upper))).ok(),
            Some(upper.to_ascii_lowercase())
        );
        let (not_hex, too_long) = ("g".repeat(64), "a".repeat(65));
        for bad in [
            None,
            Some("abc"),
            Some(not_hex.as_str()),
            Some(too_long.as_str()),
        ] {
            assert!(
                matches!(expected_sha256(&mcpb_package(url, bad)), Err(Failure::Digest(m)) if m.contains("64 hex digits")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn mirrors_keep_the_path() {
        let url = Url::parse("https://github.com/a/b/releases/download/v1/mcp.mcpb?x=1").unwrap();
        let mirror = Url::parse("http://127.0.0.1:8081/ignored").unwrap();
        assert_eq!(
            rebase(&url, &mirror).as_str(),
            "http://127.0.0.1:8081/a/b/releases/download/v1/mcp.mcpb?x=1"
        );
    }
}
