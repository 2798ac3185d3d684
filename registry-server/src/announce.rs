//! `registry-server serve --announce`: the registry announces itself on the LAN over mDNS as a
//! `_mcp-registry._tcp.local.` service (TXT `txtvers=1`, `path=/v0.1`, `name`, `version`), from when
//! it listens until it shuts down, when goodbye packets withdraw it. Clients treat the announcement as
//! an unauthenticated hint (`mcp-reg` asks before using a registry found this way).

use std::net::{IpAddr, SocketAddr};

use registry_discovery::{Announcer, MdnsConfig, ServiceSpec};
use registry_schema::discovery::{RegistryTxt, Txt};

/// The API path announced in TXT `path`.
pub const API_PATH: &str = "/v0.1";

/// LAN announcement options of `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct AnnounceArgs {
    /// Announce the registry on the local network over mDNS (`_mcp-registry._tcp`), so `mcp-reg`
    /// can find it; needs a --listen address other machines can reach.
    #[arg(long, env = "REGISTRY_ANNOUNCE")]
    pub announce: bool,
    /// Instance name on the LAN [default: "mcp-reg registry on HOST"].
    #[arg(
        long,
        env = "REGISTRY_ANNOUNCE_NAME",
        value_name = "TEXT",
        requires = "announce"
    )]
    pub announce_name: Option<String>,
    /// Use only this interface for mDNS, by name or address (repeatable) [default: all].
    #[arg(
        long = "mdns-interface",
        env = "REGISTRY_MDNS_INTERFACE",
        value_name = "IF",
        value_delimiter = ','
    )]
    pub mdns_interface: Vec<String>,
    /// UDP port of mDNS (5353 is the standard; peers must use the same).
    #[arg(long = "mdns-port", env = "REGISTRY_MDNS_PORT", value_name = "PORT", default_value_t = registry_discovery::MDNS_PORT)]
    pub mdns_port: u16,
}

impl AnnounceArgs {
    fn config(&self) -> MdnsConfig {
        MdnsConfig {
            interfaces: self.mdns_interface.clone(),
            port: self.mdns_port,
            ..MdnsConfig::default()
        }
    }
}

/// What to announce for a registry listening on `listen`.
fn spec(args: &AnnounceArgs, listen: SocketAddr) -> ServiceSpec {
    let host_name = registry_discovery::local_host_name();
    let instance = match &args.announce_name {
        Some(name) => name.clone(),
        None => registry_schema::discovery::instance_name("mcp-reg registry", None, &host_name),
    };
    // A wildcard listener is reachable on every address the host has: follow them as they change.
    let addresses: Vec<IpAddr> = if listen.ip().is_unspecified() {
        Vec::new()
    } else {
        vec![listen.ip()]
    };
    let txt = RegistryTxt {
        path: API_PATH.to_owned(),
        tls: false,
        name: Some("mcp-reg".to_owned()),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
    };
    ServiceSpec {
        instance,
        host_name: Some(host_name),
        port: listen.port(),
        addresses,
        txt: Txt::Registry(txt),
    }
}

/// Starts announcing when `--announce` is set; the announcement lasts until the returned value is
/// stopped or dropped.
pub fn start(args: &AnnounceArgs, listen: SocketAddr) -> anyhow::Result<Option<Announcer>> {
    if !args.announce {
        return Ok(None);
    }
    if listen.ip().is_loopback() {
        eprintln!(
            "warning: --announce with --listen {listen}: other machines cannot reach a loopback address \
             (listen on 0.0.0.0:PORT or a LAN address)"
        );
    }
    let spec = spec(args, listen);
    let instance = spec.instance.clone();
    let announcer = Announcer::start(&args.config(), spec)
        .map_err(|err| anyhow::anyhow!("announcing on the LAN: {err}"))?;
    eprintln!(
        "announcing \"{instance}\" on the LAN ({}, port {})",
        registry_schema::discovery::REGISTRY_SERVICE_TYPE,
        listen.port()
    );
    Ok(Some(announcer))
}

/// Withdraws the announcement (goodbye packets); blocks briefly, so call it off the async runtime.
pub fn stop(announcer: Announcer) {
    if let Err(err) = announcer.stop() {
        eprintln!("warning: withdrawing the LAN announcement: {err}");
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use registry_discovery::testing::{self, TEST_PORT};
    use registry_discovery::{Browser, Event, ServiceKind};

    use super::*;

    fn args() -> AnnounceArgs {
        AnnounceArgs {
            announce: true,
            announce_name: Some("test registry".into()),
            mdns_interface: vec!["lo".into()],
            mdns_port: TEST_PORT,
        }
    }

    #[test]
    fn the_announcement_names_the_api_and_the_bound_port() -> anyhow::Result<()> {
        let spec = spec(&args(), "0.0.0.0:8080".parse()?);
        assert_eq!(spec.port, 8080);
        assert!(
            spec.addresses.is_empty(),
            "a wildcard listener follows the host's addresses"
        );
        let Txt::Registry(txt) = &spec.txt else {
            panic!("a registry announces a registry TXT record");
        };
        assert_eq!(txt.path, "/v0.1");
        let fixed = super::spec(&args(), "192.168.1.5:9000".parse()?);
        assert_eq!(fixed.addresses, vec!["192.168.1.5".parse::<IpAddr>()?]);
        Ok(())
    }

    #[test]
    fn serve_announce_is_discovered_and_withdrawn() -> anyhow::Result<()> {
        if !testing::enter_netns("announce::tests::serve_announce_is_discovered_and_withdrawn") {
            return Ok(());
        }
        let browser = Browser::start(&args().config(), &[ServiceKind::Registry])?;
        let announcer = start(&args(), "127.0.0.1:8123".parse()?)?;
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut appeared = None;
        while let Some(event) = browser.recv_until(deadline)? {
            if let Event::Appeared(service) = event {
                appeared = Some(service);
                break;
            }
        }
        let service = appeared.ok_or_else(|| anyhow::anyhow!("not discovered"))?;
        assert_eq!(service.instance, "test registry");
        assert_eq!(
            service.endpoint().as_deref(),
            Some("http://127.0.0.1:8123/v0.1")
        );
        stop(announcer.ok_or_else(|| anyhow::anyhow!("--announce starts an announcer"))?);
        let mut left = false;
        while let Some(event) = browser.recv_until(deadline)? {
            if matches!(event, Event::Left { .. }) {
                left = true;
                break;
            }
        }
        assert!(left, "stopping sends a goodbye");
        Ok(())
    }
}
