//! The MCP hosts mcp-reg writes to, described as data: one [`HostProfile`] row per host says where the
//! config lives per OS and scope, its syntax, the root key, the entry's field names and type tokens, the
//! transports the file can hold and how the host keeps secrets out of it. Code elsewhere reads the row;
//! adding a host is adding a row.
//!
//! Paths take an explicit [`HostEnv`] (home, project, platform, overrides) so tests never touch the real
//! home directory.

use std::fmt;
use std::path::PathBuf;

use crate::launch::{Platform, Support};

#[cfg(feature = "machine")]
mod machine;
mod profiles;

pub use profiles::{CLAUDE_MSIX_PACKAGE, PROFILES};

/// Where the config lives: the user's own file, or one inside a project (often committed to git).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    User,
    Project,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Project => "project",
        }
    }
}

/// An MCP host whose config file mcp-reg can edit. The first fifteen are the issue's list; the rest are
/// close relatives that share a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    VsCode,
    Windsurf,
    Continue,
    Zed,
    Gemini,
    Codex,
    Cline,
    Opencode,
    Goose,
    LmStudio,
    AmazonQ,
    JetBrains,
    VsCodeInsiders,
    Kiro,
    Antigravity,
    CopilotCli,
    KiloCode,
}

/// File syntax of a host's config, which is also its comment policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON the host parses strictly: we read comments tolerantly (and keep them) but never add any.
    Json,
    /// JSON with comments and trailing commas, accepted by the host.
    Jsonc,
    /// TOML, edited with `toml_edit`.
    Toml,
    /// Block YAML, edited by [`crate::yaml`].
    Yaml,
}

impl Format {
    /// Whether the host itself accepts comments in the file.
    pub fn host_accepts_comments(self) -> bool {
        !matches!(self, Self::Json)
    }
}

/// How a host lets a config refer to a secret instead of containing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStyle {
    /// None: plain text only (with the caller's consent).
    Plaintext,
    /// VS Code: an `inputs` entry (`promptString`, `password: true`) referenced as `${input:id}`.
    VsCodeInputs,
    /// `${env:NAME}` anywhere in the entry (Cursor, Windsurf).
    EnvColon,
    /// `${NAME}` anywhere in the entry (Claude Code).
    Dollar,
    /// `${NAME}` in `env` values only (Gemini CLI).
    DollarEnvOnly,
    /// Codex: `env_vars`, `bearer_token_env_var`, `env_http_headers`.
    Codex,
    /// opencode: `{env:NAME}` substitution anywhere in the config.
    BraceEnv,
    /// Continue: `${{ secrets.NAME }}`, resolved from Continue's `.env` files or hub.
    ContinueSecrets,
}

/// How a host spells a remote entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteShape {
    /// `url`, `serverUrl` (Windsurf, Antigravity) or `uri` (Goose).
    pub url_key: &'static str,
    /// Where headers go; `None`: the host takes none, so a remote needing headers is refused.
    pub headers_key: Option<&'static str>,
    /// Streamable HTTP supported; `http_type` is its `type` token (`None`: no `type` member).
    pub http: bool,
    pub http_type: Option<&'static str>,
    pub sse: bool,
    pub sse_type: Option<&'static str>,
}

/// Member names of a stdio entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StdioShape {
    /// `command`, or `cmd` (Goose).
    pub command_key: &'static str,
    /// `Some("args")`; `None`: the whole argv goes into `command` as an array (opencode).
    pub args_key: Option<&'static str>,
    /// `env`, `envs` (Goose) or `environment` (opencode).
    pub env_key: &'static str,
    /// `type` token written on stdio entries, if the host wants one.
    pub type_token: Option<&'static str>,
}

/// How entries sit under the root key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A map from entry name to entry (most hosts).
    Map,
    /// A list of entries, each naming itself in `name_key` (Continue).
    List { name_key: &'static str },
}

/// A fixed member every entry of a host carries (`enabled: true`, Goose's `timeout: 300`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    Bool(bool),
    Int(i64),
}

/// A second root some files use instead of [`HostProfile::root`]; chosen when the file already has it
/// as a map of entries (opencode V2 keeps servers under `mcp.servers` and drops `enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AltRoot {
    pub root: &'static [&'static str],
    /// Members of the normal entry this layout does not have.
    pub drop: &'static [&'static str],
}

/// The directory a config path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    Home,
    /// `$XDG_CONFIG_HOME`, else `<home>/.config`.
    XdgConfig,
    /// `<home>/.config` whatever `XDG_CONFIG_HOME` says (macOS tools that use it anyway).
    DotConfig,
    /// macOS `<home>/Library/Application Support`.
    AppSupport,
    /// Windows `%APPDATA%`.
    AppData,
    /// Windows `%LOCALAPPDATA%`.
    LocalAppData,
    /// `$CODEX_HOME`, else `<home>/.codex`.
    CodexHome,
    /// `$COPILOT_HOME`, else `<home>/.copilot` (GitHub Copilot CLI).
    CopilotHome,
    /// `$CLAUDE_CONFIG_DIR`, else home.
    ClaudeConfigDir,
    /// `$OPENCODE_CONFIG` (a file); when set it wins.
    OpencodeConfig,
    /// The project directory.
    Project,
}

/// One candidate path: a base plus components, optionally valid only when `probe` (relative to the same
/// base) is a directory, e.g. Claude Desktop's MSIX package folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathSpec {
    pub base: Base,
    pub rel: &'static [&'static str],
    pub probe: Option<&'static [&'static str]>,
}

const fn at(base: Base, rel: &'static [&'static str]) -> PathSpec {
    PathSpec {
        base,
        rel,
        probe: None,
    }
}

/// Candidate paths per OS. The first candidate whose file (or probe directory) exists wins, else the
/// last one, so the list ends with the default for a fresh machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerOs {
    pub linux: &'static [PathSpec],
    pub macos: &'static [PathSpec],
    pub windows: &'static [PathSpec],
}

impl PerOs {
    const fn same(paths: &'static [PathSpec]) -> Self {
        Self {
            linux: paths,
            macos: paths,
            windows: paths,
        }
    }
}

/// Everything mcp-reg knows about one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostProfile {
    pub host: Host,
    /// The `--host` id, also stored in install records.
    pub id: &'static str,
    /// Other ids `--host` accepts.
    pub aliases: &'static [&'static str],
    pub name: &'static str,
    pub format: Format,
    /// Path of the node holding the servers (`["mcpServers"]`, `["servers"]`, `["mcp"]`, ...).
    pub root: &'static [&'static str],
    pub alt_root: Option<AltRoot>,
    pub layout: Layout,
    /// Member repeating the entry name inside the entry (Continue's list items, Goose's `name`).
    pub name_key: Option<&'static str>,
    pub stdio: StdioShape,
    /// `None`: the file holds local (stdio) servers only.
    pub remote: Option<RemoteShape>,
    /// Members written on every entry, after the others.
    pub extra: &'static [(&'static str, Extra)],
    pub secrets: SecretStyle,
    /// User-scope config file per OS; empty: no user scope.
    pub user: PerOs,
    /// Project-scope candidates (base [`Base::Project`]); empty: no project scope.
    pub project: &'static [PathSpec],
    /// Text a new file starts with (Continue files need `name`, `version`, `schema`).
    pub new_user_file: Option<&'static str>,
    pub new_project_file: Option<&'static str>,
    /// Paths besides the config file's directory whose presence means the host is installed.
    pub markers: &'static [PathSpec],
}

impl HostProfile {
    pub fn support(&self) -> Support {
        Support {
            stdio: true,
            streamable_http: self.remote.is_some_and(|r| r.http),
            sse: self.remote.is_some_and(|r| r.sse),
        }
    }

    pub fn scopes(&self) -> &'static [Scope] {
        match (self.user.linux.is_empty(), self.project.is_empty()) {
            (false, false) => &[Scope::User, Scope::Project],
            (false, true) => &[Scope::User],
            (true, false) => &[Scope::Project],
            (true, true) => &[],
        }
    }
}

/// Former name of [`HostProfile`].
pub type Profile = HostProfile;

/// The inputs used to locate config files; every field is explicit so tests can fake any machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEnv {
    pub platform: Platform,
    pub home: PathBuf,
    /// The project for `Scope::Project` (the current directory, usually).
    pub project_dir: Option<PathBuf>,
    /// Windows `%APPDATA%` (default `<home>\AppData\Roaming`).
    pub appdata: Option<PathBuf>,
    /// Windows `%LOCALAPPDATA%` (default `<home>\AppData\Local`).
    pub local_appdata: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME` (default `<home>/.config`).
    pub xdg_config_home: Option<PathBuf>,
    /// `$CODEX_HOME` (default `<home>/.codex`).
    pub codex_home: Option<PathBuf>,
    /// `$COPILOT_HOME` (default `<home>/.copilot`).
    pub copilot_home: Option<PathBuf>,
    /// `$CLAUDE_CONFIG_DIR` (default: `.claude.json` directly in home).
    pub claude_config_dir: Option<PathBuf>,
    /// `$OPENCODE_CONFIG`: opencode's global config file, when set.
    pub opencode_config: Option<PathBuf>,
}

impl HostEnv {
    pub fn new(platform: Platform, home: impl Into<PathBuf>) -> Self {
        Self {
            platform,
            home: home.into(),
            project_dir: None,
            appdata: None,
            local_appdata: None,
            xdg_config_home: None,
            codex_home: None,
            copilot_home: None,
            claude_config_dir: None,
            opencode_config: None,
        }
    }

    #[must_use]
    pub fn with_project(mut self, dir: impl Into<PathBuf>) -> Self {
        self.project_dir = Some(dir.into());
        self
    }
}

impl Host {
    /// Every host, the issue's fifteen first.
    pub const ALL: [Self; 20] = [
        Self::ClaudeDesktop,
        Self::ClaudeCode,
        Self::Cursor,
        Self::VsCode,
        Self::Windsurf,
        Self::Continue,
        Self::Zed,
        Self::Gemini,
        Self::Codex,
        Self::Cline,
        Self::Opencode,
        Self::Goose,
        Self::LmStudio,
        Self::AmazonQ,
        Self::JetBrains,
        Self::VsCodeInsiders,
        Self::Kiro,
        Self::Antigravity,
        Self::CopilotCli,
        Self::KiloCode,
    ];

    /// The host's row in [`PROFILES`].
    pub fn profile(self) -> &'static HostProfile {
        let index = self as usize;
        match PROFILES.get(index) {
            Some(profile) if profile.host == self => profile,
            // Unreachable while PROFILES is in enum order (a unit test checks); the search keeps it
            // panic-free anyway.
            _ => PROFILES
                .iter()
                .find(|p| p.host == self)
                .unwrap_or(&PROFILES[0]),
        }
    }

    /// The id used on the command line and in install records.
    pub fn id(self) -> &'static str {
        self.profile().id
    }

    pub fn name(self) -> &'static str {
        self.profile().name
    }

    /// The host for a `--host` id or alias (case-insensitive).
    pub fn from_id(id: &str) -> Option<Self> {
        let id = id.trim().to_ascii_lowercase();
        PROFILES
            .iter()
            .find(|p| p.id == id || p.aliases.contains(&id.as_str()))
            .map(|p| p.host)
    }

    /// The scopes this host has a file for.
    pub fn scopes(self) -> &'static [Scope] {
        self.profile().scopes()
    }

    /// Things the user should know after an install into this host.
    pub fn notes(self, scope: Scope) -> Vec<String> {
        let note = match (self, scope) {
            (Self::ClaudeDesktop, _) => {
                "quit Claude Desktop completely and start it again to load the server"
            }
            (Self::ClaudeCode, Scope::User) => {
                "Claude Code rewrites ~/.claude.json while it runs; close running sessions first, or the \
                 change may be lost"
            }
            (Self::ClaudeCode, Scope::Project) => {
                "Claude Code asks each user to approve servers from .mcp.json on first use"
            }
            (Self::Cursor, _) => {
                "newer Cursor versions add servers disabled: enable it under Settings > MCP"
            }
            (Self::Windsurf, _) => "press refresh in Windsurf's MCP panel",
            (Self::Continue, Scope::User) => "Continue runs MCP tools in agent mode only",
            (Self::Continue, Scope::Project) => {
                "the Continue extension loads .continue/mcpServers/ in this workspace (agent mode \
                 only); Continue's CLI (`cn`) reads only ~/.continue/config.yaml, so install with \
                 --scope user for `cn`"
            }
            (Self::Codex, Scope::Project) => {
                "Codex reads .codex/config.toml only in a trusted project: run `codex` here once and \
                 trust the folder (or add [projects.\"<this folder>\"] trust_level = \"trusted\" to \
                 ~/.codex/config.toml)"
            }
            (Self::Gemini, Scope::Project) => {
                "Gemini CLI shows project servers as disabled until the folder is trusted: run `gemini` \
                 here and trust it (`/permissions`), or add it to ~/.gemini/trustedFolders.json"
            }
            (Self::CopilotCli, Scope::Project) => {
                "Copilot CLI loads .github/mcp.json only in a trusted folder: run `copilot` here once \
                 and trust it (or add this folder to trusted_folders in ~/.copilot/config.json)"
            }
            (Self::KiloCode, _) => {
                "Kilo Code picks up the change in its MCP panel (or after a reload)"
            }
            (Self::Goose, _) => "restart Goose to load the extension",
            _ => return Vec::new(),
        };
        vec![note.to_owned()]
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn table_is_in_enum_order_and_ids_round_trip() {
        for (i, host) in Host::ALL.into_iter().enumerate() {
            assert_eq!(PROFILES[i].host, host);
            assert_eq!(Host::from_id(host.id()), Some(host));
            for alias in host.profile().aliases {
                assert_eq!(Host::from_id(alias), Some(host));
            }
        }
        let issue: Vec<&str> = Host::ALL[..15].iter().map(|h| h.id()).collect();
        assert_eq!(
            issue,
            [
                "claude-desktop",
                "claude-code",
                "cursor",
                "vscode",
                "windsurf",
                "continue",
                "zed",
                "gemini",
                "codex",
                "cline",
                "opencode",
                "goose",
                "lmstudio",
                "amazon-q",
                "jetbrains"
            ]
        );
        assert_eq!(Host::from_id("gemini-cli"), Some(Host::Gemini));
        assert_eq!(Host::from_id("Junie"), Some(Host::JetBrains));
        assert_eq!(Host::from_id("emacs"), None);
    }
}
