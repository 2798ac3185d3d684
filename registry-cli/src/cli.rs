//! Command-line arguments.

use clap::{ArgAction, Parser, Subcommand};

use crate::commands::announce::AnnounceArgs;
use crate::commands::check::CheckArgs;
use crate::commands::completions::CompletionsArgs;
use crate::commands::diff::DiffArgs;
use crate::commands::discover::DiscoverArgs;
use crate::commands::doctor::DoctorArgs;
use crate::commands::init::InitArgs;
use crate::commands::install::InstallArgs;
use crate::commands::keygen::{KeygenArgs, KeysArgs};
use crate::commands::list::ListArgs;
use crate::commands::login::LoginArgs;
use crate::commands::logout::LogoutArgs;
use crate::commands::probe::ProbeArgs;
use crate::commands::publish::PublishArgs;
use crate::commands::review::ReviewArgs;
use crate::commands::search::SearchArgs;
use crate::commands::show::ShowArgs;
use crate::commands::status::StatusArgs;
use crate::commands::uninstall::UninstallArgs;
use crate::commands::upgrade::UpgradeArgs;
use crate::commands::validate::ValidateArgs;
use crate::commands::verify::VerifyArgs;
use crate::commands::versions::VersionsArgs;

const EXAMPLES: &str = "\
Examples:
  mcp-reg search memory                     find servers
  mcp-reg show io.github.acme/memory        manifest, tools, versions, compatibility
  mcp-reg install memory --host cursor      add it to Cursor's config
  mcp-reg login < token.txt                 store a publish token for the registry
  mcp-reg publish server.json --surface surface.json

Exit status: 0 ok, 1 error (with a `hint:` line), 2 bad arguments, 3 unsigned (verify),
100 incompatible (check, diff), 101 could not run / bug. Set NO_COLOR to disable colors.";

/// Find, check, publish and install MCP servers.
#[derive(Debug, Parser)]
#[command(name = "mcp-reg", version, about, max_term_width = 100, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// The registry to talk to [default: the config file's `registry`, else http://127.0.0.1:8080].
    #[arg(long, global = true, env = "MCP_REG_REGISTRY", value_name = "URL")]
    pub registry: Option<String>,
    /// Print only results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more about what is happening (repeatable).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a server.json from package.json, pyproject.toml or Cargo.toml in this directory.
    Init(InitArgs),
    /// Check a server.json against the official schema and registry rules (and the registry's own
    /// validation when one is configured).
    Validate(ValidateArgs),
    /// Compare two versions of a server's tool surface and report the semver bump they need
    /// (exit 0 compatible, 100 incompatible, 101 could not run).
    Check(CheckArgs),
    /// Run or reach an MCP server and capture its tool surface (tools, prompts, resources).
    Probe(ProbeArgs),
    /// Review a capture or server.json for tool poisoning, hidden text, shadowing and other
    /// model-facing risks (exit 0 below --fail-on, 100 at or above it, 1 bad input).
    Review(ReviewArgs),
    /// Find servers in the registry.
    Search(SearchArgs),
    /// Show one server: packages, remotes, inputs, tools, versions and compatibility.
    Show(ShowArgs),
    /// List every version of a server.
    Versions(VersionsArgs),
    /// Compare two published versions (exit 0 compatible, 100 incompatible).
    Diff(DiffArgs),
    /// Add a server to MCP hosts' config files (Cursor, VS Code, Claude Desktop, ...).
    Install(InstallArgs),
    /// Remove a server mcp-reg installed.
    Uninstall(UninstallArgs),
    /// Show the compatibility report of an installed server's latest version, and install it.
    Upgrade(UpgradeArgs),
    /// Check this machine: runtimes on PATH, host config files, disabled entries.
    Doctor(DoctorArgs),
    /// List what mcp-reg installed, and where.
    List(ListArgs),
    /// Store a publish token for the registry.
    Login(LoginArgs),
    /// Forget the stored token for the registry.
    Logout(LogoutArgs),
    /// Validate, check compatibility against the latest version, and publish a server.json.
    Publish(PublishArgs),
    /// Mark a version (or every version) active, deprecated or deleted.
    Status(StatusArgs),
    /// Mark a version (or every version) deprecated: `status --set deprecated`.
    Deprecate(crate::commands::status::DeprecateArgs),
    /// Show or change how the registry's compatibility gate applies to a namespace or server.
    CompatPolicy(crate::commands::compat_policy::CompatPolicyArgs),
    /// Re-verify a version's signed provenance here, without trusting the registry
    /// (exit 0 verified, 1 failed, 3 unsigned).
    Verify(VerifyArgs),
    /// Create a key pair for signing what you publish (`publish --sign-key`).
    Keygen(KeygenArgs),
    /// Register, list or revoke a namespace's signing keys on the registry.
    Keys(KeysArgs),
    /// Announce a running MCP server on the local network (mDNS) until interrupted.
    Announce(AnnounceArgs),
    /// List MCP servers and registries on the local network; --watch streams changes, --sync
    /// installs them.
    Discover(DiscoverArgs),
    /// Show the Sigstore trusted roots verification uses, or update them over TUF (the only
    /// command that fetches trust material).
    Trust(crate::commands::trust::TrustArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
