//! Integration tests of registry-provenance, all offline: key mode, keyless bundles from the throwaway PKI, a
//! real public-good bundle, and the rejections.

mod common;
mod key_mode;
mod keyless;
mod negatives;
mod public_good;
mod rekor_v2;
