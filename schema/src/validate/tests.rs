//! Unit tests for the URL and subfolder helpers, key suggestions and secret detection, and the check
//! that every rule id is documented.

use super::keys::suggest;
use super::packages::{fill_variables, template_variables};
use super::rules::{is_forge_repository_url, subfolder_problem};
use super::secrets::find_secret;
use super::table::RULES;

#[test]
fn template_helpers() {
    assert_eq!(
        template_variables("https://{host}/x/{id}"),
        (vec!["host".to_owned(), "id".to_owned()], false)
    );
    assert!(template_variables("https://{host/x").1);
    assert_eq!(
        fill_variables("https://{tenant}.a.b:{port}/{x}"),
        "https://0.a.b:0/0"
    );
    assert_eq!(fill_variables("https://a.b/{x"), "https://a.b/{x");
}

#[test]
fn forge_urls() {
    assert!(is_forge_repository_url(
        "https://github.com/a/b",
        "github.com"
    ));
    assert!(is_forge_repository_url(
        "https://github.com/a/b.git",
        "github.com"
    ));
    assert!(!is_forge_repository_url(
        "https://github.com/a",
        "github.com"
    ));
    assert!(!is_forge_repository_url(
        "https://gitlab.com/a/b",
        "github.com"
    ));
    assert!(is_forge_repository_url(
        "https://gitlab.com/g/sub/p",
        "gitlab.com"
    ));
}

#[test]
fn subfolders() {
    assert_eq!(subfolder_problem("src/weather"), None);
    assert!(subfolder_problem("/abs").is_some());
    assert!(subfolder_problem("a/../b").is_some());
    assert!(subfolder_problem("a//b").is_some());
}

#[test]
fn every_rule_used_is_documented() {
    let source = concat!(
        include_str!("mod.rs"),
        include_str!("table.rs"),
        include_str!("rules.rs"),
        include_str!("packages.rs"),
        include_str!("keys.rs"),
        include_str!("secrets.rs"),
        include_str!("../version.rs"),
    );
    for (rule, _) in RULES {
        if !rule.contains('<') {
            assert!(
                source.matches(&format!("\"{rule}\"")).count() >= 2,
                "{rule} unused"
            );
        }
    }
}

#[test]
fn suggestions_need_a_close_key() {
    let keys = [
        "name",
        "type",
        "url",
        "headers",
        "environmentVariables",
        "isSecret",
    ];
    for (typo, meant) in [
        ("enviromentVariables", "environmentVariables"),
        ("EnvironmentVariables", "environmentVariables"),
        ("environment_variables", "environmentVariables"),
        ("isSecert", "isSecret"),
        ("secret", "isSecret"),
        ("header", "headers"),
        ("uri", "url"),
    ] {
        assert_eq!(suggest(typo, keys), Some(meant), "{typo}");
    }
    // Two edits reach unrelated short words; unrelated long ones stay unrelated.
    for far in ["env", "tag", "nm", "colour", "priority", "variables"] {
        assert_eq!(suggest(far, keys), None, "{far}");
    }
}

#[test]
fn secret_formats_and_placeholders() {
    for (name, value) in [
        (Some("--token"), "sk-proj-4f9a8b7c6d5e4f3a2b1c"),
        (Some("--password"), "hunter2"),
        (None, "--client-secret=s3cr3tvalue"),
        (None, "X-Api-Key: 0123abcd"),
        (None, "Authorization: Basic dXNlcjpwYXNz"),
        (None, "xoxb-1234567890-abcdefghij"),
        (None, "AKIAIOSFODNN7EXAMPLE"),
        (None, "sk_live_0123456789abcdefABCD"),
        (None, "github_pat_11ABCDEFG0123456789_abcdefghijklmnop"),
        (None, "glpat-0123456789abcdefghij"),
    ] {
        let found = find_secret(name, value);
        assert!(found.is_some(), "{name:?} {value}");
        let shown = found.map(|found| found.shown).unwrap_or_default();
        assert!(
            shown.ends_with('…') && shown.len() < value.len() + 3,
            "{shown}"
        );
    }
    for (name, value) in [
        (Some("--api-key"), "{api_key}"),
        (Some("--api-key"), "${API_KEY}"),
        (Some("--api-key"), "API_KEY"),
        (Some("--token"), "<your-token>"),
        (Some("--token"), "secret-token"),
        (Some("--auth"), "oauth"),
        (Some("--password-env"), "DB_PASSWORD"),
        (Some("--max-tokens"), "4096"),
        (None, "--port=8080"),
        (None, "--mode=readonly"),
        (None, "--HF_TOKEN=HF_{optional token}"),
        (None, "task-runner-with-a-long-name-0123456789"),
        (None, "--header=Content-Type: application/json"),
    ] {
        assert_eq!(find_secret(name, value), None, "{name:?} {value}");
    }
}
