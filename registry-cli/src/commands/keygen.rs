//! `mcp-reg keygen`: a key pair for key-based provenance (`publish --sign-key`), and `mcp-reg keys`:
//! register, list and revoke a namespace's public keys on the registry.

use std::io::Write;
use std::path::{Path, PathBuf};

use registry_provenance::{KeyAlgorithm, PublicKey, SigningKey};
use serde_json::json;

use crate::commands::{Ctx, JsonFlag, print_json, print_table};
use crate::output::outln;
use crate::provenance::namespace_of;
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg keygen                                  writes mcp-reg.key and mcp-reg.key.pub
  mcp-reg keygen --out release.key --algorithm ecdsa-p256
  mcp-reg keys register mcp-reg.key.pub --namespace com.example
  mcp-reg publish server.json --sign-key mcp-reg.key

The private key file is written with mode 0600 and is not encrypted: keep it out of version control
(a CI secret, or a file only you can read).")]
pub struct KeygenArgs {
    /// Where to write the private key (PKCS#8 PEM); the public key goes to the same name plus `.pub`.
    #[arg(long, short, default_value = "mcp-reg.key", value_name = "FILE")]
    pub out: PathBuf,
    /// Signature algorithm.
    #[arg(long, default_value = "ed25519", value_parser = ["ed25519", "ecdsa-p256"])]
    pub algorithm: String,
    /// Replace existing key files.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn run_keygen(ctx: &Ctx, args: &KeygenArgs) -> anyhow::Result<ExitStatus> {
    let algorithm: KeyAlgorithm = args
        .algorithm
        .parse()
        .map_err(|_| UserError::new(format!("unknown algorithm `{}`", args.algorithm)))?;
    let key = SigningKey::generate(algorithm)
        .map_err(|err| anyhow::anyhow!("generating a key pair: {err}"))?;
    let public = key.public_key();
    let public_path = public_path(&args.out);
    for path in [&args.out, &public_path] {
        if !args.force && path.exists() {
            return Err(UserError::new(format!("{} already exists", path.display()))
                .with_hint("pick another --out, or pass --force to replace it (signatures made with the old key stop verifying once it is revoked)")
                .into());
        }
    }
    let failed = |path: &Path, err: &dyn std::fmt::Display| -> anyhow::Error {
        UserError::new(format!("cannot write {}: {err}", path.display()))
            .with_hint("pick a writable --out path")
            .into()
    };
    // Both whole or not at all: the private key through the 0600 credential writer, the public key
    // through the install library's atomic replace.
    crate::config::write_private(&args.out, key.to_pem().as_bytes())
        .map_err(|err| failed(&args.out, &err))?;
    crate::install::atomic::replace(&public_path, public.to_pem().as_bytes(), false)
        .map_err(|err| failed(&public_path, &err))?;
    if args.output.json {
        print_json(&json!({
            "privateKey": args.out,
            "publicKey": public_path,
            "keyId": public.key_id(),
            "algorithm": public.algorithm().to_string(),
        }))?;
    } else {
        let mut stdout = crate::output::stdout();
        writeln!(
            stdout,
            "private key: {} (keep it secret)",
            args.out.display()
        )?;
        writeln!(stdout, "public key:  {}", public_path.display())?;
        writeln!(stdout, "key id:      {}", public.key_id())?;
        ctx.ui.info(&format!(
            "next: mcp-reg keys register {} --namespace <your namespace>",
            public_path.display()
        ));
    }
    Ok(ExitStatus::Success)
}

/// `KEY` → `KEY.pub`.
fn public_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Reads a private key written by `keygen`.
pub fn read_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        UserError::new(format!("cannot read signing key {}: {err}", path.display()))
            .with_hint("create one with `mcp-reg keygen`")
    })?;
    SigningKey::from_pem(&text).map_err(|err| {
        UserError::new(format!("{} is not a signing key: {err}", path.display()))
            .with_hint("pass the private key `mcp-reg keygen` wrote (not the .pub file)")
            .into()
    })
}

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Register a public key for a namespace (needs a token for the whole namespace).
    Register {
        /// The public key file (`mcp-reg keygen` wrote it as KEY.pub).
        file: PathBuf,
        /// The namespace (the part of your server names before `/`), or a server name in it.
        #[arg(long)]
        namespace: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// List a namespace's keys.
    List {
        /// The namespace, or a server name in it.
        namespace: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Revoke a key: it verifies nothing from now on, including versions it signed before.
    Revoke {
        /// The namespace, or a server name in it.
        namespace: String,
        /// The key id (`mcp-reg keys list` shows it).
        key_id: String,
        #[command(flatten)]
        output: JsonFlag,
    },
}

pub fn run_keys(ctx: &Ctx, args: &KeysArgs) -> anyhow::Result<ExitStatus> {
    match &args.command {
        KeysCommand::Register {
            file,
            namespace,
            output,
        } => {
            let text = std::fs::read_to_string(file).map_err(|err| {
                UserError::new(format!("cannot read {}: {err}", file.display()))
                    .with_hint("pass the .pub file `mcp-reg keygen` wrote")
            })?;
            let public = PublicKey::from_pem(&text).map_err(|err| {
                UserError::new(format!("{} is not a public key: {err}", file.display()))
                    .with_hint("pass the .pub file `mcp-reg keygen` wrote, not the private key")
            })?;
            let namespace = namespace_of(namespace);
            let key = ctx
                .authed_client()?
                .register_key(namespace, &public.to_pem())?;
            if output.json {
                print_json(&key)?;
            } else {
                outln!("registered key {} for {namespace}", key.key_id)?;
            }
        }
        KeysCommand::List { namespace, output } => {
            let keys = ctx.client()?.signing_keys(namespace_of(namespace))?;
            if output.json {
                print_json(&json!({ "keys": keys }))?;
            } else if keys.is_empty() {
                ctx.ui.info(&format!(
                    "no keys registered for {}",
                    namespace_of(namespace)
                ));
            } else {
                let rows: Vec<Vec<String>> = keys
                    .iter()
                    .map(|key| {
                        vec![
                            key.key_id.clone(),
                            key.algorithm.clone(),
                            key.created_at.clone(),
                            key.revoked_at
                                .as_ref()
                                .map_or_else(|| "active".to_owned(), |at| format!("revoked {at}")),
                        ]
                    })
                    .collect();
                print_table(
                    &["KEY ID", "ALGORITHM", "REGISTERED", "STATE"],
                    &rows,
                    &ctx.ui,
                )?;
            }
        }
        KeysCommand::Revoke {
            namespace,
            key_id,
            output,
        } => {
            let key = ctx
                .authed_client()?
                .revoke_key(namespace_of(namespace), key_id)?;
            if output.json {
                print_json(&key)?;
            } else {
                outln!("revoked key {} of {}", key.key_id, namespace_of(namespace))?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
