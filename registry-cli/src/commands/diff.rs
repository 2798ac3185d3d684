//! `mcp-reg diff NAME A B`: the registry's comparison of two published versions, rendered like
//! `check` (exit 0 pass, 100 reject).

use registry_schema::compat::{self, Report, Verdict};
use serde::Deserialize;

use crate::commands::{Ctx, JsonFlag, print_json};
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg diff io.github.acme/memory 1.2.0 latest
  mcp-reg diff io.github.acme/memory 1.2.0 2.0.0 --json")]
pub struct DiffArgs {
    /// The full server name.
    pub name: String,
    /// The earlier version (or `latest`).
    pub from: String,
    /// The later version (or `latest`).
    pub to: String,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn run(ctx: &Ctx, args: &DiffArgs) -> anyhow::Result<ExitStatus> {
    let client = ctx.client()?;
    let value = {
        let _spinner = ctx.ui.spinner("comparing versions");
        client.diff(&args.name, &args.from, &args.to)?
    };
    let report = Report::deserialize(&value).map_err(|err| {
        UserError::new(format!(
            "the registry's diff is not a compatibility report: {err}"
        ))
        .with_hint("check that --registry points at an mcp-reg registry")
    })?;
    if args.output.json {
        print_json(&value)?;
    } else {
        crate::output::out(&compat::render_text(&report))?;
    }
    Ok(match report.verdict {
        Verdict::Pass => ExitStatus::Success,
        Verdict::Reject => ExitStatus::Incompatible,
    })
}
