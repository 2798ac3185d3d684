//! What `mcp-reg install` writes, as pure functions: the one source of truth for install snippets,
//! shared by the CLI (`registry-cli`, which adds file editing, locks, backups and install records) and
//! the registry's web pages (`registry-server`, which shows each host's snippet and deep links).
//!
//! Flow: [`launch::select`] picks a package or remote the host supports, [`launch::resolve`] turns it
//! into a [`LaunchSpec`] (a pinned command line, or a URL with headers, secrets kept as references),
//! [`render::entry`] shapes it as one host's entry (secrets through the host's own indirection), and
//! [`snippet()`] prints that entry as a standalone piece of the host's config file, through the same
//! text editors ([`jsonc`], [`toml`], [`yaml`]) the CLI edits real files with. [`deeplink`] builds the
//! VS Code and Cursor one-click install payloads from the same entries. Hosts are rows of data in
//! [`hosts::PROFILES`].
//!
//! Nothing here reads or writes files, the environment or the network, except [`HostEnv`]'s machine
//! probes behind the `machine` feature (which only the CLI enables).

pub mod deeplink;
mod error;
pub mod hosts;
pub mod jsonc;
pub mod launch;
pub mod render;
pub mod snippet;
pub mod toml;
pub mod yaml;

pub use error::InstallError;
pub use hosts::{Format, Host, HostEnv, HostProfile, Layout, Scope};
pub use launch::{Choice, InputSpec, LaunchSpec, Platform, Resolved, Values};
pub use snippet::{
    Prepared, SnippetOptions, check_entry_name, default_entry_name, entry_name_for, prepare,
    snippet,
};
