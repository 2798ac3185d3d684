//! Semver precedence as text that sorts byte by byte, so a database can answer "the highest release
//! below 1.4.0" or "the releases of line 2.x" from an index instead of handing every version to Rust.

use std::fmt::Write as _;

/// Marks a release (no pre-release): above every pre-release of the same `MAJOR.MINOR.PATCH`, and
/// above every byte a pre-release identifier is written with.
const RELEASE: char = '~';
/// Starts each pre-release identifier: below every byte an identifier is written with, so a shorter
/// list of identifiers sorts first when the longer one starts with it (`alpha` < `alpha.1`).
const IDENTIFIER: char = '!';
/// Above every key byte, for the end of a prefix range.
const PAST_PREFIX: char = '\u{7f}';

/// A key that sorts (bytewise, as SQLite's `BINARY` and PostgreSQL's `"C"` collations compare) as
/// the versions' semver precedences do; build metadata is left out, so versions of equal precedence
/// have equal keys. `None` when `version` is not semver.
///
/// Numbers (`MAJOR`, `MINOR`, `PATCH`, numeric pre-release identifiers) carry their digit count
/// first, as semver forbids leading zeros: a longer number is a larger one.
pub fn order_key(version: &str) -> Option<String> {
    let version = semver::Version::parse(version).ok()?;
    let mut key = String::with_capacity(16 + version.pre.len() * 2);
    push_core(&mut key, &version);
    if version.pre.is_empty() {
        key.push(RELEASE);
    } else {
        for identifier in version.pre.as_str().split('.') {
            key.push(IDENTIFIER);
            if identifier.bytes().all(|b| b.is_ascii_digit()) {
                // Numeric identifiers sort below alphanumeric ones, then by value: digit count in
                // three digits (a version has at most 255 characters), then the digits.
                if identifier.len() > 999 {
                    return None;
                }
                write!(key, "0{:03}", identifier.len()).ok()?;
            } else {
                key.push('1');
            }
            key.push_str(identifier);
        }
    }
    Some(key)
}

/// The `[from, to)` range of [`order_key`]s in the compatibility line of `version` (same major; for
/// `0.y`, same minor): `None` for `0.0.z`, which is alone in its line, and for non-semver versions.
pub fn line_range(version: &semver::Version) -> Option<(String, String)> {
    let mut prefix = String::new();
    push_number(&mut prefix, version.major);
    if version.major == 0 {
        if version.minor == 0 {
            return None;
        }
        push_number(&mut prefix, version.minor);
    }
    let end = format!("{prefix}{PAST_PREFIX}");
    Some((prefix, end))
}

/// Whether `key` (an [`order_key`]) is a release's.
pub fn is_release_key(key: &str) -> bool {
    key.ends_with(RELEASE)
}

fn push_core(key: &mut String, version: &semver::Version) {
    push_number(key, version.major);
    push_number(key, version.minor);
    push_number(key, version.patch);
}

/// A `u64` as its digit count (`b` for 1 … `u` for 20) and its digits.
fn push_number(key: &mut String, number: u64) {
    let digits = number.to_string();
    let count = u8::try_from(digits.len()).unwrap_or(20);
    key.push(char::from(b'a' + count));
    key.push_str(&digits);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(version: &str) -> String {
        order_key(version).unwrap_or_else(|| panic!("{version} is semver"))
    }

    #[test]
    fn sorts_as_semver_precedence() {
        // The ordering example of semver.org §11, with numbers of different lengths around it.
        let ascending = [
            "0.0.1",
            "0.9.0",
            "0.10.0",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.2.0",
            "1.10.0",
            "2.0.0",
            "10.0.0",
            "18446744073709551615.0.0",
        ];
        for pair in ascending.windows(2) {
            assert!(key(pair[0]) < key(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn ignores_build_metadata_and_refuses_non_semver() {
        assert_eq!(key("1.2.3+build.7"), key("1.2.3"));
        assert_eq!(key("1.2.3-rc.1+x"), key("1.2.3-rc.1"));
        assert_eq!(order_key("v1.2.3"), None);
        assert_eq!(order_key("2024-01"), None);
        assert!(is_release_key(&key("1.2.3")));
        assert!(!is_release_key(&key("1.2.3-rc.1")));
    }

    #[test]
    fn line_ranges_hold_exactly_their_line() {
        let range = |v: &str| line_range(&semver::Version::parse(v).unwrap());
        let inside = |line: &str, v: &str| {
            let (from, to) = range(line).unwrap();
            let k = key(v);
            from <= k && k < to
        };
        assert!(inside("1.4.0", "1.0.0"));
        assert!(inside("1.4.0", "1.99.3-rc.1"));
        assert!(!inside("1.4.0", "10.0.0"));
        assert!(!inside("1.4.0", "0.1.0"));
        assert!(!inside("1.4.0", "2.0.0"));
        assert!(inside("0.3.1", "0.3.0"));
        assert!(!inside("0.3.1", "0.30.0"));
        assert!(!inside("0.3.1", "0.4.0"));
        assert_eq!(range("0.0.4"), None);
    }

    fn identifier() -> impl Strategy<Value = String> {
        prop_oneof![
            // Few distinct values, so equal identifiers and prefixes come up often.
            (0u64..12).prop_map(|n| n.to_string()),
            Just("1000000000000".to_owned()),
            proptest::string::string_regex("[a-c-]{1,3}").unwrap(),
            proptest::string::string_regex("[0-9A-Za-z-]{1,4}")
                .unwrap()
                .prop_filter("no leading zero", |s| {
                    !(s.len() > 1 && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()))
                }),
        ]
    }

    fn version() -> impl Strategy<Value = String> {
        let number = prop_oneof![0u64..3, Just(10u64), Just(u64::MAX)];
        (
            number.clone(),
            number.clone(),
            number,
            proptest::collection::vec(identifier(), 0..4),
        )
            .prop_map(|(major, minor, patch, pre)| {
                let mut version = format!("{major}.{minor}.{patch}");
                if !pre.is_empty() {
                    version.push('-');
                    version.push_str(&pre.join("."));
                }
                version
            })
    }

    proptest! {
        #[test]
        fn keys_compare_as_versions(a in version(), b in version()) {
            let (va, vb) = (semver::Version::parse(&a).unwrap(), semver::Version::parse(&b).unwrap());
            prop_assert_eq!(key(&a).cmp(&key(&b)), va.cmp_precedence(&vb), "{} vs {}", a, b);
        }
    }
}
