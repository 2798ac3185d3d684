//! `mcp-reg probe`: run (or reach) an MCP server and write its tool surface.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use registry_schema::{ServerJson, ToolSurface};

use crate::commands::Ctx;
use crate::install::InstallError;
use crate::install::launch::{self, Choice, Platform, RemoteTransport, Support, Values};
use crate::probe::{ProbeError, ProbeOptions, ProbeTarget, probe};
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("source").required(true).args(["manifest", "url", "command"])),
    after_help = "Examples:\n  mcp-reg probe --manifest server.json -o surface.json\n  mcp-reg probe -- npx -y @modelcontextprotocol/server-memory@2025.9.25\n  mcp-reg probe --url http://127.0.0.1:3000/mcp",
    override_usage = "mcp-reg probe --manifest <FILE> [--package <N> | --remote <N>] [OPTIONS]\n       mcp-reg probe --url <URL> [OPTIONS]\n       mcp-reg probe [OPTIONS] -- <CMD> [ARGS]..."
)]
pub struct ProbeArgs {
    /// Probe a package or remote of this server.json (the first remote, else the first package
    /// that maps to a command line, unless --package or --remote says which).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "command"])]
    pub manifest: Option<PathBuf>,
    /// The manifest's package to run, counted from 0 in the order of `packages`.
    #[arg(
        long,
        value_name = "N",
        requires = "manifest",
        conflicts_with = "remote"
    )]
    pub package: Option<usize>,
    /// The manifest's remote to connect to, counted from 0 in the order of `remotes`.
    #[arg(long, value_name = "N", requires = "manifest")]
    pub remote: Option<usize>,
    /// Connect to this streamable-HTTP endpoint instead of running a command.
    #[arg(long, value_name = "URL", conflicts_with = "command")]
    pub url: Option<String>,
    /// A value for the server: an environment variable of the command, or an input of the
    /// manifest (env var, header, argument or `{variable}`). Repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub env: Vec<(String, String)>,
    /// An HTTP header for --url. Repeatable.
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = parse_pair, requires = "url")]
    pub headers: Vec<(String, String)>,
    /// Write the surface here (atomically) instead of to standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Give up after this many seconds in total (a first `npx`/`uvx` run may download).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Give up on one request (one page of a list) after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// The server's command line.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got `{text}`")),
    }
}

pub fn run(ctx: &Ctx, args: &ProbeArgs) -> anyhow::Result<ExitStatus> {
    let target = match target(args)? {
        Ok(target) => target,
        Err(failure) => return Ok(report(&failure.0, failure.1.as_deref())),
    };
    let options = ProbeOptions {
        timeout: Duration::from_secs(args.timeout),
        request_timeout: Duration::from_secs(args.request_timeout),
        ..ProbeOptions::default()
    };
    crate::output::errln(&format!("probing {}", target.describe()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = {
        // Starting a server can take seconds (a first `npx`/`uvx` run downloads it).
        let _spinner = ctx.ui.spinner("capturing the tool surface");
        runtime.block_on(probe(target, &options))
    };
    drop(runtime);
    let surface = match result {
        Ok(surface) => surface,
        Err(err) => return Ok(report(&err.to_string(), err.hint().as_deref())),
    };
    let mut json = serde_json::to_vec_pretty(&surface.to_value())?;
    json.push(b'\n');
    if let Some(path) = &args.output {
        crate::install::atomic::replace(path, &json, false).map_err(|err| {
            UserError::new(err.to_string())
                .with_hint("choose a writable path for -o, or leave it out to print the surface")
        })?;
        crate::output::errln(&format!("wrote {}: {}", path.display(), summary(&surface)));
    } else {
        crate::output::out_bytes(&json)?;
        crate::output::errln(&summary(&surface));
    }
    crate::commands::review::print_after_probe(&surface);
    Ok(ExitStatus::Success)
}

/// The probe's answer is "no": print the reason, and exit 1.
fn report(message: &str, hint: Option<&str>) -> ExitStatus {
    crate::output::error(message);
    if let Some(hint) = hint {
        crate::output::hint(hint);
    }
    ExitStatus::Failure
}

fn summary(surface: &ToolSurface) -> String {
    let count = |n: Option<usize>, what: &str| n.map(|n| format!(", {n} {what}"));
    let mut out = format!(
        "{} {} (protocol {})",
        surface.server_info.name, surface.server_info.version, surface.protocol_version
    );
    for part in [
        count(surface.tools.as_ref().map(Vec::len), "tools"),
        count(surface.prompts.as_ref().map(Vec::len), "prompts"),
        count(
            surface.resource_templates.as_ref().map(Vec::len),
            "resource templates",
        ),
        count(surface.resources.as_ref().map(Vec::len), "resources"),
    ]
    .into_iter()
    .flatten()
    {
        out.push_str(&part);
    }
    out
}

/// A failure that is the manifest's (exit 1): message and hint.
struct Failure(String, Option<String>);

/// The target, a [`Failure`] when the manifest cannot be probed, or an error for bad usage.
fn target(args: &ProbeArgs) -> anyhow::Result<Result<ProbeTarget, Failure>> {
    if let Some(path) = &args.manifest {
        return manifest_target(args, path);
    }
    if let Some(url) = &args.url {
        return Ok(Ok(ProbeTarget::Url {
            url: url.clone(),
            transport: RemoteTransport::StreamableHttp,
            headers: args.headers.clone(),
        }));
    }
    let Some((program, rest)) = args.command.split_first() else {
        return Err(UserError::new("nothing to probe")
            .with_hint("pass --manifest server.json, --url URL, or a command line after `--`")
            .into());
    };
    Ok(Ok(ProbeTarget::Command {
        program: program.clone(),
        args: rest.to_vec(),
        env: args.env.clone(),
    }))
}

fn manifest_target(
    args: &ProbeArgs,
    path: &std::path::Path,
) -> anyhow::Result<Result<ProbeTarget, Failure>> {
    let bytes = std::fs::read(path).map_err(|err| {
        UserError::new(format!("cannot read `{}`: {err}", path.display()))
            .with_hint("pass the path of a server.json file")
    })?;
    let server: ServerJson = match serde_json::from_slice(&bytes) {
        Ok(server) => server,
        Err(err) => {
            return Ok(Err(Failure(
                format!("`{}` is not a server.json: {err}", path.display()),
                Some(format!(
                    "run `mcp-reg validate {}` for details",
                    path.display()
                )),
            )));
        }
    };
    let choice = match (args.package, args.remote) {
        (Some(index), _) => Choice::Package(index),
        (None, Some(index)) => Choice::Remote(index),
        (None, None) => Choice::Auto,
    };
    let values: Values = args.env.iter().cloned().collect();
    let resolved = launch::select(&server, choice, Support::ALL)
        .and_then(|choice| launch::resolve(&server, choice, &values, Platform::current()));
    let spec = match resolved {
        Ok(resolved) => resolved.spec,
        Err(err) => {
            let hint = match &err {
                InstallError::MissingInput { key, .. } => format!("pass --env {key}=VALUE"),
                _ => "pick another entry with --package N or --remote N, or start the server \
                      yourself and run `mcp-reg probe -- CMD ARGS...`"
                    .to_owned(),
            };
            return Ok(Err(Failure(
                format!("cannot probe `{}`: {err}", path.display()),
                Some(hint),
            )));
        }
    };
    Ok(ProbeTarget::from_launch(&spec)
        .map_err(|err: ProbeError| Failure(err.to_string(), err.hint())))
}
