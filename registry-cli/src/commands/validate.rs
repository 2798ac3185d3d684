//! `mcp-reg validate FILE`: the registry's validation, offline.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use registry_schema::validate::validate_bytes;
use registry_schema::{Policy, Report};
use serde::Serialize;

use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The server.json to check (`-` reads standard input).
    pub file: PathBuf,
    /// Print `{"valid", "issues": [...]}` as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Apply a public registry's rules: what is otherwise a warning (unknown package types, http
    /// remotes, flags with values in their names, a missing `$schema`) becomes an error.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    valid: bool,
    issues: &'a [registry_schema::Issue],
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    let bytes = read_input(args)?;
    let policy = if args.strict {
        Policy::strict()
    } else {
        Policy::lenient()
    };
    let (_, report) = validate_bytes(&bytes, &policy);
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let output = JsonOutput {
            valid: report.is_valid(),
            issues: &report.issues,
        };
        serde_json::to_writer_pretty(&mut stdout, &output)?;
        writeln!(stdout)?;
    } else {
        write_text(&mut stdout, &args.file.display().to_string(), &report)?;
    }
    Ok(if report.is_valid() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn read_input(args: &ValidateArgs) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if args.file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
        return Ok(bytes);
    }
    std::fs::File::open(&args.file)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(|err| {
            UserError::new(format!("cannot read `{}`: {err}", args.file.display()))
                .with_hint("pass the path of a server.json file, or `-` to read standard input")
        })?;
    Ok(bytes)
}

fn write_text(out: &mut impl Write, name: &str, report: &Report) -> std::io::Result<()> {
    for issue in &report.issues {
        writeln!(out, "{issue}")?;
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    if errors == 0 {
        writeln!(out, "{name}: valid ({warnings} warning(s))")
    } else {
        writeln!(
            out,
            "{name}: invalid ({errors} error(s), {warnings} warning(s))"
        )
    }
}
