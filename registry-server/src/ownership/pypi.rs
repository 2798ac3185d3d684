//! PyPI: `mcp-name: <name>` in the version's description (the README).

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
    let kind = RegistryKind::Pypi;
    let id = package.identifier.as_str();
    plain_name(kind, id, false)?;
    let version = version_of(kind, package)?;
    let coordinates = format!("{id}=={version}");
    let url = join(&config.pypi_url, &["pypi", id, version, "json"]);
    let shown = url.to_string();
    let Some(answer) = http.get_found(kind, url).await? else {
        return Err(Failure::NotOwned(format!(
            "PyPI has no package `{id}` with version `{version}`; publish it before the server version that lists it"
        )));
    };
    let document = parse_json(kind, &answer.body, &shown)?;
    let description = document
        .pointer("/info/description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if has_marker(description, name) {
        Ok(())
    } else {
        Err(readme_problem(kind, &coordinates, name, description))
    }
}
