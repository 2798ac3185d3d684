//! `mcp-reg announce`: announce a running MCP server on the LAN (`_mcp._tcp.local.`) until
//! interrupted. With `--manifest`, its `server.json` (and `--bundle`) is served on a small HTTP
//! listener and the TXT record carries its URL and digest; with `--url --name`, only the endpoint is
//! announced. Goodbye packets are sent on Ctrl-C / SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use registry_discovery::{AnnounceEvent, Announcer, ServiceSpec};
use registry_schema::discovery::{LanTransport, ServerTxt, Txt, instance_name};
use registry_schema::manifest::TransportType;
use registry_schema::{Manifest, Policy, ServerName};
use serde_json::{Value, json};

use crate::commands::{Ctx, JsonFlag, out};
use crate::lan::serve::{BUNDLE_PATH, File, FileServer, MANIFEST_PATH};
use crate::lan::{self, MdnsArgs, json as lan_json};
use crate::{ExitStatus, UserError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransportArg {
    StreamableHttp,
    Sse,
}

#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("source").required(true).args(["manifest", "url"])),
    after_help = "\
Examples:
  mcp-reg announce --manifest server.json --remote 0      announce remotes[0], serve the manifest
  mcp-reg announce --url http://192.168.1.20:3000/mcp --name io.github.acme/weather

The TXT record carries txtvers, path, transport, tls, name, version and, with --manifest, the
manifest's URL and its sha256 (RFC 8785 digest, hex). Nothing secret is announced. Ctrl-C withdraws
the announcement (goodbye packets)."
)]
pub struct AnnounceArgs {
    /// The running server's server.json: its remote (--remote) is announced and the file is served.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Which entry of the manifest's `remotes` to announce (from 0).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub remote: usize,
    /// A Sigstore bundle for the manifest, served next to it (with --manifest).
    #[arg(long, value_name = "FILE", requires = "manifest")]
    pub bundle: Option<PathBuf>,
    /// The endpoint of a running server, announced without a manifest.
    #[arg(
        long,
        value_name = "URL",
        requires = "name",
        conflicts_with = "manifest"
    )]
    pub url: Option<String>,
    /// The server's name with --url (reverse DNS: io.github.acme/weather).
    #[arg(long, value_name = "NAME", requires = "url")]
    pub name: Option<String>,
    /// The transport of --url.
    #[arg(long, value_enum, default_value_t = TransportArg::StreamableHttp, requires = "url")]
    pub transport: TransportArg,
    /// Port to announce [default: the URL's].
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Instance name peers see [default: "TITLE (NAME) on HOST", at most 63 bytes].
    #[arg(long, value_name = "TEXT")]
    pub instance: Option<String>,
    /// Where to serve the manifest and bundle.
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:0")]
    pub serve_on: SocketAddr,
    /// mDNS host name to announce [default: this machine's].
    #[arg(long, value_name = "NAME")]
    pub mdns_hostname: Option<String>,
    #[command(flatten)]
    pub mdns: MdnsArgs,
    /// Print events as JSON lines on stdout (`announced`, `renamed`, `address-changed`, `withdrawn`).
    #[command(flatten)]
    pub output: JsonFlag,
}

/// What to announce, read from the arguments.
struct Source {
    name: ServerName,
    version: Option<String>,
    title: Option<String>,
    endpoint: reqwest::Url,
    transport: LanTransport,
    manifest: Option<(Vec<u8>, Value)>,
    bundle: Option<Vec<u8>>,
}

#[allow(clippy::too_many_lines)] // one linear flow: read, serve, announce, follow, withdraw
pub fn run(ctx: &Ctx, args: &AnnounceArgs) -> anyhow::Result<ExitStatus> {
    let source = read_source(args)?;
    let endpoint = &source.endpoint;
    let port = args
        .port
        .or_else(|| endpoint.port_or_known_default())
        .ok_or_else(|| {
            UserError::new(format!("{endpoint} has no port")).with_hint("pass --port")
        })?;
    let addresses: Vec<IpAddr> = match endpoint.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        _ => Vec::new(),
    };
    if endpoint.host_str() == Some("localhost") {
        ctx.ui.warn(&format!(
            "{endpoint} names localhost: other machines cannot reach it at that URL"
        ));
    }
    let host_name = args.mdns_hostname.as_deref().map_or_else(
        registry_discovery::local_host_name,
        registry_discovery::host_label,
    );
    let served = serve_files(args, &source)?;
    let file_url = |path: &str| {
        served.as_ref().map(|server| {
            let addr = server.local_addr();
            let host = if !addr.ip().is_unspecified() {
                url_host(addr.ip())
            } else if let Some(ip) = addresses.first() {
                url_host(*ip)
            } else {
                host_name.trim_end_matches('.').to_owned()
            };
            format!("http://{host}:{}{path}", addr.port())
        })
    };
    let digest = match &source.manifest {
        Some((_, value)) => Some(registry_schema::canonical::digest(value).map_err(|err| {
            UserError::new(format!("the manifest cannot be canonicalized: {err}"))
        })?),
        None => None,
    };
    let txt = ServerTxt {
        path: endpoint.path().to_owned(),
        transport: source.transport,
        tls: endpoint.scheme() == "https",
        name: source.name.clone(),
        version: source.version.clone(),
        manifest: file_url(MANIFEST_PATH),
        sha256: digest,
        bundle: source.bundle.as_ref().and(file_url(BUNDLE_PATH)),
    };
    let label = source
        .title
        .clone()
        .unwrap_or_else(|| source.name.local_name().to_owned());
    let instance = args
        .instance
        .clone()
        .unwrap_or_else(|| instance_name(&label, Some(source.name.as_str()), &host_name));
    let spec = ServiceSpec {
        instance,
        host_name: Some(host_name.clone()),
        port,
        addresses,
        txt: Txt::Server(txt.clone()),
    };
    let stop = lan::stop_flag()?;
    let mut announcer = Announcer::start(&args.mdns.config(), spec).map_err(lan::mdns_error)?;
    let events = announcer.events();
    let manifest_note = txt
        .manifest
        .as_deref()
        .map(|m| format!(", manifest at {m}"))
        .unwrap_or_default();
    let report_announced = |instance: &str| {
        report(
            ctx,
            args.output.json,
            "announced",
            json!({
                "instance": instance,
                "fullname": format!("{instance}.{}", registry_schema::discovery::SERVER_SERVICE_TYPE),
                "port": port, "endpoint": endpoint.as_str(), "name": source.name.as_str(),
                "manifest": txt.manifest, "digest": txt.sha256.map(|d| d.to_string()),
            }),
            &format!(
                "announcing \"{instance}\" ({}) for {endpoint}{manifest_note}; Ctrl-C to stop",
                registry_schema::discovery::SERVER_SERVICE_TYPE,
            ),
        )
    };
    ctx.ui
        .debug(&format!("probing for \"{}\"", announcer.instance()));
    while !stop.load(Ordering::SeqCst) {
        let Some(events) = &events else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        match events.recv_timeout(Duration::from_millis(200)) {
            Ok(AnnounceEvent::Renamed { instance }) => report(
                ctx,
                args.output.json,
                "renamed",
                json!({ "instance": instance }),
                &format!("the name was taken on the LAN; now announced as \"{instance}\""),
            )?,
            Ok(AnnounceEvent::AddressChanged { address, added }) => report(
                ctx,
                args.output.json,
                "address-changed",
                json!({ "address": address.to_string(), "added": added }),
                &format!(
                    "address {address} {}; announced again",
                    if added { "added" } else { "removed" }
                ),
            )?,
            Ok(AnnounceEvent::Error(message)) => ctx.ui.warn(&format!("mDNS: {message}")),
            // Reported once probing is over, under the name peers see.
            Ok(AnnounceEvent::Announced { instance }) => report_announced(&instance)?,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(UserError::new("the mDNS daemon stopped").into());
            }
        }
    }
    let instance = announcer.instance();
    announcer.stop().map_err(lan::mdns_error)?;
    drop(served);
    report(
        ctx,
        args.output.json,
        "withdrawn",
        json!({ "instance": instance }),
        &format!("withdrew \"{instance}\" (goodbye sent)"),
    )?;
    Ok(ExitStatus::Success)
}

fn report(ctx: &Ctx, json: bool, event: &str, fields: Value, message: &str) -> anyhow::Result<()> {
    if json {
        out(&format!("{}\n", lan_json::event(event, fields)))?;
    } else {
        ctx.ui.info(message);
    }
    Ok(())
}

fn url_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

fn read_source(args: &AnnounceArgs) -> anyhow::Result<Source> {
    if let Some(path) = &args.manifest {
        let bytes = std::fs::read(path)
            .map_err(|err| UserError::new(format!("cannot read {}: {err}", path.display())))?;
        let manifest = Manifest::parse(&bytes, &Policy::lenient()).map_err(|err| {
            UserError::new(format!(
                "{} is not a valid server.json: {err}",
                path.display()
            ))
            .with_hint(format!("see `mcp-reg validate {}`", path.display()))
        })?;
        let server = manifest.server();
        let remote = server.remotes().get(args.remote).ok_or_else(|| {
            UserError::new(format!(
                "{} has no remotes[{}] (it has {})",
                path.display(),
                args.remote,
                server.remotes().len()
            ))
            .with_hint("announce needs a streamable-http or sse remote; pick it with --remote N, or use --url")
        })?;
        let transport = match remote.r#type {
            TransportType::StreamableHttp => LanTransport::StreamableHttp,
            TransportType::Sse => LanTransport::Sse,
            TransportType::Stdio => {
                return Err(UserError::new("a stdio transport cannot be announced").into());
            }
        };
        let url = remote.url.clone().unwrap_or_default();
        let bundle = match &args.bundle {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|err| {
                    UserError::new(format!("cannot read {}: {err}", path.display()))
                })?;
                if bytes.len() as u64 > lan::fetch::MAX_BUNDLE_BYTES
                    || serde_json::from_slice::<Value>(&bytes).is_err()
                {
                    return Err(UserError::new(format!(
                        "{} is not a JSON bundle of at most {} bytes",
                        path.display(),
                        lan::fetch::MAX_BUNDLE_BYTES
                    ))
                    .into());
                }
                Some(bytes)
            }
            None => None,
        };
        let value = manifest.to_value()?;
        return Ok(Source {
            name: server.name.clone(),
            version: Some(server.version.as_str().to_owned()),
            title: server.title.clone(),
            endpoint: endpoint_url(&url)?,
            transport,
            manifest: Some((bytes, value)),
            bundle,
        });
    }
    let url = args.url.clone().unwrap_or_default();
    let name_text = args.name.clone().unwrap_or_default();
    let name = ServerName::parse(name_text.as_str()).map_err(|err| {
        UserError::new(format!("`{name_text}` is not a server name: {err}"))
            .with_hint("names look like io.github.acme/weather")
    })?;
    Ok(Source {
        name,
        version: None,
        title: None,
        endpoint: endpoint_url(&url)?,
        transport: match args.transport {
            TransportArg::StreamableHttp => LanTransport::StreamableHttp,
            TransportArg::Sse => LanTransport::Sse,
        },
        manifest: None,
        bundle: None,
    })
}

fn endpoint_url(text: &str) -> anyhow::Result<reqwest::Url> {
    if text.contains('{') {
        return Err(UserError::new(format!("`{text}` is a URL template"))
            .with_hint("announce a remote with a concrete URL, or use --url")
            .into());
    }
    let url = reqwest::Url::parse(text)
        .map_err(|err| UserError::new(format!("`{text}` is not a URL: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(UserError::new(format!("`{text}` is not an http(s) URL")).into());
    }
    Ok(url)
}

fn serve_files(args: &AnnounceArgs, source: &Source) -> anyhow::Result<Option<FileServer>> {
    let Some((bytes, _)) = &source.manifest else {
        return Ok(None);
    };
    let mut files = vec![File {
        path: MANIFEST_PATH,
        body: Arc::from(bytes.as_slice()),
    }];
    if let Some(bundle) = &source.bundle {
        files.push(File {
            path: BUNDLE_PATH,
            body: Arc::from(bundle.as_slice()),
        });
    }
    let server = FileServer::start(args.serve_on, files).map_err(|err| {
        UserError::new(format!("cannot listen on {}: {err}", args.serve_on))
            .with_hint("pick another --serve-on ADDR:PORT")
    })?;
    Ok(Some(server))
}
