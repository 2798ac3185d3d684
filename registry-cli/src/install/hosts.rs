//! The MCP hosts mcp-reg writes to, described as data: one [`HostProfile`] row per host says where the
//! config lives per OS and scope, its syntax, the root key, the entry's field names and type tokens, the
//! transports the file can hold and how the host keeps secrets out of it. Code elsewhere reads the row;
//! adding a host is adding a row.
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
    /// Block YAML, edited by [`super::yaml`].
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

    fn get(&self, platform: Platform) -> &'static [PathSpec] {
        match platform {
            Platform::Linux => self.linux,
            Platform::MacOs => self.macos,
            Platform::Windows => self.windows,
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

const MCP_SERVERS: &[&str] = &["mcpServers"];

const STDIO: StdioShape = StdioShape {
    command_key: "command",
    args_key: Some("args"),
    env_key: "env",
    type_token: None,
};

const STDIO_TYPED: StdioShape = StdioShape {
    type_token: Some("stdio"),
    ..STDIO
};

/// `url` + `type: http|sse`: Claude Code, VS Code, Gemini CLI.
const TYPED_URL: RemoteShape = RemoteShape {
    url_key: "url",
    headers_key: Some("headers"),
    http: true,
    http_type: Some("http"),
    sse: true,
    sse_type: Some("sse"),
};

/// `url` without `type`; the host negotiates the transport (Cursor).
const UNTYPED_URL: RemoteShape = RemoteShape {
    http_type: None,
    sse_type: None,
    ..TYPED_URL
};

/// Streamable HTTP only, `url` without `type`.
const HTTP_ONLY: RemoteShape = RemoteShape {
    sse: false,
    ..UNTYPED_URL
};

/// The common JSON `mcpServers` row; hosts override what differs.
const BASE: HostProfile = HostProfile {
    host: Host::Cursor,
    id: "",
    aliases: &[],
    name: "",
    format: Format::Json,
    root: MCP_SERVERS,
    alt_root: None,
    layout: Layout::Map,
    name_key: None,
    stdio: STDIO,
    remote: None,
    extra: &[],
    secrets: SecretStyle::Plaintext,
    user: PerOs::same(&[]),
    project: &[],
    new_user_file: None,
    new_project_file: None,
    markers: &[],
};

/// The per-user directory of VS Code-family apps, per OS, followed by `rest`.
macro_rules! vscode_user {
    ($app:literal $(, $rest:literal)*) => {
        PerOs {
            linux: &[at(Base::XdgConfig, &[$app, "User" $(, $rest)*])],
            macos: &[at(Base::AppSupport, &[$app, "User" $(, $rest)*])],
            windows: &[at(Base::AppData, &[$app, "User" $(, $rest)*])],
        }
    };
}

/// The MSIX package directory of Claude Desktop; when present, the app reads a virtualized path.
pub const CLAUDE_MSIX_PACKAGE: &str = "Claude_pzs8sxrjxfjjc";

const CONTINUE_USER_HEADER: &str = "name: Local Assistant\nversion: 1.0.0\nschema: v1\n";
const CONTINUE_BLOCK_HEADER: &str = "name: mcp-reg servers\nversion: 0.0.1\nschema: v1\n";

/// The host table. Sources per row: /work/shared/reference/install-hosts.md §1.
pub static PROFILES: [HostProfile; 18] = [
    // §1.1. The desktop app's file is stdio-only: `url` entries are skipped or crash it.
    HostProfile {
        host: Host::ClaudeDesktop,
        id: "claude-desktop",
        aliases: &["claude"],
        name: "Claude Desktop",
        user: PerOs {
            linux: &[at(
                Base::XdgConfig,
                &["Claude", "claude_desktop_config.json"],
            )],
            macos: &[at(
                Base::AppSupport,
                &["Claude", "claude_desktop_config.json"],
            )],
            windows: &[
                PathSpec {
                    base: Base::LocalAppData,
                    rel: &[
                        "Packages",
                        CLAUDE_MSIX_PACKAGE,
                        "LocalCache",
                        "Roaming",
                        "Claude",
                        "claude_desktop_config.json",
                    ],
                    probe: Some(&["Packages", CLAUDE_MSIX_PACKAGE]),
                },
                at(Base::AppData, &["Claude", "claude_desktop_config.json"]),
            ],
        },
        ..BASE
    },
    // §1.2
    HostProfile {
        host: Host::ClaudeCode,
        id: "claude-code",
        name: "Claude Code",
        stdio: STDIO_TYPED,
        remote: Some(TYPED_URL),
        secrets: SecretStyle::Dollar,
        user: PerOs::same(&[at(Base::ClaudeConfigDir, &[".claude.json"])]),
        project: &[at(Base::Project, &[".mcp.json"])],
        markers: &[at(Base::Home, &[".claude"])],
        ..BASE
    },
    // §1.3
    HostProfile {
        host: Host::Cursor,
        id: "cursor",
        name: "Cursor",
        remote: Some(UNTYPED_URL),
        secrets: SecretStyle::EnvColon,
        user: PerOs::same(&[at(Base::Home, &[".cursor", "mcp.json"])]),
        project: &[at(Base::Project, &[".cursor", "mcp.json"])],
        ..BASE
    },
    // §1.4
    HostProfile {
        host: Host::VsCode,
        id: "vscode",
        aliases: &["code", "vs-code"],
        name: "VS Code",
        format: Format::Jsonc,
        root: &["servers"],
        stdio: STDIO_TYPED,
        remote: Some(TYPED_URL),
        secrets: SecretStyle::VsCodeInputs,
        user: vscode_user!("Code", "mcp.json"),
        project: &[at(Base::Project, &[".vscode", "mcp.json"])],
        ..BASE
    },
    // §1.5
    HostProfile {
        host: Host::Windsurf,
        id: "windsurf",
        name: "Windsurf",
        remote: Some(RemoteShape {
            url_key: "serverUrl",
            ..UNTYPED_URL
        }),
        secrets: SecretStyle::EnvColon,
        user: PerOs::same(&[at(Base::Home, &[".codeium", "windsurf", "mcp_config.json"])]),
        ..BASE
    },
    // §1.7. A list of named items; project servers go into one block file of mcp-reg's own.
    HostProfile {
        host: Host::Continue,
        id: "continue",
        name: "Continue",
        format: Format::Yaml,
        layout: Layout::List { name_key: "name" },
        name_key: Some("name"),
        stdio: STDIO_TYPED,
        remote: Some(RemoteShape {
            url_key: "url",
            headers_key: None,
            http: true,
            http_type: Some("streamable-http"),
            sse: true,
            sse_type: Some("sse"),
        }),
        secrets: SecretStyle::ContinueSecrets,
        user: PerOs::same(&[at(Base::Home, &[".continue", "config.yaml"])]),
        project: &[at(
            Base::Project,
            &[".continue", "mcpServers", "mcp-reg.yaml"],
        )],
        new_user_file: Some(CONTINUE_USER_HEADER),
        new_project_file: Some(CONTINUE_BLOCK_HEADER),
        ..BASE
    },
    // §1.8
    HostProfile {
        host: Host::Zed,
        id: "zed",
        name: "Zed",
        format: Format::Jsonc,
        root: &["context_servers"],
        remote: Some(HTTP_ONLY),
        user: PerOs {
            linux: &[at(Base::XdgConfig, &["zed", "settings.json"])],
            macos: &[at(Base::DotConfig, &["zed", "settings.json"])],
            windows: &[at(Base::AppData, &["Zed", "settings.json"])],
        },
        project: &[at(Base::Project, &[".zed", "settings.json"])],
        ..BASE
    },
    // §1.9
    HostProfile {
        host: Host::Gemini,
        id: "gemini",
        aliases: &["gemini-cli"],
        name: "Gemini CLI",
        format: Format::Jsonc,
        remote: Some(TYPED_URL),
        secrets: SecretStyle::DollarEnvOnly,
        user: PerOs::same(&[at(Base::Home, &[".gemini", "settings.json"])]),
        project: &[at(Base::Project, &[".gemini", "settings.json"])],
        ..BASE
    },
    // §1.10. Streamable HTTP only; headers are handled by the Codex secret style.
    HostProfile {
        host: Host::Codex,
        id: "codex",
        name: "Codex",
        format: Format::Toml,
        root: &["mcp_servers"],
        remote: Some(HTTP_ONLY),
        secrets: SecretStyle::Codex,
        user: PerOs::same(&[at(Base::CodexHome, &["config.toml"])]),
        project: &[at(Base::Project, &[".codex", "config.toml"])],
        ..BASE
    },
    // §1.6. A `url` without `type` means SSE to Cline, so the type is always written.
    HostProfile {
        host: Host::Cline,
        id: "cline",
        name: "Cline",
        remote: Some(RemoteShape {
            http_type: Some("streamableHttp"),
            ..TYPED_URL
        }),
        user: vscode_user!(
            "Code",
            "globalStorage",
            "saoudrizwan.claude-dev",
            "settings",
            "cline_mcp_settings.json"
        ),
        ..BASE
    },
    // §1.15. V1 `mcp.<name>` with argv in `command`; V2 `mcp.servers.<name>` when the file has it.
    HostProfile {
        host: Host::Opencode,
        id: "opencode",
        aliases: &["open-code"],
        name: "opencode",
        format: Format::Jsonc,
        root: &["mcp"],
        alt_root: Some(AltRoot {
            root: &["mcp", "servers"],
            drop: &["enabled"],
        }),
        stdio: StdioShape {
            command_key: "command",
            args_key: None,
            env_key: "environment",
            type_token: Some("local"),
        },
        remote: Some(RemoteShape {
            url_key: "url",
            headers_key: Some("headers"),
            http: true,
            http_type: Some("remote"),
            sse: true,
            sse_type: Some("remote"),
        }),
        extra: &[("enabled", Extra::Bool(true))],
        secrets: SecretStyle::BraceEnv,
        user: PerOs::same(&[
            at(Base::OpencodeConfig, &[]),
            at(Base::XdgConfig, &["opencode", "opencode.jsonc"]),
            at(Base::XdgConfig, &["opencode", "opencode.json"]),
        ]),
        project: &[
            at(Base::Project, &[".opencode", "opencode.jsonc"]),
            at(Base::Project, &[".opencode", "opencode.json"]),
            at(Base::Project, &["opencode.jsonc"]),
            at(Base::Project, &["opencode.json"]),
        ],
        ..BASE
    },
    // §1.11. `extensions` is shared with built-ins; entries repeat their name and carry enabled/timeout.
    HostProfile {
        host: Host::Goose,
        id: "goose",
        name: "Goose",
        format: Format::Yaml,
        root: &["extensions"],
        name_key: Some("name"),
        stdio: StdioShape {
            command_key: "cmd",
            args_key: Some("args"),
            env_key: "envs",
            type_token: Some("stdio"),
        },
        remote: Some(RemoteShape {
            url_key: "uri",
            headers_key: Some("headers"),
            http: true,
            http_type: Some("streamable_http"),
            sse: true,
            sse_type: Some("sse"),
        }),
        extra: &[("enabled", Extra::Bool(true)), ("timeout", Extra::Int(300))],
        user: PerOs {
            linux: &[at(Base::XdgConfig, &["goose", "config.yaml"])],
            macos: &[at(Base::DotConfig, &["goose", "config.yaml"])],
            windows: &[at(
                Base::AppData,
                &["Block", "goose", "config", "config.yaml"],
            )],
        },
        ..BASE
    },
    // §1.12
    HostProfile {
        host: Host::LmStudio,
        id: "lmstudio",
        aliases: &["lm-studio"],
        name: "LM Studio",
        remote: Some(HTTP_ONLY),
        user: PerOs::same(&[at(Base::Home, &[".lmstudio", "mcp.json"])]),
        ..BASE
    },
    // §1.13 (legacy `mcp.json`, which the CLI and IDE plugin still read).
    HostProfile {
        host: Host::AmazonQ,
        id: "amazon-q",
        aliases: &["amazonq", "q"],
        name: "Amazon Q Developer",
        remote: Some(RemoteShape {
            http_type: Some("http"),
            ..HTTP_ONLY
        }),
        user: PerOs::same(&[at(Base::Home, &[".aws", "amazonq", "mcp.json"])]),
        project: &[at(Base::Project, &[".amazonq", "mcp.json"])],
        ..BASE
    },
    // §1.14: Junie's file; JetBrains' help documents stdio only. AI Assistant is UI-only.
    HostProfile {
        host: Host::JetBrains,
        id: "jetbrains",
        aliases: &["junie"],
        name: "JetBrains Junie",
        user: PerOs::same(&[at(Base::Home, &[".junie", "mcp", "mcp.json"])]),
        project: &[at(Base::Project, &[".junie", "mcp", "mcp.json"])],
        ..BASE
    },
    // §1.4 (Insiders uses `Code - Insiders`; the workspace file is shared with VS Code).
    HostProfile {
        host: Host::VsCodeInsiders,
        id: "vscode-insiders",
        aliases: &["code-insiders"],
        name: "VS Code Insiders",
        format: Format::Jsonc,
        root: &["servers"],
        stdio: STDIO_TYPED,
        remote: Some(TYPED_URL),
        secrets: SecretStyle::VsCodeInputs,
        user: vscode_user!("Code - Insiders", "mcp.json"),
        project: &[at(Base::Project, &[".vscode", "mcp.json"])],
        ..BASE
    },
    // §1.13 (Kiro).
    HostProfile {
        host: Host::Kiro,
        id: "kiro",
        name: "Kiro",
        remote: Some(RemoteShape {
            http_type: Some("streamable-http"),
            ..HTTP_ONLY
        }),
        user: PerOs::same(&[at(Base::Home, &[".kiro", "settings", "mcp.json"])]),
        project: &[at(Base::Project, &[".kiro", "settings", "mcp.json"])],
        ..BASE
    },
    // §1.16
    HostProfile {
        host: Host::Antigravity,
        id: "antigravity",
        name: "Antigravity",
        remote: Some(RemoteShape {
            url_key: "serverUrl",
            ..HTTP_ONLY
        }),
        user: PerOs::same(&[at(
            Base::Home,
            &[".gemini", "antigravity", "mcp_config.json"],
        )]),
        ..BASE
    },
];

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
            claude_config_dir: None,
            opencode_config: None,
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
            opencode_config: var("OPENCODE_CONFIG"),
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

    /// The directory `base` names on this machine; `None` when it is not set (project, OPENCODE_CONFIG).
    fn base(&self, base: Base) -> Option<PathBuf> {
        Some(match base {
            Base::Home => self.home.clone(),
            Base::XdgConfig => self.xdg_config(),
            Base::DotConfig => self.home.join(".config"),
            Base::AppSupport => self.home.join("Library").join("Application Support"),
            Base::AppData => self.appdata(),
            Base::LocalAppData => self.local_appdata(),
            Base::CodexHome => self
                .codex_home
                .clone()
                .unwrap_or_else(|| self.home.join(".codex")),
            Base::ClaudeConfigDir => self
                .claude_config_dir
                .clone()
                .unwrap_or_else(|| self.home.clone()),
            Base::OpencodeConfig => return self.opencode_config.clone(),
            Base::Project => return self.project_dir.clone(),
        })
    }

    /// Directories too generic to say anything about which hosts are installed.
    fn is_generic_dir(&self, dir: &Path) -> bool {
        [
            Some(self.home.clone()),
            Some(self.xdg_config()),
            Some(self.home.join(".config")),
            Some(self.appdata()),
            self.project_dir.clone(),
        ]
        .iter()
        .flatten()
        .any(|generic| generic == dir)
    }

    fn resolve(&self, spec: &PathSpec) -> Option<PathBuf> {
        let base = self.base(spec.base)?;
        Some(spec.rel.iter().fold(base, |p, c| p.join(c)))
    }

    /// The first candidate whose file or probe exists, else the last resolvable one; an override
    /// (`OPENCODE_CONFIG`) wins whenever it is set.
    fn choose(&self, candidates: &[PathSpec]) -> Option<PathBuf> {
        let mut fallback = None;
        for spec in candidates {
            let Some(path) = self.resolve(spec) else {
                continue;
            };
            if spec.base == Base::OpencodeConfig {
                return Some(path);
            }
            let probed = spec.probe.is_some_and(|probe| {
                self.base(spec.base)
                    .is_some_and(|b| probe.iter().fold(b, |p, c| p.join(c)).is_dir())
            });
            if probed || path.is_file() {
                return Some(path);
            }
            fallback = Some(path);
        }
        fallback
    }
}

impl Host {
    /// Every host, the issue's fifteen first.
    pub const ALL: [Self; 18] = [
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

    /// The config file for `scope` on the machine `env` describes. Where a host has several candidate
    /// files (opencode `.json`/`.jsonc`, Claude Desktop's MSIX path), the existing one wins.
    pub fn config_path(self, scope: Scope, env: &HostEnv) -> Result<PathBuf, InstallError> {
        let profile = self.profile();
        let candidates = match scope {
            Scope::User => profile.user.get(env.platform),
            Scope::Project => profile.project,
        };
        if candidates.is_empty() {
            return Err(InstallError::ScopeUnsupported {
                host: self.name(),
                scope: scope.as_str(),
            });
        }
        if scope == Scope::Project && env.project_dir.is_none() {
            return Err(InstallError::NoProjectDir { host: self.name() });
        }
        env.choose(candidates)
            .ok_or(InstallError::NoProjectDir { host: self.name() })
    }

    /// The hosts installed on the machine `env` describes: a host counts when its user config file, that
    /// file's (host-specific) directory, or one of its marker paths exists.
    pub fn detect(env: &HostEnv) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|host| host.is_present(env))
            .collect()
    }

    fn is_present(self, env: &HostEnv) -> bool {
        let profile = self.profile();
        let markers = profile
            .markers
            .iter()
            .filter_map(|spec| env.resolve(spec))
            .any(|p| p.exists());
        if markers {
            return true;
        }
        profile
            .user
            .get(env.platform)
            .iter()
            .filter(|spec| spec.base != Base::OpencodeConfig)
            .filter_map(|spec| env.resolve(spec))
            .any(|path| {
                path.is_file()
                    || path
                        .parent()
                        .is_some_and(|dir| !env.is_generic_dir(dir) && dir.is_dir())
            })
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
            (Self::Continue, _) => "Continue runs MCP tools in agent mode only",
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

    #[test]
    fn paths_per_platform() {
        let linux = HostEnv::new(Platform::Linux, "/h").with_project("/p");
        let mac = HostEnv::new(Platform::MacOs, "/h");
        let mut win = HostEnv::new(Platform::Windows, "/w");
        win.appdata = Some("/w/Roaming".into());
        let p = |host: Host, scope, env: &HostEnv| host.config_path(scope, env).unwrap();
        let cases: &[(Host, Scope, &HostEnv, &str)] = &[
            (
                Host::ClaudeDesktop,
                Scope::User,
                &linux,
                "/h/.config/Claude/claude_desktop_config.json",
            ),
            (
                Host::ClaudeDesktop,
                Scope::User,
                &mac,
                "/h/Library/Application Support/Claude/claude_desktop_config.json",
            ),
            (
                Host::ClaudeDesktop,
                Scope::User,
                &win,
                "/w/Roaming/Claude/claude_desktop_config.json",
            ),
            (
                Host::VsCode,
                Scope::User,
                &linux,
                "/h/.config/Code/User/mcp.json",
            ),
            (Host::VsCode, Scope::Project, &linux, "/p/.vscode/mcp.json"),
            (Host::ClaudeCode, Scope::User, &linux, "/h/.claude.json"),
            (Host::ClaudeCode, Scope::Project, &linux, "/p/.mcp.json"),
            (Host::Codex, Scope::User, &linux, "/h/.codex/config.toml"),
            (
                Host::Continue,
                Scope::User,
                &win,
                "/w/.continue/config.yaml",
            ),
            (
                Host::Continue,
                Scope::Project,
                &linux,
                "/p/.continue/mcpServers/mcp-reg.yaml",
            ),
            (
                Host::Goose,
                Scope::User,
                &linux,
                "/h/.config/goose/config.yaml",
            ),
            (
                Host::Goose,
                Scope::User,
                &win,
                "/w/Roaming/Block/goose/config/config.yaml",
            ),
            (
                Host::Opencode,
                Scope::User,
                &mac,
                "/h/.config/opencode/opencode.json",
            ),
            (Host::Opencode, Scope::Project, &linux, "/p/opencode.json"),
            (
                Host::JetBrains,
                Scope::Project,
                &linux,
                "/p/.junie/mcp/mcp.json",
            ),
            (Host::Zed, Scope::User, &win, "/w/Roaming/Zed/settings.json"),
        ];
        for (host, scope, env, want) in cases {
            assert_eq!(p(*host, *scope, env), Path::new(want), "{host:?} {scope:?}");
        }
        let mut over = linux.clone();
        over.opencode_config = Some("/etc/oc.json".into());
        assert_eq!(
            p(Host::Opencode, Scope::User, &over),
            Path::new("/etc/oc.json")
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
