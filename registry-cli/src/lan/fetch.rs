//! Fetching what an announcement points to: only from the announcing host, without redirects,
//! with a timeout and a size cap.

use std::io::Read;
use std::net::IpAddr;
use std::time::Duration;

use registry_discovery::Service;
use registry_schema::discovery::Location;
use reqwest::Url;
use serde_json::Value;

/// Largest manifest accepted from a LAN announcement.
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024;
/// Largest provenance bundle accepted from a LAN announcement.
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking HTTP client for announced manifests and bundles.
#[derive(Debug, Clone)]
pub struct Fetcher {
    http: reqwest::blocking::Client,
}

impl Fetcher {
    pub fn new() -> anyhow::Result<Self> {
        // reqwest is built without a default TLS provider (rustls on ring, shared with the client).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            // A redirect could lead anywhere; the announcer must serve the file itself.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mcp-reg/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http })
    }

    /// GETs `url` and parses the body as JSON; at most `cap` bytes.
    pub fn get_json(&self, url: &Url, cap: u64) -> Result<Value, String> {
        let response = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .map_err(|err| format!("cannot fetch {url}: {err}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        if response.content_length().is_some_and(|len| len > cap) {
            return Err(format!("{url} is larger than {cap} bytes"));
        }
        let mut body = Vec::new();
        response
            .take(cap + 1)
            .read_to_end(&mut body)
            .map_err(|err| format!("cannot read {url}: {err}"))?;
        if body.len() as u64 > cap {
            return Err(format!("{url} is larger than {cap} bytes"));
        }
        serde_json::from_slice(&body).map_err(|err| format!("{url} is not JSON: {err}"))
    }
}

/// Where a TXT `manifest` / `bundle` value points for `service`: a `/path` on the announced address
/// and port, or an `http(s)` URL whose host is the announcing host (its SRV name, mapped to an
/// announced address, or one of its addresses). Anything else is refused: a spoofed record must not
/// make us fetch from arbitrary hosts.
pub fn resolve(service: &Service, value: &str) -> Result<Url, String> {
    let location = Location::parse(value).ok_or_else(|| format!("`{value}` is not a URL"))?;
    let mut url = match location {
        Location::Path(path) => {
            let origin = service
                .origin()
                .ok_or_else(|| "the announcement has no address".to_owned())?;
            Url::parse(&format!("{origin}{path}")).map_err(|err| format!("`{value}`: {err}"))?
        }
        Location::Url(url) => url,
    };
    let announced: Option<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let srv = service.host.trim_end_matches('.');
            if name.trim_end_matches('.').eq_ignore_ascii_case(srv) {
                // `.local` names need an mDNS resolver: connect to the announced address instead.
                let ip = service
                    .address()
                    .ok_or_else(|| "the announcement has no address".to_owned())?;
                url.set_ip_host(ip)
                    .map_err(|()| format!("cannot use address {ip}"))?;
                Some(ip)
            } else {
                return Err(format!(
                    "{value} is not on the announcing host ({srv}); refused"
                ));
            }
        }
        None => None,
    };
    match announced {
        Some(ip) if service.addresses.contains(&ip) => Ok(url),
        _ => Err(format!(
            "{value} is not on the announcing host's addresses; refused"
        )),
    }
}

#[cfg(test)]
mod tests {
    use registry_discovery::ServiceKind;
    use registry_schema::discovery::{RegistryTxt, Txt};

    use super::*;

    fn service() -> Service {
        Service {
            kind: ServiceKind::Registry,
            instance: "x".into(),
            fullname: "x._mcp-registry._tcp.local.".into(),
            host: "studio.local.".into(),
            port: 8080,
            addresses: vec!["10.0.0.5".parse().expect("ip")],
            txt: Txt::Registry(RegistryTxt {
                path: "/v0.1".into(),
                tls: false,
                name: None,
                version: None,
            }),
        }
    }

    #[test]
    fn locations_resolve_only_to_the_announcing_host() {
        let s = service();
        let ok = |v: &str| resolve(&s, v).map(|u| u.to_string());
        assert_eq!(
            ok("/server.json"),
            Ok("http://10.0.0.5:8080/server.json".into())
        );
        assert_eq!(
            ok("http://studio.local:9000/server.json"),
            Ok("http://10.0.0.5:9000/server.json".into())
        );
        assert_eq!(ok("http://10.0.0.5:9/m"), Ok("http://10.0.0.5:9/m".into()));
        assert!(ok("http://10.0.0.6/m").is_err());
        assert!(ok("https://evil.example/m").is_err());
    }
}
