//! `mcp-reg login`: store a publish token for the registry: an operator token (`--token`, a terminal
//! prompt, or standard input), or a short-lived registry token exchanged at `/v0.1/auth/<method>` for
//! a GitHub Actions OIDC token, a GitHub access token, or an Ed25519-signed timestamp whose public key
//! the domain publishes over HTTPS or in DNS.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

use crate::commands::{Ctx, out};
use crate::config::Credentials;
use crate::{ExitStatus, UserError};

/// How long the token exchange (and the Actions OIDC request) may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// How to prove who may publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// An operator publish token (`--token`, prompt or standard input).
    Token,
    /// GitHub Actions OIDC (`permissions: id-token: write`): publishes `io.github.<owner>/*`.
    GithubOidc,
    /// A GitHub access token: publishes `io.github.<login>/*` and the orgs you own.
    GithubAt,
    /// An Ed25519 key published at `https://DOMAIN/.well-known/mcp-registry-auth`.
    Http,
    /// An Ed25519 key published in a TXT record at DOMAIN.
    Dns,
}

impl Method {
    fn path(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::GithubOidc => "github-oidc",
            Self::GithubAt => "github-at",
            Self::Http => "http",
            Self::Dns => "dns",
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg login < token.txt
  echo \"$MCP_REG_TOKEN\" | mcp-reg login --registry https://registry.example.com
  mcp-reg login        (asks for the token without echoing it)
  mcp-reg login --method github-oidc                      (in GitHub Actions, id-token: write)
  mcp-reg login --method github-at < github-token.txt     (or GITHUB_TOKEN in the environment)
  mcp-reg login --method http --domain example.com --private-key key.pem --print-record
  mcp-reg login --method http --domain example.com --private-key key.pem
  mcp-reg login --method dns --domain example.com --private-key key.hex

The token is stored per registry URL in the user config dir (credentials.json, mode 0600).
Registry tokens from --method expire after a few minutes: log in again when told to.
Prefer standard input or the environment over --token / --github-token: command lines end up in
shell history.")]
pub struct LoginArgs {
    /// The publish token (an operator creates one with `registry-server token create`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// How to log in.
    #[arg(long, value_enum, default_value = "token")]
    pub method: Method,
    /// The domain proven with --method http or dns (e.g. example.com for `com.example/*`).
    #[arg(long, value_name = "DOMAIN", required_if_eq_any([("method", "http"), ("method", "dns")]))]
    pub domain: Option<String>,
    /// Ed25519 private key for --method http or dns: a PKCS#8 PEM file or the 32-byte seed as hex.
    #[arg(long, value_name = "FILE", required_if_eq_any([("method", "http"), ("method", "dns")]))]
    pub private_key: Option<PathBuf>,
    /// Print the `v=MCPv1; k=ed25519; p=…` record of --private-key's public key, and where to
    /// publish it, instead of logging in.
    #[arg(long, requires = "private_key")]
    pub print_record: bool,
    /// The GitHub access token for --method github-at (default: GITHUB_TOKEN, then standard input).
    #[arg(long, value_name = "TOKEN")]
    pub github_token: Option<String>,
    /// `aud` of the GitHub Actions OIDC token (default: the registry's scheme://host[:port]).
    #[arg(long, value_name = "AUDIENCE")]
    pub audience: Option<String>,
}

pub fn run(ctx: &Ctx, args: &LoginArgs) -> anyhow::Result<ExitStatus> {
    if args.method != Method::Token && args.token.is_some() {
        return Err(UserError::new("--token is only for --method token")
            .with_hint("drop --token, or drop --method")
            .into());
    }
    if args.print_record {
        return print_record(args);
    }
    let registry = ctx.registry()?;
    let (token, expires_at) = match args.method {
        Method::Token => (operator_token(args, &registry)?, None),
        Method::GithubOidc => {
            let oidc = actions_oidc_token(&registry, args.audience.as_deref())?;
            exchange(
                &registry,
                Method::GithubOidc,
                &json!({ "oidc_token": oidc }),
            )?
        }
        Method::GithubAt => {
            let github = github_token(args)?;
            exchange(
                &registry,
                Method::GithubAt,
                &json!({ "github_token": github }),
            )?
        }
        Method::Http | Method::Dns => {
            let (Some(domain), Some(key_file)) = (&args.domain, &args.private_key) else {
                return Err(UserError::new("--domain and --private-key are required")
                    .with_hint("pass --domain DOMAIN --private-key FILE")
                    .into());
            };
            let key = load_key(key_file)?;
            let timestamp = time::OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
                .format(&time::format_description::well_known::Rfc3339)?;
            let signature = hex::encode(key.sign(timestamp.as_bytes()).as_ref());
            exchange(
                &registry,
                args.method,
                &json!({
                    "domain": domain.trim(),
                    "timestamp": timestamp,
                    "signed_timestamp": signature,
                }),
            )?
        }
    };
    let grants = check_token(&registry, &token)?;
    let creds = Credentials::open()?;
    match expires_at {
        Some(expires_at) => creds.store_expiring(&registry, &token, expires_at)?,
        None => creds.store(&registry, &token)?,
    }
    let lifetime = expires_at.map_or_else(String::new, |at| {
        let left = at - time::OffsetDateTime::now_utc().unix_timestamp();
        format!(", valid for {} min", (left.max(0) + 59) / 60)
    });
    ctx.ui.info(&format!(
        "{} to {registry} (token stored in {}{lifetime})",
        ctx.ui.green_err("logged in"),
        creds.path().display()
    ));
    match grants {
        Some(grants) => ctx.ui.info(&format!("token {grants}")),
        None => ctx.ui.info(
            "the registry cannot say what the token may do (it has no whoami route); it was stored unchecked",
        ),
    }
    Ok(ExitStatus::Success)
}

/// Asks the registry who the token is before it is stored, so a wrong token fails here and not at
/// the first publish. `Some(description of the grants)`, or `None` when the registry cannot tell.
fn check_token(registry: &str, token: &str) -> anyhow::Result<Option<String>> {
    let client = crate::client::Client::new(registry, Some(token.to_owned()))?;
    let Some(me) = client
        .whoami()
        .map_err(|err| match err.downcast::<UserError>() {
            Ok(refused) => anyhow::Error::from(
                UserError::new(format!("the token was not stored: {}", refused.message)).with_hint(
                    "check the token (an operator lists them with `registry-server token list`)",
                ),
            ),
            Err(other) => other,
        })?
    else {
        return Ok(None);
    };
    let grants: Vec<String> = me["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{} {}",
                p["action"].as_str().unwrap_or("?"),
                p["resource"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let id = me["tokenId"].as_str().unwrap_or("?");
    Ok(Some(if grants.is_empty() {
        format!("{id} grants nothing")
    } else {
        format!("{id} may: {}", grants.join(", "))
    }))
}

fn operator_token(args: &LoginArgs, registry: &str) -> anyhow::Result<String> {
    let token = match &args.token {
        Some(token) => token.clone(),
        None => read_secret(&format!("token for {registry}: "), "token")?,
    };
    check_secret(
        &token,
        "token",
        "pass --token TOKEN or pipe the token in on standard input",
    )
}

/// Reads a secret from the terminal (not echoed) or standard input.
fn read_secret(prompt: &str, what: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(|err| {
            UserError::new(format!("cannot read the {what} from the terminal: {err}"))
                .with_hint(format!("pipe it in: `mcp-reg login < {what}.txt`"))
                .into()
        })
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|err| {
            UserError::new(format!("cannot read the {what} from standard input: {err}"))
                .with_hint(format!("pipe the {what} in as UTF-8 text"))
        })?;
        Ok(text)
    }
}

fn check_secret(secret: &str, what: &str, hint: &str) -> anyhow::Result<String> {
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(UserError::new(format!("no {what} given"))
            .with_hint(hint)
            .into());
    }
    if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            UserError::new(format!("the {what} contains spaces or control characters"))
                .with_hint(format!("give only the {what}, one line, without `Bearer `"))
                .into(),
        );
    }
    Ok(secret.to_owned())
}

fn github_token(args: &LoginArgs) -> anyhow::Result<String> {
    let token = match &args.github_token {
        Some(token) => token.clone(),
        None => match std::env::var("GITHUB_TOKEN") {
            Ok(token) if !token.trim().is_empty() => token,
            _ => read_secret("GitHub access token: ", "GitHub token")?,
        },
    };
    check_secret(
        &token,
        "GitHub token",
        "pass --github-token, set GITHUB_TOKEN, or pipe the token in (e.g. `gh auth token | mcp-reg login --method github-at`)",
    )
}

fn http_client() -> anyhow::Result<reqwest::blocking::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(EXCHANGE_TIMEOUT)
        .user_agent(concat!("mcp-reg/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// The registry's scheme://host[:port], the audience the official tooling asks GitHub for.
fn default_audience(registry: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(registry).map_err(|err| {
        UserError::new(format!("`{registry}` is not a registry URL: {err}"))
            .with_hint("pass --registry http(s)://HOST[:PORT]")
    })?;
    Ok(url.origin().ascii_serialization())
}

/// Asks the GitHub Actions runtime for an OIDC token for `audience`.
fn actions_oidc_token(registry: &str, audience: Option<&str>) -> anyhow::Result<String> {
    let request_url = std::env::var("ACTIONS_ID_TOKEN_REQUEST_URL").unwrap_or_default();
    let request_token = std::env::var("ACTIONS_ID_TOKEN_REQUEST_TOKEN").unwrap_or_default();
    if request_url.is_empty() || request_token.is_empty() {
        return Err(UserError::new(
            "no GitHub Actions OIDC token available (ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN are not set)",
        )
        .with_hint(
            "--method github-oidc works inside GitHub Actions with `permissions: id-token: write`; elsewhere use --method github-at, http or dns",
        )
        .into());
    }
    let audience = match audience {
        Some(audience) => audience.to_owned(),
        None => default_audience(registry)?,
    };
    let mut url = reqwest::Url::parse(&request_url).map_err(|err| {
        UserError::new(format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {err}"))
            .with_hint("run inside GitHub Actions with `permissions: id-token: write`")
    })?;
    url.query_pairs_mut().append_pair("audience", &audience);
    let response = http_client()?
        .get(url)
        .header(
            reqwest::header::AUTHORIZATION,
            format!("bearer {request_token}"),
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .map_err(|err| {
            UserError::new(format!(
                "cannot reach the GitHub Actions OIDC endpoint: {err}"
            ))
            .with_hint("retry the job; check `permissions: id-token: write`")
        })?;
    let status = response.status();
    let body: Value = response.json().unwrap_or(Value::Null);
    let token = body["value"].as_str().filter(|_| status.is_success());
    match token {
        Some(token) if !token.is_empty() => Ok(token.to_owned()),
        _ => Err(UserError::new(format!(
            "the GitHub Actions OIDC endpoint gave no token ({})",
            status.as_u16()
        ))
        .with_hint("add `permissions: id-token: write` to the job")
        .into()),
    }
}

/// POSTs `body` to `/v0.1/auth/<method>`; the registry token and its expiry (unix seconds).
fn exchange(registry: &str, method: Method, body: &Value) -> anyhow::Result<(String, Option<i64>)> {
    let client = crate::client::Client::new(registry, None)?;
    let url = client.url(&["v0.1", "auth", method.path()]);
    let response = http_client()?.post(url).json(body).send().map_err(|err| {
        UserError::new(format!("cannot reach the registry at {registry}: {err}"))
            .with_hint("check --registry and that the registry is running")
    })?;
    let status = response.status();
    let bytes = response.bytes().unwrap_or_default();
    if !status.is_success() {
        let mut error = crate::client::api_error(status, &bytes, "log in");
        error.hint = Some(exchange_hint(method, status).to_owned());
        return Err(error.into());
    }
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let token = value["registry_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            UserError::new("the registry's answer has no `registry_token`")
                .with_hint("check --registry: it must be an mcp-reg or official MCP registry")
        })?;
    Ok((token.to_owned(), value["expires_at"].as_i64()))
}

fn exchange_hint(method: Method, status: reqwest::StatusCode) -> &'static str {
    use reqwest::StatusCode;
    match (method, status) {
        (_, StatusCode::NOT_FOUND) => {
            "this registry does not offer this login method; ask its operator, or use another --method"
        }
        (Method::Http, StatusCode::UNAUTHORIZED) => {
            "publish the record from `mcp-reg login --method http --domain D --private-key F --print-record` at https://D/.well-known/mcp-registry-auth, and check the clock"
        }
        (Method::Dns, StatusCode::UNAUTHORIZED) => {
            "publish the record from `mcp-reg login --method dns --domain D --private-key F --print-record` as a TXT record at D, and check the clock"
        }
        (Method::GithubAt, StatusCode::UNAUTHORIZED) => {
            "the GitHub token is wrong or expired; create a new one (e.g. `gh auth token`)"
        }
        (Method::GithubOidc, StatusCode::UNAUTHORIZED) => {
            "the OIDC token was refused: check --audience matches the registry's configured audience"
        }
        (_, s) if s.is_server_error() => {
            "the registry failed; try again later or tell its operator"
        }
        _ => "check --registry and the arguments",
    }
}

/// Loads an Ed25519 key: PKCS#8 PEM, or the 32-byte seed as hex.
fn load_key(path: &Path) -> anyhow::Result<Ed25519KeyPair> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        UserError::new(format!("cannot read {}: {err}", path.display()))
            .with_hint("pass --private-key FILE holding a PKCS#8 PEM or a hex Ed25519 seed")
    })?;
    let bad = |why: &str| {
        UserError::new(format!(
            "{} is not an Ed25519 private key: {why}",
            path.display()
        ))
        .with_hint(
            "use a PKCS#8 PEM (`openssl genpkey -algorithm ed25519`) or the 32-byte seed as 64 hex digits",
        )
    };
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        let body: String = text
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .map(str::trim)
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| bad("the PEM body is not base64"))?;
        return Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map_err(|_| bad("not a PKCS#8 Ed25519 key").into());
    }
    let seed = hex::decode(text).map_err(|_| bad("neither PEM nor hex"))?;
    if seed.len() != 32 {
        return Err(bad(&format!("a seed has 32 bytes, not {}", seed.len())).into());
    }
    Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| bad("not a valid seed").into())
}

/// `v=MCPv1; k=ed25519; p=<base64 public key>`.
fn record(key: &Ed25519KeyPair) -> String {
    format!(
        "v=MCPv1; k=ed25519; p={}",
        base64::engine::general_purpose::STANDARD.encode(key.public_key().as_ref())
    )
}

fn print_record(args: &LoginArgs) -> anyhow::Result<ExitStatus> {
    let Some(key_file) = &args.private_key else {
        return Err(UserError::new("--print-record needs --private-key FILE")
            .with_hint("pass --private-key FILE")
            .into());
    };
    let record = record(&load_key(key_file)?);
    let domain = args.domain.as_deref().map_or("DOMAIN", str::trim);
    let place = match args.method {
        Method::Dns => format!("publish it as a TXT record at {domain}"),
        _ => format!("serve it at https://{domain}/.well-known/mcp-registry-auth"),
    };
    crate::output::errln(&format!(
        "{place}, then run the same command without --print-record:"
    ));
    out(&format!("{record}\n"))?;
    Ok(ExitStatus::Success)
}
