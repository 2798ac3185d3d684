//! `mcp-reg completions SHELL`: the completion script, generated from the same clap definition.

use clap::CommandFactory;

use crate::ExitStatus;
use crate::cli::Cli;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg completions bash > ~/.local/share/bash-completion/completions/mcp-reg
  mcp-reg completions zsh > \"${fpath[1]}/_mcp-reg\"
  mcp-reg completions fish > ~/.config/fish/completions/mcp-reg.fish")]
pub struct CompletionsArgs {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: &CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "mcp-reg", &mut script);
    crate::commands::out(&String::from_utf8_lossy(&script))?;
    Ok(ExitStatus::Success)
}
