//! The MCP hosts mcp-reg writes to: where each keeps its server list per OS and scope, and the shape of
//! its entries (root key, remote field names, type tokens, how it keeps secrets out of the file).
//!
//! Paths take an explicit [`HostEnv`] (home, project, platform, overrides) so tests never touch the real
//! home directory.

use std::fmt;
use std::path::{Path, PathBuf};

use super::InstallError;
use super::launch::{Platform, Support};

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

/// An MCP host whose config file mcp-reg can edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    VsCode,
    VsCodeInsiders,
    Windsurf,
    Codex,
    GeminiCli,
    Zed,
    Kiro,
    Cline,
    LmStudio,
    Junie,
    AmazonQ,
    Antigravity,
}

/// File syntax of a host's config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON the host parses strictly; we still read comments tolerantly and never add any.
    Json,
    /// JSON with comments and trailing commas.
    Jsonc,
    Toml,
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
}

/// How a host spells a remote entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteShape {
    /// `url`, or `serverUrl` (Windsurf, Antigravity).
    pub url_key: &'static str,
    /// `type` for Streamable HTTP; `None` = supported without a `type` member; unsupported when
    /// `http` is false.
    pub http: bool,
    pub http_type: Option<&'static str>,
    pub sse: bool,
    pub sse_type: Option<&'static str>,
}

/// Everything the writer needs to know about a host's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub format: Format,
    /// Path of the object holding the servers (`["mcpServers"]`, `["servers"]`, ...).
    pub root: &'static [&'static str],
    /// `type` written on stdio entries, if the host wants one.
    pub stdio_type: Option<&'static str>,
    /// `None`: the file holds local (stdio) servers only.
    pub remote: Option<RemoteShape>,
    pub secrets: SecretStyle,
}

impl Profile {
    pub fn support(&self) -> Support {
        Support {
            stdio: true,
            streamable_http: self.remote.is_some_and(|r| r.http),
            sse: self.remote.is_some_and(|r| r.sse),
        }
    }
}

const MCP_SERVERS: &[&str] = &["mcpServers"];

/// `url` + `type: http|sse`: Claude Code, VS Code, Gemini CLI.
const TYPED_URL: RemoteShape = RemoteShape {
    url_key: "url",
    http: true,
    http_type: Some("http"),
    sse: true,
    sse_type: Some("sse"),
};

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
    /// `$CLAUDE_CONFIG_DIR` (default: `.claude.json` directly in home).
    pub claude_config_dir: Option<PathBuf>,
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
            claude_config_dir: None,
        }
    }

    #[must_use]
    pub fn with_project(mut self, dir: impl Into<PathBuf>) -> Self {
        self.project_dir = Some(dir.into());
        self
    }

    /// The real machine: home and overrides from the environment, the compiled-for platform.
    pub fn from_process(project_dir: Option<PathBuf>) -> Result<Self, InstallError> {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let platform = Platform::current();
        let home = if platform == Platform::Windows {
            var("USERPROFILE").or_else(|| var("HOME"))
        } else {
            var("HOME")
        }
        .ok_or(InstallError::NoHome)?;
        Ok(Self {
            platform,
            home,
            project_dir,
            appdata: var("APPDATA"),
            local_appdata: var("LOCALAPPDATA"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            codex_home: var("CODEX_HOME"),
            claude_config_dir: var("CLAUDE_CONFIG_DIR"),
        })
    }

    fn appdata(&self) -> PathBuf {
        self.appdata
            .clone()
            .unwrap_or_else(|| self.home.join("AppData").join("Roaming"))
    }

    fn local_appdata(&self) -> PathBuf {
        self.local_appdata
            .clone()
            .unwrap_or_else(|| self.home.join("AppData").join("Local"))
    }

    fn xdg_config(&self) -> PathBuf {
        self.xdg_config_home
            .clone()
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| self.home.join(".config"))
    }

    /// The per-user settings directory of VS Code-family apps (`Code`, `Code - Insiders`).
    fn vscode_user_dir(&self, app: &str) -> PathBuf {
        match self.platform {
            Platform::MacOs => self
                .home
                .join("Library")
                .join("Application Support")
                .join(app)
                .join("User"),
            Platform::Windows => self.appdata().join(app).join("User"),
            Platform::Linux => self.xdg_config().join(app).join("User"),
        }
    }

    fn project(&self, host: Host) -> Result<&Path, InstallError> {
        self.project_dir
            .as_deref()
            .ok_or(InstallError::NoProjectDir { host: host.name() })
    }
}

/// The MSIX package directory of Claude Desktop; when present, the app reads a virtualized path.
const CLAUDE_MSIX_PACKAGE: &str = "Claude_pzs8sxrjxfjjc";

impl Host {
    pub const ALL: [Self; 15] = [
        Self::ClaudeDesktop,
        Self::ClaudeCode,
        Self::Cursor,
        Self::VsCode,
        Self::VsCodeInsiders,
        Self::Windsurf,
        Self::Codex,
        Self::GeminiCli,
        Self::Zed,
        Self::Kiro,
        Self::Cline,
        Self::LmStudio,
        Self::Junie,
        Self::AmazonQ,
        Self::Antigravity,
    ];

    /// The id used on the command line and in install records.
    pub fn id(self) -> &'static str {
        match self {
            Self::ClaudeDesktop => "claude-desktop",
            Self::ClaudeCode => "claude-code",
            Self::Cursor => "cursor",
            Self::VsCode => "vscode",
            Self::VsCodeInsiders => "vscode-insiders",
            Self::Windsurf => "windsurf",
            Self::Codex => "codex",
            Self::GeminiCli => "gemini-cli",
            Self::Zed => "zed",
            Self::Kiro => "kiro",
            Self::Cline => "cline",
            Self::LmStudio => "lmstudio",
            Self::Junie => "junie",
            Self::AmazonQ => "amazon-q",
            Self::Antigravity => "antigravity",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::ClaudeDesktop => "Claude Desktop",
            Self::ClaudeCode => "Claude Code",
            Self::Cursor => "Cursor",
            Self::VsCode => "VS Code",
            Self::VsCodeInsiders => "VS Code Insiders",
            Self::Windsurf => "Windsurf",
            Self::Codex => "Codex",
            Self::GeminiCli => "Gemini CLI",
            Self::Zed => "Zed",
            Self::Kiro => "Kiro",
            Self::Cline => "Cline",
            Self::LmStudio => "LM Studio",
            Self::Junie => "Junie",
            Self::AmazonQ => "Amazon Q Developer",
            Self::Antigravity => "Antigravity",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|host| host.id() == id)
    }

    /// The scopes this host has a file for.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Self::ClaudeDesktop
            | Self::Windsurf
            | Self::Cline
            | Self::LmStudio
            | Self::Antigravity => &[Scope::User],
            _ => &[Scope::User, Scope::Project],
        }
    }

    pub fn profile(self) -> Profile {
        let mcp_servers = |remote, secrets| Profile {
            format: Format::Json,
            root: MCP_SERVERS,
            stdio_type: None,
            remote,
            secrets,
        };
        let http_only = |url_key, http_type| RemoteShape {
            url_key,
            http: true,
            http_type,
            sse: false,
            sse_type: None,
        };
        let untyped = |url_key| RemoteShape {
            url_key,
            http: true,
            http_type: None,
            sse: true,
            sse_type: None,
        };
        match self {
            // The desktop app's file is stdio-only: `url` entries are skipped or crash it.
            Self::ClaudeDesktop | Self::Junie => mcp_servers(None, SecretStyle::Plaintext),
            Self::ClaudeCode => Profile {
                stdio_type: Some("stdio"),
                ..mcp_servers(Some(TYPED_URL), SecretStyle::Dollar)
            },
            Self::Cursor => mcp_servers(Some(untyped("url")), SecretStyle::EnvColon),
            Self::Windsurf => mcp_servers(Some(untyped("serverUrl")), SecretStyle::EnvColon),
            Self::VsCode | Self::VsCodeInsiders => Profile {
                format: Format::Jsonc,
                root: &["servers"],
                stdio_type: Some("stdio"),
                remote: Some(TYPED_URL),
                secrets: SecretStyle::VsCodeInputs,
            },
            Self::Codex => Profile {
                format: Format::Toml,
                root: &["mcp_servers"],
                stdio_type: None,
                remote: Some(http_only("url", None)),
                secrets: SecretStyle::Codex,
            },
            Self::GeminiCli => Profile {
                format: Format::Jsonc,
                ..mcp_servers(Some(TYPED_URL), SecretStyle::DollarEnvOnly)
            },
            Self::Zed => Profile {
                format: Format::Jsonc,
                root: &["context_servers"],
                ..mcp_servers(Some(http_only("url", None)), SecretStyle::Plaintext)
            },
            Self::Kiro => mcp_servers(
                Some(http_only("url", Some("streamable-http"))),
                SecretStyle::Plaintext,
            ),
            // Cline treats a `url` without `type` as SSE, so the type is always written.
            Self::Cline => mcp_servers(
                Some(RemoteShape {
                    url_key: "url",
                    http: true,
                    http_type: Some("streamableHttp"),
                    sse: true,
                    sse_type: Some("sse"),
                }),
                SecretStyle::Plaintext,
            ),
            Self::LmStudio => mcp_servers(Some(http_only("url", None)), SecretStyle::Plaintext),
            Self::AmazonQ => {
                mcp_servers(Some(http_only("url", Some("http"))), SecretStyle::Plaintext)
            }
            Self::Antigravity => {
                mcp_servers(Some(http_only("serverUrl", None)), SecretStyle::Plaintext)
            }
        }
    }

    /// The config file for `scope` on the machine `env` describes. Claude Desktop on Windows probes
    /// for the MSIX install, whose virtualized path is the only one the app reads.
    pub fn config_path(self, scope: Scope, env: &HostEnv) -> Result<PathBuf, InstallError> {
        if !self.scopes().contains(&scope) {
            return Err(InstallError::ScopeUnsupported {
                host: self.name(),
                scope: scope.as_str(),
            });
        }
        let home = &env.home;
        if scope == Scope::Project {
            let project = env.project(self)?;
            let relative: &[&str] = match self {
                Self::ClaudeCode => &[".mcp.json"],
                Self::Cursor => &[".cursor", "mcp.json"],
                Self::VsCode | Self::VsCodeInsiders => &[".vscode", "mcp.json"],
                Self::Codex => &[".codex", "config.toml"],
                Self::GeminiCli => &[".gemini", "settings.json"],
                Self::Zed => &[".zed", "settings.json"],
                Self::Kiro => &[".kiro", "settings", "mcp.json"],
                Self::Junie => &[".junie", "mcp", "mcp.json"],
                Self::AmazonQ => &[".amazonq", "mcp.json"],
                _ => &[],
            };
            return Ok(relative
                .iter()
                .fold(project.to_path_buf(), |p, c| p.join(c)));
        }
        let path = match self {
            Self::ClaudeDesktop => match env.platform {
                Platform::MacOs => home
                    .join("Library")
                    .join("Application Support")
                    .join("Claude"),
                Platform::Windows => {
                    let msix = env
                        .local_appdata()
                        .join("Packages")
                        .join(CLAUDE_MSIX_PACKAGE);
                    if msix.is_dir() {
                        msix.join("LocalCache").join("Roaming").join("Claude")
                    } else {
                        env.appdata().join("Claude")
                    }
                }
                Platform::Linux => env.xdg_config().join("Claude"),
            }
            .join("claude_desktop_config.json"),
            Self::ClaudeCode => env
                .claude_config_dir
                .clone()
                .unwrap_or_else(|| home.clone())
                .join(".claude.json"),
            Self::Cursor => home.join(".cursor").join("mcp.json"),
            Self::VsCode => env.vscode_user_dir("Code").join("mcp.json"),
            Self::VsCodeInsiders => env.vscode_user_dir("Code - Insiders").join("mcp.json"),
            Self::Windsurf => home
                .join(".codeium")
                .join("windsurf")
                .join("mcp_config.json"),
            Self::Codex => env
                .codex_home
                .clone()
                .unwrap_or_else(|| home.join(".codex"))
                .join("config.toml"),
            Self::GeminiCli => home.join(".gemini").join("settings.json"),
            Self::Zed => match env.platform {
                Platform::Windows => env.appdata().join("Zed"),
                Platform::MacOs => home.join(".config").join("zed"),
                Platform::Linux => env.xdg_config().join("zed"),
            }
            .join("settings.json"),
            Self::Kiro => home.join(".kiro").join("settings").join("mcp.json"),
            Self::Cline => env
                .vscode_user_dir("Code")
                .join("globalStorage")
                .join("saoudrizwan.claude-dev")
                .join("settings")
                .join("cline_mcp_settings.json"),
            Self::LmStudio => home.join(".lmstudio").join("mcp.json"),
            Self::Junie => home.join(".junie").join("mcp").join("mcp.json"),
            Self::AmazonQ => home.join(".aws").join("amazonq").join("mcp.json"),
            Self::Antigravity => home
                .join(".gemini")
                .join("antigravity")
                .join("mcp_config.json"),
        };
        Ok(path)
    }

    /// Things the user should know after an install into this host.
    pub fn notes(self, scope: Scope) -> Vec<String> {
        let mut notes = Vec::new();
        match (self, scope) {
            (Self::ClaudeDesktop, _) => {
                notes.push("quit Claude Desktop completely and start it again to load the server".to_owned());
            }
            (Self::ClaudeCode, Scope::User) => notes.push(
                "Claude Code rewrites ~/.claude.json while it runs; close running sessions first, or the \
                 change may be lost"
                    .to_owned(),
            ),
            (Self::ClaudeCode, Scope::Project) => notes.push(
                "Claude Code asks each user to approve servers from .mcp.json on first use".to_owned(),
            ),
            (Self::Cursor, _) => notes.push(
                "newer Cursor versions add servers disabled: enable it under Settings > MCP".to_owned(),
            ),
            (Self::Windsurf, _) => notes.push("press refresh in Windsurf's MCP panel".to_owned()),
            _ => {}
        }
        notes
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
    fn ids_round_trip() {
        for host in Host::ALL {
            assert_eq!(Host::from_id(host.id()), Some(host));
        }
        assert_eq!(Host::from_id("emacs"), None);
    }

    #[test]
    fn paths_per_platform() {
        let linux = HostEnv::new(Platform::Linux, "/h").with_project("/p");
        let mac = HostEnv::new(Platform::MacOs, "/h");
        let mut win = HostEnv::new(Platform::Windows, "/w");
        win.appdata = Some("/w/Roaming".into());
        let p = |host: Host, scope, env: &HostEnv| host.config_path(scope, env).unwrap();
        assert_eq!(
            p(Host::ClaudeDesktop, Scope::User, &linux),
            Path::new("/h/.config/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            p(Host::ClaudeDesktop, Scope::User, &mac),
            Path::new("/h/Library/Application Support/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            p(Host::ClaudeDesktop, Scope::User, &win),
            Path::new("/w/Roaming/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            p(Host::VsCode, Scope::User, &linux),
            Path::new("/h/.config/Code/User/mcp.json")
        );
        assert_eq!(
            p(Host::VsCode, Scope::Project, &linux),
            Path::new("/p/.vscode/mcp.json")
        );
        assert_eq!(
            p(Host::ClaudeCode, Scope::User, &linux),
            Path::new("/h/.claude.json")
        );
        assert_eq!(
            p(Host::ClaudeCode, Scope::Project, &linux),
            Path::new("/p/.mcp.json")
        );
        assert_eq!(
            p(Host::Codex, Scope::User, &linux),
            Path::new("/h/.codex/config.toml")
        );
        assert!(matches!(
            Host::Windsurf.config_path(Scope::Project, &linux),
            Err(InstallError::ScopeUnsupported { .. })
        ));
        assert!(matches!(
            Host::Cursor.config_path(Scope::Project, &mac),
            Err(InstallError::NoProjectDir { .. })
        ));
    }

    #[test]
    fn claude_desktop_msix_probe() {
        let dir = std::env::temp_dir().join(format!("mcp-reg-msix-{}", std::process::id()));
        let local = dir.join("Local");
        std::fs::create_dir_all(local.join("Packages").join(CLAUDE_MSIX_PACKAGE)).unwrap();
        let mut win = HostEnv::new(Platform::Windows, &dir);
        win.local_appdata = Some(local.clone());
        let path = Host::ClaudeDesktop.config_path(Scope::User, &win).unwrap();
        assert_eq!(
            path,
            local
                .join("Packages")
                .join(CLAUDE_MSIX_PACKAGE)
                .join("LocalCache/Roaming/Claude/claude_desktop_config.json")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
