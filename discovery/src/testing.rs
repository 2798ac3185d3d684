//! Running mDNS tests inside throwaway network namespaces, never on the machine's real interfaces.
//!
//! A daemon joins the multicast group on every interface that is up as soon as it is created, so a
//! test must never create one in the host's namespace. Each helper re-executes the current test
//! binary (just the one test) inside a fresh namespace and returns `true` / `Some` only in that
//! child, after a hard guard checked that `ip -o link` lists nothing but the expected interfaces.
//! Run with the environment variable set by hand in the host namespace, the guard panics before any
//! socket is opened.
//!
//! - [`enter_netns`]: a new user + network namespace (`unshare -rn`) with only `lo`, up. No root
//!   needed.
//! - [`enter_veth`]: two named namespaces joined by a veth pair (`10.77.0.1/24` ↔ `10.77.0.2/24`),
//!   the cross-host case. Needs root (CI runs as root); the namespaces are deleted afterwards.
//!
//! Both need `unshare` (util-linux) and `ip` (iproute2). When they are missing the test fails,
//! unless [`SKIP_ENV`] is set, in which case it prints `SKIP` and passes without testing anything.

use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Set in the namespaced child (`lo` or `veth`).
pub const NETNS_ENV: &str = "MCPREG_IN_NETNS";
/// Opt-out for machines without namespaces: the namespaced tests then pass vacuously.
pub const SKIP_ENV: &str = "MCPREG_SKIP_NETNS_TESTS";
/// The role a veth child plays (see [`Veth::peer_role`]).
const ROLE_ENV: &str = "MCPREG_VETH_ROLE";
const NS_ENV: &str = "MCPREG_VETH_NS";
const PEER_NS_ENV: &str = "MCPREG_VETH_PEER_NS";
const SIDE_ENV: &str = "MCPREG_VETH_SIDE";

/// Makes namespace names unique within a test process.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Port for test daemons: an isolation fence from any responder that listens on 5353.
pub const TEST_PORT: u16 = 5454;

/// The interface names `ip -o link` lists (`vb@if2` → `vb`).
pub fn interfaces() -> Vec<String> {
    let output = Command::new("ip")
        .args(["-o", "link"])
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|err| panic!("netns guard: cannot run `ip -o link`: {err}"));
    assert!(output.status.success(), "netns guard: `ip -o link` failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).trim().to_owned())
        .collect()
}

/// Panics unless the interfaces of this namespace are exactly `allowed` (in any order).
pub fn guard_interfaces(allowed: &[&str]) {
    let mut found = interfaces();
    found.sort();
    let mut want: Vec<String> = allowed.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(
        found, want,
        "netns guard: refusing to start an mDNS daemon: this namespace has interfaces {found:?}, \
         expected exactly {want:?} (are we in the host namespace?)"
    );
}

/// Whether a helper could not create its namespace; fails unless [`SKIP_ENV`] is set.
fn unavailable(test: &str, why: &str) -> bool {
    if std::env::var_os(SKIP_ENV).is_some() {
        eprintln!("SKIP {test}: {why} ({SKIP_ENV} is set)");
        return false;
    }
    panic!("{test}: {why}; set {SKIP_ENV}=1 to skip the namespaced tests");
}

fn current_exe() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|err| panic!("cannot find the test binary: {err}"))
}

/// Re-runs `test` (its full name, e.g. `tests::roundtrip`) in a fresh user + network namespace with
/// only `lo`, up. Returns `true` in that child, after the guard; `false` in the parent, after the
/// child passed (its failure fails the parent).
pub fn enter_netns(test: &str) -> bool {
    match std::env::var(NETNS_ENV).as_deref() {
        Ok("lo") => {
            guard_interfaces(&["lo"]);
            return true;
        }
        Ok(other) => panic!("{NETNS_ENV}={other}: this test expects a loopback-only namespace"),
        Err(_) => {}
    }
    let status = Command::new("unshare")
        .args(["--user", "--map-root-user", "--net", "--", "sh", "-c"])
        .arg("ip link set lo up && exec \"$0\" --exact \"$1\" --nocapture --test-threads=1")
        .arg(current_exe())
        .arg(test)
        .env(NETNS_ENV, "lo")
        .status();
    match status {
        Ok(status) => assert!(status.success(), "{test} failed inside its namespace"),
        Err(err) => {
            unavailable(test, &format!("cannot run unshare: {err}"));
        }
    }
    false
}

/// One side of a veth pair, inside its namespace.
#[derive(Debug, Clone)]
pub struct Veth {
    /// This namespace's name (`ip netns`).
    pub ns: String,
    /// The other side's namespace.
    pub peer_ns: String,
    /// This side's veth interface.
    pub ifname: String,
    pub addr: Ipv4Addr,
    pub peer_addr: Ipv4Addr,
    role: Option<String>,
}

impl Veth {
    /// A command that runs `program` in the peer namespace.
    pub fn in_peer(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.peer_ns]).arg(program);
        cmd
    }

    /// A command that runs this same test in the peer namespace, where [`Veth::role`] is `role`
    /// (the peer's guard checks its own interfaces).
    pub fn peer_role(&self, test: &str, role: &str) -> Command {
        let mut cmd = self.in_peer(current_exe());
        cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(NETNS_ENV, "veth")
            .env(ROLE_ENV, role)
            .env(NS_ENV, &self.peer_ns)
            .env(PEER_NS_ENV, &self.ns)
            .env(SIDE_ENV, if self.ifname == "va" { "b" } else { "a" });
        cmd
    }

    /// `None` in the main child; the role given to [`Veth::peer_role`] in a peer.
    pub fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }
}

const A_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const B_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fn side(ns: String, peer_ns: String, a: bool, role: Option<String>) -> Veth {
    let (ifname, addr, peer_addr) = if a {
        ("va", A_ADDR, B_ADDR)
    } else {
        ("vb", B_ADDR, A_ADDR)
    };
    Veth {
        ns,
        peer_ns,
        ifname: ifname.to_owned(),
        addr,
        peer_addr,
        role,
    }
}

/// Deletes the namespaces (and with them the veth pair) even when the test panics.
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|err| format!("cannot run ip: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Re-runs `test` inside namespace A of a fresh pair A ↔ B joined by a veth pair created inside
/// the namespaces (the host namespace never sees it). Returns `Some(side A)` in that child, after
/// the guard (`lo` + `va`); `None` in the parent after the child passed.
pub fn enter_veth(test: &str) -> Option<Veth> {
    match std::env::var(NETNS_ENV).as_deref() {
        Ok("veth") => {
            let var = |name: &str| {
                std::env::var(name)
                    .unwrap_or_else(|_| panic!("{name} is not set in the veth child"))
            };
            let a = var(SIDE_ENV) == "a";
            let veth = side(
                var(NS_ENV),
                var(PEER_NS_ENV),
                a,
                std::env::var(ROLE_ENV).ok(),
            );
            guard_interfaces(&["lo", &veth.ifname]);
            return Some(veth);
        }
        Ok(other) => panic!("{NETNS_ENV}={other}: this test expects a veth namespace"),
        Err(_) => {}
    }
    let id = format!(
        "mcpreg-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let (ns_a, ns_b) = (format!("{id}-a"), format!("{id}-b"));
    let namespaces = Namespaces(Vec::new());
    let setup = (|| {
        let mut namespaces = namespaces;
        ip(&["netns", "add", &ns_a])?;
        namespaces.0.push(ns_a.clone());
        ip(&["netns", "add", &ns_b])?;
        namespaces.0.push(ns_b.clone());
        ip(&[
            "-n", &ns_a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", &ns_b,
        ])?;
        ip(&["-n", &ns_a, "addr", "add", "10.77.0.1/24", "dev", "va"])?;
        ip(&["-n", &ns_b, "addr", "add", "10.77.0.2/24", "dev", "vb"])?;
        for (ns, dev) in [(&ns_a, "va"), (&ns_b, "vb")] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok::<_, String>(namespaces)
    })();
    let _namespaces = match setup {
        Ok(namespaces) => namespaces,
        Err(err) => {
            unavailable(
                test,
                &format!("cannot create the veth namespaces (needs root): {err}"),
            );
            return None;
        }
    };
    let main = side(ns_b.clone(), ns_a.clone(), false, None);
    // `main` is B's view; its peer is A, so this runs the test in A as the main child.
    let status = main
        .peer_role(test, "")
        .env_remove(ROLE_ENV)
        .status()
        .unwrap_or_else(|err| panic!("cannot run ip netns exec: {err}"));
    assert!(status.success(), "{test} failed inside its namespace");
    None
}
