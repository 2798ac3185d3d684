//! `mcp-reg install NAME[@VERSION]`: resolve the name in the registry, ask for the inputs the
//! server needs, and write an entry into each host's config file (through `crate::install`, which
//! keeps the rest of the file intact and records what it wrote).

use std::path::PathBuf;

use registry_schema::{Manifest, ServerJson, compat};
use serde::Deserialize;
use serde_json::json;

use crate::client::{Client, ServerResponse};
use crate::commands::{Ctx, JsonFlag, out, print_json, split_name_version};
use crate::config;
use crate::install::{
    self, Host, HostEnv, InstallError, InstallOptions, RecordStore, Scope, Values,
    hosts::SecretStyle, launch,
};
use crate::provenance::{ProvenanceSettings, Signer, Verdict, enforce_pin, verify_published};
use crate::resolve::{self, Ask};
use crate::{ExitStatus, UserError};
use registry_schema::review::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    /// The user's own config file (every project).
    User,
    /// The current directory's project config (e.g. `.vscode/mcp.json`).
    Project,
}

impl From<ScopeArg> for Scope {
    fn from(scope: ScopeArg) -> Self {
        match scope {
            ScopeArg::User => Scope::User,
            ScopeArg::Project => Scope::Project,
        }
    }
}

#[allow(clippy::struct_excessive_bools)] // independent command-line flags
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg install memory --host cursor
  mcp-reg install io.github.acme/memory@1.2.0 --host vscode --scope project --env API_KEY=…
  mcp-reg install memory --host claude-desktop --dry-run     (show the change only)
  mcp-reg install memory --host cursor --print               (print the entry, touch nothing)
  mcp-reg install memory --host cursor --print --placeholders  (with <KEY> for values not given)

Without --host, every host found on this machine is used.")]
pub struct InstallArgs {
    /// NAME or NAME@VERSION: the full name, or a short one (title, the part after `/`, or the
    /// namespace owner, e.g. `github`).
    pub server: String,
    /// Host to install into (repeatable): cursor, vscode, claude-desktop, claude-code, windsurf, ...
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Which config file of the host.
    #[arg(long, value_enum, default_value_t = ScopeArg::User)]
    pub scope: ScopeArg,
    /// A value for an input the server needs (env var, header, argument, `{variable}`); repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub env: Vec<(String, String)>,
    /// Show the change to each config file; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// Print the host's config entry (to paste yourself); write nothing.
    #[arg(long, conflicts_with = "dry_run")]
    pub print: bool,
    /// With --print: write `<KEY>` for every value not given with --env instead of asking (secrets
    /// the host can reference stay references); the registry's web page shows these snippets.
    #[arg(long, requires = "print")]
    pub placeholders: bool,
    /// Replace an entry of the same name that mcp-reg did not write (or that was edited since).
    #[arg(long)]
    pub force: bool,
    /// Write secrets in plain text into hosts that cannot reference them.
    #[arg(long)]
    pub allow_plaintext_secrets: bool,
    /// Install an unsigned version even though the config says `[provenance] require-signed = true`.
    /// (A signed version whose provenance does not verify is never installed.)
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Install even though the security review of what the server tells the model found a
    /// high-severity problem (`--yes` does not override that).
    #[arg(long)]
    pub allow_risk: bool,
    /// Accept a signer other than the one pinned for this server when it was first installed or verified
    /// (a key rotation or a moved repository), or an unsigned version after signed ones; the new signer
    /// becomes the pin.
    #[arg(long)]
    pub accept_signer: bool,
    /// A Sigstore trusted_root.json to trust besides the public-good root (repeatable).
    #[arg(long = "trusted-root", value_name = "FILE")]
    pub trusted_roots: Vec<PathBuf>,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

#[allow(clippy::too_many_lines)] // one linear flow: resolve, ask, plan, confirm, apply, report
pub fn run(ctx: &Ctx, args: &InstallArgs) -> anyhow::Result<ExitStatus> {
    let (query, version) = split_name_version(&args.server);
    let client = ctx.client()?;
    let response = resolve(
        ctx,
        &client,
        query,
        version.unwrap_or("latest"),
        Ask::new("install", args.yes),
    )?;
    let server = ServerJson::deserialize(&response.server).map_err(|err| {
        UserError::new(format!(
            "the registry's manifest of `{}` is unreadable: {err}",
            response.name()
        ))
        .with_hint("try another version (`mcp-reg versions NAME`)")
    })?;
    let name = server.name.as_str().to_owned();
    let version = server.version.as_str().to_owned();
    ctx.ui
        .debug(&format!("resolved `{query}` to {name} {version}"));
    let signed = check_provenance(ctx, &client, &response, args)?;
    check_review(ctx, &response, args.allow_risk)?;
    let official = response.official();
    if let Some(status) = official.status.as_deref().filter(|s| *s != "active") {
        ctx.ui.warn(&format!(
            "{name} {version} is {status}{}",
            official
                .status_message
                .as_deref()
                .map(|m| format!(": {}", m.replace(['\n', '\r'], " ")))
                .unwrap_or_default()
        ));
    }

    let scope = Scope::from(args.scope);
    let project = if scope == Scope::Project {
        Some(std::env::current_dir()?)
    } else {
        None
    };
    let env = HostEnv::from_process(project).map_err(install_error)?;
    let hosts = hosts(&args.hosts, &env, args.print)?;

    let mut values: Values = args.env.iter().cloned().collect();
    let opts_base = InstallOptions {
        allow_plaintext_secrets: args.allow_plaintext_secrets,
        force: args.force,
        digest: signed
            .as_ref()
            .map(|summary| summary.digest.clone())
            .or_else(|| manifest_digest(&response)),
        signed_by: signed.as_ref().map(|summary| summary.identity.clone()),
        surface_digest: compat::surface_of(&server)
            .and_then(Result::ok)
            .and_then(|s| s.digest().ok())
            .map(|d| d.to_string()),
        ..InstallOptions::default()
    };

    let records = RecordStore::new(config::data_dir()?);
    let mut results = Vec::new();
    let mut told_optional = false;
    for host in hosts {
        let choice = launch::select(&server, launch::Choice::Auto, host.profile().support())
            .map_err(|err| with_host(host, install_error(err)))?;
        if !args.placeholders {
            ask_missing(&server, choice, host, &mut values, args.yes)?;
            if !told_optional {
                told_optional = tell_optional_left_out(ctx, &server, choice, &values);
            }
        }
        let opts = InstallOptions {
            choice,
            values: values.clone(),
            placeholders: args.placeholders,
            ..opts_base.clone()
        };
        if args.print {
            let snippet = install::snippet(&server, host, env.platform, &opts)
                .map_err(|err| with_host(host, install_error(err)))?;
            if !args.output.json {
                ctx.ui.info(&format!("# {} ({})", host.name(), host.id()));
                out(&snippet)?;
                if !snippet.ends_with('\n') {
                    out("\n")?;
                }
            }
            results.push(json!({ "host": host.id(), "snippet": snippet }));
            continue;
        }
        let mut plan = install::plan_install(&server, host, scope, &env, &opts, &records)
            .map_err(|err| with_host(host, install_error(err)))?;
        if args.dry_run {
            let diff = plan.diff();
            if !args.output.json {
                if diff.is_empty() {
                    ctx.ui.info(&format!(
                        "{}: {} already has this entry",
                        host.name(),
                        plan.path.display()
                    ));
                } else {
                    out(&diff)?;
                }
            }
            results.push(json!({
                "host": host.id(),
                "path": plan.path,
                "entry": plan.entry_name,
                "diff": diff,
            }));
            continue;
        }
        if !args.yes && crate::output::interactive() {
            crate::output::err(&plan.diff());
            if !confirm(&format!(
                "write {} into {}?",
                plan.entry_name,
                plan.path.display()
            ))? {
                ctx.ui.info(&format!("skipped {}", host.name()));
                continue;
            }
        }
        let mut applied = plan.apply(&records);
        // Another program (or mcp-reg process) saved the file meanwhile: plan against its new
        // content and apply again; mcp-reg processes apply one at a time, so this ends.
        for _ in 1..install::ATTEMPTS {
            if !matches!(applied, Err(InstallError::ConcurrentModification { .. })) {
                break;
            }
            plan = install::plan_install(&server, host, scope, &env, &opts, &records)
                .map_err(|err| with_host(host, install_error(err)))?;
            applied = plan.apply(&records);
        }
        let applied = applied.map_err(|err| with_host(host, install_error(err)))?;
        ctx.ui.info(&format!(
            "{} {name} {version} into {} ({}{})",
            ctx.ui.green_err(if applied.changed {
                "installed"
            } else {
                "already installed"
            }),
            host.name(),
            applied.path.display(),
            applied
                .backup
                .as_ref()
                .map(|b| format!("; backup {}", b.display()))
                .unwrap_or_default()
        ));
        for secret in &plan.plaintext_secrets {
            ctx.ui.warn(&format!(
                "{secret} is written in plain text into {}",
                applied.path.display()
            ));
        }
        for note in &plan.notes {
            ctx.ui.info(&format!("  note: {note}"));
        }
        if let Some(missing) = plan.resolved.as_ref().and_then(missing_runtime) {
            ctx.ui.warn(&format!(
                "`{missing}` is not on PATH here: {} cannot start the server until it is installed",
                host.name()
            ));
        }
        results.push(json!({
            "host": host.id(),
            "path": applied.path,
            "entry": plan.entry_name,
            "changed": applied.changed,
            "backup": applied.backup,
            "envToSet": plan.env_to_set,
        }));
    }
    if args.output.json {
        print_json(&json!({ "name": name, "version": version, "hosts": results }))?;
    }
    Ok(ExitStatus::Success)
}

/// The version `query` (a full or short name, see [`crate::resolve`]) means.
pub fn resolve(
    ctx: &Ctx,
    client: &Client,
    query: &str,
    version: &str,
    ask: Ask<'_>,
) -> anyhow::Result<ServerResponse> {
    let name = resolve::registry_name(client, query, ask, &ctx.ui)?;
    let _spinner = ctx.ui.spinner("fetching the server");
    resolve::version(client, &name, version)
}

/// Verifies the version's provenance here when it is signed (refusing to install on failure), and
/// applies the user's policy to unsigned versions. Returns what verified.
fn check_provenance(
    ctx: &Ctx,
    client: &Client,
    response: &ServerResponse,
    args: &InstallArgs,
) -> anyhow::Result<Option<Box<registry_provenance::Summary>>> {
    let settings = ProvenanceSettings::load()?;
    let trust = settings.trust_roots(&args.trusted_roots)?;
    let (name, version) = (response.name(), response.version());
    let verdict = {
        let _spinner = ctx.ui.spinner("verifying the provenance");
        verify_published(client, &response.server, name, version, &trust)?
    };
    // Held to the signer pinned for the server (trust on first use), whatever the registry says.
    let pin = |observed: Option<&Signer>| {
        let record = !args.dry_run && !args.print;
        enforce_pin(&ctx.ui, name, version, observed, args.accept_signer, record)
    };
    match verdict {
        Verdict::Verified(summary) => {
            pin(Some(&Signer::of(&summary)))?;
            ctx.ui.info(&format!(
                "provenance verified: {}",
                crate::provenance::describe_signer(&summary)
            ));
            Ok(Some(summary))
        }
        Verdict::Failed(reason) => Err(UserError::new(format!(
            "the provenance of {name} {version} does not verify: {reason}; nothing was installed"
        ))
        .with_hint(
            "the manifest may have been tampered with; tell the registry operator (`mcp-reg verify` shows the details)",
        )
        .into()),
        Verdict::Unsigned if settings.require_signed && !args.allow_unsigned => {
            Err(UserError::new(format!(
                "{name} {version} is unsigned and your config requires signed provenance; nothing was installed"
            ))
            .with_hint("pass --allow-unsigned to install it anyway, or ask the publisher to sign it")
            .into())
        }
        Verdict::Unsigned => {
            pin(None)?;
            ctx.ui.debug(&format!("{name} {version} is unsigned"));
            Ok(None)
        }
    }
}

/// Reviews what the server tells the model (its descriptions and the tool surface it carries), here,
/// so the registry's word is not needed: medium and high findings are shown, and a high one stops the
/// install unless `allow_risk`.
fn check_review(ctx: &Ctx, response: &ServerResponse, allow_risk: bool) -> anyhow::Result<()> {
    let review = registry_schema::review::review_manifest_value(&response.server);
    let (name, version) = (response.name(), response.version());
    if !review.reaches(Severity::Medium) {
        ctx.ui.debug(&format!(
            "security review of {name} {version}: {}",
            crate::commands::review::summary(&review)
        ));
        return Ok(());
    }
    ctx.ui.warn(&format!(
        "the security review of {name} {version} found problems in what it tells the model:"
    ));
    crate::output::err(&crate::commands::review::render_text(&review));
    if review.reaches(Severity::High) && !allow_risk {
        return Err(UserError::new(format!(
            "not installing {name} {version}: the security review found a high-severity problem"
        ))
        .with_hint(
            "read the findings above (docs/security-review.md explains each rule); pass --allow-risk to install it anyway",
        )
        .into());
    }
    Ok(())
}

/// The command a stdio entry starts, when it is neither a path that exists nor a program on PATH.
fn missing_runtime(resolved: &install::Resolved) -> Option<String> {
    let launch::LaunchSpec::Stdio { command, .. } = &resolved.spec else {
        return None;
    };
    let path = std::path::Path::new(command);
    let found = if path.components().count() > 1 {
        path.exists()
    } else {
        crate::commands::doctor::find_on_path(command).is_some()
    };
    (!found).then(|| command.clone())
}

fn manifest_digest(response: &ServerResponse) -> Option<String> {
    let raw = serde_json::to_string(&response.server).ok()?;
    Manifest::from_stored(raw)
        .ok()?
        .digest()
        .ok()
        .map(|d| d.to_string())
}

/// `--host` values, or the hosts detected on this machine.
fn hosts(ids: &[String], env: &HostEnv, print: bool) -> anyhow::Result<Vec<Host>> {
    if ids.is_empty() {
        let found = Host::detect(env);
        if found.is_empty() || (print && found.len() > 1) {
            let all: Vec<&str> = Host::ALL.iter().map(|h| h.id()).collect();
            return Err(UserError::new(if found.is_empty() {
                "no MCP host found on this machine".to_owned()
            } else {
                "--print needs one host".to_owned()
            })
            .with_hint(format!("pass --host HOST, one of: {}", all.join(", ")))
            .into());
        }
        return Ok(found);
    }
    let mut hosts = Vec::new();
    for id in ids {
        let host = Host::from_id(id).ok_or_else(|| {
            let all: Vec<&str> = Host::ALL.iter().map(|h| h.id()).collect();
            UserError::new(format!("unknown host `{id}`"))
                .with_hint(format!("use one of: {}", all.join(", ")))
        })?;
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Ok(hosts)
}

/// Fills in required inputs that have no value yet: prompt on a terminal (secrets without echo),
/// else fail naming the input.
/// Values for the required inputs the entry needs: from `--env`, else from this process's
/// environment, else asked for on a terminal. A secret is never asked for when the host keeps only a
/// reference to it (`${NAME}`, `${env:NAME}`, an input prompt...): the host reads the value itself, and
/// the plan's notes say which variable to set.
/// Names the optional settings nobody gave a value for (they are left out of the host's entry, so the
/// server runs with its own defaults) and how to set one. Returns whether anything was said.
fn tell_optional_left_out(
    ctx: &Ctx,
    server: &ServerJson,
    choice: launch::Choice,
    values: &Values,
) -> bool {
    let left_out: Vec<launch::InputSpec> = launch::inputs(server, choice)
        .into_iter()
        .filter(|input| !input.required && !input.has_value && input.default.is_none())
        .filter(|input| !values.contains_key(&input.key))
        .collect();
    let Some(first) = left_out.first() else {
        return false;
    };
    let labels: Vec<String> = left_out.iter().map(labelled).collect();
    ctx.ui.info(&format!(
        "optional settings left out: {}; pass --env {}=VALUE (or reinstall with it) to set one",
        labels.join(", "),
        first.key
    ));
    true
}

/// `KEY (description)`, on one line, for messages and prompts.
fn labelled(input: &launch::InputSpec) -> String {
    match &input.description {
        Some(d) => format!("{} ({})", input.key, d.replace(['\n', '\r'], " ")),
        None => input.key.clone(),
    }
}

fn ask_missing(
    server: &ServerJson,
    choice: launch::Choice,
    host: Host,
    values: &mut Values,
    yes: bool,
) -> anyhow::Result<()> {
    let interactive = !yes && crate::output::interactive();
    let host_keeps_references = host.profile().secrets != SecretStyle::Plaintext;
    for input in launch::inputs(server, choice) {
        if !input.required || input.has_value || input.default.is_some() {
            continue;
        }
        if values.contains_key(&input.key) || (input.secret && host_keeps_references) {
            continue;
        }
        if let Some(value) = std::env::var(&input.key).ok().filter(|v| !v.is_empty()) {
            values.insert(input.key.clone(), value);
            continue;
        }
        if !interactive {
            return Err(UserError::new(format!(
                "the server needs a value for `{}`{}",
                input.key,
                input
                    .description
                    .as_deref()
                    .map(|d| format!(" ({})", d.replace(['\n', '\r'], " ")))
                    .unwrap_or_default()
            ))
            .with_hint(format!(
                "pass --env {}=VALUE, or export {} before running mcp-reg",
                input.key, input.key
            ))
            .into());
        }
        let label = labelled(&input);
        let value = if input.secret {
            rpassword::prompt_password(format!("{label} (hidden): "))?
        } else {
            crate::output::prompt(&format!("{label}: "))?
        };
        if value.is_empty() {
            return Err(
                UserError::new(format!("no value given for `{}`", input.key))
                    .with_hint(format!("pass --env {}=VALUE", input.key))
                    .into(),
            );
        }
        values.insert(input.key.clone(), value);
    }
    Ok(())
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    Ok(crate::output::confirm(question)?)
}

fn with_host(host: Host, err: anyhow::Error) -> anyhow::Error {
    err.context(host.name())
}

/// The install library's errors, as user errors with the flag that fixes them.
#[allow(clippy::needless_pass_by_value)] // shaped for `map_err(install_error)`
pub fn install_error(err: InstallError) -> anyhow::Error {
    let hint = match &err {
        InstallError::MissingInput { key, .. } => format!("pass --env {key}=VALUE"),
        InstallError::SecretNeedsConsent { .. } => {
            "pass --allow-plaintext-secrets, or pick a host that can reference secrets".to_owned()
        }
        InstallError::Foreign { .. } | InstallError::Modified { .. } => {
            "look at the entry first; --force replaces or removes it".to_owned()
        }
        InstallError::Parse { .. } | InstallError::InvalidConfig { .. } => {
            "fix the file (mcp-reg never rewrites a file it cannot parse)".to_owned()
        }
        InstallError::ScopeUnsupported { .. } => "try the other --scope".to_owned(),
        InstallError::NoProjectDir { .. } => "run it from the project directory".to_owned(),
        InstallError::NoHome => "set HOME".to_owned(),
        InstallError::Unsupported(_) => {
            "pick another --host, or another package/remote of the server".to_owned()
        }
        InstallError::NotFound { .. } => "see what is installed with `mcp-reg list`".to_owned(),
        InstallError::ConcurrentModification { .. } => "run the command again".to_owned(),
        _ => "check the file's permissions and try again".to_owned(),
    };
    UserError::new(err.to_string()).with_hint(hint).into()
}

/// Where the install record lives.
pub fn records() -> anyhow::Result<RecordStore> {
    Ok(RecordStore::new(config::data_dir()?))
}
