//! `mcp-reg uninstall NAME`: remove the entries mcp-reg wrote for a server (found through the
//! install record, so entries the user wrote are never touched).

use std::path::Path;

use serde_json::json;

use crate::commands::install::{install_error, records};
use crate::commands::{Ctx, JsonFlag, out, print_json};
use crate::install::{self, Host, HostEnv, InstallError, InstallRecord, Scope};
use crate::resolve::{self, Ask};
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg uninstall io.github.acme/memory
  mcp-reg uninstall memory --host cursor
  mcp-reg uninstall memory --dry-run          (show the change only)

On a terminal, each change is shown and confirmed unless --yes is given.")]
pub struct UninstallArgs {
    /// The server name (full or short), or the entry name in the host file.
    pub server: String,
    /// Only from this host (repeatable); default: every host it was installed into.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Remove the entry even if it was edited since mcp-reg wrote it.
    #[arg(long)]
    pub force: bool,
    /// Show the change to each config file; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask (which server a short name means, or for confirmation).
    #[arg(short, long)]
    pub yes: bool,
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
    let all: Vec<InstallRecord> = all
        .into_iter()
        .filter(|r| only.is_empty() || only.iter().any(|h| h.id() == r.host))
        .collect();
    let matches = chosen(&all, args.server.trim(), Ask::new("uninstall", args.yes))?;
    let cwd = std::env::current_dir().ok();
    let confirming = !args.yes && !args.dry_run && crate::output::interactive();
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
        if args.dry_run || confirming {
            let plan =
                install::plan_uninstall(host, scope, &env, &record.entry, args.force, &store)
                    .map_err(|err| install_error(err).context(host.name()))?;
            let diff = plan.diff();
            if args.dry_run {
                if !args.output.json {
                    out(&diff)?;
                }
                removed.push(json!({
                    "host": host.id(), "path": plan.path, "entry": plan.entry_name, "diff": diff,
                }));
                continue;
            }
            crate::output::err(&diff);
            if !confirm(&format!(
                "remove {} from {}?",
                plan.entry_name,
                plan.path.display()
            ))? {
                ctx.ui.info(&format!("skipped {}", host.name()));
                continue;
            }
        }
        let (plan, applied) =
            install::uninstall(host, scope, &env, &record.entry, args.force, &store)
                .map_err(|err| install_error(err).context(host.name()))?;
        if plan.changes_file() {
            ctx.ui.info(&format!(
                "removed {} from {} ({})",
                plan.entry_name,
                host.name(),
                applied.path.display()
            ));
        } else {
            ctx.ui.info(&format!(
                "{} was no longer in {} ({}); forgot mcp-reg's record of it",
                plan.entry_name,
                host.name(),
                applied.path.display()
            ));
        }
        removed.push(json!({ "host": host.id(), "path": applied.path, "entry": plan.entry_name }));
    }
    if args.output.json {
        let key = if args.dry_run {
            "wouldRemove"
        } else {
            "removed"
        };
        print_json(&json!({ key: removed }))?;
    }
    Ok(ExitStatus::Success)
}

/// The records `wanted` names: an entry name in a host file, else a server's name (full or short,
/// resolved like `install` does).
fn chosen<'a>(
    all: &'a [InstallRecord],
    wanted: &str,
    ask: Ask<'_>,
) -> anyhow::Result<Vec<&'a InstallRecord>> {
    let by_entry = all.iter().any(|r| r.entry == wanted && r.server != wanted);
    if by_entry {
        let matches: Vec<&InstallRecord> = all.iter().filter(|r| r.entry == wanted).collect();
        let servers: std::collections::BTreeSet<&str> =
            matches.iter().map(|r| r.server.as_str()).collect();
        if servers.len() > 1 {
            return Err(UserError::new(format!(
                "`{wanted}` is the entry name of several servers: {}",
                servers.into_iter().collect::<Vec<_>>().join(", ")
            ))
            .with_hint("use the full server name")
            .into());
        }
        return Ok(matches);
    }
    let mut names: Vec<String> = all.iter().map(|r| r.server.clone()).collect();
    names.sort_unstable();
    names.dedup();
    let name = resolve::installed_name(&names, wanted, ask)?;
    Ok(all.iter().filter(|r| r.server == name).collect())
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

fn confirm(question: &str) -> anyhow::Result<bool> {
    Ok(crate::output::confirm(question)?)
}
