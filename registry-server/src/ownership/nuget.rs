//! NuGet: `mcp-name: <name>` in the README, found through the service index
//! (`ReadmeUriTemplate/6.13.0`).

use registry_schema::manifest::Package;
use reqwest::Url;
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
    let kind = RegistryKind::Nuget;
    let id = package.identifier.as_str();
    plain_name(kind, id, false)?;
    let version = version_of(kind, package)?;
    let coordinates = format!("{id} {version}");
    let index_url = config.nuget_url.to_string();
    let Some(index) = http.get_found(kind, config.nuget_url.clone()).await? else {
        return Err(Failure::Upstream(format!(
            "the NuGet service index `{index_url}` was not found"
        )));
    };
    let index = parse_json(kind, &index.body, &index_url)?;
    let resource = |wanted: &str| -> Option<String> {
        index
            .get("resources")?
            .as_array()?
            .iter()
            .find(|r| r.get("@type").and_then(Value::as_str) == Some(wanted))?
            .get("@id")?
            .as_str()
            .map(str::to_owned)
    };
    let Some(template) = resource("ReadmeUriTemplate/6.13.0") else {
        return Err(Failure::Upstream(format!(
            "the NuGet service index `{index_url}` has no `ReadmeUriTemplate/6.13.0` resource"
        )));
    };
    let lower_id = id.to_lowercase();
    let lower_version = version.to_lowercase();
    let readme_url = template
        .replace("{lower_id}", &lower_id)
        .replace("{lower_version}", &lower_version);
    let readme_url = Url::parse(&readme_url).map_err(|err| {
        Failure::Upstream(format!(
            "the NuGet README template `{template}` gives no URL: {err}"
        ))
    })?;
    if let Some(readme) = http.get_found(kind, readme_url).await? {
        let text = String::from_utf8_lossy(&readme.body);
        return if has_marker(&text, name) {
            Ok(())
        } else {
            Err(readme_problem(kind, &coordinates, name, &text))
        };
    }
    // No README: say whether the package, the version or only the README is missing.
    let what = match resource("PackageBaseAddress/3.0.0") {
        Some(base) => match Url::parse(&base) {
            Ok(base) => {
                let versions_url = join(&base, &[&lower_id, "index.json"]);
                let shown = versions_url.to_string();
                match http.get_found(kind, versions_url).await? {
                    None => format!("NuGet package `{id}` does not exist"),
                    Some(answer) => {
                        let versions = parse_json(kind, &answer.body, &shown)?;
                        let listed = versions
                            .get("versions")
                            .and_then(Value::as_array)
                            .is_some_and(|v| {
                                v.iter().any(|v| v.as_str() == Some(lower_version.as_str()))
                            });
                        if listed {
                            format!("NuGet package `{coordinates}` has no README")
                        } else {
                            format!("NuGet package `{id}` has no version `{version}`")
                        }
                    }
                }
            }
            Err(_) => format!("NuGet package `{coordinates}` has no README (or does not exist)"),
        },
        None => format!("NuGet package `{coordinates}` has no README (or does not exist)"),
    };
    Err(Failure::NotOwned(format!(
        "{what}; publish the version with a README containing `mcp-name: {name}`"
    )))
}
