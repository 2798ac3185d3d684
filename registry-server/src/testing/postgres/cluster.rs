//! The throwaway PostgreSQL cluster: `initdb` once, started on a free loopback port when a test
//! process needs it, shared by every test process of the same user, and stopped once none is left.
//!
//! `cargo test` runs each test binary as a process of its own, and a process has no exit hook to
//! unregister from a shared server. So the cluster is owned by a small supervisor (a `sh` loop in a
//! process group of its own, so Ctrl-C on the tests does not reach it), and processes only register:
//!
//! ```text
//! <dir>/lock             taken (File::lock) by a test process while it joins or starts the cluster
//! <dir>/users/<pid>      one file per test process using the cluster; exists while a supervisor runs
//! <dir>/heartbeat        touched by the supervisor every second
//! <dir>/supervisor.log   the supervisor's and pg_ctl's output
//! <dir>/cluster/data     the data directory (kept between runs, so restarts skip initdb and migrations)
//! <dir>/cluster/postgres.log
//! ```
//!
//! The supervisor drops registrations whose process has exited (`kill -0`); after [`IDLE_STOP_SECS`]
//! with none left it removes `users/` (an `rmdir`, which fails while any registration is there: the
//! one atomic step a joining process can race with), stops the cluster with `pg_ctl stop -m fast`
//! and removes its heartbeat. A process that finds `users/` gone waits for that stop to finish and
//! starts the cluster again (a second or so: the data directory and its template database remain).
//! A supervisor whose heartbeat is stale is taken as dead: the next process adopts the running
//! cluster (or clears a stale `postmaster.pid`) and starts a new supervisor.
//!
//! `initdb` refuses to run as root, so as root every PostgreSQL program runs as the `postgres` user
//! (`runuser -u postgres --`), which then owns `cluster/`.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use super::DIR_VAR;

/// Seconds with no live test process registered after which the supervisor stops the cluster. Short,
/// since a restart costs about a second; long enough to bridge the gap between two test binaries.
pub const IDLE_STOP_SECS: u32 = 5;
/// A heartbeat older than this means the supervisor is gone.
const HEARTBEAT_STALE: Duration = Duration::from_secs(15);
/// How long a joining process waits for a stopping supervisor to finish.
const STOP_WAIT: Duration = Duration::from_mins(1);
/// Settings for a disposable cluster: loopback TCP only, no durability (a crash loses only test data),
/// room for many tests' connection pools.
const SETTINGS: &str = "
# mcp-reg test cluster (registry_server::testing::postgres)
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
";

/// The supervisor: `sh -c SUPERVISOR sh <dir> <idle seconds> <stop command…>`.
const SUPERVISOR: &str = r#"
dir=$1 idle=$2
shift 2
idle_for=0
while [ -d "$dir/users" ]; do
  touch "$dir/heartbeat"
  busy=
  for user in "$dir"/users/*; do
    [ -e "$user" ] || continue
    if kill -0 "${user##*/}" 2>/dev/null; then busy=1; else rm -f "$user"; fi
  done
  if [ -n "$busy" ]; then idle_for=0; else idle_for=$((idle_for + 1)); fi
  if [ "$idle_for" -ge "$idle" ] && rmdir "$dir/users" 2>/dev/null; then
    "$@"
    rm -f "$dir/heartbeat"
    exit 0
  fi
  sleep 1
done
"#;

/// A running throwaway cluster this process is registered with.
#[derive(Debug)]
pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
}

/// The found PostgreSQL programs and how to run them (as `postgres` when we are root).
#[derive(Debug)]
pub(super) struct Programs {
    pub(super) bin: PathBuf,
    /// `Some((uid, gid))` of the `postgres` user when running as root.
    pub(super) as_postgres: Option<(u32, u32)>,
}

impl Programs {
    pub(super) fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.as_postgres {
            Some(_) => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(path);
                command
            }
            None => Command::new(path),
        }
    }

    /// The words of `pg_ctl stop` for the supervisor.
    fn stop_words(&self, data: &Path) -> Vec<String> {
        let mut words = Vec::new();
        if self.as_postgres.is_some() {
            words.extend(["runuser", "-u", "postgres", "--"].map(str::to_owned));
        }
        words.push(self.bin.join("pg_ctl").display().to_string());
        words.extend(["stop", "-w", "-t", "60", "-m", "fast", "-D"].map(str::to_owned));
        words.push(data.display().to_string());
        words
    }
}

/// Joins the user's throwaway cluster, starting it (and running `initdb` first) when needed; `why` it
/// is wanted goes into the error when PostgreSQL's programs are missing.
pub fn join(why: &str) -> Result<Cluster, String> {
    let bin = super::bin_dir().ok_or_else(|| super::no_binaries(why))?;
    let programs = Programs {
        bin,
        as_postgres: postgres_user_if_root()?,
    };
    let dir = base_dir()?;
    let lock_path = dir.join("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|err| format!("opening {}: {err}", lock_path.display()))?;
    lock.lock()
        .map_err(|err| format!("locking {}: {err}", lock_path.display()))?;
    let port = join_locked(&programs, &dir)?;
    drop(lock);
    Ok(Cluster { port, dir })
}

/// [`join`] under the lock: register with a live supervisor's cluster, or start both.
fn join_locked(programs: &Programs, dir: &Path) -> Result<u16, String> {
    let users = dir.join("users");
    let me = users.join(std::process::id().to_string());
    let data = dir.join("cluster").join("data");
    if heartbeat_fresh(dir) {
        match File::create(&me) {
            Ok(_) => {
                if let Some(port) = answering_port(&data) {
                    return Ok(port);
                }
                // The supervisor runs but the server does not (killed?): start it again below; the
                // supervisor keeps watching.
                return start(programs, dir);
            }
            // The supervisor is stopping the cluster: let it finish, then start afresh.
            Err(err) if err.kind() == ErrorKind::NotFound => wait_for_stop(dir)?,
            Err(err) => return Err(format!("registering in {}: {err}", users.display())),
        }
    }
    // No supervisor: adopt a cluster left running, or start one.
    match fs::remove_dir_all(&users) {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => return Err(format!("clearing {}: {err}", users.display())),
    }
    let port = match answering_port(&data) {
        Some(port) => port,
        None => start(programs, dir)?,
    };
    fs::create_dir(&users)
        .and_then(|()| File::create(&me).map(drop))
        .map_err(|err| format!("registering in {}: {err}", users.display()))?;
    spawn_supervisor(programs, dir, &data)?;
    Ok(port)
}

/// Waits until a stopping supervisor has removed its heartbeat (or stopped beating).
fn wait_for_stop(dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + STOP_WAIT;
    while heartbeat_fresh(dir) {
        if Instant::now() > deadline {
            return Err(format!(
                "the throwaway PostgreSQL in {} has been stopping for {} s; see its supervisor.log",
                dir.display(),
                STOP_WAIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn heartbeat_fresh(dir: &Path) -> bool {
    fs::metadata(dir.join("heartbeat"))
        .and_then(|meta| meta.modified())
        .is_ok_and(|beat| {
            SystemTime::now().duration_since(beat).unwrap_or_default() < HEARTBEAT_STALE
        })
}

/// The port of the server running on `data`, if one answers there (`postmaster.pid`'s fourth line).
fn answering_port(data: &Path) -> Option<u16> {
    let pid_file = fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let port: u16 = pid_file.lines().nth(3)?.trim().parse().ok()?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_secs(1))
        .is_ok()
        .then_some(port)
}

/// Starts the cluster in `dir` (running `initdb` first when needed) and returns its port.
fn start(programs: &Programs, dir: &Path) -> Result<u16, String> {
    let cluster = dir.join("cluster");
    let data = cluster.join("data");
    let major = server_major(programs)?;
    let initialized =
        fs::read_to_string(data.join("PG_VERSION")).is_ok_and(|version| version.trim() == major);
    if !initialized {
        init(programs, &cluster, &data)?;
    }
    // Nothing answers on the port it names (see the caller), so a `postmaster.pid` is left over from
    // a killed server. Removing it beats `pg_ctl`, which would signal whatever process has its pid now.
    let _ = fs::remove_file(data.join("postmaster.pid"));
    let log = cluster.join("postgres.log");
    let mut last_error = String::new();
    // A free port can be taken between choosing and binding it: try a few.
    for _ in 0..3 {
        let port = free_port()?;
        let output = programs
            .command("pg_ctl")
            .current_dir(&cluster)
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-o", &format!("-p {port}")])
            // Its own process group: Ctrl-C on the tests must not stop a server others may share.
            .process_group(0)
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("running pg_ctl start: {err}"))?;
        if output.status.success() {
            return Ok(port);
        }
        last_error = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Err(format!(
        "starting the throwaway PostgreSQL in {} failed: {} (log: {})",
        data.display(),
        last_error.trim(),
        log.display()
    ))
}

/// `initdb` into `data` (emptied first), UTF-8, trust auth for `postgres` on loopback.
pub(super) fn init(programs: &Programs, cluster: &Path, data: &Path) -> Result<(), String> {
    match fs::remove_dir_all(cluster) {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => return Err(format!("clearing {}: {err}", cluster.display())),
    }
    fs::create_dir(cluster)
        .and_then(|()| fs::set_permissions(cluster, fs::Permissions::from_mode(0o700)))
        .map_err(|err| format!("creating {}: {err}", cluster.display()))?;
    if let Some((uid, gid)) = programs.as_postgres {
        std::os::unix::fs::chown(cluster, Some(uid), Some(gid))
            .map_err(|err| format!("handing {} to postgres: {err}", cluster.display()))?;
    }
    let mut last_error = String::new();
    // C.UTF-8 classifies non-ASCII letters as letters (pg_trgm needs that); not every system has it.
    for locale in ["C.UTF-8", "en_US.UTF-8", "C"] {
        let output = programs
            .command("initdb")
            .current_dir(cluster)
            .args(["--no-sync", "-U", "postgres", "-A", "trust", "-E", "UTF8"])
            .arg(format!("--locale={locale}"))
            .arg("-D")
            .arg(data)
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("running initdb: {err}"))?;
        if output.status.success() {
            let conf = data.join("postgresql.conf");
            let mut text = fs::read_to_string(&conf)
                .map_err(|err| format!("reading {}: {err}", conf.display()))?;
            text.push_str(SETTINGS);
            return fs::write(&conf, text)
                .map_err(|err| format!("writing {}: {err}", conf.display()));
        }
        String::from_utf8_lossy(&output.stderr)
            .trim()
            .clone_into(&mut last_error);
        let _ = fs::remove_dir_all(data);
    }
    Err(format!("initdb failed: {last_error}"))
}

/// The major version of the found `postgres` (`postgres (PostgreSQL) 15.19 (…)` → `15`).
fn server_major(programs: &Programs) -> Result<String, String> {
    let postgres = programs.bin.join("postgres");
    let output = Command::new(&postgres)
        .arg("--version")
        .output()
        .map_err(|err| format!("running {} --version: {err}", postgres.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse_major(&text).ok_or_else(|| format!("unexpected `postgres --version`: {}", text.trim()))
}

fn parse_major(version: &str) -> Option<String> {
    let number = version
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
    let major: String = number.chars().take_while(char::is_ascii_digit).collect();
    Some(major)
}

pub(super) fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|err| format!("finding a free port: {err}"))
}

/// Starts the supervisor of the cluster in `dir` and writes its first heartbeat (before the lock is
/// released, so the next process sees a live supervisor).
fn spawn_supervisor(programs: &Programs, dir: &Path, data: &Path) -> Result<(), String> {
    let log_path = dir.join("supervisor.log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|err| format!("opening {}: {err}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|err| format!("opening {}: {err}", log_path.display()))?;
    Command::new("sh")
        .args(["-c", SUPERVISOR, "sh"])
        .arg(dir)
        .arg(IDLE_STOP_SECS.to_string())
        .args(programs.stop_words(data))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|err| format!("starting the throwaway PostgreSQL's supervisor: {err}"))?;
    fs::write(dir.join("heartbeat"), b"")
        .map_err(|err| format!("writing {}: {err}", dir.join("heartbeat").display()))
}

/// `MCPREG_TEST_PG_DIR`, else `mcp-reg-test-pg-<uid>` in the system temp dir: ours, and open for
/// traversal (the `postgres` user must reach `cluster/` when we are root).
fn base_dir() -> Result<PathBuf, String> {
    let uid = id(&["-u"])?;
    let dir = match std::env::var_os(DIR_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => std::env::temp_dir().join(format!("mcp-reg-test-pg-{uid}")),
    };
    fs::create_dir_all(&dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
    let meta = fs::symlink_metadata(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    if !meta.is_dir() || std::os::unix::fs::MetadataExt::uid(&meta) != uid {
        return Err(format!(
            "{} is not a directory of user {uid}; remove it or set {DIR_VAR}",
            dir.display()
        ));
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
        .map_err(|err| format!("{}: {err}", dir.display()))?;
    Ok(dir)
}

/// As root: the `postgres` user's uid and gid (initdb refuses root); otherwise `None`.
pub(super) fn postgres_user_if_root() -> Result<Option<(u32, u32)>, String> {
    if id(&["-u"])? != 0 {
        return Ok(None);
    }
    let missing = |what: &str| {
        format!(
            "running as root, the throwaway PostgreSQL must run as user `postgres` (initdb refuses \
             root), but {what}; create the user (the postgresql package does) or run the tests as \
             another user"
        )
    };
    let uid = id(&["-u", "postgres"]).map_err(|_| missing("there is no such user"))?;
    let gid = id(&["-g", "postgres"]).map_err(|_| missing("there is no such user"))?;
    let runuser = Command::new("runuser")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if runuser.is_err() {
        return Err(missing("`runuser` (util-linux) is not installed"));
    }
    Ok(Some((uid, gid)))
}

/// `id <args>` as a number.
fn id(args: &[&str]) -> Result<u32, String> {
    let output = Command::new("id")
        .args(args)
        .output()
        .map_err(|err| format!("running id: {err}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "id {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    text.trim()
        .parse()
        .map_err(|_| format!("id {} printed {text:?}", args.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions_are_read_from_postgres_version() {
        let major = |text| parse_major(text).unwrap();
        assert_eq!(
            major("postgres (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)"),
            "15"
        );
        assert_eq!(major("postgres (PostgreSQL) 17beta1"), "17");
        assert_eq!(parse_major("postgres (PostgreSQL)"), None);
    }

    #[test]
    fn the_supervisor_stops_the_cluster_as_the_cluster_user() {
        let programs = Programs {
            bin: PathBuf::from("/pg/bin"),
            as_postgres: Some((101, 104)),
        };
        assert_eq!(
            programs.stop_words(Path::new("/t/cluster/data")).join(" "),
            "runuser -u postgres -- /pg/bin/pg_ctl stop -w -t 60 -m fast -D /t/cluster/data"
        );
    }
}
