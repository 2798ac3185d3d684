//! DNS-SD service types and TXT records of LAN discovery (RFC 6762 mDNS, RFC 6763 DNS-SD).
//!
//! Two service types:
//! - [`SERVER_SERVICE_TYPE`] `_mcp._tcp.local.`: an MCP server reachable over the network
//!   (streamable HTTP or SSE). The SRV record gives host and port, the TXT record the rest.
//! - [`REGISTRY_SERVICE_TYPE`] `_mcp-registry._tcp.local.`: an mcp-reg registry's HTTP API.
//!
//! TXT keys (RFC 6763 §6: printable ASCII, ≤9 characters, `txtvers` first, each string ≤255 bytes):
//!
//! | key | server | registry | value |
//! |---|---|---|---|
//! | `txtvers` | required | required | `1` |
//! | `path` | required | required | absolute path of the endpoint (`/mcp`, `/v0.1`) |
//! | `transport` | required | – | `streamable-http` or `sse` |
//! | `tls` | optional | optional | `1` when the endpoint is `https` (default `0`) |
//! | `name` | required | optional | server name (`io.github.acme/weather`); a registry's label |
//! | `version` | optional | optional | server version; the registry software's version |
//! | `manifest` | optional | – | where the `server.json` is served: an absolute `/path` on the announced host and port, or an `http(s)` URL |
//! | `sha256` | with `manifest` | – | SHA-256 of the manifest's RFC 8785 canonical bytes, **64 lowercase hex digits without the `sha256:` prefix** (the key names the algorithm) |
//! | `bundle` | optional | – | where a Sigstore bundle for the manifest is served (same forms as `manifest`) |
//!
//! Everything read from a TXT record is an unauthenticated hint: a host installs only after fetching
//! the manifest, matching `sha256` and applying its provenance policy. Never put secrets in TXT: it is
//! broadcast to the whole link.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Digest, ServerName};

/// DNS-SD service type of MCP servers reachable over the network.
pub const SERVER_SERVICE_TYPE: &str = "_mcp._tcp.local.";
/// DNS-SD service type of mcp-reg registries.
pub const REGISTRY_SERVICE_TYPE: &str = "_mcp-registry._tcp.local.";
/// The `txtvers` this module writes and reads.
pub const TXT_VERSION: &str = "1";
/// Longest instance name (RFC 6763 §4.1.1: 63 octets of UTF-8).
pub const MAX_INSTANCE_OCTETS: usize = 63;
/// Longest single TXT string (`key=value`), RFC 6763 §6.1.
pub const MAX_TXT_STRING: usize = 255;
/// Largest TXT record we write or accept: RFC 6763 §6.2 advises against more than 1300 bytes.
pub const MAX_TXT_TOTAL: usize = 1300;
/// Longest URL or path we accept in a TXT value.
const MAX_URL: usize = 200;

/// The TXT keys.
pub mod keys {
    pub const TXTVERS: &str = "txtvers";
    pub const PATH: &str = "path";
    pub const TRANSPORT: &str = "transport";
    pub const TLS: &str = "tls";
    pub const NAME: &str = "name";
    pub const VERSION: &str = "version";
    pub const MANIFEST: &str = "manifest";
    pub const SHA256: &str = "sha256";
    pub const BUNDLE: &str = "bundle";
}

/// What an announcement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    Server,
    Registry,
}

impl ServiceKind {
    pub const ALL: [Self; 2] = [Self::Server, Self::Registry];

    /// The DNS-SD service type (`_mcp._tcp.local.` / `_mcp-registry._tcp.local.`).
    pub fn service_type(self) -> &'static str {
        match self {
            Self::Server => SERVER_SERVICE_TYPE,
            Self::Registry => REGISTRY_SERVICE_TYPE,
        }
    }

    /// The kind a service type names (case-insensitive, as DNS names are).
    pub fn from_service_type(ty: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.service_type().eq_ignore_ascii_case(ty))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Registry => "registry",
        }
    }
}

/// The MCP transports a LAN announcement can name (stdio servers are not reachable over the network).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LanTransport {
    StreamableHttp,
    Sse,
}

impl LanTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StreamableHttp => "streamable-http",
            Self::Sse => "sse",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "streamable-http" => Some(Self::StreamableHttp),
            "sse" => Some(Self::Sse),
            _ => None,
        }
    }
}

/// Why a TXT record cannot be written or was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxtError {
    #[error("TXT key `{0}` is missing")]
    Missing(&'static str),
    #[error("unsupported txtvers `{0}` (this version reads `1`)")]
    Version(String),
    #[error("TXT `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("TXT string `{key}=…` is {len} bytes; the limit is {MAX_TXT_STRING}")]
    StringTooLong { key: String, len: usize },
    #[error("TXT record is {0} bytes; the limit is {MAX_TXT_TOTAL}")]
    TooLarge(usize),
}

fn invalid(key: &'static str, reason: impl Into<String>) -> TxtError {
    TxtError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// The TXT record of an MCP server (`_mcp._tcp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTxt {
    /// Absolute path of the MCP endpoint on the announced host and port.
    pub path: String,
    pub transport: LanTransport,
    /// The endpoint is `https`.
    pub tls: bool,
    pub name: ServerName,
    pub version: Option<String>,
    /// Where the manifest is served (a `/path` on the announced host, or an `http(s)` URL).
    pub manifest: Option<String>,
    /// Digest of the manifest (present exactly when `manifest` is).
    pub sha256: Option<Digest>,
    /// Where a Sigstore bundle for the manifest is served.
    pub bundle: Option<String>,
}

/// The TXT record of a registry (`_mcp-registry._tcp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryTxt {
    /// Absolute path of the API (`/v0.1`).
    pub path: String,
    pub tls: bool,
    pub name: Option<String>,
    pub version: Option<String>,
}

/// A parsed TXT record of either service type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Txt {
    Server(ServerTxt),
    Registry(RegistryTxt),
}

impl Txt {
    /// Parses the TXT strings of a `kind` announcement. `entries` are `(key, value)` in record order;
    /// a key without `=` has no value. Keys are case-insensitive and only the first of a repeated key
    /// counts (RFC 6763 §6.4).
    pub fn parse(
        kind: ServiceKind,
        entries: &[(String, Option<String>)],
    ) -> Result<Self, TxtError> {
        let map = TxtMap::new(entries)?;
        match kind {
            ServiceKind::Server => ServerTxt::from_map(&map).map(Txt::Server),
            ServiceKind::Registry => RegistryTxt::from_map(&map).map(Txt::Registry),
        }
    }

    /// The `(key, value)` strings to announce, `txtvers` first; fails when over the RFC 6763 limits.
    pub fn to_entries(&self) -> Result<Vec<(String, String)>, TxtError> {
        match self {
            Txt::Server(txt) => txt.to_entries(),
            Txt::Registry(txt) => txt.to_entries(),
        }
    }

    pub fn path(&self) -> &str {
        match self {
            Txt::Server(txt) => &txt.path,
            Txt::Registry(txt) => &txt.path,
        }
    }

    pub fn tls(&self) -> bool {
        match self {
            Txt::Server(txt) => txt.tls,
            Txt::Registry(txt) => txt.tls,
        }
    }
}

/// Lower-cased keys, first occurrence wins.
struct TxtMap<'a>(Vec<(String, Option<&'a str>)>);

impl<'a> TxtMap<'a> {
    fn new(entries: &'a [(String, Option<String>)]) -> Result<Self, TxtError> {
        let total: usize = entries
            .iter()
            .map(|(k, v)| 1 + k.len() + v.as_ref().map_or(0, |v| v.len() + 1))
            .sum();
        if total > MAX_TXT_TOTAL {
            return Err(TxtError::TooLarge(total));
        }
        let mut out: Vec<(String, Option<&str>)> = Vec::new();
        for (key, value) in entries {
            let key = key.to_ascii_lowercase();
            if !out.iter().any(|(k, _)| *k == key) {
                out.push((key, value.as_deref()));
            }
        }
        let map = Self(out);
        match map.get(keys::TXTVERS) {
            None => Err(TxtError::Missing(keys::TXTVERS)),
            Some(TXT_VERSION) => Ok(map),
            Some(other) => Err(TxtError::Version(other.to_owned())),
        }
    }

    /// The value of `key`; a key without `=` or with an empty value counts as absent.
    fn get(&self, key: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| *v)
            .filter(|v| !v.is_empty())
    }

    fn require(&self, key: &'static str) -> Result<&'a str, TxtError> {
        self.get(key).ok_or(TxtError::Missing(key))
    }

    fn tls(&self) -> Result<bool, TxtError> {
        match self.get(keys::TLS) {
            None | Some("0") => Ok(false),
            Some("1") => Ok(true),
            Some(other) => Err(invalid(keys::TLS, format!("`{other}` is not 0 or 1"))),
        }
    }
}

impl ServerTxt {
    fn from_map(map: &TxtMap<'_>) -> Result<Self, TxtError> {
        let path = check_path(keys::PATH, map.require(keys::PATH)?)?;
        let transport_text = map.require(keys::TRANSPORT)?;
        let transport = LanTransport::parse(transport_text).ok_or_else(|| {
            invalid(
                keys::TRANSPORT,
                format!("`{transport_text}` is not streamable-http or sse"),
            )
        })?;
        let name = ServerName::parse(map.require(keys::NAME)?)
            .map_err(|err| invalid(keys::NAME, err.to_string()))?;
        let version = map
            .get(keys::VERSION)
            .map(|v| check_text(keys::VERSION, v))
            .transpose()?;
        let manifest = map
            .get(keys::MANIFEST)
            .map(|m| check_location(keys::MANIFEST, m))
            .transpose()?;
        let sha256 = map
            .get(keys::SHA256)
            .map(|hex| {
                format!("sha256:{hex}")
                    .parse::<Digest>()
                    .map_err(|_| invalid(keys::SHA256, "expected 64 lowercase hex digits"))
            })
            .transpose()?;
        match (&manifest, &sha256) {
            (Some(_), None) => return Err(TxtError::Missing(keys::SHA256)),
            (None, Some(_)) => return Err(TxtError::Missing(keys::MANIFEST)),
            _ => {}
        }
        let bundle = map
            .get(keys::BUNDLE)
            .map(|b| check_location(keys::BUNDLE, b))
            .transpose()?;
        if bundle.is_some() && manifest.is_none() {
            return Err(TxtError::Missing(keys::MANIFEST));
        }
        Ok(Self {
            path,
            transport,
            tls: map.tls()?,
            name,
            version,
            manifest,
            sha256,
            bundle,
        })
    }

    /// The strings to announce, `txtvers` first; validates what [`Txt::parse`] would check.
    pub fn to_entries(&self) -> Result<Vec<(String, String)>, TxtError> {
        let mut out = vec![
            (keys::TXTVERS, TXT_VERSION.to_owned()),
            (keys::PATH, self.path.clone()),
            (keys::TRANSPORT, self.transport.as_str().to_owned()),
        ];
        if self.tls {
            out.push((keys::TLS, "1".to_owned()));
        }
        out.push((keys::NAME, self.name.as_str().to_owned()));
        if let Some(version) = &self.version {
            out.push((keys::VERSION, version.clone()));
        }
        if let Some(manifest) = &self.manifest {
            out.push((keys::MANIFEST, manifest.clone()));
        }
        if let Some(digest) = &self.sha256 {
            out.push((keys::SHA256, digest.to_hex()));
        }
        if let Some(bundle) = &self.bundle {
            out.push((keys::BUNDLE, bundle.clone()));
        }
        finish(out, ServiceKind::Server)
    }
}

impl RegistryTxt {
    fn from_map(map: &TxtMap<'_>) -> Result<Self, TxtError> {
        Ok(Self {
            path: check_path(keys::PATH, map.require(keys::PATH)?)?,
            tls: map.tls()?,
            name: map
                .get(keys::NAME)
                .map(|v| check_text(keys::NAME, v))
                .transpose()?,
            version: map
                .get(keys::VERSION)
                .map(|v| check_text(keys::VERSION, v))
                .transpose()?,
        })
    }

    /// The strings to announce, `txtvers` first.
    pub fn to_entries(&self) -> Result<Vec<(String, String)>, TxtError> {
        let mut out = vec![
            (keys::TXTVERS, TXT_VERSION.to_owned()),
            (keys::PATH, self.path.clone()),
        ];
        if self.tls {
            out.push((keys::TLS, "1".to_owned()));
        }
        if let Some(name) = &self.name {
            out.push((keys::NAME, name.clone()));
        }
        if let Some(version) = &self.version {
            out.push((keys::VERSION, version.clone()));
        }
        finish(out, ServiceKind::Registry)
    }
}

/// Checks the limits and that the record reads back as written.
fn finish(
    entries: Vec<(&'static str, String)>,
    kind: ServiceKind,
) -> Result<Vec<(String, String)>, TxtError> {
    let mut total = 0;
    for (key, value) in &entries {
        let len = key.len() + 1 + value.len();
        if len > MAX_TXT_STRING {
            return Err(TxtError::StringTooLong {
                key: (*key).to_owned(),
                len,
            });
        }
        total += 1 + len;
    }
    if total > MAX_TXT_TOTAL {
        return Err(TxtError::TooLarge(total));
    }
    let out: Vec<(String, String)> = entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let read_back: Vec<(String, Option<String>)> = out
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    Txt::parse(kind, &read_back)?;
    Ok(out)
}

fn check_text(key: &'static str, value: &str) -> Result<String, TxtError> {
    if value.chars().any(char::is_control) {
        return Err(invalid(key, "contains control characters"));
    }
    Ok(value.to_owned())
}

fn check_path(key: &'static str, value: &str) -> Result<String, TxtError> {
    if !value.starts_with('/') || value.starts_with("//") {
        return Err(invalid(key, format!("`{value}` is not an absolute path")));
    }
    if value.len() > MAX_URL || value.chars().any(|c| c.is_control() || c == ' ') {
        return Err(invalid(
            key,
            "too long or contains spaces/control characters",
        ));
    }
    Ok(value.to_owned())
}

/// A `/path` on the announced host, or an absolute `http(s)` URL.
fn check_location(key: &'static str, value: &str) -> Result<String, TxtError> {
    if value.starts_with('/') {
        return check_path(key, value);
    }
    if value.len() > MAX_URL {
        return Err(invalid(key, "URL too long"));
    }
    let url = url::Url::parse(value).map_err(|err| invalid(key, format!("`{value}`: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(key, format!("`{value}` is not an http(s) URL")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(key, "URLs with credentials are refused"));
    }
    Ok(value.to_owned())
}

/// Where a `manifest` or `bundle` value points, seen from a discovered service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A path on the announced host and port.
    Path(String),
    /// An absolute URL (its host may be the announced host name or one of its addresses).
    Url(url::Url),
}

impl Location {
    /// Reads a `manifest` / `bundle` value ([`Txt::parse`] has already checked it).
    pub fn parse(value: &str) -> Option<Self> {
        if value.starts_with('/') {
            Some(Self::Path(value.to_owned()))
        } else {
            url::Url::parse(value).ok().map(Self::Url)
        }
    }
}

/// A DNS-SD instance name for a server: `"{label} ({name}) on {host}"`, shortened to fit
/// [`MAX_INSTANCE_OCTETS`] by dropping the parts in the order host, name, then cutting the label.
/// Control characters become spaces.
pub fn instance_name(label: &str, name: Option<&str>, host: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_owned()
    };
    let (label, host) = (clean(label), clean(host));
    let name = name.map(clean).filter(|n| !n.is_empty() && *n != label);
    let host = host.split('.').next().unwrap_or_default().to_owned();
    let mut candidates = Vec::new();
    match (&name, host.is_empty()) {
        (Some(name), false) => {
            candidates.push(format!("{label} ({name}) on {host}"));
            candidates.push(format!("{label} on {host}"));
            candidates.push(format!("{label} ({name})"));
        }
        (None, false) => candidates.push(format!("{label} on {host}")),
        (Some(name), true) => candidates.push(format!("{label} ({name})")),
        (None, true) => {}
    }
    candidates.push(label.clone());
    if let Some(fit) = candidates
        .into_iter()
        .find(|c| !c.is_empty() && c.len() <= MAX_INSTANCE_OCTETS)
    {
        return fit;
    }
    truncate_octets(&label, MAX_INSTANCE_OCTETS)
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate_octets(text: &str, max: usize) -> String {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim_end().to_owned()
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
            .collect()
    }

    fn server_txt() -> ServerTxt {
        ServerTxt {
            path: "/mcp".into(),
            transport: LanTransport::StreamableHttp,
            tls: false,
            name: ServerName::parse("io.github.acme/weather").expect("valid name"),
            version: Some("1.2.0".into()),
            manifest: Some("/server.json".into()),
            sha256: Some(Digest::of_bytes(b"x")),
            bundle: None,
        }
    }

    #[test]
    fn server_txt_round_trips_with_txtvers_first_and_bare_hex() -> Result<(), TxtError> {
        let txt = server_txt();
        let out = txt.to_entries()?;
        assert_eq!(out[0], ("txtvers".to_owned(), "1".to_owned()));
        let sha = out.iter().find(|(k, _)| k == "sha256").map(|(_, v)| v);
        assert_eq!(sha, Some(&Digest::of_bytes(b"x").to_hex()));
        let back: Vec<(String, Option<String>)> =
            out.into_iter().map(|(k, v)| (k, Some(v))).collect();
        assert_eq!(
            Txt::parse(ServiceKind::Server, &back)?,
            Txt::Server(txt.clone())
        );
        Ok(())
    }

    #[test]
    fn registry_txt_round_trips() -> Result<(), TxtError> {
        let txt = RegistryTxt {
            path: "/v0.1".into(),
            tls: true,
            name: Some("mcp-reg".into()),
            version: Some("0.1.0".into()),
        };
        let back: Vec<(String, Option<String>)> = txt
            .to_entries()?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        assert_eq!(
            Txt::parse(ServiceKind::Registry, &back)?,
            Txt::Registry(txt)
        );
        Ok(())
    }

    #[test]
    fn keys_are_case_insensitive_and_the_first_repeat_wins() -> Result<(), TxtError> {
        let parsed = Txt::parse(
            ServiceKind::Server,
            &entries(&[
                ("TxtVers", "1"),
                ("PATH", "/mcp"),
                ("path", "/other"),
                ("transport", "sse"),
                ("name", "io.github.acme/weather"),
            ]),
        )?;
        let Txt::Server(txt) = parsed else {
            panic!("a server record parses as a server record");
        };
        assert_eq!(txt.path, "/mcp");
        assert_eq!(txt.transport, LanTransport::Sse);
        assert_eq!(txt.manifest, None);
        Ok(())
    }

    #[test]
    fn invalid_records_are_refused_with_the_key() {
        let base = [
            ("txtvers", "1"),
            ("path", "/mcp"),
            ("transport", "streamable-http"),
            ("name", "io.github.acme/weather"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            Txt::parse(ServiceKind::Server, &entries(&all))
        };
        assert!(with(&[]).is_ok());
        assert_eq!(
            Txt::parse(ServiceKind::Server, &entries(&base[1..])),
            Err(TxtError::Missing("txtvers"))
        );
        let v2 = [("txtvers", "2"), ("path", "/v0.1")];
        assert_eq!(
            Txt::parse(ServiceKind::Registry, &entries(&v2)),
            Err(TxtError::Version("2".into()))
        );
        // The manifest needs its digest, and the digest must be 64 lowercase hex digits.
        assert_eq!(
            with(&[("manifest", "/server.json")]),
            Err(TxtError::Missing("sha256"))
        );
        let upper = "A".repeat(64);
        assert!(matches!(
            with(&[("manifest", "/server.json"), ("sha256", &upper)]),
            Err(TxtError::Invalid { key: "sha256", .. })
        ));
        assert!(matches!(
            with(&[("manifest", "ftp://h/x"), ("sha256", &"a".repeat(64))]),
            Err(TxtError::Invalid {
                key: "manifest",
                ..
            })
        ));
        assert!(matches!(
            with(&[("manifest", "http://u:p@h/x"), ("sha256", &"a".repeat(64))]),
            Err(TxtError::Invalid {
                key: "manifest",
                ..
            })
        ));
        let mut bad_name = base.to_vec();
        bad_name[3] = ("name", "no-slash");
        assert!(matches!(
            Txt::parse(ServiceKind::Server, &entries(&bad_name)),
            Err(TxtError::Invalid { key: "name", .. })
        ));
        let mut bad_path = base.to_vec();
        bad_path[1] = ("path", "mcp");
        assert!(matches!(
            Txt::parse(ServiceKind::Server, &entries(&bad_path)),
            Err(TxtError::Invalid { key: "path", .. })
        ));
    }

    #[test]
    fn oversized_records_are_refused_both_ways() {
        let mut txt = server_txt();
        txt.version = Some("1".repeat(300));
        assert!(matches!(
            txt.to_entries(),
            Err(TxtError::StringTooLong { .. })
        ));
        let mut many = entries(&[("txtvers", "1"), ("path", "/v0.1")]);
        for i in 0..20 {
            many.push((format!("k{i}"), Some("v".repeat(100))));
        }
        assert!(matches!(
            Txt::parse(ServiceKind::Registry, &many),
            Err(TxtError::TooLarge(_))
        ));
    }

    #[test]
    fn instance_names_fit_63_octets() {
        assert_eq!(
            instance_name("Weather", Some("io.github.acme/weather"), "studio.local."),
            "Weather (io.github.acme/weather) on studio"
        );
        let long_name = "io.github.a-very-long-organisation-name/weather-forecast-server";
        let shortened = instance_name("Weather", Some(long_name), "studio");
        assert_eq!(shortened, "Weather on studio");
        let label = "é".repeat(40);
        let cut = instance_name(&label, None, "");
        assert!(cut.len() <= MAX_INSTANCE_OCTETS);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(instance_name("a\u{7}b", None, "h"), "a b on h");
    }

    #[test]
    fn service_types_are_valid_dns_sd_names() {
        for kind in ServiceKind::ALL {
            let ty = kind.service_type();
            let service = ty
                .strip_prefix('_')
                .and_then(|t| t.strip_suffix("._tcp.local."))
                .expect("`_name._tcp.local.`");
            // RFC 6763 §7: 1-15 letters, digits and hyphens, starting with a letter.
            assert!((1..=15).contains(&service.len()));
            assert!(service.starts_with(|c: char| c.is_ascii_alphabetic()));
            assert!(
                service
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            );
            assert_eq!(
                ServiceKind::from_service_type(&ty.to_uppercase()),
                Some(kind)
            );
        }
    }
}
