//! The user's mcp-reg settings and stored credentials.
//!
//! Both live in the config directory: `$MCP_REG_CONFIG_DIR`, else the platform config dir plus
//! `mcp-reg` (`~/.config/mcp-reg` on Linux). `config.toml` may set `registry = "URL"`;
//! `credentials.json` maps registry URLs to publish tokens and is only ever written with mode 0600,
//! atomically, so a crash cannot leave a half-written or world-readable token file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::UserError;

/// The registry used when neither `--registry`, `MCP_REG_REGISTRY` nor the config file names one.
pub const DEFAULT_REGISTRY: &str = "http://127.0.0.1:8080";
/// Overrides the config directory (tests, several profiles).
pub const CONFIG_DIR_ENV: &str = "MCP_REG_CONFIG_DIR";
/// Overrides the data directory that holds the install record.
pub const DATA_DIR_ENV: &str = "MCP_REG_DATA_DIR";
const CONFIG_FILE: &str = "config.toml";
const CREDENTIALS_FILE: &str = "credentials.json";

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where `config.toml` and `credentials.json` live.
pub fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = env_dir(CONFIG_DIR_ENV) {
        return Ok(dir);
    }
    dirs::config_dir()
        .map(|dir| dir.join("mcp-reg"))
        .ok_or_else(|| {
            UserError::new("cannot find the user config directory")
                .with_hint(format!(
                    "set {CONFIG_DIR_ENV} to a directory mcp-reg may use"
                ))
                .into()
        })
}

/// Where the install record lives (`~/.local/share/mcp-reg` on Linux).
pub fn data_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = env_dir(DATA_DIR_ENV) {
        return Ok(dir);
    }
    dirs::data_dir()
        .map(|dir| dir.join("mcp-reg"))
        .ok_or_else(|| {
            UserError::new("cannot find the user data directory")
                .with_hint(format!("set {DATA_DIR_ENV} to a directory mcp-reg may use"))
                .into()
        })
}

/// The registry to talk to: the flag (or `MCP_REG_REGISTRY`, which clap folds into it), then the
/// config file, then [`DEFAULT_REGISTRY`].
pub fn registry_url(flag: Option<&str>) -> anyhow::Result<String> {
    if let Some(url) = flag.map(str::trim).filter(|u| !u.is_empty()) {
        return Ok(normalize_url(url));
    }
    let path = config_dir()?.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(unconfigured_registry(None));
        }
        Err(err) => {
            return Err(
                UserError::new(format!("cannot read {}: {err}", path.display()))
                    .with_hint("fix the file's permissions, or pass --registry URL")
                    .into(),
            );
        }
    };
    let doc: toml_edit::DocumentMut = text.parse().map_err(|err| {
        UserError::new(format!("{} is not valid TOML: {err}", path.display()))
            .with_hint("the file may set `registry = \"https://…\"`")
    })?;
    Ok(doc
        .get("registry")
        .and_then(|item| item.as_str())
        .map_or_else(|| unconfigured_registry(Some(&doc)), normalize_url))
}

/// One spelling per registry, so `http://host/` and `http://host` share a credential. The API
/// version people copy from the docs (`http://host:8080/v0.1`, `/v0`) is dropped: commands add it.
pub fn normalize_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let base = ["/v0.1", "/v0"]
        .iter()
        .find_map(|version| url.strip_suffix(version))
        .filter(|base| base.contains("://") && !base.ends_with(':') && !base.ends_with('/'))
        .unwrap_or(url);
    base.trim_end_matches('/').to_owned()
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CredentialsFile {
    version: u32,
    #[serde(default)]
    registries: BTreeMap<String, Credential>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Credential {
    token: String,
    /// Unix seconds when a registry JWT from `login --method …` expires (none for operator tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

/// The publish tokens, per registry URL.
#[derive(Debug, Clone)]
pub struct Credentials {
    path: PathBuf,
}

impl Credentials {
    pub fn open() -> anyhow::Result<Self> {
        Ok(Self::at(config_dir()?.join(CREDENTIALS_FILE)))
    }

    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> anyhow::Result<CredentialsFile> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(CredentialsFile::default());
            }
            Err(err) => {
                return Err(
                    UserError::new(format!("cannot read {}: {err}", self.path.display()))
                        .with_hint("fix the file's permissions, or run `mcp-reg login` again")
                        .into(),
                );
            }
        };
        serde_json::from_slice(&bytes).map_err(|err| {
            UserError::new(format!(
                "{} is not a credentials file: {err}",
                self.path.display()
            ))
            .with_hint("delete it and run `mcp-reg login` again")
            .into()
        })
    }

    /// The token stored for `registry`, if any; an error with a hint when it has expired.
    pub fn token(&self, registry: &str) -> anyhow::Result<Option<String>> {
        let registry = normalize_url(registry);
        let Some(credential) = self.load()?.registries.remove(&registry) else {
            return Ok(None);
        };
        if let Some(expires_at) = credential.expires_at {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            if expires_at <= now {
                return Err(UserError::new(format!(
                    "the registry token stored for {registry} expired {} s ago",
                    now - expires_at
                ))
                .with_hint(format!(
                    "log in again: `mcp-reg login --registry {registry} --method …` (registry tokens are short-lived)"
                ))
                .into());
            }
        }
        Ok(Some(credential.token))
    }

    /// Stores (or replaces) a token for `registry` that expires at `expires_at` (unix seconds).
    pub fn store_expiring(
        &self,
        registry: &str,
        token: &str,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        let mut file = self.load()?;
        file.version = 1;
        file.registries.insert(
            normalize_url(registry),
            Credential {
                token: token.to_owned(),
                expires_at: Some(expires_at),
            },
        );
        self.save(&file)
    }

    /// Stores (or replaces) the token for `registry`.
    pub fn store(&self, registry: &str, token: &str) -> anyhow::Result<()> {
        let mut file = self.load()?;
        file.version = 1;
        file.registries.insert(
            normalize_url(registry),
            Credential {
                token: token.to_owned(),
                expires_at: None,
            },
        );
        self.save(&file)
    }

    /// Forgets the token for `registry`; `false` if there was none.
    pub fn remove(&self, registry: &str) -> anyhow::Result<bool> {
        let mut file = self.load()?;
        if file.registries.remove(&normalize_url(registry)).is_none() {
            return Ok(false);
        }
        file.version = 1;
        self.save(&file)?;
        Ok(true)
    }

    fn save(&self, file: &CredentialsFile) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(file)?;
        write_private(&self.path, &bytes)
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// Writes `bytes` to `path` through a 0600 temp file in the same directory and a rename, so readers
/// see the old or the new file, never a partial one, and the token is never group/world readable.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    create_private_dir(dir)?;
    let file_name = path.file_name().map_or_else(
        || "credentials".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temp)?;
        #[cfg(unix)]
        {
            // The mode above only applies to new files; a stale temp file keeps its old mode.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Table of `config.toml` that remembers the answer to the offer of a registry found on the LAN.
pub const LAN_REGISTRY_TABLE: &str = "lan-registry";
/// Set (non-empty) to never look for a registry on the LAN, even where the config asks for the offer.
pub const NO_LAN_OFFER_ENV: &str = "MCP_REG_NO_LAN_OFFER";
/// Set to `1` to be offered a registry found on the LAN while none is configured (the config's
/// `[lan-registry] offer = true` does the same). Off by default: browsing sends multicast queries,
/// traffic the user did not ask for.
pub const LAN_OFFER_ENV: &str = "MCP_REG_LAN_OFFER";

/// The remembered answer to the LAN registry offer (`[lan-registry]` in `config.toml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LanRegistry {
    /// The registry's URL when it was offered.
    pub url: Option<String>,
    /// Its DNS-SD instance name.
    pub instance: Option<String>,
    /// `true`: use it while no registry is configured; `false`: declined, never ask again.
    pub accepted: Option<bool>,
    /// Unix seconds of the last search that found nothing (searched again a day later).
    pub searched_at: Option<i64>,
    /// `offer = true`: the user asked to be offered a LAN registry while none is configured.
    pub offer: bool,
}

impl LanRegistry {
    fn from_doc(doc: &toml_edit::DocumentMut) -> Self {
        let Some(table) = doc.get(LAN_REGISTRY_TABLE) else {
            return Self::default();
        };
        Self {
            url: table.get("url").and_then(|v| v.as_str()).map(normalize_url),
            instance: table
                .get("instance")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            accepted: table.get("accepted").and_then(toml_edit::Item::as_bool),
            searched_at: table
                .get("searched-at")
                .and_then(toml_edit::Item::as_integer),
            offer: table
                .get("offer")
                .and_then(toml_edit::Item::as_bool)
                .unwrap_or(false),
        }
    }
}

/// The remembered LAN registry answer (default when the file or table is absent).
pub fn lan_registry() -> anyhow::Result<LanRegistry> {
    read_lan_registry(&config_dir()?.join(CONFIG_FILE))
}

/// [`lan_registry`] from the config file at `path`.
pub fn read_lan_registry(path: &Path) -> anyhow::Result<LanRegistry> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .parse::<toml_edit::DocumentMut>()
            .map(|doc| LanRegistry::from_doc(&doc))
            .unwrap_or_default()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(LanRegistry::default()),
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
}

/// Stores `answer` as the `[lan-registry]` table, keeping the rest of `config.toml` (comments
/// included) as it is; written atomically.
pub fn remember_lan_registry(answer: &LanRegistry) -> anyhow::Result<()> {
    write_lan_registry(&config_dir()?.join(CONFIG_FILE), answer)
}

/// [`remember_lan_registry`] into the config file at `path`.
pub fn write_lan_registry(path: &Path, answer: &LanRegistry) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|err| {
        UserError::new(format!("{} is not valid TOML: {err}", path.display()))
            .with_hint("fix the file, or pass --registry URL")
    })?;
    let mut table = toml_edit::Table::new();
    table.decor_mut().set_prefix(
        "\n# A registry found on the LAN (mcp-reg asked once); delete `accepted` to be asked again.\n",
    );
    if let Some(url) = &answer.url {
        table.insert("url", toml_edit::value(url.as_str()));
    }
    if let Some(instance) = &answer.instance {
        table.insert("instance", toml_edit::value(instance.as_str()));
    }
    if let Some(accepted) = answer.accepted {
        table.insert("accepted", toml_edit::value(accepted));
    }
    if let Some(at) = answer.searched_at {
        table.insert("searched-at", toml_edit::value(at));
    }
    if answer.offer {
        table.insert("offer", toml_edit::value(true));
    }
    doc.insert(LAN_REGISTRY_TABLE, toml_edit::Item::Table(table));
    if let Some(dir) = path.parent() {
        create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::install::atomic::replace(path, doc.to_string().as_bytes(), false)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Server names `mcp-reg discover --sync` may install without a trusted signature: `trust = [...]`
/// in the `[lan]` table of `config.toml` (added to `--trust NAME`).
pub fn lan_trusted_names() -> anyhow::Result<Vec<String>> {
    let path = config_dir()?.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let doc: toml_edit::DocumentMut = text.parse().map_err(|err| {
        UserError::new(format!("{} is not valid TOML: {err}", path.display()))
            .with_hint("`[lan]` may set `trust = [\"io.github.acme/weather\"]`")
    })?;
    Ok(doc
        .get("lan")
        .and_then(|lan| lan.get("trust"))
        .and_then(toml_edit::Item::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// Set by commands that must not stop to ask (e.g. `discover --watch`, which has its own LAN view).
static LAN_OFFER_OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns the LAN registry offer off for the rest of this process.
pub fn disable_lan_offer() {
    LAN_OFFER_OFF.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The registry when neither the flag, the environment nor `registry =` names one: an accepted LAN
/// registry, else (interactive sessions that asked for it) the offer of one found on the LAN, else
/// [`DEFAULT_REGISTRY`].
fn unconfigured_registry(doc: Option<&toml_edit::DocumentMut>) -> String {
    let remembered = doc.map(LanRegistry::from_doc).unwrap_or_default();
    if remembered.accepted == Some(true)
        && let Some(url) = remembered.url
    {
        return url;
    }
    if lan_offer_asked(&remembered, std::env::var_os(LAN_OFFER_ENV).as_deref())
        && remembered.accepted.is_none()
        && !LAN_OFFER_OFF.load(std::sync::atomic::Ordering::Relaxed)
        && std::env::var_os(NO_LAN_OFFER_ENV).is_none_or(|v| v.is_empty())
        && let Some(url) = crate::lan::offer::offer(&remembered)
    {
        return url;
    }
    DEFAULT_REGISTRY.to_owned()
}

/// Whether the user asked for the LAN registry offer (config `offer = true`, or `MCP_REG_LAN_OFFER=1`).
fn lan_offer_asked(remembered: &LanRegistry, env: Option<&std::ffi::OsStr>) -> bool {
    remembered.offer || env.is_some_and(|value| value == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lan_is_browsed_only_when_asked() {
        let unasked = LanRegistry::default();
        assert!(!lan_offer_asked(&unasked, None));
        assert!(!lan_offer_asked(&unasked, Some("0".as_ref())));
        assert!(lan_offer_asked(&unasked, Some("1".as_ref())));
        let doc: toml_edit::DocumentMut = "[lan-registry]\noffer = true\n".parse().unwrap();
        assert!(lan_offer_asked(&LanRegistry::from_doc(&doc), None));
        // With nothing asked, an unconfigured registry is the default one, without browsing.
        assert_eq!(unconfigured_registry(None), DEFAULT_REGISTRY);
    }

    #[test]
    fn registry_urls_drop_the_api_version() {
        for (given, expected) in [
            ("http://host:8080/v0.1", "http://host:8080"),
            ("http://host:8080/v0.1/", "http://host:8080"),
            ("https://host/v0", "https://host"),
            ("https://host/mirror/v0.1", "https://host/mirror"),
            (" http://host:8080/ ", "http://host:8080"),
            ("http://host/v01", "http://host/v01"),
            ("v0.1", "v0.1"),
        ] {
            assert_eq!(normalize_url(given), expected, "{given}");
        }
    }

    #[test]
    fn credentials_round_trip_per_registry() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("mcp-reg-cred-{}", std::process::id()));
        let creds = Credentials::at(dir.join("credentials.json"));
        creds.store("http://a.example/", "tok-a")?;
        creds.store("http://b.example", "tok-b")?;
        assert_eq!(creds.token("http://a.example")?.as_deref(), Some("tok-a"));
        assert!(creds.remove("http://b.example/")?);
        assert!(!creds.remove("http://b.example")?);
        assert_eq!(creds.token("http://b.example")?, None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(creds.path())?.permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    }

    #[test]
    fn expired_tokens_ask_for_a_new_login() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("mcp-reg-cred-exp-{}", std::process::id()));
        let creds = Credentials::at(dir.join("credentials.json"));
        creds.store_expiring("http://a.example", "jwt-a", i64::MAX)?;
        assert_eq!(creds.token("http://a.example")?.as_deref(), Some("jwt-a"));
        creds.store_expiring("http://a.example", "jwt-a", 1)?;
        let err = creds.token("http://a.example").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("expired")));
        // An operator token replaces it and does not expire.
        creds.store("http://a.example", "tok")?;
        assert_eq!(creds.token("http://a.example")?.as_deref(), Some("tok"));
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    }
}
