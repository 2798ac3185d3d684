//! Unit tests for the URL and subfolder helpers, and the check that every rule id is documented.

use super::packages::{fill_variables, template_variables};
use super::rules::{is_forge_repository_url, subfolder_problem};
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
