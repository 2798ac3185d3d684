//! Only when the user asked for it (`MCP_REG_LAN_OFFER=1`, or `offer = true` under `[lan-registry]`
//! in `config.toml`) and no registry is configured, an interactive `mcp-reg` looks for one on the LAN
//! (1.5 s) and offers it once; the answer is kept in `[lan-registry]`, so it never asks again (delete
//! `accepted` to be asked again). Otherwise nothing is browsed: multicast queries are traffic the
//! user did not ask for (`mcp-reg discover` is the explicit way). Non-interactive runs,
//! `MCP_REG_NO_LAN_OFFER=1`, and an explicit `--registry` / `MCP_REG_REGISTRY` / `registry =` never
//! browse.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use registry_discovery::{Browser, Event, MdnsConfig, Service, ServiceKind};

use crate::config::{self, LanRegistry};
use crate::output;

const LISTEN: Duration = Duration::from_millis(1500);
/// A search that found nothing is repeated at most once a day.
const SEARCH_AGAIN_AFTER: i64 = 24 * 3600;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The registry base URL of an announcement: origin plus the TXT path without its API version
/// (`/v0.1`, `/v0`), since the client adds that itself.
pub fn registry_base(service: &Service) -> Option<String> {
    let origin = service.origin()?;
    let path = service.txt.path().trim_end_matches('/');
    let base = path
        .strip_suffix("/v0.1")
        .or_else(|| path.strip_suffix("/v0"))
        .unwrap_or(path);
    Some(format!("{origin}{base}"))
}

/// mDNS settings from the environment (the flags of `announce` / `discover` are not available here).
fn config_from_env() -> MdnsConfig {
    let mut config = MdnsConfig::default();
    if let Ok(list) = std::env::var("MCP_REG_MDNS_INTERFACE") {
        config.interfaces = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Some(port) = std::env::var("MCP_REG_MDNS_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
    {
        config.port = port;
    }
    config
}

/// Runs the offer; `Some(url)` when the user accepted a registry. Every failure means "no offer".
pub fn offer(remembered: &LanRegistry) -> Option<String> {
    if !output::interactive() {
        return None;
    }
    if remembered
        .searched_at
        .is_some_and(|at| now() - at < SEARCH_AGAIN_AFTER)
    {
        return None;
    }
    output::errln("no registry configured; looking for one on the local network…");
    let found = {
        let _spinner = output::Ui::new(false, 0).spinner("listening for mDNS announcements");
        search(&config_from_env())?
    };
    if found.is_empty() {
        let _ = config::remember_lan_registry(&LanRegistry {
            searched_at: Some(now()),
            offer: remembered.offer,
            ..LanRegistry::default()
        });
        return None;
    }
    for (i, service) in found.iter().enumerate() {
        output::errln(&format!(
            "  {}. \"{}\" at {}",
            i + 1,
            service.instance,
            registry_base(service).unwrap_or_default()
        ));
    }
    output::errln(
        "LAN announcements are unauthenticated: use a registry only if you know who runs it.",
    );
    let question = if found.len() == 1 {
        "Use this registry (remembered in the config file)? [y/N] ".to_owned()
    } else {
        format!(
            "Use which registry (remembered in the config file)? [1-{}, Enter for none] ",
            found.len()
        )
    };
    let answer = ask(&question)?;
    let pick = if found.len() == 1 {
        matches!(answer.as_str(), "y" | "Y" | "yes" | "Yes").then_some(0)
    } else {
        answer
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=found.len()).contains(n))
            .map(|n| n - 1)
    };
    let chosen = pick.and_then(|i| found.get(i));
    let shown = chosen.or(found.first())?;
    let url = registry_base(shown)?;
    let remembered = LanRegistry {
        url: Some(url.clone()),
        instance: Some(shown.instance.clone()),
        accepted: Some(chosen.is_some()),
        searched_at: None,
        offer: remembered.offer,
    };
    if let Err(err) = config::remember_lan_registry(&remembered) {
        output::warning(&format!("cannot remember the answer: {err:#}"));
    }
    chosen.map(|_| url)
}

fn search(config: &MdnsConfig) -> Option<Vec<Service>> {
    let browser = Browser::start(config, &[ServiceKind::Registry]).ok()?;
    let events = browser.collect_until(Instant::now() + LISTEN).ok()?;
    let _ = browser.stop();
    let mut found: Vec<Service> = Vec::new();
    for event in events {
        match event {
            Event::Appeared(service) => {
                found.retain(|s| s.fullname != service.fullname);
                found.push(service);
            }
            Event::Left { fullname, .. } => found.retain(|s| s.fullname != fullname),
            Event::Invalid { .. } => {}
        }
    }
    Some(found)
}

fn ask(question: &str) -> Option<String> {
    Some(output::prompt(question).ok()?.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use registry_schema::discovery::{RegistryTxt, Txt};

    use super::*;

    #[test]
    fn registry_base_drops_the_api_version() {
        let mut service = Service {
            kind: ServiceKind::Registry,
            instance: "r".into(),
            fullname: "r._mcp-registry._tcp.local.".into(),
            host: "h.local.".into(),
            port: 8080,
            addresses: vec!["192.168.1.2".parse().expect("ip")],
            txt: Txt::Registry(RegistryTxt {
                path: "/v0.1".into(),
                tls: false,
                name: None,
                version: None,
            }),
        };
        assert_eq!(
            registry_base(&service).as_deref(),
            Some("http://192.168.1.2:8080")
        );
        service.txt = Txt::Registry(RegistryTxt {
            path: "/mirror/v0".into(),
            tls: true,
            name: None,
            version: None,
        });
        assert_eq!(
            registry_base(&service).as_deref(),
            Some("https://192.168.1.2:8080/mirror")
        );
    }

    #[test]
    fn the_answer_is_remembered_next_to_the_users_comments() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "# my settings\nother = 1 # keep\n")?;
        let answer = LanRegistry {
            url: Some("http://10.0.0.5:8080".into()),
            instance: Some("mcp-reg on studio".into()),
            accepted: Some(true),
            searched_at: None,
            offer: true,
        };
        config::write_lan_registry(&path, &answer)?;
        let text = std::fs::read_to_string(&path)?;
        assert!(
            text.starts_with("# my settings\nother = 1 # keep\n"),
            "{text}"
        );
        assert_eq!(config::read_lan_registry(&path)?, answer);
        Ok(())
    }
}
