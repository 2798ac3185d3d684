//! Shared harness for the end-to-end tests (real servers, real databases, real child processes).

pub mod app;
pub mod db;

/// Where `../shared/conformance` lives relative to this crate.
pub fn conformance_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}
