//! `mcp-reg versions NAME`: every published version with its status.

use crate::commands::{Ctx, JsonFlag, print_json, print_table};
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
pub struct VersionsArgs {
    /// The full server name (e.g. io.github.acme/memory).
    pub name: String,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn run(ctx: &Ctx, args: &VersionsArgs) -> anyhow::Result<ExitStatus> {
    let client = ctx.client()?;
    let list = {
        let _spinner = ctx.ui.spinner("fetching versions");
        client.versions(&args.name)?
    };
    let list = list.ok_or_else(|| not_found(&args.name))?;
    if args.output.json {
        print_json(&list)?;
        return Ok(ExitStatus::Success);
    }
    let rows: Vec<Vec<String>> = list
        .servers
        .iter()
        .map(|s| {
            let official = s.official();
            vec![
                s.version().to_owned(),
                official.status.unwrap_or_default(),
                if official.is_latest { "yes" } else { "" }.to_owned(),
                official.published_at.unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &["VERSION", "STATUS", "LATEST", "PUBLISHED"],
        &rows,
        &ctx.ui,
    )?;
    Ok(ExitStatus::Success)
}

pub fn not_found(name: &str) -> anyhow::Error {
    UserError::new(format!("the registry has no server `{name}`"))
        .with_hint("find the exact name with `mcp-reg search WORD`")
        .into()
}
