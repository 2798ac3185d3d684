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
    // Drift: whether each entry is still as mcp-reg wrote it, or was edited or removed by hand.
    let states: Vec<install::EntryState> = installed.iter().map(install::entry_state).collect();
    if args.output.json {
        let rows: Vec<serde_json::Value> = installed
            .iter()
            .zip(&states)
            .map(|(record, state)| {
                let mut row = serde_json::to_value(record).unwrap_or_default();
                if let (Some(map), Ok(state)) = (row.as_object_mut(), serde_json::to_value(state)) {
                    map.insert("drift".to_owned(), state);
                }
                row
            })
            .collect();
        print_json(&rows)?;
        return Ok(ExitStatus::Success);
    }
    if installed.is_empty() {
        ctx.ui.info("nothing installed by mcp-reg yet");
        return Ok(ExitStatus::Success);
    }
    let rows: Vec<Vec<String>> = installed
        .iter()
        .zip(&states)
        .map(|(r, state)| {
            vec![
                r.server.clone(),
                r.version.clone(),
                r.host.clone(),
                r.entry.clone(),
                match state {
                    install::EntryState::Unchanged => "ok".to_owned(),
                    install::EntryState::Modified => "changed by hand".to_owned(),
                    install::EntryState::Missing => "missing".to_owned(),
                    install::EntryState::Unreadable(reason) => format!("unreadable: {reason}"),
                },
                r.config.display().to_string(),
            ]
        })
        .collect();
    print_table(
        &["SERVER", "VERSION", "HOST", "ENTRY", "STATE", "CONFIG"],
        &rows,
        &ctx.ui,
    )?;
    Ok(ExitStatus::Success)
}
