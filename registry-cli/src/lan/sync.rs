//! `mcp-reg discover --watch --sync HOST…`: install servers as they appear on the LAN, remove the
//! entries this engine added when they leave.
//!
//! Before installing, the manifest is fetched from the announcing host (size-capped, no redirects),
//! its RFC 8785 digest must equal the TXT `sha256`, its name and version must match the TXT record,
//! it must validate, and it must pass the provenance policy
//! ([`crate::provenance::check_discovered`]: signed by a trusted identity, or an explicitly trusted
//! name). Entries are written through [`crate::install`] (atomic, with backups) and marked in the
//! install record with `origin = "lan:<full name>"`; removal touches only records with that marker,
//! so entries the user installed (or edited since) are never removed.

use registry_discovery::{Event, Service, Txt};
use registry_schema::{Manifest, Policy, ServerJson};
use serde_json::{Value, json};

use super::fetch::{self, Fetcher, MAX_BUNDLE_BYTES, MAX_MANIFEST_BYTES};
use crate::install::{self, Host, HostEnv, InstallOptions, RecordStore, Scope, launch};
use crate::provenance::{self, Discovered, TrustDecision};

/// Prefix of the install-record origin of entries added by sync.
pub const ORIGIN_PREFIX: &str = "lan:";

/// The origin marker for entries installed from the instance `fullname`.
pub fn origin_for(fullname: &str) -> String {
    format!("{ORIGIN_PREFIX}{}", fullname.to_ascii_lowercase())
}

/// What sync did about one event; rendered as a JSON event line or a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Installed {
        instance: String,
        fullname: String,
        name: String,
        version: String,
        host: &'static str,
        path: String,
        entry: String,
        digest: String,
        trust: TrustDecision,
    },
    Removed {
        instance: String,
        fullname: String,
        name: String,
        host: String,
        path: String,
        entry: String,
    },
    Skipped {
        action: &'static str,
        instance: String,
        fullname: String,
        name: Option<String>,
        host: Option<String>,
        reason: String,
    },
}

impl Outcome {
    /// The event line (see [`super::json`]).
    pub fn to_json(&self) -> Value {
        match self {
            Outcome::Installed {
                instance,
                fullname,
                name,
                version,
                host,
                path,
                entry,
                digest,
                trust,
            } => {
                let (trust, identity) = match trust {
                    TrustDecision::TrustedName => ("trusted-name", None),
                    TrustDecision::Signed { identity } => ("signed", Some(identity.clone())),
                };
                super::json::event(
                    "installed",
                    json!({
                        "instance": instance, "fullname": fullname, "name": name,
                        "version": version, "host": host, "path": path, "entry": entry,
                        "digest": digest, "trust": trust, "identity": identity,
                    }),
                )
            }
            Outcome::Removed {
                instance,
                fullname,
                name,
                host,
                path,
                entry,
            } => super::json::event(
                "removed",
                json!({
                    "instance": instance, "fullname": fullname, "name": name,
                    "host": host, "path": path, "entry": entry,
                }),
            ),
            Outcome::Skipped {
                action,
                instance,
                fullname,
                name,
                host,
                reason,
            } => super::json::event(
                "skipped",
                json!({
                    "action": action, "instance": instance, "fullname": fullname,
                    "name": name, "host": host, "reason": reason,
                }),
            ),
        }
    }

    /// One line for people.
    pub fn message(&self) -> String {
        match self {
            Outcome::Installed {
                instance,
                name,
                version,
                host,
                path,
                trust,
                ..
            } => {
                let why = match trust {
                    TrustDecision::TrustedName => "trusted name".to_owned(),
                    TrustDecision::Signed { identity } => format!("signed by {identity}"),
                };
                format!(
                    "installed {name} {version} from \"{instance}\" into {host} ({path}; {why})"
                )
            }
            Outcome::Removed {
                instance,
                name,
                host,
                path,
                ..
            } => format!("removed {name} from {host} ({path}): \"{instance}\" left"),
            Outcome::Skipped {
                action,
                instance,
                host,
                reason,
                ..
            } => format!(
                "not {}{} \"{instance}\": {reason}",
                if *action == "install" {
                    "installing"
                } else {
                    "removing"
                },
                host.as_deref()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// The sync engine: feed it browse events, act on them.
#[derive(Debug)]
pub struct Sync {
    pub hosts: Vec<Host>,
    pub scope: Scope,
    pub env: HostEnv,
    pub records: RecordStore,
    pub trusted_names: Vec<String>,
    pub fetcher: Fetcher,
}

/// A manifest that passed every check.
struct Checked {
    server: ServerJson,
    digest: String,
    trust: TrustDecision,
}

impl Sync {
    /// Acts on one browse event; servers only (registries are never installed).
    pub fn handle(&self, event: &Event) -> Vec<Outcome> {
        match event {
            Event::Appeared(service) if matches!(service.txt, Txt::Server(_)) => {
                self.appeared(service)
            }
            Event::Left {
                kind: registry_discovery::ServiceKind::Server,
                instance,
                fullname,
            } => self.left(instance, fullname),
            _ => Vec::new(),
        }
    }

    fn appeared(&self, service: &Service) -> Vec<Outcome> {
        let name = match &service.txt {
            Txt::Server(txt) => Some(txt.name.as_str().to_owned()),
            Txt::Registry(_) => None,
        };
        let skip = |host: Option<Host>, reason: String| Outcome::Skipped {
            action: "install",
            instance: service.instance.clone(),
            fullname: service.fullname.clone(),
            name: name.clone(),
            host: host.map(|h| h.id().to_owned()),
            reason,
        };
        let checked = match self.check(service) {
            Ok(checked) => checked,
            Err(reason) => return vec![skip(None, reason)],
        };
        let mut out = Vec::new();
        for &host in &self.hosts {
            match self.install(service, host, &checked) {
                Ok(outcome) => out.push(outcome),
                Err(reason) => out.push(skip(Some(host), reason)),
            }
        }
        out
    }

    /// Fetch, digest, name/version, validation and provenance; `Err` is the reason to skip.
    fn check(&self, service: &Service) -> Result<Checked, String> {
        let Txt::Server(txt) = &service.txt else {
            return Err("not a server".to_owned());
        };
        let (Some(location), Some(announced)) = (&txt.manifest, &txt.sha256) else {
            return Err("the announcement points to no manifest".to_owned());
        };
        let url = fetch::resolve(service, location)?;
        let manifest = self.fetcher.get_json(&url, MAX_MANIFEST_BYTES)?;
        let digest = registry_schema::canonical::digest(&manifest)
            .map_err(|err| format!("the manifest cannot be canonicalized: {err}"))?;
        if digest != *announced {
            return Err(format!(
                "digest mismatch: the TXT record announces {announced}, {url} serves {digest}"
            ));
        }
        let bytes = serde_json::to_vec(&manifest).map_err(|err| err.to_string())?;
        let parsed = Manifest::parse(&bytes, &Policy::lenient())
            .map_err(|err| format!("the manifest is invalid: {err}"))?;
        let server = parsed.server().clone();
        if server.name != txt.name {
            return Err(format!(
                "the manifest is for {}, the announcement for {}",
                server.name.as_str(),
                txt.name.as_str()
            ));
        }
        if let Some(version) = &txt.version
            && version != server.version.as_str()
        {
            return Err(format!(
                "the manifest is version {}, the announcement says {version}",
                server.version.as_str()
            ));
        }
        let bundle = match &txt.bundle {
            Some(location) => {
                let url = fetch::resolve(service, location)?;
                Some(self.fetcher.get_json(&url, MAX_BUNDLE_BYTES)?)
            }
            None => None,
        };
        let trust = provenance::check_discovered(
            &Discovered {
                manifest: &manifest,
                name: server.name.as_str(),
                version: server.version.as_str(),
                bundle: bundle.as_ref(),
            },
            &self.trusted_names,
        )?;
        Ok(Checked {
            server,
            digest: digest.to_string(),
            trust,
        })
    }

    fn install(&self, service: &Service, host: Host, checked: &Checked) -> Result<Outcome, String> {
        let server = &checked.server;
        let path = host
            .config_path(self.scope, &self.env)
            .map_err(|err| err.to_string())?;
        let entry = install::default_entry_name(server);
        let origin = origin_for(&service.fullname);
        let existing = self
            .records
            .find(&path, &entry)
            .map_err(|e| e.to_string())?;
        if let Some(record) = &existing
            && !record
                .origin
                .as_deref()
                .is_some_and(|o| o.starts_with(ORIGIN_PREFIX))
        {
            return Err(format!(
                "`{entry}` in {} was installed by `mcp-reg install`; leaving it alone",
                path.display()
            ));
        }
        let choice = launch::select(server, launch::Choice::Auto, host.profile().support())
            .map_err(|err| err.to_string())?;
        let opts = InstallOptions {
            choice,
            digest: Some(checked.digest.clone()),
            ..InstallOptions::default()
        };
        // An entry of the same name that mcp-reg did not write makes this fail (no --force).
        let (plan, applied) =
            install::install(server, host, self.scope, &self.env, &opts, &self.records)
                .map_err(|err| err.to_string())?;
        let mut record = self
            .records
            .find(&applied.path, &plan.entry_name)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                "the install record has no entry for what was just installed".to_owned()
            })?;
        record.origin = Some(origin);
        self.records.upsert(record).map_err(|e| e.to_string())?;
        Ok(Outcome::Installed {
            instance: service.instance.clone(),
            fullname: service.fullname.clone(),
            name: server.name.as_str().to_owned(),
            version: server.version.as_str().to_owned(),
            host: host.id(),
            path: applied.path.display().to_string(),
            entry: plan.entry_name,
            digest: checked.digest.clone(),
            trust: checked.trust.clone(),
        })
    }

    fn left(&self, instance: &str, fullname: &str) -> Vec<Outcome> {
        let origin = origin_for(fullname);
        let records = match self.records.load() {
            Ok(records) => records,
            Err(err) => {
                return vec![Outcome::Skipped {
                    action: "remove",
                    instance: instance.to_owned(),
                    fullname: fullname.to_owned(),
                    name: None,
                    host: None,
                    reason: err.to_string(),
                }];
            }
        };
        let mut out = Vec::new();
        for record in records
            .into_iter()
            .filter(|r| r.origin.as_deref() == Some(&origin))
        {
            let skip = |reason: String| Outcome::Skipped {
                action: "remove",
                instance: instance.to_owned(),
                fullname: fullname.to_owned(),
                name: Some(record.server.clone()),
                host: Some(record.host.clone()),
                reason,
            };
            let Some(host) = Host::from_id(&record.host) else {
                out.push(skip(format!(
                    "unknown host `{}` in the install record",
                    record.host
                )));
                continue;
            };
            if host.config_path(self.scope, &self.env).ok().as_ref() != Some(&record.config) {
                // Installed for another scope or machine layout: not ours to touch from here.
                continue;
            }
            // Not forced: an entry the user changed since is kept.
            match install::uninstall(
                host,
                self.scope,
                &self.env,
                &record.entry,
                false,
                &self.records,
            ) {
                Ok((plan, applied)) => out.push(Outcome::Removed {
                    instance: instance.to_owned(),
                    fullname: fullname.to_owned(),
                    name: record.server.clone(),
                    host: host.id().to_owned(),
                    path: applied.path.display().to_string(),
                    entry: plan.entry_name,
                }),
                Err(err) => out.push(skip(err.to_string())),
            }
        }
        out
    }
}
