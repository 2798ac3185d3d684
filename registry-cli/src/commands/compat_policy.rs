//! `mcp-reg compat-policy`: how the registry applies its compatibility gate, per namespace or server.

use serde_json::Value;

use crate::commands::{Ctx, JsonFlag, out, print_json};
use crate::{ExitStatus, UserError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Policy {
    /// Refuse breaks the version number does not announce (unless the publisher accepts them).
    Enforce,
    /// Store such versions, flagged as breaking.
    Advise,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg compat-policy                                          (list the default and overrides)
  mcp-reg compat-policy --namespace io.github.acme --set advise
  mcp-reg compat-policy --server io.github.acme/memory --set enforce
  mcp-reg compat-policy --namespace io.github.acme --clear

Changing a policy needs a token with `edit` on the namespace (NS/*) or the server.")]
pub struct CompatPolicyArgs {
    /// The namespace (the part of server names before `/`) to change.
    #[arg(long, value_name = "NS", conflicts_with = "server")]
    pub namespace: Option<String>,
    /// The server to change (wins over its namespace's policy).
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// The policy to apply.
    #[arg(
        long = "set",
        value_enum,
        value_name = "POLICY",
        conflicts_with = "clear"
    )]
    pub policy: Option<Policy>,
    /// Remove the override: the enclosing policy applies again.
    #[arg(long)]
    pub clear: bool,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn run(ctx: &Ctx, args: &CompatPolicyArgs) -> anyhow::Result<ExitStatus> {
    let target = match (&args.namespace, &args.server) {
        (Some(namespace), _) => Some(("namespaces", namespace.as_str())),
        (None, Some(server)) => Some(("servers", server.as_str())),
        (None, None) => None,
    };
    let change = match (args.policy, args.clear) {
        (Some(Policy::Enforce), _) => Some(Some("enforce")),
        (Some(Policy::Advise), _) => Some(Some("advise")),
        (None, true) => Some(None),
        (None, false) => None,
    };
    let answer = match (target, change) {
        (None, None) => ctx.client()?.compat_policies()?,
        (Some((scope, name)), Some(policy)) => ctx
            .authed_client()?
            .set_compat_policy(scope, name, policy)?,
        (Some(_), None) => {
            return Err(UserError::new("what should the policy be?")
                .with_hint("add --set enforce|advise, or --clear to remove the override")
                .into());
        }
        (None, Some(_)) => {
            return Err(UserError::new("which namespace or server?")
                .with_hint("add --namespace NS or --server NAME")
                .into());
        }
    };
    if args.output.json {
        print_json(&answer)?;
    } else {
        out(&render(&answer))?;
    }
    Ok(ExitStatus::Success)
}

fn render(answer: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    match answer.get("overrides").and_then(Value::as_array) {
        Some(overrides) => {
            let mut lines = vec![format!("default: {}", text(&answer["default"]))];
            lines.extend(overrides.iter().map(|item| {
                format!(
                    "{} {}: {}",
                    text(&item["scope"]),
                    text(&item["name"]),
                    text(&item["policy"])
                )
            }));
            lines.join("\n") + "\n"
        }
        None => format!(
            "{} {}: {} ({})\n",
            text(&answer["scope"]),
            text(&answer["name"]),
            text(&answer["policy"]),
            text(&answer["source"])
        ),
    }
}
