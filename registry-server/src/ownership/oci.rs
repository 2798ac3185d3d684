//! OCI images: the image config label [`OCI_LABEL`] = `<name>`, read with an anonymous pull from
//! the image's registry, which must be allowed ([`DEFAULT_OCI_REGISTRIES`] plus
//! `--oci-allowed-registries`). On a 429 the check is skipped, as the official registry does.

use axum::http::{StatusCode, header};
use registry_schema::manifest::Package;
use reqwest::Url;
use serde_json::Value;

use super::client::{Answer, Clients, Http, join, parse_json};
use super::config::{DEFAULT_OCI_REGISTRIES, allowed_list, host_allowed, is_host_port};
use super::{Check, Failure, OwnershipConfig, RegistryKind, plain_segment};

/// The OCI label naming the server.
pub const OCI_LABEL: &str = "io.modelcontextprotocol.server.name";

/// `registry/ns/image:tag` or `…@sha256:…`, split.
#[derive(Debug, PartialEq, Eq)]
struct ImageRef {
    registry: String,
    repository: String,
    reference: String,
}

impl ImageRef {
    fn parse(identifier: &str) -> Option<Self> {
        let (rest, reference) = if let Some((rest, digest)) = identifier.split_once('@') {
            (rest, digest.to_owned())
        } else {
            let slash = identifier.rfind('/').map_or(0, |i| i + 1);
            match identifier[slash..].rfind(':') {
                Some(colon) => (
                    &identifier[..slash + colon],
                    identifier[slash + colon + 1..].to_owned(),
                ),
                None => (identifier, "latest".to_owned()),
            }
        };
        let (registry, repository) = match rest.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), path.to_owned())
            }
            _ => ("docker.io".to_owned(), rest.to_owned()),
        };
        let repository = if matches!(registry.as_str(), "docker.io" | "index.docker.io")
            && !repository.contains('/')
        {
            format!("library/{repository}")
        } else {
            repository
        };
        // The registry becomes a URL authority: a host and optional port, nothing a URL would read
        // as more (`#`, `?`, `@`, `\`).
        let valid = is_host_port(&registry.to_ascii_lowercase())
            && !reference.is_empty()
            && repository.split('/').all(|s| {
                plain_segment(s)
                    && s.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            })
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
        valid.then_some(Self {
            registry,
            repository,
            reference,
        })
    }

    fn base(&self, config: &OwnershipConfig) -> Result<Url, Failure> {
        if let Some(url) = &config.oci_url {
            return Ok(url.clone());
        }
        let registry = self.registry.to_ascii_lowercase();
        let host = match registry.as_str() {
            "docker.io" | "index.docker.io" => "registry-1.docker.io",
            other => other,
        };
        Url::parse(&format!("https://{host}")).map_err(|err| {
            Failure::NotOwned(format!("`{}` is not a registry host: {err}", self.registry))
        })
    }
}

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// OCI requests with the anonymous bearer-token flow.
struct Oci<'h, 'c> {
    http: &'h Http<'c>,
    base: Url,
    repository: String,
    token: Option<String>,
}

/// An OCI answer that matters: found, missing, or rate-limited.
enum OciAnswer {
    Found(Vec<u8>),
    Missing,
    RateLimited,
}

impl Oci<'_, '_> {
    async fn get(
        &mut self,
        kind: &str,
        reference: &str,
        accept: &str,
    ) -> Result<OciAnswer, Failure> {
        let url = join(
            &self.base,
            &["v2"]
                .into_iter()
                .chain(self.repository.split('/'))
                .chain([kind, reference])
                .collect::<Vec<_>>(),
        );
        let shown = url.to_string();
        let mut answer = self.send(url.clone(), accept).await?;
        if answer.status == StatusCode::UNAUTHORIZED && self.token.is_none() {
            let challenge = answer
                .headers
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Some(challenge) = challenge {
                self.token = Some(self.anonymous_token(&challenge).await?);
                answer = self.send(url, accept).await?;
            }
        }
        match answer.status {
            s if s.is_success() => Ok(OciAnswer::Found(answer.body)),
            StatusCode::TOO_MANY_REQUESTS => Ok(OciAnswer::RateLimited),
            StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Ok(OciAnswer::Missing)
            }
            s => Err(Failure::Upstream(format!(
                "the OCI registry answered {s} for `{shown}`"
            ))),
        }
    }

    async fn send(&self, url: Url, accept: &str) -> Result<Answer, Failure> {
        let mut headers = vec![(header::ACCEPT, accept.to_owned())];
        if let Some(token) = &self.token {
            headers.push((header::AUTHORIZATION, format!("Bearer {token}")));
        }
        self.http.get(RegistryKind::Oci, url, &headers).await
    }

    /// `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` → an anonymous pull token.
    async fn anonymous_token(&self, challenge: &str) -> Result<String, Failure> {
        let params = challenge
            .strip_prefix("Bearer ")
            .or_else(|| challenge.strip_prefix("bearer "))
            .map(parse_challenge)
            .unwrap_or_default();
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        let Some(realm) = get("realm") else {
            return Err(Failure::NotOwned(format!(
                "the OCI registry requires credentials for `{}`; only public images can be verified",
                self.repository
            )));
        };
        let mut url = Url::parse(realm).map_err(|err| {
            Failure::Upstream(format!(
                "the OCI registry's token realm `{realm}` is not a URL: {err}"
            ))
        })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = get("service") {
                query.append_pair("service", service);
            }
            let scope = get("scope").map_or_else(
                || format!("repository:{}:pull", self.repository),
                str::to_owned,
            );
            query.append_pair("scope", &scope);
        }
        let shown = url.to_string();
        let answer = self.http.get(RegistryKind::Oci, url, &[]).await?;
        if !answer.status.is_success() {
            return Err(Failure::NotOwned(format!(
                "the OCI registry refused an anonymous pull token for `{}` ({}); only public images can be verified",
                self.repository, answer.status
            )));
        }
        let document = parse_json(RegistryKind::Oci, &answer.body, &shown)?;
        document
            .get("token")
            .or_else(|| document.get("access_token"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Failure::Upstream(format!("the OCI token answer at `{shown}` has no token"))
            })
    }
}

/// `k="v",k2="v2"` → pairs.
fn parse_challenge(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.split_once('"') {
                Some((value, next)) => (value.to_owned(), next),
                None => (quoted.to_owned(), ""),
            }
        } else {
            match after.split_once(',') {
                Some((value, next)) => (value.trim().to_owned(), next),
                None => (after.trim().to_owned(), ""),
            }
        };
        pairs.push((key, value));
        rest = next.trim_start_matches([',', ' ']);
    }
    pairs
}

pub(super) async fn check(
    clients: &Clients,
    config: &OwnershipConfig,
    package: &Package,
    name: &str,
) -> Check {
    let id = package.identifier.as_str();
    let Some(image) = ImageRef::parse(id) else {
        return Err(Failure::NotOwned(format!(
            "`{id}` is not an OCI image reference (`registry/namespace/image:tag` or `…@sha256:…`)"
        )));
    };
    // Judged on the reference, before any request (a mirror does not change where the image is).
    if !host_allowed(
        DEFAULT_OCI_REGISTRIES,
        &config.oci_allowed_registries,
        &image.registry,
    ) {
        return Err(Failure::NotOwned(format!(
            "OCI image `{id}` is on registry `{}`, which this registry does not accept; images must come from: {}",
            image.registry,
            allowed_list(DEFAULT_OCI_REGISTRIES, &config.oci_allowed_registries)
        )));
    }
    let http = if config.oci_url.is_some() {
        Http::open(clients)
    } else {
        Http::guarded(clients)
    };
    let mut oci = Oci {
        http: &http,
        base: image.base(config)?,
        repository: image.repository.clone(),
        token: None,
    };
    let missing = || {
        Failure::NotOwned(format!(
            "OCI image `{id}` was not found (or is not public); push it before the server version that lists it"
        ))
    };
    let skipped = || {
        tracing::warn!(image = %id, "OCI registry rate-limited the ownership check; skipped");
        Ok(())
    };
    let bad = |what: &str| {
        Failure::Upstream(format!(
            "the OCI registry's {what} for `{id}` is not usable"
        ))
    };
    let mut body = match oci
        .get("manifests", &image.reference, MANIFEST_TYPES)
        .await?
    {
        OciAnswer::Found(body) => body,
        OciAnswer::Missing => return Err(missing()),
        OciAnswer::RateLimited => return skipped(),
    };
    let mut manifest = parse_json(RegistryKind::Oci, &body, id)?;
    // An index (multi-platform image): the labels of linux/amd64, else of the first image.
    if let Some(entries) = manifest.get("manifests").and_then(Value::as_array) {
        let pick = entries
            .iter()
            .find(|m| {
                m.pointer("/platform/os").and_then(Value::as_str) == Some("linux")
                    && m.pointer("/platform/architecture").and_then(Value::as_str) == Some("amd64")
            })
            .or_else(|| entries.first());
        let Some(digest) = pick.and_then(|m| m.get("digest")).and_then(Value::as_str) else {
            return Err(bad("image index"));
        };
        body = match oci.get("manifests", digest, MANIFEST_TYPES).await? {
            OciAnswer::Found(body) => body,
            OciAnswer::Missing => return Err(missing()),
            OciAnswer::RateLimited => return skipped(),
        };
        manifest = parse_json(RegistryKind::Oci, &body, id)?;
    }
    let Some(config_digest) = manifest.pointer("/config/digest").and_then(Value::as_str) else {
        return Err(bad("image manifest"));
    };
    let blob = match oci.get("blobs", config_digest, "*/*").await? {
        OciAnswer::Found(body) => body,
        OciAnswer::Missing => return Err(missing()),
        OciAnswer::RateLimited => return skipped(),
    };
    let image_config = parse_json(RegistryKind::Oci, &blob, id)?;
    let label = image_config
        .pointer("/config/Labels")
        .and_then(|labels| labels.get(OCI_LABEL));
    match label {
        Some(Value::String(found)) if found == name => Ok(()),
        Some(found) => Err(Failure::NotOwned(format!(
            "OCI image `{id}` has label `{OCI_LABEL}` = {found}, not `{name}`; build it with `LABEL {OCI_LABEL}=\"{name}\"` and push it"
        ))),
        None => Err(Failure::NotOwned(format!(
            "OCI image `{id}` has no label `{OCI_LABEL}`; add `LABEL {OCI_LABEL}=\"{name}\"` to its Dockerfile and push it"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let parsed = ImageRef::parse("ghcr.io/alice/weather:1.0.0");
        assert_eq!(
            parsed,
            Some(ImageRef {
                registry: "ghcr.io".to_owned(),
                repository: "alice/weather".to_owned(),
                reference: "1.0.0".to_owned(),
            })
        );
        let docker = ImageRef::parse("nginx").map(|r| (r.registry, r.repository, r.reference));
        assert_eq!(
            docker,
            Some((
                "docker.io".to_owned(),
                "library/nginx".to_owned(),
                "latest".to_owned()
            ))
        );
        let local = ImageRef::parse("localhost:5000/a/b@sha256:abc").map(|r| r.reference);
        assert_eq!(local.as_deref(), Some("sha256:abc"));
        assert!(ImageRef::parse("ghcr.io/../x:1").is_none());
        // The registry becomes a URL authority: nothing a URL would read as more than a host.
        assert!(ImageRef::parse("evil.com#.pkg.dev/a/b:1").is_none());
        assert!(ImageRef::parse("evil.com?.pkg.dev/a/b:1").is_none());
        assert!(ImageRef::parse("evil.com\\.pkg.dev/a/b:1").is_none());
    }

    #[test]
    fn challenges() {
        let pairs = parse_challenge(
            r#"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        );
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0].1, "https://auth.docker.io/token");
        assert_eq!(pairs[2].1, "repository:library/nginx:pull");
    }
}
