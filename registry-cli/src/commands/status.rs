//! `mcp-reg status NAME[@VERSION] --set active|deprecated|deleted`: lifecycle changes.

use serde_json::json;

use crate::commands::{Ctx, JsonFlag, out, print_json, split_name_version};
use crate::{ExitStatus, UserError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NewStatus {
    Active,
    Deprecated,
    Deleted,
}

impl NewStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deprecated => "deprecated",
            Self::Deleted => "deleted",
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg status io.github.acme/memory@1.0.0 --set deprecated --message 'use 2.x'
  mcp-reg status io.github.acme/memory --all --set deleted")]
pub struct StatusArgs {
    /// NAME@VERSION, or NAME with --all.
    pub server: String,
    /// The new status.
    #[arg(long = "set", value_enum, value_name = "STATUS")]
    pub status: NewStatus,
    /// Why (shown to users; not allowed with `active`).
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    /// Change every version of the server.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub output: JsonFlag,
}

/// `mcp-reg deprecate NAME@VERSION [--message TEXT]`: the common case of `status --set deprecated`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg deprecate io.github.acme/memory@1.0.0 --message 'use 2.x'
  mcp-reg deprecate io.github.acme/memory --all --message 'moved to io.github.acme/memory-v2'")]
pub struct DeprecateArgs {
    /// NAME@VERSION, or NAME with --all.
    pub server: String,
    /// Why, and what to use instead (shown to users).
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    /// Deprecate every version of the server.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn run_deprecate(ctx: &Ctx, args: &DeprecateArgs) -> anyhow::Result<ExitStatus> {
    run(
        ctx,
        &StatusArgs {
            server: args.server.clone(),
            status: NewStatus::Deprecated,
            message: args.message.clone(),
            all: args.all,
            output: args.output,
        },
    )
}

pub fn run(ctx: &Ctx, args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    let (name, version) = split_name_version(&args.server);
    let mut body = json!({ "status": args.status.as_str() });
    if let Some(message) = &args.message {
        body["statusMessage"] = json!(message);
    }
    let client = ctx.authed_client()?;
    match (version, args.all) {
        (Some(_), true) => Err(
            UserError::new("give either NAME@VERSION or --all, not both")
                .with_hint("drop the @VERSION to change every version")
                .into(),
        ),
        (None, false) => Err(UserError::new(format!("which version of `{name}`?"))
            .with_hint(format!(
                "pass `{name}@VERSION`, or --all to change every version"
            ))
            .into()),
        (Some(version), false) => {
            let response = {
                let _spinner = ctx.ui.spinner("updating status");
                client.set_version_status(name, version, &body)?
            };
            if args.output.json {
                print_json(&response)?;
            } else {
                out(&format!(
                    "{name} {version}: {}{}\n",
                    response.official().status.unwrap_or_default(),
                    if response.official().is_latest {
                        " (latest)"
                    } else {
                        ""
                    }
                ))?;
            }
            Ok(ExitStatus::Success)
        }
        (None, true) => {
            let changed = {
                let _spinner = ctx.ui.spinner("updating status");
                client.set_server_status(name, &body)?
            };
            if args.output.json {
                print_json(&changed)?;
            } else {
                for server in &changed.servers {
                    out(&format!(
                        "{} {}: {}\n",
                        server.name(),
                        server.version(),
                        server.official().status.unwrap_or_default()
                    ))?;
                }
                ctx.ui.info(&format!(
                    "{} version(s) now {}",
                    changed.updated_count,
                    args.status.as_str()
                ));
            }
            Ok(ExitStatus::Success)
        }
    }
}
