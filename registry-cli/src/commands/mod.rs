//! One module per subcommand, each owning its `Args` and `run`.

pub mod announce;
pub mod check;
pub mod compat_policy;
pub mod completions;
pub mod diff;
pub mod discover;
pub mod doctor;
pub mod init;
pub mod install;
pub mod keygen;
pub mod list;
pub mod login;
pub mod logout;
pub mod probe;
pub mod publish;
pub mod review;
pub mod search;
pub mod show;
pub mod status;
pub mod trust;
pub mod uninstall;
pub mod upgrade;
pub mod validate;
pub mod verify;
pub mod versions;

use crate::ExitStatus;
use crate::cli::{Cli, Command, GlobalArgs};
use crate::client::Client;
use crate::config::{self, Credentials};
// The output helpers lived here before `output.rs` took every write to stdout/stderr.
pub use crate::output::{Spinner, Ui, out, output_width, paint, print_json, print_table, truncate};

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let ctx = Ctx::new(cli.global);
    match cli.command {
        Command::Validate(args) => validate::run(&ctx, &args),
        Command::Init(args) => init::run(&ctx, &args),
        Command::Check(args) => check::run(&args),
        Command::Probe(args) => probe::run(&ctx, &args),
        Command::Review(args) => review::run(&args),
        Command::Search(args) => search::run(&ctx, &args),
        Command::Show(args) => show::run(&ctx, &args),
        Command::Versions(args) => versions::run(&ctx, &args),
        Command::Diff(args) => diff::run(&ctx, &args),
        Command::Install(args) => install::run(&ctx, &args),
        Command::Uninstall(args) => uninstall::run(&ctx, &args),
        Command::Upgrade(args) => upgrade::run(&ctx, &args),
        Command::Doctor(args) => doctor::run(&args),
        Command::List(args) => list::run(&ctx, &args),
        Command::Login(args) => login::run(&ctx, &args),
        Command::Logout(args) => logout::run(&ctx, &args),
        Command::Publish(args) => publish::run(&ctx, &args),
        Command::Status(args) => status::run(&ctx, &args),
        Command::Deprecate(args) => status::run_deprecate(&ctx, &args),
        Command::CompatPolicy(args) => compat_policy::run(&ctx, &args),
        Command::Verify(args) => verify::run(&ctx, &args),
        Command::Keygen(args) => keygen::run_keygen(&ctx, &args),
        Command::Keys(args) => keygen::run_keys(&ctx, &args),
        Command::Announce(args) => announce::run(&ctx, &args),
        Command::Discover(args) => discover::run(&ctx, &args),
        Command::Trust(args) => trust::run(&ctx, &args),
        Command::Completions(args) => completions::run(&args),
    }
}

/// `--json`, flattened into every command that prints data.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct JsonFlag {
    /// Print the result as JSON on stdout (messages stay on stderr).
    #[arg(long)]
    pub json: bool,
}

/// What every registry command needs: the global options, terminal facts, and the registry.
#[derive(Debug)]
pub struct Ctx {
    pub global: GlobalArgs,
    pub ui: Ui,
}

impl Ctx {
    pub fn new(global: GlobalArgs) -> Self {
        let ui = Ui::new(global.quiet, global.verbose);
        Self { global, ui }
    }

    /// The registry URL (flag, `MCP_REG_REGISTRY`, config file, default).
    pub fn registry(&self) -> anyhow::Result<String> {
        config::registry_url(self.global.registry.as_deref())
    }

    /// A client without credentials (reads are public).
    pub fn client(&self) -> anyhow::Result<Client> {
        let url = self.registry()?;
        self.ui.debug(&format!("registry: {url}"));
        Client::new(&url, None)
    }

    /// A client carrying the stored token for the registry, if there is one.
    pub fn authed_client(&self) -> anyhow::Result<Client> {
        let url = self.registry()?;
        let token = Credentials::open()?.token(&url)?;
        self.ui.debug(&format!(
            "registry: {url} ({})",
            if token.is_some() {
                "logged in"
            } else {
                "not logged in"
            }
        ));
        Client::new(&url, token)
    }
}

/// Splits `NAME[@VERSION]`; the name never contains `@`, so the last `@` separates.
pub fn split_name_version(spec: &str) -> (&str, Option<&str>) {
    match spec.rsplit_once('@') {
        Some((name, version)) if !name.is_empty() && !version.is_empty() => (name, Some(version)),
        _ => (spec, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_version_split_at_the_last_at() {
        assert_eq!(split_name_version("a.b/c@1.0.0"), ("a.b/c", Some("1.0.0")));
        assert_eq!(split_name_version("a.b/c"), ("a.b/c", None));
        assert_eq!(split_name_version("a.b/c@"), ("a.b/c@", None));
    }
}
