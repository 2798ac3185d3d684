//! `ServerName` and `Namespace`: newtypes that can only hold names the official registry accepts.
//!
//! A server name is `namespace/name`, e.g. `io.github.alice/weather`. The namespace is reverse-DNS and is
//! what publish permissions are granted on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Longest server name the official schema allows.
pub const MAX_SERVER_NAME_LEN: usize = 200;
/// Shortest name the official schema allows (the part rules make the real minimum 5, e.g. `ab/cd`).
pub const MIN_SERVER_NAME_LEN: usize = 3;

/// A validated `namespace/name` server name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServerName {
    full: String,
    slash: usize,
}

/// The reverse-DNS part of a server name before the `/`, e.g. `io.github.alice`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Namespace(String);

impl ServerName {
    /// Parses and checks a server name; the error quotes the name and says which rule it breaks.
    pub fn parse(value: impl Into<String>) -> crate::Result<Self> {
        let full = value.into();
        if let Some(reason) = server_name_problem(&full) {
            return Err(Error::invalid_value("server name", full, reason));
        }
        let slash = full.find('/').unwrap_or_default();
        Ok(Self { full, slash })
    }

    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The part before the `/`.
    pub fn namespace(&self) -> &str {
        &self.full[..self.slash]
    }

    /// The part after the `/`.
    pub fn local_name(&self) -> &str {
        &self.full[self.slash + 1..]
    }
}

impl Namespace {
    pub fn parse(value: impl Into<String>) -> crate::Result<Self> {
        let value = value.into();
        match namespace_problem(&value) {
            Some(reason) => Err(Error::invalid_value("namespace", value, reason)),
            None => Ok(Self(value)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why `name` is not a valid server name, or `None` when it is. Shared with the validator so that the
/// newtype and the report can never disagree.
pub fn server_name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if !(MIN_SERVER_NAME_LEN..=MAX_SERVER_NAME_LEN).contains(&len) {
        return Some(format!(
            "must be {MIN_SERVER_NAME_LEN} to {MAX_SERVER_NAME_LEN} characters long, not {len}"
        ));
    }
    let slashes = name.matches('/').count();
    if slashes != 1 {
        return Some(format!(
            "must contain exactly one `/` between namespace and name (found {slashes}), e.g. `io.github.alice/weather`"
        ));
    }
    let (namespace, local) = name.split_once('/').unwrap_or_default();
    if let Some(reason) = namespace_problem(namespace) {
        return Some(format!("namespace `{namespace}` {reason}"));
    }
    if let Some(reason) = part_problem(local, |c| c == '.' || c == '_' || c == '-') {
        return Some(format!("name part `{local}` {reason}"));
    }
    None
}

/// Why `namespace` is not a valid namespace, or `None` when it is.
pub fn namespace_problem(namespace: &str) -> Option<String> {
    part_problem(namespace, |c| c == '.' || c == '-')
}

/// Both parts: ASCII letters and digits plus some punctuation, starting and ending alphanumeric
/// (so at least two characters).
fn part_problem(part: &str, allowed_punctuation: impl Fn(char) -> bool) -> Option<String> {
    if part.is_empty() {
        return Some("is empty".to_owned());
    }
    if let Some(bad) = part
        .chars()
        .find(|&c| !c.is_ascii_alphanumeric() && !allowed_punctuation(c))
    {
        return Some(format!(
            "contains the character `{bad}`, which is not allowed"
        ));
    }
    let first = part.chars().next().unwrap_or_default();
    let last = part.chars().last().unwrap_or_default();
    if part.len() < 2 || !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Some(
            "must start and end with a letter or digit (and be at least 2 characters)".to_owned(),
        );
    }
    None
}

macro_rules! string_newtype_impls {
    ($ty:ty) => {
        impl TryFrom<String> for $ty {
            type Error = Error;
            fn try_from(value: String) -> crate::Result<Self> {
                Self::parse(value)
            }
        }
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(value: &str) -> crate::Result<Self> {
                Self::parse(value)
            }
        }
        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.as_str().to_owned()
            }
        }
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.as_str())
            }
        }
    };
}

string_newtype_impls!(ServerName);
string_newtype_impls!(Namespace);
pub(crate) use string_newtype_impls;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_official_shapes() {
        for ok in [
            "io.github.alice/weather",
            "com.example/my_server-2",
            "ai.klavis/strata",
            "a1/b2",
        ] {
            let name = ServerName::parse(ok).unwrap();
            assert_eq!(name.as_str(), ok);
        }
        let name = ServerName::parse("io.github.alice/weather").unwrap();
        assert_eq!(name.namespace(), "io.github.alice");
        assert_eq!(name.local_name(), "weather");
    }

    #[test]
    fn rejects_with_a_reason_that_quotes_the_value() {
        for (bad, needle) in [
            ("no-namespace-separator", "exactly one `/`"),
            ("a/b/c", "exactly one `/`"),
            ("-io.github/x1", "start and end"),
            ("io.github/x_", "start and end"),
            ("io_github/xy", "character `_`"),
            ("io.github/wea ther", "character ` `"),
            ("ab", "3 to 200"),
        ] {
            let err = ServerName::parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
            assert!(err.contains(needle), "{bad}: {err}");
        }
        assert!(ServerName::parse(format!("io.x/{}", "a".repeat(200))).is_err());
    }

    #[test]
    fn serde_refuses_invalid_names() {
        assert!(serde_json::from_str::<ServerName>("\"io.x/ok\"").is_ok());
        assert!(serde_json::from_str::<ServerName>("\"nope\"").is_err());
        assert!(serde_json::from_str::<Namespace>("\"io.github.alice\"").is_ok());
        assert!(serde_json::from_str::<Namespace>("\"io/github\"").is_err());
    }
}
