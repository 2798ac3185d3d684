//! The host table: one [`HostProfile`] row per host. Sources per row:
//! /work/shared/reference/install-hosts.md §1.

use super::{
    AltRoot, Base, Extra, Format, Host, HostProfile, Layout, PathSpec, PerOs, RemoteShape,
    SecretStyle, StdioShape, at,
};

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
pub static PROFILES: [HostProfile; 20] = [
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
    // GitHub Copilot CLI (`@github/copilot` 1.0.102, checked with its own `copilot mcp add/list/get`):
    // `mcpServers`; `type: local` for stdio as its `mcp add` writes (entries without `type` or `tools`
    // load too), `http`/`sse` + `url` + `headers` for remotes, `${VAR}` references. The workspace file is
    // `.github/mcp.json` (also `.mcp.json`, Claude Code's), read once the folder is trusted.
    HostProfile {
        host: Host::CopilotCli,
        id: "copilot-cli",
        aliases: &["copilot", "github-copilot-cli"],
        name: "GitHub Copilot CLI",
        stdio: StdioShape {
            type_token: Some("local"),
            ..STDIO
        },
        remote: Some(TYPED_URL),
        secrets: SecretStyle::Dollar,
        user: PerOs::same(&[at(Base::CopilotHome, &["mcp-config.json"])]),
        project: &[at(Base::Project, &[".github", "mcp.json"])],
        markers: &[at(Base::Home, &[".copilot"])],
        ..BASE
    },
    // Kilo Code (VS Code extension, a Roo Code / Cline sibling): global `mcp_settings.json` in its
    // globalStorage, project `.kilocode/mcp.json`; `streamable-http` / `sse` remotes; `${env:NAME}`.
    HostProfile {
        host: Host::KiloCode,
        id: "kilo-code",
        aliases: &["kilo", "kilocode"],
        name: "Kilo Code",
        remote: Some(RemoteShape {
            http_type: Some("streamable-http"),
            ..TYPED_URL
        }),
        secrets: SecretStyle::EnvColon,
        user: vscode_user!(
            "Code",
            "globalStorage",
            "kilocode.kilo-code",
            "settings",
            "mcp_settings.json"
        ),
        project: &[at(Base::Project, &[".kilocode", "mcp.json"])],
        ..BASE
    },
];
