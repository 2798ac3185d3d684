//! Measures the time from announcing to discovery (run by `bench/discovery.sh` inside a network
//! namespace; refuses to run anywhere with other interfaces than `lo` and the one named).
//!
//! `discovery_latency [--rounds N] [--interface IF] [--peer CMD…]`
//! - announce: a browser is running; time from `Announcer::start` to its `Appeared` event;
//! - browse: a service is announced; time from `Browser::start` to its `Appeared` event.
//!
//! Prints one JSON object per round, then a summary line with the median and p90 of each.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a measuring tool: a panic is the report"
)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use registry_discovery::testing::{TEST_PORT, guard_interfaces};
use registry_discovery::{Announcer, Browser, Event, MdnsConfig, ServiceSpec};
use registry_schema::discovery::{RegistryTxt, ServiceKind, Txt};

const WAIT: Duration = Duration::from_secs(10);

fn main() {
    let mut rounds = 10usize;
    let mut interface = "lo".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--rounds N");
            }
            "--interface" => interface = args.next().expect("--interface IF"),
            other => panic!("unknown argument {other}"),
        }
    }
    if interface == "lo" {
        guard_interfaces(&["lo"]);
    } else {
        guard_interfaces(&["lo", &interface]);
    }
    let config = MdnsConfig {
        interfaces: vec![interface.clone()],
        port: TEST_PORT,
        ip_check_interval: Duration::from_secs(5),
    };
    let mut announce = Vec::new();
    let mut browse = Vec::new();
    for round in 0..rounds {
        let instance = format!("latency round {round}");
        let spec = ServiceSpec {
            instance: instance.clone(),
            host_name: Some(format!("bench-{round}.local.")),
            port: 9000,
            addresses: if interface == "lo" {
                vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
            } else {
                Vec::new()
            },
            txt: Txt::Registry(RegistryTxt {
                path: "/v0.1".into(),
                tls: false,
                name: None,
                version: None,
            }),
        };
        // Announce with a browser already listening.
        let browser = Browser::start(&config, &[ServiceKind::Registry]).unwrap();
        let start = Instant::now();
        let announcer = Announcer::start(&config, spec).unwrap();
        let a = wait_appeared(&browser, &instance).map(|()| start.elapsed());
        browser.stop().unwrap();
        // Browse for a service that is already announced.
        let start = Instant::now();
        let browser = Browser::start(&config, &[ServiceKind::Registry]).unwrap();
        let b = wait_appeared(&browser, &instance).map(|()| start.elapsed());
        browser.stop().unwrap();
        announcer.stop().unwrap();
        println!(
            "{{\"round\":{round},\"announce_ms\":{},\"browse_ms\":{}}}",
            ms(a),
            ms(b)
        );
        announce.extend(a);
        browse.extend(b);
    }
    println!(
        "{{\"summary\":true,\"interface\":\"{interface}\",\"rounds\":{rounds},\"announce\":{},\"browse\":{}}}",
        stats(&mut announce),
        stats(&mut browse)
    );
}

fn wait_appeared(browser: &Browser, instance: &str) -> Option<()> {
    let deadline = Instant::now() + WAIT;
    while let Some(event) = browser.recv_until(deadline).unwrap() {
        if matches!(&event, Event::Appeared(s) if s.instance == instance) {
            return Some(());
        }
    }
    None
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "null".to_owned(), |d| d.as_millis().to_string())
}

fn stats(samples: &mut [Duration]) -> String {
    samples.sort_unstable();
    let at = |q: usize| {
        samples
            .get((samples.len() * q / 100).min(samples.len().saturating_sub(1)))
            .map_or_else(|| "null".to_owned(), |d| d.as_millis().to_string())
    };
    format!(
        "{{\"n\":{},\"min_ms\":{},\"median_ms\":{},\"p90_ms\":{},\"max_ms\":{}}}",
        samples.len(),
        at(0),
        at(50),
        at(90),
        at(100)
    )
}
