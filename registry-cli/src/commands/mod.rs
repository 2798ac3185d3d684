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
pub mod uninstall;
pub mod upgrade;
pub mod validate;
pub mod verify;
pub mod versions;

use std::io::IsTerminal;
use std::time::Duration;

use crate::ExitStatus;
use crate::cli::{Cli, Command, GlobalArgs};
use crate::client::Client;
use crate::config::{self, Credentials};

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let ctx = Ctx::new(cli.global);
    match cli.command {
        Command::Validate(args) => validate::run(&ctx, &args),
        Command::Init(args) => init::run(&ctx, &args),
        Command::Check(args) => check::run(&args),
        Command::Probe(args) => probe::run(&args),
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
        Command::CompatPolicy(args) => compat_policy::run(&ctx, &args),
        Command::Verify(args) => verify::run(&ctx, &args),
        Command::Keygen(args) => keygen::run_keygen(&ctx, &args),
        Command::Keys(args) => keygen::run_keys(&ctx, &args),
        Command::Announce(args) => announce::run(&ctx, &args),
        Command::Discover(args) => discover::run(&ctx, &args),
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

/// Messages on stderr, colors and spinners: all off when stderr is not a terminal, `-q`, or
/// `NO_COLOR` is set (`CLICOLOR_FORCE=1` forces colors, e.g. for CI logs).
#[allow(clippy::struct_excessive_bools)] // independent facts about the terminal
#[derive(Debug, Clone)]
pub struct Ui {
    pub quiet: bool,
    pub verbose: u8,
    /// ANSI styles on stdout.
    pub color_out: bool,
    /// ANSI styles on stderr.
    pub color_err: bool,
    stderr_tty: bool,
}

impl Ui {
    pub fn new(quiet: bool, verbose: u8) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let forced = std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0");
        let stderr_tty = std::io::stderr().is_terminal();
        let color = |tty: bool| !no_color && (forced || tty);
        Self {
            quiet,
            verbose,
            color_out: color(std::io::stdout().is_terminal()),
            color_err: color(stderr_tty),
            stderr_tty,
        }
    }

    /// Progress and outcome messages (suppressed by `-q`).
    pub fn info(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// Details for `-v`.
    pub fn debug(&self, message: &str) {
        if self.verbose > 0 {
            eprintln!("{message}");
        }
    }

    /// Warnings show even with `-q`.
    pub fn warn(&self, message: &str) {
        eprintln!("{}: {message}", paint(self.color_err, YELLOW, "warning"));
    }

    /// `text` in bold on stdout.
    pub fn bold(&self, text: &str) -> String {
        paint(self.color_out, BOLD, text)
    }

    pub fn dim(&self, text: &str) -> String {
        paint(self.color_out, DIM, text)
    }

    pub fn green_err(&self, text: &str) -> String {
        paint(self.color_err, GREEN, text)
    }

    /// A spinner on stderr for network work; hidden unless stderr is a terminal (and not `-q`).
    pub fn spinner(&self, message: &str) -> Spinner {
        let bar = if self.stderr_tty && !self.quiet {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(message.to_owned());
            bar.enable_steady_tick(Duration::from_millis(80));
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        Spinner(bar)
    }
}

const BOLD: &str = "1";
const DIM: &str = "2";
const GREEN: &str = "32";
const YELLOW: &str = "33";
pub const RED: &str = "31";

/// `text` wrapped in an SGR sequence when `on`.
pub fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Clears itself when dropped, so errors print on a clean line.
#[derive(Debug)]
pub struct Spinner(indicatif::ProgressBar);

impl Spinner {
    pub fn set_message(&self, message: &str) {
        self.0.set_message(message.to_owned());
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Splits `NAME[@VERSION]`; the name never contains `@`, so the last `@` separates.
pub fn split_name_version(spec: &str) -> (&str, Option<&str>) {
    match spec.rsplit_once('@') {
        Some((name, version)) if !name.is_empty() && !version.is_empty() => (name, Some(version)),
        _ => (spec, None),
    }
}

/// The width to fit table rows into: the terminal's, `COLUMNS`, or unlimited when stdout is piped.
pub fn output_width() -> Option<usize> {
    if let Some(cols) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(cols);
    }
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
}

/// Cuts `text` to `width` characters, ending in `…` when cut; control characters become spaces so
/// a hostile description cannot move the cursor.
pub fn truncate(text: &str, width: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= width {
        return clean;
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = clean.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Prints rows as left-aligned columns; the last column is cut to the output width.
pub fn print_table(header: &[&str], rows: &[Vec<String>], ui: &Ui) -> std::io::Result<()> {
    use std::io::Write;
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns.saturating_sub(1)) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let max = output_width();
    let mut stdout = std::io::stdout().lock();
    let line = |cells: &[String], head: bool| {
        let mut out = String::new();
        let mut used = 0;
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == columns {
                let cell = match max {
                    Some(max) => truncate(cell, max.saturating_sub(used).max(10)),
                    None => truncate(cell, usize::MAX),
                };
                out.push_str(&cell);
            } else {
                let padded = format!(
                    "{:<width$}  ",
                    truncate(cell, usize::MAX),
                    width = widths[i]
                );
                used += widths[i] + 2;
                out.push_str(&padded);
            }
        }
        let out = out.trim_end().to_owned();
        if head { ui.bold(&out) } else { out }
    };
    let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    writeln!(stdout, "{}", line(&head, true))?;
    for row in rows {
        writeln!(stdout, "{}", line(row, false))?;
    }
    stdout.flush()
}

/// Pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    out(&text)?;
    Ok(())
}

/// Writes `text` to stdout; unlike `print!`, a closed pipe is an error (reported as success by
/// `main`), not a panic.
pub fn out(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
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

    #[test]
    fn truncation_marks_the_cut_and_strips_controls() {
        assert_eq!(truncate("hello world", 5), "hell…");
        assert_eq!(truncate("a\x1b[2Jb", 10), "a [2Jb");
        assert_eq!(truncate("short", 10), "short");
    }
}
