//! Config file locations on a real machine (feature `machine`): these read the environment and probe
//! the file system, which the rest of the crate never does.

use std::path::{Path, PathBuf};

use super::{Base, Host, HostEnv, PathSpec, PerOs, Scope};
use crate::InstallError;
use crate::launch::Platform;

impl PerOs {
    fn get(&self, platform: Platform) -> &'static [PathSpec] {
        match platform {
            Platform::Linux => self.linux,
            Platform::MacOs => self.macos,
            Platform::Windows => self.windows,
        }
    }
}

impl HostEnv {
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
            copilot_home: var("COPILOT_HOME"),
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
            Base::CopilotHome => self
                .copilot_home
                .clone()
                .unwrap_or_else(|| self.home.join(".copilot")),
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::hosts::CLAUDE_MSIX_PACKAGE;

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
