//! `mcp-reg logout`: forget the stored token for the registry.

use crate::ExitStatus;
use crate::commands::Ctx;
use crate::config::Credentials;

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {}

pub fn run(ctx: &Ctx, _args: &LogoutArgs) -> anyhow::Result<ExitStatus> {
    let registry = ctx.registry()?;
    if Credentials::open()?.remove(&registry)? {
        ctx.ui.info(&format!("logged out of {registry}"));
    } else {
        ctx.ui
            .info(&format!("not logged in to {registry}; nothing to do"));
    }
    Ok(ExitStatus::Success)
}
