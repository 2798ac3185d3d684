use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use registry_schema::Policy;
use registry_server::auth::{Action, Permission, check_pattern, issue_token};
use registry_server::config::{DatabaseArgs, ServeArgs, ServerConfig};
use registry_server::db::{DatabaseConfig, Store, redact_url};
use registry_server::telemetry::{self, LogFormat};
use registry_server::{AppState, import, serve, shutdown_signal};

mod announce;

/// mcp-reg registry server: the official MCP registry API on SQLite (embedded default) or PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "registry-server", version, about, max_term_width = 100)]
struct Cli {
    /// Log format.
    #[arg(long, env = "REGISTRY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// `serve`: the server's settings plus its optional LAN announcement.
#[derive(Debug, clap::Args)]
struct ServeCommand {
    #[command(flatten)]
    serve: ServeArgs,
    #[command(flatten)]
    announce: announce::AnnounceArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (applies pending migrations first unless --no-migrate).
    Serve(Box<ServeCommand>),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage publisher API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Load manifests from a JSON list of server.json objects or an official ServerList response.
    Import {
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Validate with a public registry's strict rules.
        #[arg(long)]
        strict: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Copy an official-API registry into this one, incrementally (resumes where it stopped).
    Mirror(registry_server::mirror::MirrorArgs),
    /// Exit 0 when the server at --url answers 2xx (for container health checks; needs no curl).
    Healthcheck {
        #[arg(long, default_value = registry_server::healthcheck::DEFAULT_URL)]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token; the secret is printed once and only its hash is stored.
    Create {
        /// Server-name pattern the token may publish (repeatable): `*`, `io.github.alice/*`, or exact.
        #[arg(long = "publish", value_name = "PATTERN")]
        publish: Vec<String>,
        /// Pattern the token may moderate (change status of) (repeatable).
        #[arg(long = "edit", value_name = "PATTERN")]
        edit: Vec<String>,
        /// What the token is for (shown in audit logs).
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List the tokens (never their secrets), revoked ones included, oldest first.
    List {
        /// One JSON object per token instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a token: from now on it authenticates nothing, on every replica.
    Revoke {
        /// The token's id (`token list`).
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Issue 18: `serve` exports its traces when an OTLP endpoint is configured (off by default).
    let otlp = match &cli.command {
        Command::Serve(command) => telemetry::otlp_endpoint(command.serve.otlp_endpoint.as_ref()),
        _ => Ok(None),
    };
    let telemetry = match otlp.and_then(|otlp| telemetry::init(cli.log_format, otlp.as_ref())) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            telemetry.shutdown();
            return ExitCode::from(70);
        }
    };
    let outcome = runtime.block_on(run(cli.command));
    // The requests have been answered: export the spans still queued.
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            telemetry::announce(tracing::Level::ERROR, &format!("{err:#}"));
            ExitCode::from(1)
        }
    }
}

async fn open_store(config: DatabaseConfig, migrate: bool) -> anyhow::Result<Store> {
    let store = Store::connect(&config)
        .await
        .with_context(|| match &config.database_url {
            Some(url) => format!("connecting to {}", redact_url(url)),
            None => "opening the embedded database".to_owned(),
        })?;
    if migrate {
        store.migrate().await.context("applying migrations")?;
    }
    Ok(store)
}

/// Loads the search index before serving, so no search waits for it. A failure is logged, not fatal:
/// searches retry the load.
async fn warm_search_index(store: &Store) {
    let started = std::time::Instant::now();
    match store.warm_search_index().await {
        Ok(()) => {
            let (bytes, documents) = store.search_index_stats();
            telemetry::announce(
                tracing::Level::INFO,
                &format!(
                    "search index: {documents} documents, about {} MB, loaded in {} ms",
                    bytes / (1024 * 1024),
                    started.elapsed().as_millis()
                ),
            );
        }
        Err(err) => telemetry::announce(
            tracing::Level::WARN,
            &format!("loading the search index failed (searches will retry): {err}"),
        ),
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(command) => {
            let ServeCommand {
                serve: args,
                announce: lan,
            } = *command;
            let config = DatabaseConfig {
                min_connections: args.db_min_connections,
                ..args.database.to_config()
            };
            let store = open_store(config, !args.no_migrate).await?;
            warm_search_index(&store).await;
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            let address = listener.local_addr()?;
            let config = ServerConfig {
                auth: args.auth.to_config()?,
                ownership: args.ownership.to_config(),
                provenance: args.provenance.to_config()?,
                ..ServerConfig::from(&args.http)
            };
            let location = store.location().to_owned();
            let state = AppState::new(store, config);
            telemetry::announce(
                tracing::Level::INFO,
                &format!(
                    "mcp-reg registry listening on http://{address} (API: http://{address}/v0.1/servers, docs: http://{address}/docs)"
                ),
            );
            telemetry::announce(tracing::Level::INFO, &format!("data: {location}"));
            let announcer = announce::start(&lan, address)?;
            let served = serve(listener, state.clone(), shutdown_signal()).await;
            if let Some(fence) = &state.read_fence {
                fence.release().await;
            }
            if let Some(announcer) = announcer {
                // Goodbye packets after the listener closed; the stop blocks briefly.
                tokio::task::spawn_blocking(move || announce::stop(announcer)).await?;
            }
            served?;
            Ok(())
        }
        Command::Migrate(database) => {
            open_store(database.to_config(), true).await?;
            telemetry::announce(tracing::Level::INFO, "migrations applied");
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            publish,
            edit,
            description,
            database,
        }) => {
            if publish.is_empty() && edit.is_empty() {
                anyhow::bail!(
                    "give at least one --publish or --edit pattern (e.g. --publish 'io.github.alice/*')"
                );
            }
            let mut permissions = Vec::new();
            for (action, patterns) in [(Action::Publish, &publish), (Action::Edit, &edit)] {
                for pattern in patterns {
                    check_pattern(pattern).map_err(anyhow::Error::msg)?;
                    permissions.push(Permission::new(action, pattern.clone()));
                }
            }
            let store = open_store(database.to_config(), true).await?;
            let issued = issue_token(&permissions, description)?;
            store.insert_token(&issued.record).await?;
            eprintln!(
                "token {} created; it is shown once, store it now:",
                issued.record.id
            );
            println!("{}", issued.secret);
            Ok(())
        }
        Command::Token(TokenCommand::List { json, database }) => {
            let store = open_store(database.to_config(), true).await?;
            let tokens = store.tokens().await?;
            print!("{}", token_listing(&tokens, json)?);
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id, database }) => {
            let store = open_store(database.to_config(), true).await?;
            let Some(token) = store.revoke_token(&id).await? else {
                anyhow::bail!("no token with id `{id}` (see `registry-server token list`)");
            };
            let at = token.revoked_at.map(format_time).unwrap_or_default();
            eprintln!("token {id} revoked (at {at}); it authenticates nothing from now on");
            Ok(())
        }
        Command::Import {
            file,
            database,
            strict,
        } => {
            let store = open_store(database.to_config(), true).await?;
            let policy = if strict {
                Policy::strict()
            } else {
                Policy::lenient()
            };
            let report = import::run(&store, &file, &policy).await?;
            for (index, reason) in &report.rejected {
                eprintln!("entry {index} rejected: {reason}");
            }
            eprintln!(
                "imported {} version(s), {} already present, {} rejected",
                report.inserted,
                report.skipped,
                report.rejected.len()
            );
            if report.rejected.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("{} entries were rejected", report.rejected.len())
            }
        }
        Command::Mirror(args) => {
            let store = open_store(args.database.to_config(), true).await?;
            registry_server::mirror::run(&store, &args).await
        }
        Command::Healthcheck { url } => registry_server::healthcheck::check(&url),
        Command::Openapi => {
            println!("{}", registry_server::openapi().to_pretty_json()?);
            Ok(())
        }
    }
}

fn format_time(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// `token list` output: a table, or one JSON object per line.
fn token_listing(
    tokens: &[registry_server::db::TokenRecord],
    json: bool,
) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let mut out = String::new();
    if json {
        for token in tokens {
            let permissions: serde_json::Value = serde_json::from_str(&token.permissions)?;
            let line = serde_json::json!({
                "id": token.id,
                "description": token.description,
                "permissions": permissions,
                "createdAt": format_time(token.created_at),
                "revokedAt": token.revoked_at.map(format_time),
            });
            writeln!(out, "{line}")?;
        }
        return Ok(out);
    }
    if tokens.is_empty() {
        out.push_str("no tokens (create one with `registry-server token create`)\n");
        return Ok(out);
    }
    writeln!(
        out,
        "{:<14} {:<22} {:<22} {:<30} GRANTS",
        "ID", "CREATED", "REVOKED", "DESCRIPTION"
    )?;
    for token in tokens {
        let permissions: Vec<Permission> = serde_json::from_str(&token.permissions)?;
        let grants = permissions
            .iter()
            .map(|p| {
                let action = match p.action {
                    Action::Publish => "publish",
                    Action::Edit => "edit",
                };
                format!("{action}:{}", p.resource)
            })
            .collect::<Vec<_>>()
            .join(" ");
        writeln!(
            out,
            "{:<14} {:<22} {:<22} {:<30} {grants}",
            token.id,
            format_time(token.created_at),
            token.revoked_at.map_or_else(|| "-".to_owned(), format_time),
            token.description.as_deref().unwrap_or("-"),
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
