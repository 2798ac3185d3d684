//! `mcp-reg list`: what mcp-reg installed where, from its install record.

use crate::ExitStatus;
use crate::UserError;
use crate::commands::install::{install_error, records};
use crate::commands::{Ctx, JsonFlag, print_json, print_table};
use crate::install::{self, Host};

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this host's entries.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn run(ctx: &Ctx, args: &ListArgs) -> anyhow::Result<ExitStatus> {
    let host = match &args.host {
        Some(id) => Some(Host::from_id(id).ok_or_else(|| {
            UserError::new(format!("unknown host `{id}`"))
                .with_hint("use a host id such as cursor, vscode or claude-desktop")
        })?),
        None => None,
    };
    let installed = install::installed(&records()?, host).map_err(install_error)?;
    if args.output.json {
        print_json(&installed)?;
        return Ok(ExitStatus::Success);
    }
    if installed.is_empty() {
        ctx.ui.info("nothing installed by mcp-reg yet");
        return Ok(ExitStatus::Success);
    }
    let rows: Vec<Vec<String>> = installed
        .iter()
        .map(|r| {
            vec![
                r.server.clone(),
                r.version.clone(),
                r.host.clone(),
                r.entry.clone(),
                r.config.display().to_string(),
            ]
        })
        .collect();
    print_table(
        &["SERVER", "VERSION", "HOST", "ENTRY", "CONFIG"],
        &rows,
        &ctx.ui,
    )?;
    Ok(ExitStatus::Success)
}
