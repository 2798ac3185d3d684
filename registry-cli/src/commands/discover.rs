//! `mcp-reg discover`: list MCP servers and registries announced on the LAN; `--watch` streams
//! appear/leave events (JSON lines with `--json`, the contract in [`crate::lan::json`]);
//! `--watch --sync HOST…` installs servers as they appear and removes what it added when they leave.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use registry_discovery::{Browser, Event, Service, ServiceKind, Txt};
use serde_json::json;

use crate::commands::install::ScopeArg;
use crate::commands::{Ctx, JsonFlag, out, print_json, print_table};
use crate::config;
use crate::install::{Host, HostEnv, RecordStore, Scope};
use crate::lan::fetch::Fetcher;
use crate::lan::sync::{Outcome, Sync};
use crate::lan::{self, MdnsArgs, json as lan_json};
use crate::{ExitStatus, UserError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KindArg {
    Servers,
    Registries,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg discover                                  servers and registries found within 3 s
  mcp-reg discover --watch --json                   one JSON event per line, until Ctrl-C
  mcp-reg discover --watch --sync cursor --trust io.github.acme/weather

--sync installs a server only after fetching its manifest from the announcing host, checking the
announced sha256, and the provenance policy (a trusted signature, or a name given with --trust or
`[lan] trust = [...]` in config.toml). It removes only entries it added itself.")]
pub struct DiscoverArgs {
    /// Seconds to listen [default: 3; with --watch: until interrupted].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Keep listening and print services as they appear and leave.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: install appearing servers into these hosts (repeatable), and remove them
    /// when they leave.
    #[arg(long = "sync", value_name = "HOST", num_args = 1.., requires = "watch")]
    pub sync: Vec<String>,
    /// A server name --sync may install without a trusted signature (repeatable).
    #[arg(long = "trust", value_name = "NAME", requires = "sync")]
    pub trust: Vec<String>,
    /// Which config file --sync edits.
    #[arg(long, value_enum, default_value_t = ScopeArg::User)]
    pub scope: ScopeArg,
    /// Only servers or only registries.
    #[arg(long, value_enum)]
    pub only: Option<KindArg>,
    #[command(flatten)]
    pub mdns: MdnsArgs,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn run(ctx: &Ctx, args: &DiscoverArgs) -> anyhow::Result<ExitStatus> {
    // Provenance checks may look up the configured registry: never stop a watch to offer one.
    config::disable_lan_offer();
    let timeout = match args.timeout {
        Some(t) if !(t.is_finite() && t > 0.0) => {
            return Err(UserError::new(format!("--timeout {t} is not a positive number")).into());
        }
        Some(t) => Some(Duration::from_secs_f64(t)),
        None if args.watch => None,
        None => Some(Duration::from_secs(3)),
    };
    let kinds: Vec<ServiceKind> = match (args.only, args.sync.is_empty()) {
        (Some(KindArg::Servers), _) | (None, false) => vec![ServiceKind::Server],
        (Some(KindArg::Registries), _) => vec![ServiceKind::Registry],
        (None, true) => ServiceKind::ALL.to_vec(),
    };
    let sync = if args.sync.is_empty() {
        None
    } else {
        Some(sync_engine(args)?)
    };
    let stop = lan::stop_flag()?;
    let browser = Browser::start(&args.mdns.config(), &kinds).map_err(lan::mdns_error)?;
    let deadline = timeout.map(|t| Instant::now() + t);
    if args.watch {
        watch(ctx, args, &browser, sync.as_ref(), deadline, &stop)?;
    } else {
        list(ctx, args, &browser, deadline, &stop)?;
    }
    browser.stop().map_err(lan::mdns_error)?;
    Ok(ExitStatus::Success)
}

fn sync_engine(args: &DiscoverArgs) -> anyhow::Result<Sync> {
    let mut hosts = Vec::new();
    for id in &args.sync {
        let host = Host::from_id(id).ok_or_else(|| {
            let all: Vec<&str> = Host::ALL.iter().map(|h| h.id()).collect();
            UserError::new(format!("unknown host `{id}`"))
                .with_hint(format!("use one of: {}", all.join(", ")))
        })?;
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    let scope = Scope::from(args.scope);
    let project = if scope == Scope::Project {
        Some(std::env::current_dir()?)
    } else {
        None
    };
    let env = HostEnv::from_process(project).map_err(crate::commands::install::install_error)?;
    let mut trusted_names = args.trust.clone();
    trusted_names.extend(config::lan_trusted_names()?);
    Ok(Sync {
        hosts,
        scope,
        env,
        records: RecordStore::new(config::data_dir()?),
        trusted_names,
        fetcher: Fetcher::new()?,
    })
}

/// Next event, or `None` once stopped or past the deadline.
fn next(
    browser: &Browser,
    deadline: Option<Instant>,
    stop: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<Option<Event>> {
    const TICK: Duration = Duration::from_millis(200);
    loop {
        if stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        let wait = deadline.map_or(TICK, |d| {
            d.saturating_duration_since(Instant::now()).min(TICK)
        });
        if let Some(event) = browser.recv_timeout(wait).map_err(lan::mdns_error)? {
            return Ok(Some(event));
        }
    }
}

fn watch(
    ctx: &Ctx,
    args: &DiscoverArgs,
    browser: &Browser,
    sync: Option<&Sync>,
    deadline: Option<Instant>,
    stop: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<()> {
    if !args.output.json {
        ctx.ui
            .info("watching the LAN for MCP servers and registries; Ctrl-C to stop");
    }
    while let Some(event) = next(browser, deadline, stop)? {
        if args.output.json {
            out(&format!("{}\n", lan_json::discovery_event(&event)))?;
        } else {
            out(&format!("{}\n", describe(ctx, &event)))?;
        }
        let Some(sync) = sync else { continue };
        for outcome in sync.handle(&event) {
            if args.output.json {
                out(&format!("{}\n", outcome.to_json()))?;
            } else if matches!(outcome, Outcome::Skipped { .. }) {
                ctx.ui.warn(&outcome.message());
            } else {
                ctx.ui.info(&outcome.message());
            }
        }
    }
    Ok(())
}

fn describe(ctx: &Ctx, event: &Event) -> String {
    match event {
        Event::Appeared(service) => {
            let (name, version) = name_version(service);
            format!(
                "+ {:<8} \"{}\" {name} {version} {}",
                service.kind.as_str(),
                service.instance,
                ctx.ui.dim(&service.endpoint().unwrap_or_default())
            )
        }
        Event::Left { kind, instance, .. } => format!("- {:<8} \"{instance}\" left", kind.as_str()),
        Event::Invalid {
            kind,
            instance,
            reason,
            ..
        } => format!("! {:<8} \"{instance}\" ignored: {reason}", kind.as_str()),
    }
}

fn name_version(service: &Service) -> (String, String) {
    match &service.txt {
        Txt::Server(txt) => (
            txt.name.as_str().to_owned(),
            txt.version.clone().unwrap_or_default(),
        ),
        Txt::Registry(txt) => (
            txt.name.clone().unwrap_or_default(),
            txt.version.clone().unwrap_or_default(),
        ),
    }
}

fn list(
    ctx: &Ctx,
    args: &DiscoverArgs,
    browser: &Browser,
    deadline: Option<Instant>,
    stop: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<()> {
    let spinner = ctx.ui.spinner("listening for mDNS announcements");
    let mut found: BTreeMap<(ServiceKind, String), Service> = BTreeMap::new();
    let mut invalid = BTreeMap::new();
    while let Some(event) = next(browser, deadline, stop)? {
        match event {
            Event::Appeared(service) => {
                invalid.remove(&service.fullname);
                found.retain(|_, s| s.fullname != service.fullname);
                found.insert((service.kind, service.instance.clone()), service);
            }
            Event::Left { fullname, .. } => found.retain(|_, s| s.fullname != fullname),
            Event::Invalid {
                kind,
                instance,
                fullname,
                reason,
            } => {
                invalid.insert(fullname.clone(), (kind, instance, fullname, reason));
            }
        }
    }
    drop(spinner);
    if args.output.json {
        let services: Vec<_> = found.values().map(lan_json::service).collect();
        let invalid: Vec<_> = invalid
            .into_values()
            .map(|(kind, instance, fullname, reason)| {
                json!({ "kind": kind.as_str(), "instance": instance, "fullname": fullname, "reason": reason })
            })
            .collect();
        return print_json(
            &json!({ "v": lan_json::VERSION, "services": services, "invalid": invalid }),
        );
    }
    for (kind, instance, _, reason) in invalid.values() {
        ctx.ui
            .warn(&format!("ignored {kind} \"{instance}\": {reason}"));
    }
    if found.is_empty() {
        ctx.ui.info("nothing announced on the LAN");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = found
        .values()
        .map(|s| {
            let (name, version) = name_version(s);
            vec![
                s.kind.as_str().to_owned(),
                s.instance.clone(),
                name,
                version,
                s.endpoint().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &["KIND", "INSTANCE", "NAME", "VERSION", "ENDPOINT"],
        &rows,
        &ctx.ui,
    )?;
    Ok(())
}
