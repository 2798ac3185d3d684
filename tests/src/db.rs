//! A fresh database per storage test, on either engine: [`TestDb::sqlite`] (a file in a temporary
//! directory) or [`TestDb::postgres`] (a uniquely named database on the server `DATABASE_URL` names).
//! A failed test keeps its database and prints where it is, so it can be inspected.

use std::path::PathBuf;
use std::time::Duration;

use registry_server::db::{Backend, DatabaseConfig, Store};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// The PostgreSQL server used when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Connections per test store: enough for the concurrency tests to contend.
const MAX_CONNECTIONS: u32 = 8;
/// Generous, so a slow CI machine waits instead of failing a concurrency test.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// One test's database; dropped with the value (unless the test panicked).
#[derive(Debug)]
pub struct TestDb {
    engine: Engine,
    config: DatabaseConfig,
}

#[derive(Debug)]
enum Engine {
    Sqlite(Option<tempfile::TempDir>),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// An empty SQLite database in a new temporary directory (opened through `data_dir`, as the
    /// embedded default is).
    #[allow(
        clippy::unused_async,
        reason = "async like `postgres()`, so the two are interchangeable in test macros"
    )]
    pub async fn sqlite() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("mcpreg-test-")
            .tempdir()
            .expect("creating a temporary directory");
        let config = DatabaseConfig {
            database_url: None,
            data_dir: Some(dir.path().to_owned()),
            max_connections: MAX_CONNECTIONS,
            acquire_timeout: ACQUIRE_TIMEOUT,
        };
        Self {
            engine: Engine::Sqlite(Some(dir)),
            config,
        }
    }

    /// A new, empty database on the PostgreSQL server of `DATABASE_URL` (default
    /// [`DEFAULT_DATABASE_URL`]).
    pub async fn postgres() -> Self {
        let admin_url =
            std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
        let name = format!("mcpreg_test_{}", random_hex(8));
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|err| {
                panic!("connecting to {admin_url} (is PostgreSQL running?): {err}")
            });
        // The name is generated above (letters, digits, `_`), so it is safe to splice in.
        sqlx::query(AssertSqlSafe(format!("create database {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|err| panic!("creating database {name}: {err}"));
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("DATABASE_URL is a URL");
        url.set_path(&name);
        let config = DatabaseConfig {
            database_url: Some(url.into()),
            data_dir: None,
            max_connections: MAX_CONNECTIONS,
            acquire_timeout: ACQUIRE_TIMEOUT,
        };
        Self {
            engine: Engine::Postgres { admin_url, name },
            config,
        }
    }

    pub fn backend(&self) -> Backend {
        match self.engine {
            Engine::Sqlite(_) => Backend::Sqlite,
            Engine::Postgres { .. } => Backend::Postgres,
        }
    }

    /// The configuration that opens this database.
    pub fn config(&self) -> DatabaseConfig {
        self.config.clone()
    }

    /// The SQLite data directory (`None` on PostgreSQL).
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.config.data_dir.clone()
    }

    /// A store on this database, connected and migrated. Each call opens a new pool.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.config)
            .await
            .unwrap_or_else(|err| panic!("opening the {:?} test database: {err}", self.backend()));
        store.migrate().await.unwrap_or_else(|err| {
            panic!("migrating the {:?} test database: {err}", self.backend())
        });
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let failed = std::thread::panicking();
        match &mut self.engine {
            Engine::Sqlite(dir) => {
                if failed && let Some(dir) = dir.take() {
                    eprintln!(
                        "kept the failed test's SQLite database in {}",
                        dir.keep().display()
                    );
                }
            }
            Engine::Postgres { admin_url, name } => {
                if failed {
                    eprintln!("kept the failed test's PostgreSQL database `{name}`");
                    return;
                }
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop cannot await, and blocking on the test's own runtime would deadlock it: drop the
                // database from a thread with a runtime of its own. Best effort.
                let cleanup = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    runtime.block_on(async {
                        let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                        // `with (force)` ends the pool connections the test left open.
                        sqlx::query(AssertSqlSafe(format!(
                            "drop database if exists {name} with (force)"
                        )))
                        .execute(&mut admin)
                        .await
                        .ok()?;
                        admin.close().await.ok()
                    })
                });
                let _ = cleanup.join();
            }
        }
    }
}

/// `bytes` random bytes, hex-encoded.
fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0; bytes];
    getrandom::fill(&mut buffer).expect("the OS random number generator");
    hex::encode(buffer)
}
