//! `mcp-reg upgrade NAME`: compare each installed version of a server with the registry's latest
//! (the registry's diff report), ask, then install the latest through `install`'s own code path.

use std::collections::BTreeMap;

use registry_schema::compat::{self, Report, Verdict};
use serde::Deserialize;

use crate::commands::install::{self, InstallArgs, ScopeArg, install_error, parse_pair};
use crate::commands::{Ctx, JsonFlag, out};
use crate::install::{Host, HostEnv, InstallRecord, Scope, installed};
use crate::resolve::{self, Ask};
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg upgrade io.github.acme/memory
  mcp-reg upgrade memory --host cursor --yes
  mcp-reg upgrade --all --yes                 (a version that breaks callers also needs --allow-breaking)

Without a terminal, --yes is required (the report is printed either way).")]
#[allow(clippy::struct_excessive_bools)] // independent command-line flags
pub struct UpgradeArgs {
    /// The installed server: its full name or a short one (resolved like `install` does).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub server: Option<String>,
    /// Upgrade every installed server, one after the other (stops at the first that fails).
    #[arg(long)]
    pub all: bool,
    /// Upgrade only the entries of this host (repeatable).
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// A value for an input the new version needs (values given at install time are not stored).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub env: Vec<(String, String)>,
    /// Write secrets in plain text into hosts that cannot reference them.
    #[arg(long)]
    pub allow_plaintext_secrets: bool,
    /// Upgrade even though the security review of the new version found a high-severity problem.
    #[arg(long)]
    pub allow_risk: bool,
    /// Accept a new version signed by someone other than the signer pinned at install (or unsigned
    /// after signed ones); the new signer becomes the pin.
    #[arg(long)]
    pub accept_signer: bool,
    /// With --yes: upgrade even to a version that breaks callers (without it, --yes stops there;
    /// on a terminal without --yes you are asked, with the report in front of you).
    #[arg(long)]
    pub allow_breaking: bool,
}

pub fn run(ctx: &Ctx, args: &UpgradeArgs) -> anyhow::Result<ExitStatus> {
    let store = install::records()?;
    let mut records = installed(&store, None).map_err(install_error)?;
    if !args.hosts.is_empty() {
        let mut ids = Vec::new();
        for id in &args.hosts {
            let host = Host::from_id(id).ok_or_else(|| {
                let all: Vec<&str> = Host::ALL.iter().map(|h| h.id()).collect();
                UserError::new(format!("unknown host `{id}`"))
                    .with_hint(format!("use one of: {}", all.join(", ")))
            })?;
            ids.push(host.id());
        }
        records.retain(|r| ids.contains(&r.host.as_str()));
    }
    let mut names: Vec<String> = records.iter().map(|r| r.server.clone()).collect();
    names.sort_unstable();
    names.dedup();
    let Some(query) = args.server.as_deref() else {
        if names.is_empty() {
            ctx.ui.info("nothing installed by mcp-reg to upgrade");
        }
        for name in &names {
            let mine: Vec<InstallRecord> = records
                .iter()
                .filter(|r| &r.server == name)
                .cloned()
                .collect();
            let status = upgrade_one(ctx, args, name, &mine)?;
            if status != ExitStatus::Success {
                return Ok(status);
            }
        }
        return Ok(ExitStatus::Success);
    };
    let name = resolve::installed_name(&names, query, Ask::new("upgrade", args.yes))?;
    records.retain(|r| r.server == name);
    upgrade_one(ctx, args, &name, &records)
}

/// Shows the report of `name`'s latest version against what `records` installed, asks, and
/// re-installs.
#[allow(clippy::too_many_lines)] // one linear flow: compare, ask, re-install
fn upgrade_one(
    ctx: &Ctx,
    args: &UpgradeArgs,
    name: &str,
    records: &[InstallRecord],
) -> anyhow::Result<ExitStatus> {
    let name = name.to_owned();
    let client = ctx.client()?;
    let latest = {
        let _spinner = ctx.ui.spinner("fetching the latest version");
        client.version(&name, "latest")?
    }
    .ok_or_else(|| {
        UserError::new(format!("the registry has no `{name}` any more"))
            .with_hint("check --registry; `mcp-reg uninstall NAME` removes the entries")
    })?;
    let target = latest.version().to_owned();

    let stale: Vec<&InstallRecord> = records.iter().filter(|r| r.version != target).collect();
    if stale.is_empty() {
        ctx.ui
            .info(&format!("{name} is up to date ({target}) everywhere"));
        return Ok(ExitStatus::Success);
    }
    let mut froms: Vec<&str> = stale.iter().map(|r| r.version.as_str()).collect();
    froms.sort_unstable();
    froms.dedup();
    // The registry's own word that the target breaks, whatever the version numbers and the diff say.
    let mut breaking = match latest.unannounced_break() {
        Some(note) => {
            ctx.ui.warn(&note);
            true
        }
        None => false,
    };
    for from in &froms {
        let value = {
            let _spinner = ctx.ui.spinner("comparing versions");
            client.diff(&name, from, &target)?
        };
        let report = Report::deserialize(&value).map_err(|err| {
            UserError::new(format!(
                "the registry's diff is not a compatibility report: {err}"
            ))
            .with_hint("check that --registry points at an mcp-reg registry")
        })?;
        breaking |= report.verdict == Verdict::Reject;
        let hosts: Vec<&str> = stale
            .iter()
            .filter(|r| r.version == *from)
            .map(|r| r.host.as_str())
            .collect();
        out(&format!(
            "{name} {from} -> {target} ({}):\n",
            hosts.join(", ")
        ))?;
        out(&compat::render_text(&report))?;
    }
    if breaking {
        ctx.ui
            .warn("the new version has incompatible changes; check the report before upgrading");
        if args.yes && !args.allow_breaking {
            return Err(UserError::new(format!(
                "not upgrading {name} to {target}: it breaks callers of what is installed"
            ))
            .with_hint(
                "read the report above; add --allow-breaking to --yes to upgrade anyway, or run without --yes on a terminal to confirm",
            )
            .into());
        }
    }

    if !args.yes {
        if !crate::output::interactive() {
            return Err(UserError::new(format!(
                "not upgrading {name}: confirmation needed and there is no terminal to ask on"
            ))
            .with_hint("read the report above, then run again with --yes")
            .into());
        }
        if !confirm(&format!("upgrade {name} to {target}?"))? {
            ctx.ui.info("nothing changed");
            return Ok(ExitStatus::Success);
        }
    }

    // Re-install per scope, through `install` (it plans, backs up, writes and records).
    let user_env = HostEnv::from_process(None).map_err(install_error)?;
    let project_env =
        HostEnv::from_process(Some(std::env::current_dir()?)).map_err(install_error)?;
    let mut by_scope: BTreeMap<u8, (ScopeArg, Vec<String>)> = BTreeMap::new();
    for record in &stale {
        let Some(host) = Host::from_id(&record.host) else {
            ctx.ui.warn(&format!(
                "skipping unknown host `{}` in the install record",
                record.host
            ));
            continue;
        };
        let scope = if same_path(host, Scope::User, &user_env, record) {
            ScopeArg::User
        } else if same_path(host, Scope::Project, &project_env, record) {
            ScopeArg::Project
        } else {
            ctx.ui.warn(&format!(
                "skipping {} ({}): it is a project's config; run `mcp-reg upgrade` from that project",
                host.name(),
                record.config.display()
            ));
            continue;
        };
        let slot = by_scope
            .entry(u8::from(scope == ScopeArg::Project))
            .or_insert_with(|| (scope, Vec::new()));
        if !slot.1.iter().any(|id| id == host.id()) {
            slot.1.push(host.id().to_owned());
        }
    }
    for (scope, hosts) in by_scope.into_values() {
        let install_args = InstallArgs {
            server: format!("{name}@{target}"),
            hosts,
            scope,
            env: args.env.clone(),
            dry_run: false,
            yes: true,
            print: false,
            placeholders: false,
            force: false,
            allow_plaintext_secrets: args.allow_plaintext_secrets,
            // The new version is verified like any install, under the user's policy.
            allow_unsigned: false,
            allow_risk: args.allow_risk,
            accept_signer: args.accept_signer,
            trusted_roots: Vec::new(),
            output: JsonFlag { json: false },
        };
        let status = install::run(ctx, &install_args)?;
        if status != ExitStatus::Success {
            return Ok(status);
        }
    }
    Ok(ExitStatus::Success)
}

fn same_path(host: Host, scope: Scope, env: &HostEnv, record: &InstallRecord) -> bool {
    host.config_path(scope, env)
        .ok()
        .and_then(|p| std::path::absolute(p).ok())
        .is_some_and(|p| p == record.config)
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    Ok(crate::output::confirm(question)?)
}
