//! `mcp-reg uninstall NAME`: remove the entries mcp-reg wrote for a server (found through the
//! install record, so entries the user wrote are never touched).

use std::path::Path;

use serde_json::json;

use crate::commands::install::{install_error, records};
use crate::commands::{Ctx, JsonFlag, print_json};
use crate::install::{self, Host, HostEnv, InstallError, InstallRecord, Scope};
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg uninstall io.github.acme/memory
  mcp-reg uninstall memory --host cursor")]
pub struct UninstallArgs {
    /// The server name (full, or the part after `/`), or the entry name in the host file.
    pub server: String,
    /// Only from this host (repeatable); default: every host it was installed into.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Remove the entry even if it was edited since mcp-reg wrote it.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn run(ctx: &Ctx, args: &UninstallArgs) -> anyhow::Result<ExitStatus> {
    let mut only = Vec::new();
    for id in &args.hosts {
        only.push(Host::from_id(id).ok_or_else(|| {
            UserError::new(format!("unknown host `{id}`"))
                .with_hint("use a host id such as cursor, vscode or claude-desktop")
        })?);
    }
    let store = records()?;
    let all = install::installed(&store, None).map_err(install_error)?;
    let wanted = &args.server;
    let matches: Vec<&InstallRecord> = all
        .iter()
        .filter(|r| {
            r.server == *wanted
                || r.entry == *wanted
                || r.server.rsplit_once('/').is_some_and(|(_, l)| l == wanted)
        })
        .filter(|r| only.is_empty() || only.iter().any(|h| h.id() == r.host))
        .collect();
    if matches.is_empty() {
        return Err(UserError::new(format!(
            "mcp-reg has not installed `{wanted}`{}",
            if only.is_empty() {
                String::new()
            } else {
                " into those hosts".to_owned()
            }
        ))
        .with_hint("see what it installed with `mcp-reg list`")
        .into());
    }
    let servers: std::collections::BTreeSet<&str> =
        matches.iter().map(|r| r.server.as_str()).collect();
    if servers.len() > 1 {
        return Err(UserError::new(format!(
            "`{wanted}` matches several servers: {}",
            servers.into_iter().collect::<Vec<_>>().join(", ")
        ))
        .with_hint("use the full server name")
        .into());
    }
    let cwd = std::env::current_dir().ok();
    let mut removed = Vec::new();
    for record in matches {
        let Some(host) = Host::from_id(&record.host) else {
            ctx.ui.warn(&format!(
                "unknown host `{}` in the install record; skipped",
                record.host
            ));
            continue;
        };
        let Some((scope, env)) = locate(host, &record.config, cwd.as_deref())? else {
            ctx.ui.warn(&format!(
                "{} is not {}'s user config nor the current project's; run mcp-reg from that project to remove it",
                record.config.display(),
                host.name()
            ));
            continue;
        };
        let (plan, applied) =
            install::uninstall(host, scope, &env, &record.entry, args.force, &store)
                .map_err(|err| install_error(err).context(host.name()))?;
        ctx.ui.info(&format!(
            "removed {} from {} ({})",
            plan.entry_name,
            host.name(),
            applied.path.display()
        ));
        removed.push(json!({ "host": host.id(), "path": applied.path, "entry": plan.entry_name }));
    }
    if args.output.json {
        print_json(&json!({ "removed": removed }))?;
    }
    Ok(ExitStatus::Success)
}

/// The scope (and host environment) whose config path is `config`.
fn locate(
    host: Host,
    config: &Path,
    cwd: Option<&Path>,
) -> anyhow::Result<Option<(Scope, HostEnv)>> {
    let env = HostEnv::from_process(cwd.map(Path::to_path_buf)).map_err(install_error)?;
    for scope in [Scope::User, Scope::Project] {
        match host.config_path(scope, &env) {
            Ok(path) => {
                let path = std::path::absolute(&path).unwrap_or(path);
                if path == config {
                    return Ok(Some((scope, env)));
                }
            }
            Err(InstallError::ScopeUnsupported { .. } | InstallError::NoProjectDir { .. }) => {}
            Err(err) => return Err(install_error(err)),
        }
    }
    Ok(None)
}
