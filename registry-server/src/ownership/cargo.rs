//! crates.io: `mcp-name: <name>` as visible text of the README crates.io renders.

use axum::http::{StatusCode, header};
use registry_schema::manifest::Package;
use serde_json::Value;

use super::client::{Http, join, parse_json};
use super::{
    Check, Failure, OwnershipConfig, RegistryKind, has_marker, plain_name, readme_problem,
    version_of,
};

pub(super) async fn check(
    http: &Http<'_>,
    config: &OwnershipConfig,
    package: &Package,
    name: &str,
) -> Check {
    let kind = RegistryKind::Cargo;
    let id = package.identifier.as_str();
    plain_name(kind, id, false)?;
    let version = version_of(kind, package)?;
    let coordinates = format!("{id}@{version}");
    let url = join(
        &config.crates_url,
        &["api", "v1", "crates", id, version, "readme"],
    );
    let shown = url.to_string();
    let answer = http
        .get(
            kind,
            url,
            &[(header::ACCEPT, "application/json".to_owned())],
        )
        .await?;
    let answer = match answer.status {
        s if s.is_success() => answer,
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => {
            return Err(Failure::NotOwned(format!(
                "crates.io has no README for crate `{coordinates}` (the crate or version does not exist, or it was published without a README); publish it with a README containing `mcp-name: {name}`"
            )));
        }
        s => {
            return Err(Failure::Upstream(format!(
                "the crates.io registry answered {s} for `{shown}`"
            )));
        }
    };
    // crates.io answers `{"url": …}` to JSON clients (and redirects the others to the HTML itself).
    let is_json = answer
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let html = if is_json {
        let document = parse_json(kind, &answer.body, &shown)?;
        let Some(readme) = document.get("url").and_then(Value::as_str) else {
            return Err(Failure::Upstream(format!(
                "the crates.io answer at `{shown}` has no README `url`"
            )));
        };
        let readme = config.crates_url.join(readme).map_err(|err| {
            Failure::Upstream(format!("crates.io gave a bad README URL `{readme}`: {err}"))
        })?;
        match http.get_found(kind, readme).await? {
            Some(readme) => readme.body,
            None => {
                return Err(Failure::NotOwned(format!(
                    "crates.io has no README for crate `{coordinates}`; publish it with a README containing `mcp-name: {name}`"
                )));
            }
        }
    } else {
        answer.body
    };
    let text = String::from_utf8_lossy(&html);
    if has_marker(&text, name) {
        Ok(())
    } else {
        Err(readme_problem(kind, &coordinates, name, &text))
    }
}
