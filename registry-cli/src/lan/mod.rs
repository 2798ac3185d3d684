//! LAN discovery for `mcp-reg announce` / `discover`: mDNS options, capped fetches of announced
//! manifests, the JSON event stream, the `--sync` engine and the offer of a registry found on the LAN.
//!
//! Everything learned over mDNS is an unauthenticated hint: a manifest is used only after it was
//! fetched from the announcing host, matched the TXT digest and passed the provenance policy.

pub mod fetch;
pub mod json;
pub mod offer;
pub mod serve;
pub mod sync;

use std::time::Duration;

use registry_discovery::MdnsConfig;

/// Which interfaces and port the mDNS daemon uses.
#[derive(Debug, Clone, clap::Args)]
pub struct MdnsArgs {
    /// Use only this interface for mDNS, by name (`eth0`) or address (repeatable) [default: all].
    #[arg(
        long = "mdns-interface",
        value_name = "IF",
        env = "MCP_REG_MDNS_INTERFACE",
        value_delimiter = ','
    )]
    pub mdns_interface: Vec<String>,
    /// UDP port of mDNS; peers must use the same one (5353 is the standard).
    #[arg(long = "mdns-port", value_name = "PORT", env = "MCP_REG_MDNS_PORT", default_value_t = registry_discovery::MDNS_PORT)]
    pub mdns_port: u16,
}

impl MdnsArgs {
    pub fn config(&self) -> MdnsConfig {
        MdnsConfig {
            interfaces: self.mdns_interface.clone(),
            port: self.mdns_port,
            ip_check_interval: Duration::from_secs(5),
        }
    }
}

/// Turns a discovery error into a user error with a hint.
#[allow(clippy::needless_pass_by_value)] // shaped for `map_err(mdns_error)`
pub fn mdns_error(err: registry_discovery::Error) -> anyhow::Error {
    crate::UserError::new(format!("LAN discovery failed: {err}"))
        .with_hint(
            "check --mdns-interface (a name from `ip link`) and that UDP port --mdns-port is free",
        )
        .into()
}

/// A flag set when SIGINT or SIGTERM arrives (Ctrl-C, `kill`), so long-running LAN commands can
/// withdraw their announcements and stop their daemons before exiting.
pub fn stop_flag() -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let flag = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Installed here, before returning, so a signal right after start is not lost.
    #[cfg(unix)]
    let mut terminate = {
        let _guard = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?
    };
    let set = Arc::clone(&flag);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async {
                #[cfg(unix)]
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
                #[cfg(not(unix))]
                let _ = tokio::signal::ctrl_c().await;
            });
            set.store(true, Ordering::SeqCst);
        })?;
    Ok(flag)
}
