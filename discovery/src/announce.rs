//! Announcing one service until stopped.

use std::net::IpAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mdns_sd::{DaemonEvent, ServiceDaemon, ServiceInfo};
use registry_schema::discovery::{MAX_INSTANCE_OCTETS, ServiceKind, Txt};

use crate::{Error, MdnsConfig, instance_of, local_host_name};

/// Bounds the wait for the daemon's answers while stopping.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// mdns-sd repeats a goodbye 120 ms after the first; waiting a little longer lets it go out.
const GOODBYE_REPEAT: Duration = Duration::from_millis(200);
/// Address changes arrive in bursts (one event per address); re-announce at most this often.
const REANNOUNCE_MIN_GAP: Duration = Duration::from_millis(500);

/// What to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Human-readable instance name (≤63 octets; see [`registry_schema::discovery::instance_name`]).
    /// The responder renames it (`… (2)`) if another host already uses it.
    pub instance: String,
    /// The mDNS host name (`studio.local.`); default: this machine's.
    pub host_name: Option<String>,
    pub port: u16,
    /// Addresses to announce; empty: this host's addresses on the selected interfaces, followed as
    /// they change.
    pub addresses: Vec<IpAddr>,
    /// The TXT record; its variant picks the service type.
    pub txt: Txt,
}

impl ServiceSpec {
    pub fn kind(&self) -> ServiceKind {
        match self.txt {
            Txt::Server(_) => ServiceKind::Server,
            Txt::Registry(_) => ServiceKind::Registry,
        }
    }
}

/// Things an announcer reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnounceEvent {
    /// The first announcement went out (after probing), under this instance name.
    Announced { instance: String },
    /// Another host had the name; the responder picked this one.
    Renamed { instance: String },
    /// The host gained or lost an address; the service was announced again.
    AddressChanged { address: IpAddr, added: bool },
    /// The daemon reported a problem.
    Error(String),
}

/// One announced service; sends goodbye packets when stopped or dropped.
pub struct Announcer {
    daemon: ServiceDaemon,
    /// The full name as registered (escaped, RFC 6763 §4.3): the daemon's key for it.
    registered: String,
    kind: ServiceKind,
    instance: Arc<Mutex<String>>,
    events: Option<mpsc::Receiver<AnnounceEvent>>,
    monitor: Option<JoinHandle<()>>,
    stopped: bool,
}

impl Announcer {
    /// Starts a daemon with `config` and announces `spec` on it.
    pub fn start(config: &MdnsConfig, spec: ServiceSpec) -> Result<Self, Error> {
        check_instance(&spec.instance)?;
        let kind = spec.kind();
        let entries = spec.txt.to_entries()?;
        let properties: Vec<(&str, &str)> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let host = spec.host_name.clone().unwrap_or_else(local_host_name);
        let mut info = ServiceInfo::new(
            kind.service_type(),
            &spec.instance,
            &host,
            &spec.addresses[..],
            spec.port,
            &properties[..],
        )?;
        let auto = spec.addresses.is_empty();
        if auto {
            info = info.enable_addr_auto();
        }
        let registered = info.get_fullname().to_owned();
        let daemon = config.daemon()?;
        // Subscribed before registering, so a rename during probing is not missed.
        let monitor = daemon.monitor()?;
        let instance = Arc::new(Mutex::new(spec.instance));
        let (tx, rx) = mpsc::channel();
        let watcher = Watcher {
            daemon: daemon.clone(),
            info: info.clone(),
            instance: Arc::clone(&instance),
            events: tx,
        };
        let handle = std::thread::Builder::new()
            .name("mdns-announce".into())
            .spawn(move || watcher.run(&monitor))
            .map_err(|_| Error::Stopped)?;
        daemon.register(info)?;
        Ok(Self {
            daemon,
            registered,
            kind,
            instance,
            events: Some(rx),
            monitor: Some(handle),
            stopped: false,
        })
    }

    /// The DNS-SD full name peers see now, as [`crate::Service::fullname`] spells it (unescaped;
    /// renamed if the first choice was taken).
    pub fn fullname(&self) -> String {
        format!("{}.{}", self.instance(), self.kind.service_type())
    }

    pub fn kind(&self) -> ServiceKind {
        self.kind
    }

    /// The instance name peers see now (renamed if the first choice was taken).
    pub fn instance(&self) -> String {
        self.instance
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The announcer's reports; `None` after the first call.
    pub fn events(&mut self) -> Option<mpsc::Receiver<AnnounceEvent>> {
        self.events.take()
    }

    /// Withdraws the service (goodbye packets with TTL 0) and stops the daemon.
    pub fn stop(mut self) -> Result<(), Error> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        if std::mem::replace(&mut self.stopped, true) {
            return Ok(());
        }
        let unregistered = self.daemon.unregister(&self.registered).map(|status| {
            // A timeout only means the daemon is slow; the goodbye is queued either way.
            let _ = status.recv_timeout(STOP_TIMEOUT);
        });
        if unregistered.is_ok() {
            std::thread::sleep(GOODBYE_REPEAT);
        }
        let stopped = self.daemon.shutdown().map(|status| {
            let _ = status.recv_timeout(STOP_TIMEOUT);
        });
        if let Some(handle) = self.monitor.take() {
            let _ = handle.join();
        }
        unregistered?;
        stopped?;
        Ok(())
    }
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer")
            .field("fullname", &self.registered)
            .field("instance", &self.instance())
            .finish_non_exhaustive()
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn check_instance(name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::Instance {
            name: name.to_owned(),
            reason,
        })
    };
    if name.trim().is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_INSTANCE_OCTETS {
        return bad("it is longer than 63 octets");
    }
    if name.chars().any(char::is_control) {
        return bad("it contains control characters");
    }
    Ok(())
}

/// Follows the daemon's monitor channel: renames, address changes, errors.
struct Watcher {
    daemon: ServiceDaemon,
    info: ServiceInfo,
    instance: Arc<Mutex<String>>,
    events: mpsc::Sender<AnnounceEvent>,
}

impl Watcher {
    fn run(self, monitor: &mdns_sd::Receiver<DaemonEvent>) {
        let fullname = self.info.get_fullname().to_owned();
        let mut announced = false;
        let mut last_reannounce: Option<Instant> = None;
        // Ends when the daemon shuts down and drops its sender.
        while let Ok(event) = monitor.recv() {
            let report = match event {
                // After probing the daemon reports the name it announced (renamed or not).
                DaemonEvent::Announce(name, _) if !announced => {
                    let instance = instance_of(&name, self.info.get_type());
                    let current = self.current_instance();
                    (name.eq_ignore_ascii_case(&fullname) || instance == current).then(|| {
                        announced = true;
                        AnnounceEvent::Announced { instance: current }
                    })
                }
                DaemonEvent::NameChange(change)
                    if change.original.eq_ignore_ascii_case(&fullname) =>
                {
                    let new = instance_of(&change.new_name, self.info.get_type());
                    let mut current = self.instance.lock().unwrap_or_else(PoisonError::into_inner);
                    // One rename shows up once per interface and record type.
                    (*current != new).then(|| {
                        current.clone_from(&new);
                        AnnounceEvent::Renamed { instance: new }
                    })
                }
                DaemonEvent::IpAdd(address) => {
                    Some(self.reannounce(address, true, &mut last_reannounce))
                }
                DaemonEvent::IpDel(address) => {
                    Some(self.reannounce(address, false, &mut last_reannounce))
                }
                DaemonEvent::Error(err) => Some(AnnounceEvent::Error(err.to_string())),
                _ => None,
            };
            if let Some(report) = report {
                // Nobody listening is fine.
                let _ = self.events.send(report);
            }
        }
    }

    fn current_instance(&self) -> String {
        self.instance
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The daemon updates an auto-address service itself and announces it on a new interface, but
    /// a service with fixed addresses is never announced on an interface that came up after it was
    /// registered (nor answered for there). Registering it again announces it on every interface
    /// the daemon has now, with the current addresses.
    fn reannounce(
        &self,
        address: IpAddr,
        added: bool,
        last: &mut Option<Instant>,
    ) -> AnnounceEvent {
        if last.is_none_or(|t| t.elapsed() >= REANNOUNCE_MIN_GAP) {
            *last = Some(Instant::now());
            if let Err(err) = self.daemon.register(self.info.clone()) {
                return AnnounceEvent::Error(format!("re-announcing: {err}"));
            }
        }
        AnnounceEvent::AddressChanged { address, added }
    }
}
