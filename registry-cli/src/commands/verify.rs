//! `mcp-reg verify NAME[@VERSION]`: re-verify a published version's provenance here, from the stored
//! bundle, without trusting the registry's verdict: keys come from the namespace's hash-chained key log
//! (checked against the head seen before), and the signer must be the one pinned for the server.
//! Exit 0 verified, 1 failed, 3 unsigned (2 is a usage error, as for every command).

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use crate::ExitStatus;
use crate::commands::{Ctx, JsonFlag, print_json, split_name_version};
use crate::provenance::{ProvenanceSettings, Verdict, enforce_pin, verify_published};
use crate::resolve::{self, Ask};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg verify io.github.acme/weather
  mcp-reg verify com.example/weather@1.2.0 --json
  mcp-reg verify io.github.acme/weather --trusted-root private-sigstore.json

Exit status: 0 verified, 1 the bundle does not verify (or the version cannot be fetched),
3 the version is unsigned (2: bad arguments).")]
pub struct VerifyArgs {
    /// NAME or NAME@VERSION (default: the latest version); NAME is the full name or a short one.
    pub server: String,
    /// A Sigstore trusted_root.json to trust besides the public-good root (repeatable).
    #[arg(long = "trusted-root", value_name = "FILE")]
    pub trusted_roots: Vec<PathBuf>,
    /// Accept a signer other than the one pinned for this server (the first one seen by install,
    /// upgrade or verify), or no signature after signed versions; the new signer becomes the pin.
    #[arg(long)]
    pub accept_signer: bool,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn run(ctx: &Ctx, args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    let (query, version) = split_name_version(&args.server);
    let version = version.unwrap_or("latest");
    let trust = ProvenanceSettings::load()?.trust_roots(&args.trusted_roots)?;
    let client = ctx.client()?;
    let name = resolve::registry_name(&client, query, Ask::new("verify", false), &ctx.ui)?;
    let name = name.as_str();
    let response = resolve::version(&client, name, version)?;
    let version = response.version().to_owned();
    let verdict = {
        let _spinner = ctx.ui.spinner("verifying the provenance");
        verify_published(&client, &response.server, name, &version, &trust)?
    };
    let (verdict, signer_changed) = held_to_pin(ctx, name, &version, verdict, args.accept_signer);
    let mut stdout = crate::output::stdout();
    match verdict {
        Verdict::Verified(summary) => {
            if args.output.json {
                print_json(&json!({
                    "name": name, "version": version, "status": "verified", "summary": summary,
                }))?;
            } else {
                let mode = match summary.mode {
                    registry_provenance::Mode::Keyless => {
                        "keyless (Sigstore certificate + transparency log)"
                    }
                    registry_provenance::Mode::Key => "key registered for the namespace",
                };
                let log_index = summary.log_index.map(|i| i.to_string());
                let manifest = format!("{} matches the attested subject", summary.digest);
                let rows = [
                    ("manifest", Some(manifest.as_str())),
                    ("mode", Some(mode)),
                    ("issuer", summary.issuer.as_deref()),
                    ("identity", Some(summary.identity.as_str())),
                    ("repository", summary.repository.as_deref()),
                    ("commit", summary.commit.as_deref()),
                    ("ref", summary.git_ref.as_deref()),
                    ("workflow", summary.workflow.as_deref()),
                    ("run", summary.run_url.as_deref()),
                    ("log index", log_index.as_deref()),
                    ("signed at", summary.signed_at.as_deref()),
                    ("key id", summary.key_id.as_deref()),
                ];
                writeln!(stdout, "{name} {version}")?;
                for (label, value) in rows {
                    if let Some(value) = value {
                        writeln!(stdout, "  {label:<11} {value}")?;
                    }
                }
                writeln!(stdout, "VERIFIED")?;
            }
            Ok(ExitStatus::Success)
        }
        Verdict::Failed(reason) => {
            if args.output.json {
                print_json(&json!({
                    "name": name, "version": version, "status": "failed", "reason": reason,
                }))?;
            } else {
                writeln!(stdout, "{name} {version}")?;
                writeln!(stdout, "FAILED: {reason}")?;
            }
            crate::output::error(&format!(
                "the provenance of {name} {version} does not verify: {reason}"
            ));
            crate::output::hint(if signer_changed {
                "if the publisher really rotated keys or moved the repository, confirm it with them, then \
                 re-run with --accept-signer"
            } else {
                "do not install this version; if you run a private Sigstore, pass its --trusted-root"
            });
            Ok(ExitStatus::Failure)
        }
        Verdict::Unsigned => {
            if args.output.json {
                print_json(&json!({ "name": name, "version": version, "status": "unsigned" }))?;
            } else {
                writeln!(stdout, "{name} {version}")?;
                writeln!(stdout, "UNSIGNED: published without a provenance bundle")?;
            }
            Ok(ExitStatus::Unsigned)
        }
    }
}

/// The registry's word is not enough: the signer must be the one this user pinned for the server. A
/// verified or unsigned verdict whose signer is not the pinned one becomes a failure (`true`: for that
/// reason).
fn held_to_pin(
    ctx: &Ctx,
    name: &str,
    version: &str,
    verdict: Verdict,
    accept_signer: bool,
) -> (Verdict, bool) {
    if let Verdict::Failed(_) = verdict {
        return (verdict, false);
    }
    let observed = verdict.signer();
    match enforce_pin(
        &ctx.ui,
        name,
        version,
        observed.as_ref(),
        accept_signer,
        true,
    ) {
        Ok(()) => (verdict, false),
        Err(err) => (Verdict::Failed(err.to_string()), true),
    }
}
