//! What [`gate`](super::gate) reads of a server's history, so a registry can load only that: which
//! earlier publications it compares contents with ([`gate_reads`]), and when two publications'
//! contents are interchangeable for it ([`contract_key`], for [`gate_shared`](super::gate_shared)).

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::version::{Publication, choose_baseline, republish_of, same_line};
use crate::manifest::ServerJson;

/// The publications whose contents (surface and manifest) [`gate`](super::gate) may read for a new
/// version; every other publication counts by its version string and deleted flag only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateReads {
    /// Read whenever present: the republished original, the baseline, and every earlier release of
    /// the new version's line (the transitive check). Ascending indices.
    pub always: Vec<usize>,
    /// The candidates for the sandwich check, nearest first: the gate compares with the first of them
    /// that has a surface or a manifest, so a caller that knows one has (e.g. it parsed when it was
    /// published) need not load those after it.
    pub sandwich: Vec<usize>,
}

/// Which contents [`gate`](super::gate) reads when `new_version` follows `history`, of which only
/// each publication's `version` and `deleted` are looked at here (contents may be left out).
///
/// Nothing when the new version is not semver, or has the precedence of a stored one (the gate stops
/// at those before comparing anything).
pub fn gate_reads(history: &[Publication], new_version: &str) -> GateReads {
    let mut reads = GateReads::default();
    let Ok(version) = semver::Version::parse(new_version) else {
        return reads;
    };
    let parsed: Vec<Option<semver::Version>> = history
        .iter()
        .map(|p| semver::Version::parse(&p.version).ok())
        .collect();
    if parsed
        .iter()
        .flatten()
        .any(|v| v.cmp_precedence(&version).is_eq())
    {
        return reads;
    }
    if let Some(base) = republish_of(&version)
        && let Some(index) = history.iter().zip(&parsed).position(|(p, v)| {
            !p.deleted && v.as_ref().is_some_and(|v| v.cmp_precedence(&base).is_eq())
        })
    {
        reads.always.push(index);
        return reads;
    }
    let Some(baseline) = choose_baseline(history, &version) else {
        return reads;
    };
    reads.always.push(baseline);
    let releases_of_line = || {
        history
            .iter()
            .zip(&parsed)
            .enumerate()
            .filter_map(|(i, (p, v))| v.as_ref().map(|v| (i, p, v)))
            .filter(|(_, p, v)| !p.deleted && v.pre.is_empty() && same_line(v, &version))
    };
    reads.always.extend(
        releases_of_line()
            .filter(|(i, _, v)| *i != baseline && v.cmp_precedence(&version).is_lt())
            .map(|(i, _, _)| i),
    );
    reads.always.sort_unstable();
    if version.pre.is_empty() {
        let mut higher: Vec<(usize, &semver::Version)> = releases_of_line()
            .filter(|(_, _, v)| v.cmp_precedence(&version).is_gt())
            .map(|(i, _, v)| (i, v))
            .collect();
        // Stable, so equal precedences keep history order, as the gate's `min_by` picks the first.
        higher.sort_by(|(_, a), (_, b)| a.cmp_precedence(b));
        reads.sandwich = higher.into_iter().map(|(i, _)| i).collect();
    }
    reads
}

/// A key for what [`check`](super::check) reads of one side's manifest (its surface included): two
/// manifests with the same key compare the same with anything, so
/// [`gate_shared`](super::gate_shared) may compare one in place of the other. The version (top-level
/// and per package) is left out, as no comparison reads it: a release that changed nothing but its
/// version number has the key of the one before. SHA-256, hex.
pub fn contract_key(server: &ServerJson) -> Option<String> {
    let mut value = serde_json::to_value(server).ok()?;
    if let Value::Object(map) = &mut value {
        map.remove("version");
        if let Some(Value::Array(packages)) = map.get_mut("packages") {
            for package in packages {
                if let Value::Object(package) = package {
                    package.remove("version");
                }
            }
        }
    }
    let bytes = serde_json::to_vec(&value).ok()?;
    Some(hex::encode(Sha256::digest(&bytes)))
}
