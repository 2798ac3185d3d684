//! The JSON of `mcp-reg discover --json` and the event stream of `discover --watch --json`: the
//! contract host integrations build on. One object per line (watch) with `"v": 1` and `"event"`;
//! field names are snake_case and stable within `v: 1` (new fields may be added; consumers ignore
//! unknown fields and events).
//!
//! Service object (`discover --json` lists these under `services`; `appeared` events carry them):
//! `kind` (`server` | `registry`), `instance`, `fullname` (the key of an instance), `hostname`
//! (SRV target), `port`, `addresses` (IPv4 first), `endpoint` (`http(s)://ADDRESS:PORT/PATH`),
//! `path`, `tls`, `transport` (servers: `streamable-http` | `sse`; registries: null), `name`,
//! `version`, `manifest` (absolute URL to fetch it from, or null), `digest` (`sha256:<hex>` from the
//! TXT record, or null), `bundle` (absolute URL or null). Everything here is an unverified hint.
//!
//! Events: `appeared` (service object; repeated when an instance's records change: treat as upsert),
//! `left` (`kind`, `instance`, `fullname`), `invalid` (`kind`, `instance`, `fullname`, `reason`),
//! and with `--sync`: `installed` (`instance`, `fullname`, `name`, `version`, `host`, `path`, `entry`,
//! `digest`, `trust`: `trusted-name` | `signed`, `identity`), `removed` (`instance`, `fullname`,
//! `name`, `host`, `path`, `entry`), `skipped` (`action`: `install` | `remove`, `instance`,
//! `fullname`, `name`, `host` or null, `reason`).

use registry_discovery::{Event, Service, Txt};
use serde_json::{Value, json};

/// Version of the JSON contract.
pub const VERSION: u32 = 1;

/// A service as JSON (see the module docs).
pub fn service(service: &Service) -> Value {
    let (transport, name, version, manifest, digest, bundle) = match &service.txt {
        Txt::Server(txt) => (
            Some(txt.transport.as_str().to_owned()),
            Some(txt.name.as_str().to_owned()),
            txt.version.clone(),
            txt.manifest
                .as_deref()
                .and_then(|m| super::fetch::resolve(service, m).ok())
                .map(|u| u.to_string()),
            txt.sha256.map(|d| d.to_string()),
            txt.bundle
                .as_deref()
                .and_then(|b| super::fetch::resolve(service, b).ok())
                .map(|u| u.to_string()),
        ),
        Txt::Registry(txt) => (
            None,
            txt.name.clone(),
            txt.version.clone(),
            None,
            None,
            None,
        ),
    };
    json!({
        "kind": service.kind.as_str(),
        "instance": service.instance,
        "fullname": service.fullname,
        "hostname": service.host,
        "port": service.port,
        "addresses": service.addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "endpoint": service.endpoint(),
        "path": service.txt.path(),
        "tls": service.txt.tls(),
        "transport": transport,
        "name": name,
        "version": version,
        "manifest": manifest,
        "digest": digest,
        "bundle": bundle,
    })
}

/// `{"v": 1, "event": NAME, …fields}`.
pub fn event(name: &str, fields: Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("v".into(), json!(VERSION));
    out.insert("event".into(), json!(name));
    if let Value::Object(fields) = fields {
        out.extend(fields);
    }
    Value::Object(out)
}

/// A browse event as a line object.
pub fn discovery_event(ev: &Event) -> Value {
    match ev {
        Event::Appeared(s) => event("appeared", service(s)),
        Event::Left {
            kind,
            instance,
            fullname,
        } => event(
            "left",
            json!({ "kind": kind.as_str(), "instance": instance, "fullname": fullname }),
        ),
        Event::Invalid {
            kind,
            instance,
            fullname,
            reason,
        } => event(
            "invalid",
            json!({ "kind": kind.as_str(), "instance": instance, "fullname": fullname, "reason": reason }),
        ),
    }
}
