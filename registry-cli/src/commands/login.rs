//! `mcp-reg login`: store a publish token for the registry (from `--token`, a terminal prompt, or
//! standard input).

use std::io::{IsTerminal, Read};

use crate::commands::Ctx;
use crate::config::Credentials;
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg login < token.txt
  echo \"$MCP_REG_TOKEN\" | mcp-reg login --registry https://registry.example.com
  mcp-reg login        (asks for the token without echoing it)

The token is stored per registry URL in the user config dir (credentials.json, mode 0600).
Prefer standard input over --token: command lines end up in shell history.")]
pub struct LoginArgs {
    /// The publish token (an operator creates one with `registry-server token create`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

pub fn run(ctx: &Ctx, args: &LoginArgs) -> anyhow::Result<ExitStatus> {
    let registry = ctx.registry()?;
    let token = match &args.token {
        Some(token) => token.clone(),
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password(format!("token for {registry}: ")).map_err(|err| {
                UserError::new(format!("cannot read the token from the terminal: {err}"))
                    .with_hint("pipe it in: `mcp-reg login < token.txt`")
            })?
        }
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|err| {
                UserError::new(format!("cannot read the token from standard input: {err}"))
                    .with_hint("pipe the token in as UTF-8 text, or pass --token")
            })?;
            text
        }
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(UserError::new("no token given")
            .with_hint("pass --token TOKEN or pipe the token in on standard input")
            .into());
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            UserError::new("the token contains spaces or control characters")
                .with_hint("give only the token, one line, without `Bearer `")
                .into(),
        );
    }
    let creds = Credentials::open()?;
    creds.store(&registry, token)?;
    ctx.ui.info(&format!(
        "{} to {registry} (token stored in {})",
        ctx.ui.green_err("logged in"),
        creds.path().display()
    ));
    Ok(ExitStatus::Success)
}
