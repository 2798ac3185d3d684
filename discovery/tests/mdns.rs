//! Announce / browse round trips, each inside its own network namespace (see `testing`): a
//! loopback-only namespace for the single-host cases, two namespaces joined by a veth pair for the
//! cross-host case. Waits are upper bounds, never assertions on timing.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the failure report"
)]

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Stdio;
use std::time::{Duration, Instant};

use registry_discovery::testing::{self, TEST_PORT};
use registry_discovery::{
    AnnounceEvent, Announcer, Browser, Event, MdnsConfig, Service, ServiceSpec,
};
use registry_schema::ServerName;
use registry_schema::discovery::{LanTransport, RegistryTxt, ServerTxt, ServiceKind, Txt};

const WAIT: Duration = Duration::from_secs(15);

fn config(interface: &str) -> MdnsConfig {
    MdnsConfig {
        interfaces: vec![interface.to_owned()],
        port: TEST_PORT,
        ip_check_interval: Duration::from_secs(1),
    }
}

fn server_spec(instance: &str, host: &str, port: u16, addresses: Vec<IpAddr>) -> ServiceSpec {
    ServiceSpec {
        instance: instance.to_owned(),
        host_name: Some(format!("{host}.local.")),
        port,
        addresses,
        txt: Txt::Server(ServerTxt {
            path: "/mcp".into(),
            transport: LanTransport::StreamableHttp,
            tls: false,
            name: ServerName::parse("io.github.acme/weather").unwrap(),
            version: Some("1.2.0".into()),
            manifest: Some("/server.json".into()),
            sha256: Some(registry_schema::Digest::of_bytes(b"manifest")),
            bundle: None,
        }),
    }
}

fn loopback() -> Vec<IpAddr> {
    vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
}

/// Waits for the first event `pick` accepts.
fn wait_for<T>(browser: &Browser, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    while let Some(event) = browser.recv_until(deadline).unwrap() {
        if let Some(found) = pick(event) {
            return found;
        }
    }
    panic!("no matching event within {WAIT:?}");
}

fn appeared(kind: ServiceKind) -> impl FnMut(Event) -> Option<Service> {
    move |event| match event {
        Event::Appeared(service) if service.kind == kind => Some(service),
        _ => None,
    }
}

#[test]
fn announce_then_discover_both_types() {
    if !testing::enter_netns("announce_then_discover_both_types") {
        return;
    }
    let browser = Browser::start(&config("lo"), &ServiceKind::ALL).unwrap();
    let server = Announcer::start(
        &config("lo"),
        server_spec(
            "Weather (io.github.acme/weather) on a",
            "host-a",
            8080,
            loopback(),
        ),
    )
    .unwrap();
    let registry_txt = RegistryTxt {
        path: "/v0.1".into(),
        tls: false,
        name: Some("mcp-reg".into()),
        version: Some("0.1.0".into()),
    };
    let registry = Announcer::start(
        &config("lo"),
        ServiceSpec {
            instance: "mcp-reg registry on b".into(),
            host_name: Some("host-b.local.".into()),
            port: 8081,
            addresses: loopback(),
            txt: Txt::Registry(registry_txt.clone()),
        },
    )
    .unwrap();

    // Both kinds in one wait: the registry may appear first, and a wait for one kind drops the other.
    let (mut server_found, mut registry_found) = (None, None);
    wait_for(&browser, |event| {
        if let Event::Appeared(service) = event {
            match service.kind {
                ServiceKind::Server => server_found = Some(service),
                ServiceKind::Registry => registry_found = Some(service),
            }
        }
        (server_found.is_some() && registry_found.is_some()).then_some(())
    });
    let found = server_found.expect("server appeared");
    assert_eq!(found.instance, "Weather (io.github.acme/weather) on a");
    assert_eq!(found.port, 8080);
    assert_eq!(found.host, "host-a.local.");
    assert_eq!(found.addresses, loopback());
    assert_eq!(
        found.endpoint().as_deref(),
        Some("http://127.0.0.1:8080/mcp")
    );
    let Txt::Server(txt) = &found.txt else {
        panic!("a server announcement carries a server TXT record")
    };
    assert_eq!(txt.name.as_str(), "io.github.acme/weather");
    assert_eq!(
        txt.sha256,
        Some(registry_schema::Digest::of_bytes(b"manifest"))
    );

    let found = registry_found.expect("registry appeared");
    assert_eq!(found.instance, "mcp-reg registry on b");
    assert_eq!(found.txt, Txt::Registry(registry_txt));
    assert_eq!(
        found.endpoint().as_deref(),
        Some("http://127.0.0.1:8081/v0.1")
    );

    server.stop().unwrap();
    registry.stop().unwrap();
    browser.stop().unwrap();
}

#[test]
fn goodbye_is_a_left_event() {
    if !testing::enter_netns("goodbye_is_a_left_event") {
        return;
    }
    let browser = Browser::start(&config("lo"), &[ServiceKind::Server]).unwrap();
    let announcer = Announcer::start(
        &config("lo"),
        server_spec("Leaving", "host-a", 9000, loopback()),
    )
    .unwrap();
    let found = wait_for(&browser, appeared(ServiceKind::Server));
    let fullname = announcer.fullname();
    assert_eq!(found.fullname, fullname);
    announcer.stop().unwrap();
    let left = wait_for(&browser, |event| match event {
        Event::Left {
            fullname,
            instance,
            kind,
        } => Some((fullname, instance, kind)),
        _ => None,
    });
    assert_eq!(left, (fullname, "Leaving".to_owned(), ServiceKind::Server));
}

#[test]
fn same_instance_name_twice_gets_two_instances() {
    if !testing::enter_netns("same_instance_name_twice_gets_two_instances") {
        return;
    }
    let browser = Browser::start(&config("lo"), &[ServiceKind::Server]).unwrap();
    let mut first = Announcer::start(
        &config("lo"),
        server_spec("Twin", "host-a", 9001, loopback()),
    )
    .unwrap();
    // Let the first finish probing so the second sees a taken name (simultaneous probes are
    // resolved by tie-break; either way the names must end up distinct).
    let one = wait_for(&browser, appeared(ServiceKind::Server));
    let mut second = Announcer::start(
        &config("lo"),
        server_spec("Twin", "host-b", 9002, loopback()),
    )
    .unwrap();
    let two = wait_for(&browser, |event| match event {
        Event::Appeared(service) if service.fullname != one.fullname => Some(service),
        _ => None,
    });
    assert_ne!(one.instance, two.instance);
    let mut ports = [one.port, two.port];
    ports.sort_unstable();
    assert_eq!(ports, [9001, 9002]);
    // The one that lost the name says so and knows its new name. Its announcer learns of the rename on
    // its own thread, which can be after peers already see the new name: wait for the event.
    let receivers = [first.events().unwrap(), second.events().unwrap()];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut renamed: Vec<String> = Vec::new();
    while renamed.is_empty() && Instant::now() < deadline {
        for rx in &receivers {
            while let Ok(event) = rx.recv_timeout(Duration::from_millis(50)) {
                if let AnnounceEvent::Renamed { instance } = event {
                    renamed.push(instance);
                }
            }
        }
    }
    assert!(
        renamed.contains(&two.instance) || renamed.contains(&one.instance),
        "{renamed:?}"
    );
    let current = [first.instance(), second.instance()];
    assert!(
        current.contains(&one.instance) && current.contains(&two.instance),
        "{current:?}"
    );
}

#[test]
fn address_change_is_announced() {
    if !testing::enter_netns("address_change_is_announced") {
        return;
    }
    let browser = Browser::start(&config("lo"), &[ServiceKind::Server]).unwrap();
    // No explicit addresses: the host's, followed as they change.
    let mut announcer = Announcer::start(
        &config("lo"),
        server_spec("Moving", "host-a", 9003, Vec::new()),
    )
    .unwrap();
    let events = announcer.events().unwrap();
    let first = wait_for(&browser, appeared(ServiceKind::Server));
    let added: IpAddr = "10.99.0.1".parse().unwrap();
    assert!(!first.addresses.contains(&added));
    let status = std::process::Command::new("ip")
        .args(["addr", "add", "10.99.0.1/24", "dev", "lo"])
        .status()
        .unwrap();
    assert!(status.success());
    let updated = wait_for(&browser, |event| match event {
        Event::Appeared(service) if service.addresses.contains(&added) => Some(service),
        _ => None,
    });
    assert_eq!(updated.fullname, first.fullname);
    let reported = events
        .recv_timeout(WAIT)
        .into_iter()
        .chain(events.try_iter())
        .any(|event| {
            event
                == AnnounceEvent::AddressChanged {
                    address: added,
                    added: true,
                }
        });
    assert!(reported, "the announcer reports the new address");
}

#[test]
fn discovery_across_a_veth_pair() {
    let Some(veth) = testing::enter_veth("discovery_across_a_veth_pair") else {
        return;
    };
    if veth.role() == Some("announce") {
        // The other host: announce on the veth until the browser closes our stdin.
        let announcer = Announcer::start(
            &config(&veth.ifname),
            server_spec("Remote weather", "host-b", 9100, Vec::new()),
        )
        .unwrap();
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        announcer.stop().unwrap();
        return;
    }
    let browser = Browser::start(&config(&veth.ifname), &[ServiceKind::Server]).unwrap();
    let mut peer = veth
        .peer_role("discovery_across_a_veth_pair", "announce")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let found = wait_for(&browser, appeared(ServiceKind::Server));
    assert_eq!(found.instance, "Remote weather");
    assert!(
        found.addresses.contains(&IpAddr::V4(veth.peer_addr)),
        "announced with the peer's veth address: {:?}",
        found.addresses
    );
    assert_eq!(
        found.endpoint(),
        Some(format!("http://{}:9100/mcp", veth.peer_addr))
    );
    drop(peer.stdin.take());
    let left = wait_for(&browser, |event| match event {
        Event::Left { fullname, .. } => Some(fullname),
        _ => None,
    });
    assert_eq!(left, found.fullname);
    assert!(peer.wait().unwrap().success());
}

#[test]
fn the_guard_refuses_the_host_namespace() {
    // Pretending to be a namespaced child in a namespace with more than `lo` must panic before any
    // daemon exists. Runs as a child so the panic is observed, not suffered.
    if std::env::var_os("MCPREG_GUARD_PROBE").is_some() {
        testing::guard_interfaces(&["definitely-not-an-interface"]);
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_guard_refuses_the_host_namespace",
            "--nocapture",
        ])
        .env("MCPREG_GUARD_PROBE", "1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("netns guard") || stdout.contains("netns guard"),
        "{stderr}"
    );
}
