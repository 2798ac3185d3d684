//! Test support shared by this crate's tests and `registry-tests` (feature `testing`; never in a
//! release build).
//!
//! - [`postgres`]: a PostgreSQL server for the tests (the one `DATABASE_URL` names, the local one on
//!   5432, or a throwaway cluster the harness starts itself) and a fresh database per test, cloned
//!   from a migrated template.

pub mod postgres;
