//! `secret-in-argument`: a credential written into an argument's fixed `value` or `default`, where
//! every reader of the registry sees it. Placeholders (`{api_key}`, `${API_KEY}`, `<token>`) are fine:
//! the client fills them from an `isSecret` input at install time.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::Rules;
use super::rules::pointer_token;

/// A credential found in a value.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    /// What was found, e.g. "a value for `--api-key`" or "a GitHub token".
    pub what: String,
    /// The value with the credential shortened, safe to print.
    pub shown: String,
    /// A variable name for the fix, e.g. `api_key`.
    pub variable: String,
}

/// `--flag=value` or `--flag value` inside a longer value.
static FLAG_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    regex_or_never(r#"(?:^|[\s"'])(-{1,2}[A-Za-z][A-Za-z0-9_.-]*)(?:=|\s+)([^\s"']+)"#)
});

/// An HTTP header line carrying a credential: `Authorization: Bearer x`, `X-Api-Key: x`.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    regex_or_never(
        r#"(?i)\b(?:proxy-)?authorization\s*:\s*(?:bearer|basic|token|bot|apikey)\s+([^\s"']+)|\b((?:x-)?[a-z-]*(?:api-?key|token|secret|auth)[a-z-]*)\s*:\s*([^\s"']+)"#,
    )
});

/// Credential formats recognisable on their own, with what they are.
static KEY_FORMATS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (
            r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}",
            "an API secret key (`sk-…`)",
        ),
        (
            r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",
            "a Stripe secret key",
        ),
        (r"\bgh[pousr]_[A-Za-z0-9]{20,}", "a GitHub token"),
        (r"\bgithub_pat_[A-Za-z0-9_]{20,}", "a GitHub token"),
        (r"\bglpat-[A-Za-z0-9_-]{20,}", "a GitLab token"),
        (r"\bxox[abposr]-[A-Za-z0-9-]{10,}", "a Slack token"),
        (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "an AWS access key id"),
        (r"\bAIza[0-9A-Za-z_-]{35}", "a Google API key"),
        (r"\bnpm_[A-Za-z0-9]{36}", "an npm token"),
        (r"\bhf_[A-Za-z0-9]{30,}", "a Hugging Face token"),
        (
            r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.",
            "a JSON Web Token",
        ),
    ]
    .into_iter()
    .map(|(pattern, what)| (regex_or_never(pattern), what))
    .collect()
});

#[allow(
    clippy::expect_used,
    reason = "fixed patterns, exercised by the tests: failing to compile one is a build defect"
)]
fn regex_or_never(pattern: &str) -> Regex {
    Regex::new(pattern).expect("secret pattern compiles")
}

/// Words that mark a flag or header name as taking a credential.
const SECRET_WORDS: &[&str] = &[
    "apikey",
    "authorization",
    "token",
    "secret",
    "password",
    "passwd",
    "accesskey",
    "privatekey",
    "credential",
    "authkey",
    "bearer",
];

/// Words that mark a secret-sounding name as naming something else: where the credential is
/// (`--token-file`, `--password-env`), its kind, or a limit (`--max-tokens`).
const NOT_SECRET_WORDS: &[&str] = &[
    "file", "path", "dir", "env", "var", "url", "uri", "endpoint", "name", "type", "mode",
    "header", "helper", "command", "cmd", "store", "ttl", "expir", "length", "limit", "max", "min",
    "count", "budget", "usage", "refresh", "required",
];

/// Whether a flag, header or variable name asks for a credential.
fn secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_WORDS.iter().any(|word| folded.contains(word))
        && !NOT_SECRET_WORDS.iter().any(|word| folded.contains(word))
}

/// Whether `value` is a literal (something a client would pass as is) rather than a placeholder,
/// a path to a credential, or a switch.
fn literal(value: &str) -> bool {
    let value = value.trim_matches(|c| matches!(c, '"' | '\''));
    let lower = value.to_ascii_lowercase();
    let folded: String = lower.chars().filter(char::is_ascii_alphanumeric).collect();
    // Templates and references (`{api_key}`, `${API_KEY}`, `%TOKEN%`, `<token>`), paths, names of
    // environment variables, and words that describe a credential instead of being one
    // (`secret-token`, `your_api_key`).
    let placeholder = value.contains(['{', '}', '$', '%', '<', '>'])
        || value.starts_with(['[', '/', '~', '.'])
        || SECRET_WORDS.iter().any(|word| folded.contains(word))
        || value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        || [
            "your",
            "example",
            "here",
            "xxx",
            "***",
            "...",
            "…",
            "changeme",
            "placeholder",
            "redacted",
            "dummy",
            "replace",
            "insert",
        ]
        .iter()
        .any(|word| lower.contains(word))
        || [
            "true", "false", "none", "null", "yes", "no", "on", "off", "auto", "env", "stdin",
            "keyring", "keychain", "oauth", "required", "optional", "prompt",
        ]
        .contains(&lower.as_str());
    value.chars().count() >= 3 && !placeholder
}

/// `abc123secret` → `abc1…`: enough to recognise, not enough to use.
fn shorten(secret: &str) -> String {
    let keep = if secret.chars().count() >= 12 { 4 } else { 2 };
    let head: String = secret.chars().take(keep).collect();
    format!("{head}…")
}

/// `--api-key` → `api_key`.
fn variable_for(name: &str) -> String {
    let variable: String = name
        .trim_start_matches('-')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if variable.is_empty() {
        "token".to_owned()
    } else {
        variable
    }
}

/// The first credential in `value`, the fixed value of an argument or variable called `name`.
pub fn find_secret(name: Option<&str>, value: &str) -> Option<Finding> {
    let value = value.trim();
    if let Some(name) = name
        && secret_name(name)
        && !value.starts_with('-')
        && literal(value)
    {
        return Some(Finding {
            what: format!("a value for `{name}`"),
            shown: shorten(value),
            variable: variable_for(name),
        });
    }
    for found in FLAG_VALUE.captures_iter(value) {
        let (Some(flag), Some(secret)) = (found.get(1), found.get(2)) else {
            continue;
        };
        if secret_name(flag.as_str())
            && !secret.as_str().starts_with('-')
            && literal(secret.as_str())
        {
            let shown = format!(
                "{}{}",
                &value[flag.start()..secret.start()],
                shorten(secret.as_str())
            );
            return Some(Finding {
                what: format!("a value for `{}`", flag.as_str()),
                shown,
                variable: variable_for(flag.as_str()),
            });
        }
    }
    for found in HEADER.captures_iter(value) {
        let (header, secret) = match (found.get(1), found.get(2), found.get(3)) {
            (Some(secret), _, _) => ("Authorization", secret),
            (None, Some(header), Some(secret)) if secret_name(header.as_str()) => {
                (header.as_str(), secret)
            }
            _ => continue,
        };
        if literal(secret.as_str()) {
            let start = found.get(0).map_or(0, |whole| whole.start());
            return Some(Finding {
                what: format!("a credential in the `{header}` header"),
                shown: format!(
                    "{}{}",
                    &value[start..secret.start()],
                    shorten(secret.as_str())
                ),
                variable: if header == "Authorization" {
                    "token".to_owned()
                } else {
                    variable_for(header)
                },
            });
        }
    }
    KEY_FORMATS.iter().find_map(|(pattern, what)| {
        pattern.find(value).map(|found| Finding {
            what: (*what).to_owned(),
            shown: shorten(found.as_str()),
            variable: name.map_or_else(|| "api_key".to_owned(), variable_for),
        })
    })
}

impl Rules<'_> {
    /// Checks an argument's `value` and `default`, and those of its `variables`.
    pub(super) fn argument_secrets(&mut self, at: &str, argument: &Map<String, Value>) {
        let name = argument.get("name").and_then(Value::as_str);
        self.input_secrets(at, name, argument);
        if let Some(Value::Object(variables)) = argument.get("variables") {
            for (variable, input) in variables {
                if let Value::Object(input) = input {
                    let at = format!("{at}/variables/{}", pointer_token(variable));
                    self.input_secrets(&at, Some(variable), input);
                }
            }
        }
    }

    fn input_secrets(&mut self, at: &str, name: Option<&str>, input: &Map<String, Value>) {
        for key in ["value", "default"] {
            let Some(Value::String(value)) = input.get(key) else {
                continue;
            };
            let Some(found) = find_secret(name, value) else {
                continue;
            };
            let variable = found.variable;
            self.quality(
                "secret-in-argument",
                &format!("{at}/{key}"),
                format!(
                    "{key} `{}` has {} written into it, which every reader of the registry sees; \
                     use an `isSecret` input instead: `{{{variable}}}` in the value with \
                     `\"variables\": {{\"{variable}\": {{\"isSecret\": true, \"isRequired\": true}}}}`",
                    found.shown, found.what
                ),
            );
        }
    }
}
