//! Helpers shared by the tests that run the `registry-server` binary against PostgreSQL. The server
//! comes from `registry_server::testing::postgres`: `DATABASE_URL`, the local one on 5432, or a
//! throwaway cluster the harness starts.

use registry_server::testing::postgres::TestDatabase;

/// A fresh, empty PostgreSQL database for one test (the binary under test migrates it), dropped at
/// the end.
pub struct PgDatabase {
    _database: TestDatabase,
    pub url: String,
}

impl PgDatabase {
    /// Creates `<prefix>_<random hex>`.
    pub fn create(prefix: &str) -> Self {
        let database = TestDatabase::empty_blocking(prefix);
        Self {
            url: database.url().to_owned(),
            _database: database,
        }
    }
}
