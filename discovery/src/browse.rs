//! Browsing service types and turning the daemon's answers into typed events.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mdns_sd::{ResolvedService, ServiceDaemon, ServiceEvent};
use registry_schema::discovery::{ServiceKind, Txt};

use crate::{Error, MdnsConfig, instance_of};

/// A service found on the LAN. Everything in it is an unauthenticated hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub kind: ServiceKind,
    /// The human-readable instance name (unescaped).
    pub instance: String,
    /// The DNS-SD full name: the key of the instance.
    pub fullname: String,
    /// The SRV target (`studio.local.`).
    pub host: String,
    pub port: u16,
    /// IPv4 first, then IPv6, each sorted.
    pub addresses: Vec<IpAddr>,
    pub txt: Txt,
}

impl Service {
    /// The address to connect to: IPv4 before IPv6, link-local IPv6 last (it needs a zone).
    pub fn address(&self) -> Option<IpAddr> {
        self.addresses.iter().copied().min_by_key(|ip| match ip {
            IpAddr::V4(_) => 0,
            IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => 2,
            IpAddr::V6(_) => 1,
        })
    }

    /// `http(s)://ADDRESS:PORT`, the base that TXT paths are relative to.
    pub fn origin(&self) -> Option<String> {
        let scheme = if self.txt.tls() { "https" } else { "http" };
        self.address().map(|ip| match ip {
            IpAddr::V4(v4) => format!("{scheme}://{v4}:{}", self.port),
            IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{}", self.port),
        })
    }

    /// The announced endpoint: origin + TXT `path` (the MCP endpoint, or the registry's API base).
    pub fn endpoint(&self) -> Option<String> {
        self.origin().map(|o| format!("{o}{}", self.txt.path()))
    }
}

/// What browsing reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A service was resolved, or its records changed (consumers treat it as an upsert).
    Appeared(Service),
    /// A service sent its goodbye, or its records expired.
    Left {
        kind: ServiceKind,
        instance: String,
        fullname: String,
    },
    /// A service of our type whose TXT record we cannot accept; reported once per reason.
    Invalid {
        kind: ServiceKind,
        instance: String,
        fullname: String,
        reason: String,
    },
}

/// Browses service types until stopped or dropped.
pub struct Browser {
    daemon: ServiceDaemon,
    events: mpsc::Receiver<Event>,
    threads: Vec<JoinHandle<()>>,
    stopped: bool,
}

type Known = Arc<Mutex<HashMap<String, Known1>>>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Known1 {
    Valid(Box<Service>),
    Invalid(String),
}

impl Browser {
    /// Starts a daemon with `config` and browses `kinds`.
    pub fn start(config: &MdnsConfig, kinds: &[ServiceKind]) -> Result<Self, Error> {
        let daemon = config.daemon()?;
        let (tx, rx) = mpsc::channel();
        let known: Known = Arc::default();
        let mut threads = Vec::new();
        for &kind in kinds {
            let receiver = daemon.browse(kind.service_type())?;
            let tx = tx.clone();
            let known = Arc::clone(&known);
            let handle = std::thread::Builder::new()
                .name("mdns-browse".into())
                .spawn(move || forward(kind, &receiver, &tx, &known))
                .map_err(|_| Error::Stopped)?;
            threads.push(handle);
        }
        Ok(Self {
            daemon,
            events: rx,
            threads,
            stopped: false,
        })
    }

    /// The next event, waiting at most `timeout`; `Ok(None)` when none came in time.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Event>, Error> {
        match self.events.recv_timeout(timeout) {
            Ok(event) => Ok(Some(event)),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Stopped),
        }
    }

    /// The next event before `deadline`; `Ok(None)` when it passes.
    pub fn recv_until(&self, deadline: Instant) -> Result<Option<Event>, Error> {
        self.recv_timeout(deadline.saturating_duration_since(Instant::now()))
    }

    /// Every event until `deadline` (a snapshot of the LAN after a fixed listening time).
    pub fn collect_until(&self, deadline: Instant) -> Result<Vec<Event>, Error> {
        let mut out = Vec::new();
        while let Some(event) = self.recv_until(deadline)? {
            out.push(event);
        }
        Ok(out)
    }

    /// Stops the daemon; pending events are dropped.
    pub fn stop(mut self) -> Result<(), Error> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        if std::mem::replace(&mut self.stopped, true) {
            return Ok(());
        }
        let status = self.daemon.shutdown().map(|status| {
            let _ = status.recv_timeout(Duration::from_secs(2));
        });
        // The forwarding threads end when the daemon drops the browse senders.
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
        status?;
        Ok(())
    }
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").finish_non_exhaustive()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Drains one browse channel (mdns-sd disconnects a receiver that falls behind) into typed events.
fn forward(
    kind: ServiceKind,
    receiver: &mdns_sd::Receiver<ServiceEvent>,
    tx: &mpsc::Sender<Event>,
    known: &Known,
) {
    while let Ok(event) = receiver.recv() {
        let out = match event {
            ServiceEvent::ServiceResolved(resolved) => resolved_event(kind, &resolved, known),
            ServiceEvent::ServiceRemoved(_, fullname) => {
                let key = fullname.to_ascii_lowercase();
                let was = known
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
                matches!(was, Some(Known1::Valid(_))).then(|| Event::Left {
                    kind,
                    instance: instance_of(&fullname, kind.service_type()),
                    fullname,
                })
            }
            _ => None,
        };
        if let Some(out) = out
            && tx.send(out).is_err()
        {
            return;
        }
    }
}

fn resolved_event(kind: ServiceKind, resolved: &ResolvedService, known: &Known) -> Option<Event> {
    let fullname = resolved.get_fullname().to_owned();
    let instance = instance_of(&fullname, kind.service_type());
    let parsed = parse(kind, resolved).map(|txt| {
        let mut addresses: Vec<IpAddr> = resolved
            .get_addresses()
            .iter()
            .map(mdns_sd::ScopedIp::to_ip_addr)
            .collect();
        addresses.sort_by_key(|ip| (ip.is_ipv6(), *ip));
        addresses.dedup();
        Service {
            kind,
            instance: instance.clone(),
            fullname: fullname.clone(),
            host: resolved.get_hostname().to_owned(),
            port: resolved.get_port(),
            addresses,
            txt,
        }
    });
    let entry = match &parsed {
        Ok(service) => Known1::Valid(Box::new(service.clone())),
        Err(reason) => Known1::Invalid(reason.clone()),
    };
    let mut map = known.lock().unwrap_or_else(PoisonError::into_inner);
    let key = fullname.to_ascii_lowercase();
    // The daemon resolves an instance again when any record is refreshed: report changes only.
    if map.get(&key) == Some(&entry) {
        return None;
    }
    map.insert(key, entry);
    Some(match parsed {
        Ok(service) => Event::Appeared(service),
        Err(reason) => Event::Invalid {
            kind,
            instance,
            fullname,
            reason,
        },
    })
}

fn parse(kind: ServiceKind, resolved: &ResolvedService) -> Result<Txt, String> {
    let mut entries = Vec::new();
    for property in resolved.get_properties().iter() {
        let value = match property.val() {
            None => None,
            Some(bytes) => Some(
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| format!("TXT `{}` is not UTF-8", property.key()))?,
            ),
        };
        entries.push((property.key().to_owned(), value));
    }
    if resolved.get_port() == 0 {
        return Err("port 0".to_owned());
    }
    Txt::parse(kind, &entries).map_err(|err| err.to_string())
}
