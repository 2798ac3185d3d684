//! The one place `mcp-reg` writes to its standard streams; nothing else in the crate uses a print
//! macro or `std::io::{stdout, stderr}` (`lib.rs` denies the macros, and `tests/terminal.rs` greps
//! the sources for both).
//!
//! - **stdout carries data only**: tables, JSON, captures, reports, diffs, scripts ([`out`],
//!   [`outln!`], [`stdout`], [`print_table`], [`print_json`]).
//! - **stderr carries everything else**: messages and `-v` details ([`Ui`]), `warning:`/`error:`/
//!   `hint:` lines, prompts ([`prompt`]) and spinners ([`Ui::spinner`]).
//!
//! Colour: text is styled with [`anstyle`] and written through [`anstream`], which decides per
//! stream, the way the ecosystem does: `NO_COLOR` (non-empty) turns it off, then `CLICOLOR_FORCE`
//! (non-empty, not `0`) on, then `CLICOLOR=0` off; otherwise a terminal (with `TERM` set and not
//! `dumb`, or under `CI`, whose logs render colour) gets colour and a pipe or file plain text. Spinners draw only when stderr is a terminal
//! and `-q` is not given.
//!
//! A closed stdout (`mcp-reg search x | head -1`): Rust ignores `SIGPIPE`, so a write fails with
//! `BrokenPipe` instead of killing the process. Every stdout write here returns that error, the
//! command stops at its `?`, and `main` exits 0 without a message, as `head` asked for no more.
//! Writes to stderr ignore errors (there is nowhere left to report them).

use std::fmt;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anstyle::{AnsiColor, Style};

/// The `error:` prefix.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// The `warning:` prefix, and doctor's `warn`.
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
/// Outcomes such as `installed` and `logged in`, and doctor's `ok`.
pub const SUCCESS: Style = AnsiColor::Green.on_default();
/// Table headers and `show`'s section titles.
pub const HEADING: Style = Style::new().bold();
/// Secondary text (endpoints, sources).
pub const DIM: Style = Style::new().dimmed();

/// `text` in `style`; the stream it is written to strips the codes when it takes no colour.
pub fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// stdout, locked, stripping styles unless it takes colour.
pub fn stdout() -> anstream::AutoStream<io::StdoutLock<'static>> {
    anstream::stdout().lock()
}

/// Writes data to stdout and flushes; a closed pipe is a `BrokenPipe` error (see the module docs).
pub fn out(text: &str) -> io::Result<()> {
    let mut stdout = stdout();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Writes raw bytes (e.g. pretty JSON already rendered) to stdout.
pub fn out_bytes(bytes: &[u8]) -> io::Result<()> {
    let mut stdout = stdout();
    stdout.write_all(bytes)?;
    stdout.flush()
}

#[doc(hidden)]
pub fn out_line(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut text = args.to_string();
    text.push('\n');
    out(&text)
}

/// `println!` for data: formats one line onto stdout and returns the write's `io::Result`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::out_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Writes `text` to stderr as is (no newline added), above any spinner.
pub fn err(text: &str) {
    suspended(|| {
        let mut stderr = anstream::stderr().lock();
        let _ = stderr.write_all(text.as_bytes());
        let _ = stderr.flush();
    });
}

/// One message line on stderr.
pub fn errln(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    err(&line);
}

/// `error: MESSAGE` on stderr, the prefix in red.
pub fn error(message: &str) {
    errln(&format!("{}: {message}", paint(ERROR, "error")));
}

/// `warning: MESSAGE` on stderr, the prefix in yellow.
pub fn warning(message: &str) {
    errln(&format!("{}: {message}", paint(WARNING, "warning")));
}

/// `hint: MESSAGE` on stderr.
pub fn hint(message: &str) {
    errln(&format!("hint: {message}"));
}

/// Asks on stderr (the question as given, no newline added) and reads one line from stdin,
/// without its line ending. Spinners stay off the screen while the user types.
pub fn prompt(question: &str) -> io::Result<String> {
    let mut line = String::new();
    let mut read = Ok(0);
    suspended(|| {
        let mut stderr = anstream::stderr().lock();
        let _ = stderr.write_all(question.as_bytes());
        let _ = stderr.flush();
        drop(stderr);
        read = io::stdin().lock().read_line(&mut line);
    });
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// `QUESTION [y/N] ` on stderr; true for `y`/`yes`.
pub fn confirm(question: &str) -> io::Result<bool> {
    let answer = prompt(&format!("{question} [y/N] "))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// A person can answer prompts: stdin and stderr are terminals.
pub fn interactive() -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal()
}

/// stderr is a terminal (spinners, prompts).
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// The width of the terminal stdout is, if it is one.
pub fn stdout_terminal_width() -> Option<usize> {
    terminal_size::terminal_size_of(io::stdout()).map(|(w, _)| usize::from(w.0))
}

/// Messages on stderr and spinners, for `-q` and `-v`.
#[derive(Debug, Clone)]
pub struct Ui {
    pub quiet: bool,
    pub verbose: u8,
    stderr_tty: bool,
}

impl Ui {
    pub fn new(quiet: bool, verbose: u8) -> Self {
        Self {
            quiet,
            verbose,
            stderr_tty: stderr_is_terminal(),
        }
    }

    /// Progress and outcome messages (suppressed by `-q`).
    pub fn info(&self, message: &str) {
        if !self.quiet {
            errln(message);
        }
    }

    /// Details for `-v`.
    pub fn debug(&self, message: &str) {
        if self.verbose > 0 {
            errln(message);
        }
    }

    /// Warnings show even with `-q`.
    pub fn warn(&self, message: &str) {
        warning(message);
    }

    /// `text` in bold (headings).
    pub fn bold(&self, text: &str) -> String {
        paint(HEADING, text)
    }

    pub fn dim(&self, text: &str) -> String {
        paint(DIM, text)
    }

    /// `text` in green (an outcome). The name predates per-stream colour: it is fine on stdout too.
    pub fn green_err(&self, text: &str) -> String {
        paint(SUCCESS, text)
    }

    /// A spinner on stderr for slow work; hidden unless stderr is a terminal (and not `-q`).
    /// Messages written through this module meanwhile appear above it.
    pub fn spinner(&self, message: &str) -> Spinner {
        if !self.stderr_tty || self.quiet {
            return Spinner {
                bar: indicatif::ProgressBar::hidden(),
                id: None,
            };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(80));
        let id = NEXT_SPINNER.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut active) = ACTIVE.lock() {
            active.push((id, bar.clone()));
        }
        Spinner { bar, id: Some(id) }
    }
}

static NEXT_SPINNER: AtomicU64 = AtomicU64::new(0);
/// The spinners on screen, so a message can clear them, print, and let them redraw.
static ACTIVE: Mutex<Vec<(u64, indicatif::ProgressBar)>> = Mutex::new(Vec::new());

fn suspended(write: impl FnOnce()) {
    let bars: Vec<indicatif::ProgressBar> = ACTIVE
        .lock()
        .map(|active| active.iter().map(|(_, bar)| bar.clone()).collect())
        .unwrap_or_default();
    suspend_all(&bars, write);
}

fn suspend_all(bars: &[indicatif::ProgressBar], write: impl FnOnce()) {
    match bars.split_first() {
        None => write(),
        Some((bar, rest)) => bar.suspend(|| suspend_all(rest, write)),
    }
}

/// Clears itself when dropped, so errors print on a clean line.
#[derive(Debug)]
pub struct Spinner {
    bar: indicatif::ProgressBar,
    id: Option<u64>,
}

impl Spinner {
    pub fn set_message(&self, message: &str) {
        self.bar.set_message(message.to_owned());
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(id) = self.id
            && let Ok(mut active) = ACTIVE.lock()
        {
            active.retain(|(other, _)| *other != id);
        }
        self.bar.finish_and_clear();
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
    stdout_terminal_width()
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

/// Prints rows as left-aligned columns on stdout, the header in bold; the last column is cut to
/// the output width.
pub fn print_table(header: &[&str], rows: &[Vec<String>], ui: &Ui) -> io::Result<()> {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns.saturating_sub(1)) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let max = output_width();
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
    let mut text = line(&head, true);
    text.push('\n');
    for row in rows {
        text.push_str(&line(row, false));
        text.push('\n');
    }
    out(&text)
}

/// Pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    out(&text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_marks_the_cut_and_strips_controls() {
        assert_eq!(truncate("hello world", 5), "hell…");
        assert_eq!(truncate("a\x1b[2Jb", 10), "a [2Jb");
        assert_eq!(truncate("short", 10), "short");
    }

    #[test]
    fn paint_wraps_in_sgr_and_resets() {
        assert_eq!(paint(ERROR, "error"), "\x1b[1m\x1b[31merror\x1b[0m");
        assert_eq!(paint(Style::new(), "plain"), "plain");
    }
}
