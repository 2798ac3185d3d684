//! What ownership verification checks, and where: the `serve` flags, the resolved configuration,
//! and the host allow-lists of publisher-named OCI registries and MCPB hosts.

use std::fmt;
use std::str::FromStr;

use reqwest::Url;

use super::RegistryKind;

/// OCI registries images may come from without configuration (the official registry's list).
pub const DEFAULT_OCI_REGISTRIES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "ghcr.io",
    "*.pkg.dev",
    "*.azurecr.io",
    "mcr.microsoft.com",
    "quay.io",
];
/// Hosts MCPB bundles may be downloaded from without configuration (release assets only).
pub const DEFAULT_MCPB_HOSTS: &[&str] = &["github.com", "gitlab.com"];
/// Default for `--mcpb-max-bytes` (100 MiB).
pub const DEFAULT_MCPB_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// One entry of a host allow-list: `host`, `host:port`, or `*.suffix` (any name under the suffix,
/// not the suffix itself). Stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern(String);

impl HostPattern {
    /// Whether `host` (`host` or `host:port`, any case) is accepted.
    pub fn matches(&self, host: &str) -> bool {
        pattern_matches(&self.0, &host.to_ascii_lowercase())
    }
}

impl FromStr for HostPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim().to_ascii_lowercase();
        let valid = match text.strip_prefix("*.") {
            Some(suffix) => is_host(suffix),
            None => is_host_port(&text),
        };
        if valid {
            Ok(Self(text))
        } else {
            Err(format!(
                "`{text}` is not a host, `host:port` or `*.suffix` (no scheme, no path)"
            ))
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `pattern` (lowercase) against `host` (lowercase): exact, or a proper subdomain for `*.suffix`.
fn pattern_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(dot_suffix) => host.len() > dot_suffix.len() && host.ends_with(dot_suffix),
        None => pattern == host,
    }
}

/// DNS-style name: dot-separated labels of letters, digits and hyphens.
fn is_host(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

pub(super) fn is_host_port(text: &str) -> bool {
    match text.split_once(':') {
        Some((host, port)) => {
            is_host(host)
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        None => is_host(text),
    }
}

/// Whether `host` is in the defaults or the configured extras.
pub(super) fn host_allowed(defaults: &[&str], extra: &[HostPattern], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    defaults.iter().any(|p| pattern_matches(p, &host)) || extra.iter().any(|p| p.matches(&host))
}

/// The defaults and the configured extras, for messages.
pub(super) fn allowed_list(defaults: &[&str], extra: &[HostPattern]) -> String {
    defaults
        .iter()
        .map(|p| (*p).to_owned())
        .chain(extra.iter().map(ToString::to_string))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Package ownership flags (part of `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct OwnershipArgs {
    /// Package registry types whose ownership marker is checked at publish (comma-separated: npm, pypi,
    /// nuget, cargo, oci, mcpb). Default: none. A registry open to the public should enable all of them.
    #[arg(
        long,
        env = "REGISTRY_VERIFY_PACKAGES",
        value_enum,
        value_delimiter = ',',
        num_args = 0..
    )]
    pub verify_packages: Vec<RegistryKind>,
    /// npm registry for `--verify-packages npm`.
    #[arg(long, env = "REGISTRY_NPM_REGISTRY_URL", default_value = DEFAULT_NPM)]
    pub npm_registry_url: Url,
    /// PyPI for `--verify-packages pypi` (the JSON API lives under `/pypi/`).
    #[arg(long, env = "REGISTRY_PYPI_URL", default_value = DEFAULT_PYPI)]
    pub pypi_url: Url,
    /// NuGet v3 service index for `--verify-packages nuget`.
    #[arg(long, env = "REGISTRY_NUGET_URL", default_value = DEFAULT_NUGET)]
    pub nuget_url: Url,
    /// crates.io (or a compatible registry) for `--verify-packages cargo`.
    #[arg(long, env = "REGISTRY_CRATES_URL", default_value = DEFAULT_CRATES)]
    pub crates_url: Url,
    /// Send every OCI registry request to this base URL instead of the image's own registry (a pull
    /// mirror, or a local registry in tests). Default: the registry named by the image reference
    /// (docker.io → registry-1.docker.io). The image's registry must still be allowed; requests to
    /// the mirror may go to private addresses.
    #[arg(long, env = "REGISTRY_OCI_REGISTRY_URL")]
    pub oci_registry_url: Option<Url>,
    /// OCI registries accepted besides the defaults (docker.io, ghcr.io, *.pkg.dev, *.azurecr.io,
    /// mcr.microsoft.com, quay.io); comma-separated hosts, `host:port` or `*.suffix`. An image from
    /// any other registry is refused (422) without contacting it.
    #[arg(
        long,
        env = "REGISTRY_OCI_ALLOWED_REGISTRIES",
        value_delimiter = ',',
        num_args = 0..
    )]
    pub oci_allowed_registries: Vec<HostPattern>,
    /// Hosts MCPB bundles may be downloaded from besides github.com and gitlab.com (where only release
    /// assets are accepted); comma-separated hosts, `host:port` or `*.suffix`. Any https path is
    /// accepted on these.
    #[arg(
        long,
        env = "REGISTRY_MCPB_ALLOWED_HOSTS",
        value_delimiter = ',',
        num_args = 0..
    )]
    pub mcpb_allowed_hosts: Vec<HostPattern>,
    /// Largest MCPB bundle downloaded to check its `fileSha256`, in bytes (larger: 422).
    #[arg(long, env = "REGISTRY_MCPB_MAX_BYTES", default_value_t = DEFAULT_MCPB_MAX_BYTES)]
    pub mcpb_max_bytes: u64,
    /// Send every MCPB download to this base URL instead: its scheme, host and port replace the
    /// bundle URL's, the path is kept (a download mirror, or a local server in tests). The bundle URL
    /// must still be allowed; requests to the mirror may go to private addresses.
    #[arg(long, env = "REGISTRY_MCPB_MIRROR_URL")]
    pub mcpb_mirror_url: Option<Url>,
}

const DEFAULT_NPM: &str = "https://registry.npmjs.org";
const DEFAULT_PYPI: &str = "https://pypi.org";
const DEFAULT_NUGET: &str = "https://api.nuget.org/v3/index.json";
const DEFAULT_CRATES: &str = "https://crates.io";

impl OwnershipArgs {
    pub fn to_config(&self) -> OwnershipConfig {
        OwnershipConfig {
            enabled: self.verify_packages.clone(),
            npm_url: self.npm_registry_url.clone(),
            pypi_url: self.pypi_url.clone(),
            nuget_url: self.nuget_url.clone(),
            crates_url: self.crates_url.clone(),
            oci_url: self.oci_registry_url.clone(),
            oci_allowed_registries: self.oci_allowed_registries.clone(),
            mcpb_allowed_hosts: self.mcpb_allowed_hosts.clone(),
            mcpb_max_bytes: self.mcpb_max_bytes,
            mcpb_base_override: self.mcpb_mirror_url.clone(),
        }
    }
}

/// What ownership verification checks, and where.
#[derive(Debug, Clone)]
pub struct OwnershipConfig {
    /// Registry types that are checked; the rest are not.
    pub enabled: Vec<RegistryKind>,
    pub npm_url: Url,
    pub pypi_url: Url,
    /// The NuGet v3 service index.
    pub nuget_url: Url,
    pub crates_url: Url,
    /// Overrides every OCI image's registry (a mirror; also lifts the private-address guard).
    pub oci_url: Option<Url>,
    /// OCI registries accepted besides [`DEFAULT_OCI_REGISTRIES`].
    pub oci_allowed_registries: Vec<HostPattern>,
    /// MCPB hosts accepted besides [`DEFAULT_MCPB_HOSTS`] (any path on these).
    pub mcpb_allowed_hosts: Vec<HostPattern>,
    /// Largest MCPB bundle downloaded.
    pub mcpb_max_bytes: u64,
    /// Mirror or test server for MCPB downloads: replaces the scheme, host and port of every
    /// (allowed) download URL, and lifts the private-address guard.
    pub mcpb_base_override: Option<Url>,
}

impl Default for OwnershipConfig {
    /// Nothing enabled; the public registries' URLs.
    fn default() -> Self {
        let parse = |url: &str| Url::parse(url).unwrap_or_else(|_| unreachable!("constant URL"));
        Self {
            enabled: Vec::new(),
            npm_url: parse(DEFAULT_NPM),
            pypi_url: parse(DEFAULT_PYPI),
            nuget_url: parse(DEFAULT_NUGET),
            crates_url: parse(DEFAULT_CRATES),
            oci_url: None,
            oci_allowed_registries: Vec::new(),
            mcpb_allowed_hosts: Vec::new(),
            mcpb_max_bytes: DEFAULT_MCPB_MAX_BYTES,
            mcpb_base_override: None,
        }
    }
}

impl OwnershipConfig {
    /// Every registry type enabled, at these URLs (tests, public deployments).
    #[must_use]
    pub fn all_enabled(mut self) -> Self {
        self.enabled = vec![
            RegistryKind::Npm,
            RegistryKind::Pypi,
            RegistryKind::Nuget,
            RegistryKind::Cargo,
            RegistryKind::Oci,
            RegistryKind::Mcpb,
        ];
        self
    }

    pub fn is_enabled(&self, kind: RegistryKind) -> bool {
        self.enabled.contains(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns() {
        let parse = |text: &str| text.parse::<HostPattern>();
        assert!(parse("Registry.Example.com").is_ok_and(|p| p.matches("registry.example.COM")));
        assert!(
            parse("localhost:5000")
                .is_ok_and(|p| p.matches("localhost:5000") && !p.matches("localhost"))
        );
        let wildcard = parse("*.example.org").unwrap();
        assert!(wildcard.matches("eu.example.org") && wildcard.matches("a.b.example.org"));
        assert!(!wildcard.matches("example.org") && !wildcard.matches("badexample.org"));
        assert!(!wildcard.matches("eu.example.org:5000"));
        for bad in [
            "",
            "*",
            "*.",
            "https://x.io",
            "x.io/path",
            "x.io:",
            "x.io:99999",
            "a..b",
            "*.*.io",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let defaults = |host: &str| host_allowed(DEFAULT_OCI_REGISTRIES, &[], host);
        for allowed in [
            "docker.io",
            "ghcr.io",
            "us-docker.pkg.dev",
            "me.azurecr.io",
            "mcr.microsoft.com",
            "quay.io",
            "GHCR.IO",
        ] {
            assert!(defaults(allowed), "{allowed}");
        }
        for refused in [
            "pkg.dev",
            "ghcr.io.evil.com",
            "evil.com",
            "localhost:5000",
            "ghcr.io:443",
        ] {
            assert!(!defaults(refused), "{refused}");
        }
    }
}
