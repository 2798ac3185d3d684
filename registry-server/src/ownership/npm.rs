//! npm: `"mcpName": "<name>"` in the package.json of the published version.

use registry_schema::manifest::Package;
use serde_json::Value;

use super::client::{Http, join, parse_json};
use super::{Check, Failure, OwnershipConfig, RegistryKind, plain_name, version_of};

pub(super) async fn check(
    http: &Http<'_>,
    config: &OwnershipConfig,
    package: &Package,
    name: &str,
) -> Check {
    let kind = RegistryKind::Npm;
    let id = package.identifier.as_str();
    plain_name(kind, id, true)?;
    let version = version_of(kind, package)?;
    let coordinates = format!("{id}@{version}");
    let segments: Vec<&str> = id.split('/').chain([version]).collect();
    let url = join(&config.npm_url, &segments);
    let shown = url.to_string();
    let Some(answer) = http.get_found(kind, url).await? else {
        // Which one is missing: the package, or only this version?
        let package_url = join(&config.npm_url, &id.split('/').collect::<Vec<_>>());
        let what = if http.get_found(kind, package_url).await?.is_some() {
            format!("npm package `{id}` has no version `{version}`")
        } else {
            format!("npm package `{id}` does not exist (or is not public)")
        };
        return Err(Failure::NotOwned(format!(
            "{what}; publish it before the server version that lists it"
        )));
    };
    let document = parse_json(kind, &answer.body, &shown)?;
    match document.get("mcpName") {
        Some(Value::String(found)) if found == name => Ok(()),
        Some(found) => Err(Failure::NotOwned(format!(
            "npm package `{coordinates}` has `mcpName` {found}, not `{name}`; set `\"mcpName\": \"{name}\"` in its package.json and publish it"
        ))),
        None => Err(Failure::NotOwned(format!(
            "npm package `{coordinates}` has no `mcpName`; add `\"mcpName\": \"{name}\"` to its package.json and publish it"
        ))),
    }
}
