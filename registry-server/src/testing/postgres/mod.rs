//! PostgreSQL for the tests, set up by the tests themselves.
//!
//! [`server`] picks the server once per test process:
//!
//! 1. `MCPREG_TEST_PG=throwaway`: always the throwaway cluster (CI uses it to prove the self-start
//!    on a machine that runs PostgreSQL anyway);
//! 2. else `DATABASE_URL`, an admin URL of a server whose user may create databases;
//! 3. else the local server, if anything answers on `127.0.0.1:5432`
//!    (`postgres://postgres@127.0.0.1:5432/postgres`);
//! 4. else a throwaway cluster the harness starts itself with the `initdb` and `pg_ctl` found on
//!    `PATH` or in a usual install location, shared by all test processes and stopped after the last
//!    one ends (see [`cluster`]).
//!
//! [`TestDatabase::migrated`] clones a fresh database from a template that has every migration
//! applied (`create database … template …`, about three times faster than migrating each test's
//! database). The template's name carries a digest of the migrations, so a changed migration makes a
//! new template; it is built once per server, under an advisory lock, and completed under a temporary
//! name, so a template that exists is always whole. [`TestDatabase::empty`] is for tests that run the
//! migrations themselves.

#[cfg(unix)]
mod cluster;
#[cfg(unix)]
pub mod private;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::Url;
use sha2::{Digest as _, Sha256};
use sqlx::migrate::Migrator;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

/// `throwaway` forces the harness's own cluster, even when `DATABASE_URL` is set or 5432 answers.
pub const MODE_VAR: &str = "MCPREG_TEST_PG";
/// Where the throwaway cluster lives (default: `mcp-reg-test-pg-<uid>` in the system temp dir).
pub const DIR_VAR: &str = "MCPREG_TEST_PG_DIR";
/// The local server tried when `DATABASE_URL` is unset.
pub const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The same migrations the store runs (its migrator is private to `db/`); a template migrated with
/// them is what `Store::migrate` would make, and the store's own `migrate` on a clone is a no-op.
static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");
/// Serialises template builds across processes (and machines sharing a server).
const TEMPLATE_LOCK: i64 = 0x6d63_7072_6567_7470;

/// The PostgreSQL server this test process uses.
#[derive(Debug)]
pub struct PgServer {
    admin_url: String,
    /// The throwaway cluster's directory, when the harness started one.
    throwaway: Option<PathBuf>,
    template: tokio::sync::OnceCell<String>,
}

/// The server for this process's tests, chosen (and, if need be, started) on first use. Panics with
/// one line saying what is missing when there is none.
///
/// Blocks while a throwaway cluster starts (a few seconds the first time, for `initdb`).
pub fn server() -> &'static PgServer {
    static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
    match SERVER.get_or_init(choose) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

fn choose() -> Result<PgServer, String> {
    match std::env::var(MODE_VAR).as_deref() {
        Ok("throwaway") => return throwaway(&format!("{MODE_VAR}=throwaway")),
        Ok("") | Err(_) => {}
        Ok(other) => return Err(format!("{MODE_VAR}={other}: the only value is `throwaway`")),
    }
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.is_empty()
    {
        return Ok(PgServer::new(url, None));
    }
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    if std::net::TcpStream::connect_timeout(&local, Duration::from_secs(1)).is_ok() {
        return Ok(PgServer::new(LOCAL_URL.to_owned(), None));
    }
    throwaway("DATABASE_URL is unset and nothing answers on 127.0.0.1:5432")
}

/// The throwaway cluster, joined or started; `why` says why it is wanted (for the error line).
#[cfg(unix)]
fn throwaway(why: &str) -> Result<PgServer, String> {
    let cluster = cluster::join(why)?;
    Ok(PgServer::new(
        format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port),
        Some(cluster.dir),
    ))
}

#[cfg(not(unix))]
fn throwaway(why: &str) -> Result<PgServer, String> {
    Err(format!(
        "PostgreSQL for the tests: {why}, and the tests start a server of their own only on Unix: set \
         DATABASE_URL (and unset {MODE_VAR})"
    ))
}

/// The one line printed when the throwaway cluster is wanted (`why`) but PostgreSQL's programs are
/// not installed.
#[cfg(unix)]
fn no_binaries(why: &str) -> String {
    format!(
        "PostgreSQL for the tests: {why}, and no initdb/pg_ctl is on PATH or under \
         /usr/lib/postgresql/*/bin to start one: install PostgreSQL's server programs \
         (Debian/Ubuntu: `sudo apt-get install postgresql`, Fedora: `sudo dnf install \
         postgresql-server`, macOS: `brew install postgresql@16`) or set DATABASE_URL"
    )
}

/// A directory holding both `initdb` and `pg_ctl`: `PATH` first, then the usual install locations
/// (Debian/Ubuntu, PGDG RPMs, Homebrew), newest major version first.
fn bin_dir() -> Option<PathBuf> {
    let has_programs = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|dir| has_programs(dir))
    {
        return Some(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = Vec::new();
    for (parent, prefix) in [
        ("/usr/lib/postgresql", ""),
        ("/usr", "pgsql-"),
        ("/opt/homebrew/opt", "postgresql"),
        ("/usr/local/opt", "postgresql"),
    ] {
        let Ok(entries) = std::fs::read_dir(parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(prefix) else {
                continue;
            };
            let dir = entry.path().join("bin");
            if has_programs(&dir) {
                found.push((major_in_name(rest), dir));
            }
        }
    }
    found.sort();
    found.pop().map(|(_, dir)| dir)
}

/// `15` → 15, `@16` → 16, `` → 0.
fn major_in_name(rest: &str) -> u32 {
    let digits: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or(0)
}

/// A PostgreSQL client program (`psql`, `pg_dump`, …): the one beside the found `initdb` when there
/// is one, else whatever `PATH` gives.
pub fn client_command(program: &str) -> Command {
    match bin_dir().map(|dir| dir.join(program)) {
        Some(path) if path.is_file() => Command::new(path),
        _ => Command::new(program),
    }
}

impl PgServer {
    fn new(admin_url: String, throwaway: Option<PathBuf>) -> Self {
        Self {
            admin_url,
            throwaway,
            template: tokio::sync::OnceCell::new(),
        }
    }

    /// The URL of the server's `postgres` database (or `DATABASE_URL`'s), for creating databases.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The throwaway cluster's directory, when the harness started the server.
    pub fn throwaway_dir(&self) -> Option<&Path> {
        self.throwaway.as_deref()
    }

    /// The URL of `database` on this server.
    pub fn url_of(&self, database: &str) -> String {
        let mut url = Url::parse(&self.admin_url)
            .unwrap_or_else(|err| panic!("the PostgreSQL URL `{}`: {err}", self.admin_url));
        url.set_path(database);
        url.into()
    }

    /// The migrated template's name, building it on first use.
    async fn template(&self) -> &str {
        self.template
            .get_or_try_init(|| ensure_template(self))
            .await
            .unwrap_or_else(|err| panic!("preparing the test template database: {err}"))
    }

    async fn admin(&self) -> PgConnection {
        PgConnection::connect(&self.admin_url)
            .await
            .unwrap_or_else(|err| {
                let hint = if self.throwaway.is_some() {
                    String::new()
                } else {
                    format!(" ({MODE_VAR}=throwaway makes the tests start a server of their own)")
                };
                panic!("connecting to {}{hint}: {err}", self.admin_url)
            })
    }
}

/// `mcpreg_tpl_<digest of the migrations>`.
fn template_name() -> String {
    let mut digest = Sha256::new();
    for migration in MIGRATOR.iter() {
        digest.update(migration.version.to_be_bytes());
        digest.update(&migration.checksum);
    }
    format!("mcpreg_tpl_{}", &hex::encode(digest.finalize())[..16])
}

/// Creates the template unless it exists, under an advisory lock so processes build it once.
async fn ensure_template(server: &PgServer) -> Result<String, sqlx::Error> {
    let name = template_name();
    let mut admin = server.admin().await;
    sqlx::query("select pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await?;
    let built = build_template(server, &mut admin, &name).await;
    // Closing the session releases the lock too; unlock anyway in case close fails.
    let _ = sqlx::query("select pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await;
    let _ = admin.close().await;
    built.map(|()| name)
}

async fn build_template(
    server: &PgServer,
    admin: &mut PgConnection,
    name: &str,
) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("select exists (select from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(&mut *admin)
            .await?;
    if exists {
        return Ok(());
    }
    // Built under another name and renamed when complete: a crash leaves only `…_wip`, rebuilt here.
    let building = format!("{name}_wip");
    for sql in [
        format!("drop database if exists {building} with (force)"),
        format!("create database {building}"),
    ] {
        sqlx::query(AssertSqlSafe(sql)).execute(&mut *admin).await?;
    }
    let mut conn = PgConnection::connect(&server.url_of(&building)).await?;
    MIGRATOR.run(&mut conn).await?;
    // `create database … template` needs the template to have no sessions.
    conn.close().await?;
    for sql in [
        format!("alter database {building} rename to {name}"),
        format!("alter database {name} with is_template true allow_connections false"),
    ] {
        sqlx::query(AssertSqlSafe(sql)).execute(&mut *admin).await?;
    }
    Ok(())
}

/// One test's database on [`server`]; dropped with the value unless the test panicked (then kept,
/// and its name printed, for inspection).
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// A new database with every migration applied (a clone of the template), named
    /// `<prefix>_<random hex>`.
    pub async fn migrated(prefix: &str) -> Self {
        let server = server();
        let template = server.template().await;
        Self::create(server, prefix, Some(template)).await
    }

    /// A new, empty database, named `<prefix>_<random hex>`.
    pub async fn empty(prefix: &str) -> Self {
        Self::create(server(), prefix, None).await
    }

    /// [`TestDatabase::empty`] for tests without an async runtime.
    pub fn empty_blocking(prefix: &str) -> Self {
        blocking(Self::empty(prefix))
    }

    async fn create(server: &PgServer, prefix: &str, template: Option<&str>) -> Self {
        assert!(
            prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "database name prefix `{prefix}`: lowercase letters, digits and `_` only"
        );
        let name = format!("{prefix}_{}", random_hex(6));
        let sql = match template {
            Some(template) => format!("create database {name} template {template}"),
            None => format!("create database {name}"),
        };
        let mut admin = server.admin().await;
        // The name is made of checked characters, so splicing it in is safe.
        sqlx::query(AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|err| panic!("creating database {name}: {err}"));
        let _ = admin.close().await;
        let url = server.url_of(&name);
        Self { name, url }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its URL (`postgres://…/<name>`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = server();
        if std::thread::panicking() {
            match server.throwaway_dir() {
                Some(dir) => eprintln!(
                    "kept the failed test's PostgreSQL database `{}` in the throwaway cluster {} \
                     (stopped after the tests; `pg_ctl -D {}/cluster/data start` to inspect it)",
                    self.name,
                    dir.display(),
                    dir.display()
                ),
                None => eprintln!("kept the failed test's PostgreSQL database `{}`", self.name),
            }
            return;
        }
        // `with (force)` ends the pool connections the test left open. Best effort.
        let sql = format!("drop database if exists {} with (force)", self.name);
        blocking(async {
            if let Ok(mut admin) = PgConnection::connect(server.admin_url()).await {
                let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut admin).await;
                let _ = admin.close().await;
            }
        });
    }
}

/// Runs `future` to completion on a thread with a runtime of its own: callable from sync code and
/// from `Drop` inside a test's runtime (where blocking on that runtime would deadlock it).
fn blocking<T: Send>(future: impl Future<Output = T> + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap_or_else(|err| panic!("starting a runtime: {err}"))
                    .block_on(future)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `bytes` random bytes, hex-encoded.
fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0; bytes];
    getrandom::fill(&mut buffer).unwrap_or_else(|err| panic!("the OS random generator: {err}"));
    hex::encode(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_locations_sort_by_major_version() {
        assert_eq!(major_in_name("15"), 15);
        assert_eq!(major_in_name("@16"), 16);
        assert_eq!(major_in_name(""), 0);
    }

    #[test]
    fn the_template_name_follows_the_migrations() {
        let name = template_name();
        assert!(name.starts_with("mcpreg_tpl_") && name.len() == "mcpreg_tpl_".len() + 16);
        assert_eq!(name, template_name());
    }
}
