//! A fresh database per storage test, on either engine: [`TestDb::sqlite`] (a file in a temporary
//! directory) or [`TestDb::postgres`] (a uniquely named database, already migrated, on the server
//! [`registry_server::testing::postgres`] picks or starts). A failed test keeps its database and
//! prints where it is, so it can be inspected.

use std::path::PathBuf;
use std::time::Duration;

use registry_server::db::{Backend, DatabaseConfig, Store};
use registry_server::testing::postgres::TestDatabase;

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
    /// Held for its `Drop`, which drops the database (or keeps it, if the test failed).
    Postgres {
        _database: TestDatabase,
    },
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
            min_connections: 0,
            acquire_timeout: ACQUIRE_TIMEOUT,
        };
        Self {
            engine: Engine::Sqlite(Some(dir)),
            config,
        }
    }

    /// A new database with every migration applied, cloned from the template on the test
    /// PostgreSQL server (`DATABASE_URL`, else the local one on 5432, else a throwaway cluster).
    pub async fn postgres() -> Self {
        let database = TestDatabase::migrated("mcpreg_test").await;
        let config = DatabaseConfig {
            database_url: Some(database.url().to_owned()),
            data_dir: None,
            max_connections: MAX_CONNECTIONS,
            min_connections: 0,
            acquire_timeout: ACQUIRE_TIMEOUT,
        };
        Self {
            engine: Engine::Postgres {
                _database: database,
            },
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

    /// A connection of its own to this PostgreSQL database, outside any store.
    pub async fn pg_connection(&self) -> sqlx::PgConnection {
        let url = self.config.database_url.clone().unwrap_or_else(|| {
            panic!(
                "a PostgreSQL connection on a {:?} test database",
                self.backend()
            )
        });
        <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap_or_else(|err| panic!("connecting to the test database: {err}"))
    }

    /// On PostgreSQL, a write behind the registry's back that nobody announces: every version of `name`
    /// deprecated, then the change counter advanced, as a write does after its commit (but with no
    /// notification, and no wait for the replicas' read leases). Returns the counter's new value.
    pub async fn deprecate_unannounced(&self, name: &str) -> i64 {
        let mut raw = self.pg_connection().await;
        sqlx::query("update server_versions set status = 'deprecated' where server_name = $1")
            .bind(name)
            .execute(&mut raw)
            .await
            .unwrap_or_else(|err| panic!("deprecating {name}: {err}"));
        sqlx::query_scalar("select nextval('mcp_reg_change_seq')")
            .fetch_one(&mut raw)
            .await
            .unwrap_or_else(|err| panic!("advancing the change counter: {err}"))
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
            // `TestDatabase` drops or keeps itself.
            Engine::Postgres { .. } => {}
        }
    }
}
