//! A PostgreSQL cluster private to one test, for tests that crash and restart the database on
//! purpose (a database outage). Never the shared throwaway cluster of [`super::server`], which other
//! test processes use: a cluster of its own in a directory the test gives, on a free loopback port,
//! with the same disposable settings (no fsync), stopped when dropped.
//!
//! As root, PostgreSQL's programs run as the `postgres` user, as for the shared cluster.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::cluster::{self, Programs};

/// Appended to the shared clusters' settings.
const DURABLE_COMMITS: &str = "
# mcp-reg private test cluster (registry_server::testing::postgres::private)
synchronous_commit = on
";

/// A running (or deliberately stopped) private cluster; stopped, immediately, when dropped.
#[derive(Debug)]
pub struct PrivateCluster {
    programs: Programs,
    data: PathBuf,
    log: PathBuf,
    port: u16,
}

impl PrivateCluster {
    /// Whether PostgreSQL's server programs (`initdb`, `pg_ctl`) are installed.
    pub fn programs_found() -> bool {
        super::bin_dir().is_some()
    }

    /// `initdb` into `<dir>/cluster/data` and starts the server on a free `127.0.0.1` port. `dir` is
    /// opened for traversal (as root, the `postgres` user must reach it).
    pub fn start(dir: &Path) -> Result<Self, String> {
        let programs = Programs {
            bin: super::bin_dir().ok_or("no initdb/pg_ctl found")?,
            as_postgres: cluster::postgres_user_if_root()?,
        };
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|err| format!("{}: {err}", dir.display()))?;
        let root = dir.join("cluster");
        let data = root.join("data");
        cluster::init(&programs, &root, &data)?;
        // The shared clusters' settings, except that a commit is written out (to the OS: a crash of
        // PostgreSQL, not of the machine, is what is tested, so fsync stays off) before it is
        // acknowledged, as with PostgreSQL's defaults. With `synchronous_commit = off` a crash loses
        // the last acknowledged commits by design.
        let conf = data.join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut file| file.write_all(DURABLE_COMMITS.as_bytes()))
            .map_err(|err| format!("writing {}: {err}", conf.display()))?;
        let cluster = Self {
            programs,
            data,
            log: root.join("postgres.log"),
            port: cluster::free_port()?,
        };
        cluster.start_again()?;
        Ok(cluster)
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Kills the server the hard way (`pg_ctl stop -m immediate`: no checkpoint, every session cut,
    /// crash recovery at the next start), as a crash or a lost database host would.
    pub fn kill(&self) -> Result<(), String> {
        self.pg_ctl(&["stop", "-w", "-t", "30", "-m", "immediate"])
    }

    /// Starts the server (again) on the same port, waiting until it accepts connections.
    pub fn start_again(&self) -> Result<(), String> {
        let log = self.log.display().to_string();
        let port = format!("-p {}", self.port);
        self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log, "-o", &port])
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let output = self
            .programs
            .command("pg_ctl")
            // A directory the `postgres` user can read (pg_ctl resolves the current one).
            .current_dir(self.data.parent().unwrap_or(&self.data))
            .args(args)
            .arg("-D")
            .arg(&self.data)
            // Its own process group: Ctrl-C on the tests goes to the test, which then stops it.
            .process_group(0)
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("running pg_ctl {}: {err}", args[0]))?;
        if output.status.success() {
            return Ok(());
        }
        Err(format!(
            "pg_ctl {} on {} failed: {}{} (log: {})",
            args[0],
            self.data.display(),
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim(),
            self.log.display()
        ))
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        // Best effort: it may be stopped already.
        let _ = self.kill();
    }
}
