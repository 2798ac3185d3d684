//! Validation against the official examples, the 464-manifest corpus, and each semantic rule.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly; that is what a test should do"
)]

use std::path::{Path, PathBuf};

use registry_schema::validate::{RULES, validate_bytes, validate_value};
use registry_schema::{Error, Manifest, Policy, Report, Severity};
use serde_json::{Value, json};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn lenient(value: &Value) -> Report {
    validate_value(value, &Policy::lenient())
}

fn rules_at(report: &Report, pointer: &str) -> Vec<String> {
    report
        .errors()
        .filter(|issue| issue.pointer == pointer)
        .map(|issue| issue.rule.to_string())
        .collect()
}

#[test]
fn official_valid_examples_pass_even_strictly() {
    let files = json_files(&shared().join("official/examples/valid"));
    assert_eq!(files.len(), 3);
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for policy in [Policy::lenient(), Policy::strict()] {
            let (_, report) = validate_bytes(&bytes, &policy);
            assert!(
                report.issues.is_empty(),
                "{}: {:#?}",
                file.display(),
                report
            );
        }
        let manifest = Manifest::parse(&bytes, &Policy::strict()).unwrap();
        assert_eq!(
            manifest.raw().as_bytes(),
            bytes.as_slice(),
            "raw bytes kept exactly"
        );
    }
}

#[test]
fn official_invalid_examples_fail_with_the_rule_their_name_describes() {
    let expected = [
        ("bad-name-pattern.json", "name-format", "/name"),
        (
            "description-too-long.json",
            "schema.maxLength",
            "/description",
        ),
        ("missing-name.json", "schema.required", ""),
        (
            "package-version-latest.json",
            "package-version-latest",
            "/packages/0/version",
        ),
        (
            "positional-argument-missing-value.json",
            "positional-argument-value",
            "/packages/0/packageArguments/0",
        ),
    ];
    let files = json_files(&shared().join("official/examples/invalid"));
    assert_eq!(files.len(), expected.len(), "an example has no expectation");
    for (file, rule, pointer) in expected {
        let bytes = std::fs::read(shared().join("official/examples/invalid").join(file)).unwrap();
        let (_, report) = validate_bytes(&bytes, &Policy::lenient());
        assert!(!report.is_valid(), "{file} passed");
        assert!(
            rules_at(&report, pointer).iter().any(|r| r == rule),
            "{file}: expected {rule} at {pointer:?}, got {:#?}",
            report.issues
        );
        match Manifest::parse(&bytes, &Policy::lenient()) {
            Err(Error::Invalid(parsed_report)) => assert_eq!(parsed_report, report),
            other => panic!("{file}: {other:?}"),
        }
    }
}

#[test]
fn every_corpus_manifest_validates_and_unknown_packages_only_warn() {
    let bytes = std::fs::read(shared().join("corpus/servers-2025-12-11.json")).unwrap();
    let corpus: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(corpus.len(), 464);
    let mut unknown_warnings = 0;
    let mut strict_failures = 0;
    for (index, server) in corpus.iter().enumerate() {
        let report = lenient(server);
        assert!(report.is_valid(), "corpus[{index}]: {:#?}", report.issues);
        // Published manifests use only the schema's keys and bake no credential into an argument.
        let new_rules = ["unknown-key", "secret-in-argument"];
        assert!(
            !new_rules.iter().any(|rule| report.has_rule(rule)),
            "corpus[{index}]: {:#?}",
            report.issues
        );
        unknown_warnings += report
            .warnings()
            .filter(|issue| issue.rule == "package-registry-type")
            .count();
        let text = serde_json::to_vec(server).unwrap();
        let manifest = Manifest::parse(&text, &Policy::lenient()).unwrap();
        assert_eq!(serde_json::to_value(manifest.server()).unwrap(), *server);
        if !validate_value(server, &Policy::strict()).is_valid() {
            strict_failures += 1;
        }
    }
    // corpus/README.md counts 302 packages of type `unknown`.
    assert_eq!(unknown_warnings, 302);
    assert!(
        strict_failures >= 302,
        "strict policy turns those warnings into errors"
    );
}

fn base() -> Value {
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": "io.github.alice/weather",
        "description": "Weather data",
        "version": "1.0.0"
    })
}

fn with(mut value: Value, key: &str, field: Value) -> Value {
    value[key] = field;
    value
}

fn npm(extra: &Value) -> Value {
    let mut package = json!({
        "registryType": "npm",
        "identifier": "@alice/weather",
        "version": "1.0.0",
        "transport": {"type": "stdio"}
    });
    for (key, value) in extra.as_object().unwrap() {
        package[key] = value.clone();
    }
    with(base(), "packages", json!([package]))
}

/// `(manifest, rule, pointer)`: the rule must fire as an error at exactly that pointer.
#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one table of cases reads better than several"
)]
fn each_semantic_rule_fires_where_it_should() {
    let cases = [
        (
            with(base(), "name", json!("io.github.alice/x_")),
            "name-format",
            "/name",
        ),
        (
            with(base(), "version", json!("latest")),
            "version-latest",
            "/version",
        ),
        (
            with(base(), "version", json!("^1.2.0")),
            "version-range",
            "/version",
        ),
        (
            with(base(), "version", json!("1.x")),
            "version-range",
            "/version",
        ),
        (
            with(base(), "version", json!("  ")),
            "version-format",
            "/version",
        ),
        (with(base(), "title", json!("   ")), "title-blank", "/title"),
        (
            with(base(), "websiteUrl", json!("http://example.com")),
            "website-url",
            "/websiteUrl",
        ),
        (
            with(
                base(),
                "repository",
                json!({"url": "https://gitlab.com/a/b", "source": "github"}),
            ),
            "repository-url",
            "/repository/url",
        ),
        (
            with(
                base(),
                "repository",
                json!({"url": "https://github.com/a/b", "source": "github", "subfolder": "../x"}),
            ),
            "repository-subfolder",
            "/repository/subfolder",
        ),
        (
            with(base(), "icons", json!([{"src": "http://x.io/i.png"}])),
            "icon-src",
            "/icons/0/src",
        ),
        (
            npm(&json!({"registryBaseUrl": "https://npm.example.com"})),
            "package-registry-base-url",
            "/packages/0/registryBaseUrl",
        ),
        (
            npm(&json!({"identifier": "bad id"})),
            "package-identifier",
            "/packages/0/identifier",
        ),
        (
            npm(&json!({"version": "~1.0"})),
            "package-version-range",
            "/packages/0/version",
        ),
        (
            npm(&json!({"fileSha256": "a".repeat(64)})),
            "package-file-sha256",
            "/packages/0/fileSha256",
        ),
        (
            npm(&json!({"transport": {"type": "stdio", "url": "https://x.io"}})),
            "transport-url",
            "/packages/0/transport/url",
        ),
        (
            npm(
                &json!({"transport": {"type": "streamable-http", "url": "http://localhost:{port}/mcp"}}),
            ),
            "transport-url-variable",
            "/packages/0/transport/url",
        ),
        (
            with(
                base(),
                "remotes",
                json!([{"type": "sse", "url": "https://{tenant}.x.io/sse"}]),
            ),
            "transport-url-variable",
            "/remotes/0/url",
        ),
        (
            with(
                base(),
                "_meta",
                json!({"io.modelcontextprotocol.registry/publisher-provided": {"blob": "x".repeat(5000)}}),
            ),
            "meta-size",
            "/_meta",
        ),
    ];
    for (manifest, rule, pointer) in cases {
        let report = lenient(&manifest);
        assert!(
            rules_at(&report, pointer).iter().any(|r| r == rule),
            "expected {rule} at {pointer}; got {:#?}",
            report.issues
        );
        let issue = report.issues.iter().find(|i| i.rule == rule).unwrap();
        assert!(!issue.message.is_empty());
    }
}

#[test]
fn per_type_package_rules() {
    let oci = json!({"registryType": "oci", "identifier": "ghcr.io/a/b:1.0.0", "transport": {"type": "stdio"}});
    assert!(lenient(&with(base(), "packages", json!([oci]))).is_valid());
    let mut oci_with_version = oci.clone();
    oci_with_version["version"] = json!("1.0.0");
    let report = lenient(&with(base(), "packages", json!([oci_with_version])));
    assert_eq!(
        rules_at(&report, "/packages/0/version"),
        ["package-version"]
    );

    let pypi_without_version =
        json!({"registryType": "pypi", "identifier": "weather", "transport": {"type": "stdio"}});
    let report = lenient(&with(base(), "packages", json!([pypi_without_version])));
    assert_eq!(
        rules_at(&report, "/packages/0/version"),
        ["package-version"]
    );

    let mcpb = json!({"registryType": "mcpb", "identifier": "https://github.com/a/b/releases/download/v1/x.mcpb", "transport": {"type": "stdio"}});
    let report = lenient(&with(base(), "packages", json!([mcpb])));
    assert_eq!(
        rules_at(&report, "/packages/0/fileSha256"),
        ["package-file-sha256"]
    );

    let cargo = json!({"registryType": "cargo", "identifier": "weather-mcp", "version": "0.3.1", "registryBaseUrl": "https://crates.io", "transport": {"type": "stdio"}});
    assert!(
        lenient(&with(base(), "packages", json!([cargo])))
            .issues
            .is_empty()
    );
}

#[test]
fn transport_variables_resolve_against_the_same_package() {
    let package = npm(&json!({
        "transport": {"type": "streamable-http", "url": "http://localhost:{port}/{path}?k={API_KEY}"},
        "packageArguments": [
            {"type": "named", "name": "--port", "value": "8080"},
            {"type": "positional", "valueHint": "path"}
        ],
        "environmentVariables": [{"name": "API_KEY"}]
    }));
    let report = lenient(&package);
    assert!(report.issues.is_empty(), "{:#?}", report.issues);
}

#[test]
fn quality_rules_warn_by_default_and_fail_strictly() {
    let cases = [
        (
            npm(
                &json!({"packageArguments": [{"type": "named", "name": "--dir <path>", "value": "x"}]}),
            ),
            "named-argument-name",
        ),
        (
            npm(
                &json!({"packageArguments": [{"type": "named", "name": "--dir", "value": "--dir /tmp"}]}),
            ),
            "named-argument-value",
        ),
        (
            with(
                base(),
                "remotes",
                json!([{"type": "sse", "url": "http://localhost:9000/sse"}]),
            ),
            "remote-url-https",
        ),
        (
            with(
                npm(&json!({})),
                "packages",
                json!([{"registryType": "unknown", "identifier": "x", "transport": {"type": "stdio"}}]),
            ),
            "package-registry-type",
        ),
        (
            {
                let mut v = base();
                v.as_object_mut().unwrap().remove("$schema");
                v
            },
            "schema-version",
        ),
        (
            with(
                base(),
                "$schema",
                json!(
                    "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json"
                ),
            ),
            "schema-version",
        ),
    ];
    for (manifest, rule) in cases {
        let report = lenient(&manifest);
        assert!(report.is_valid(), "{rule}: {:#?}", report.issues);
        assert!(
            report.warnings().any(|i| i.rule == rule),
            "{rule}: {:#?}",
            report.issues
        );
        let strict = validate_value(&manifest, &Policy::strict());
        assert!(
            strict.errors().any(|i| i.rule == rule),
            "{rule} strict: {:#?}",
            strict.issues
        );
    }
}

#[test]
fn all_problems_are_reported_at_once_with_quoted_values() {
    let manifest = json!({
        "name": "bad name",
        "description": "x".repeat(150),
        "version": "latest",
        "websiteUrl": "ftp://example.com",
        "packages": [{"registryType": "npm", "identifier": "a b", "version": "latest", "transport": {"type": "stdio"}}]
    });
    let report = lenient(&manifest);
    let errors: Vec<_> = report.errors().collect();
    assert!(errors.len() >= 6, "{errors:#?}");
    for needle in ["`bad name`", "`latest`", "`ftp://example.com`", "`a b`"] {
        assert!(
            errors.iter().any(|e| e.message.contains(needle)),
            "{needle}: {errors:#?}"
        );
    }
    // The schema's own pattern error on /name is folded into the more specific semantic one.
    assert_eq!(rules_at(&report, "/name"), ["name-format"]);
    let line = errors
        .iter()
        .find(|e| e.pointer == "/version")
        .unwrap()
        .to_string();
    assert!(
        line.starts_with("error[version-latest] /version: "),
        "{line}"
    );
}

#[test]
fn syntax_errors_and_non_objects_are_reported_not_panicked() {
    let (value, report) = validate_bytes(b"{\"name\": ", &Policy::lenient());
    assert!(value.is_none());
    assert_eq!(report.issues[0].rule, "json-syntax");
    let report = lenient(&json!([1, 2]));
    assert!(!report.is_valid());
    assert_eq!(report.issues[0].severity, Severity::Error);
}

#[test]
fn draft_schema_additions_are_accepted() {
    let mut manifest = npm(&json!({
        "postInstallInstructions": [{"description": "Run `weather init` once."}]
    }));
    manifest["$schema"] = json!(registry_schema::manifest::DRAFT_SCHEMA_URL);
    assert!(
        lenient(&manifest).issues.is_empty(),
        "{:#?}",
        lenient(&manifest).issues
    );
    let text = serde_json::to_vec(&manifest).unwrap();
    let parsed = Manifest::parse(&text, &Policy::strict()).unwrap();
    let instructions = parsed.server().packages()[0]
        .post_install_instructions
        .as_ref()
        .unwrap();
    assert_eq!(instructions[0].description, "Run `weather init` once.");
    // Without the draft `$schema` the field is still kept (the released schema allows extra fields).
    let released = npm(&json!({"postInstallInstructions": [{"description": "x"}]}));
    assert!(lenient(&released).is_valid());
}

#[test]
fn rule_catalogue_has_unique_ids() {
    let mut ids: Vec<&str> = RULES.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len());
}

#[test]
fn nuget_short_base_url_is_accepted_and_normalised() {
    use registry_schema::validate::canonical_registry_base_url;
    for base_url in [
        "https://api.nuget.org",
        "https://api.nuget.org/",
        "https://api.nuget.org/v3/index.json",
    ] {
        let nuget = json!({"registryType": "nuget", "identifier": "Weather.Mcp", "version": "1.0.0", "registryBaseUrl": base_url, "transport": {"type": "stdio"}});
        let report = lenient(&with(base(), "packages", json!([nuget])));
        assert!(report.issues.is_empty(), "{base_url}: {:#?}", report.issues);
        assert_eq!(
            canonical_registry_base_url("nuget", base_url),
            Some("https://api.nuget.org/v3/index.json")
        );
    }
    let elsewhere = json!({"registryType": "nuget", "identifier": "Weather.Mcp", "version": "1.0.0", "registryBaseUrl": "https://nuget.example.com", "transport": {"type": "stdio"}});
    assert_eq!(
        rules_at(
            &lenient(&with(base(), "packages", json!([elsewhere]))),
            "/packages/0/registryBaseUrl"
        ),
        ["package-registry-base-url"]
    );
    assert_eq!(
        canonical_registry_base_url("npm", "https://api.nuget.org"),
        None
    );
    assert_eq!(
        canonical_registry_base_url("npm", "https://registry.npmjs.org/"),
        Some("https://registry.npmjs.org")
    );
}

/// Control characters in identifying values, and U+0000 anywhere, are errors under either policy:
/// both storage engines must refuse the same manifests (PostgreSQL cannot store U+0000 at all).
#[test]
fn control_characters_and_nul_are_refused() {
    let cases: &[(Value, &str, &str)] = &[
        (
            with(base(), "version", json!("1.0.0\u{0}")),
            "/version",
            "control-characters",
        ),
        (
            with(base(), "version", json!("1.0.\u{1}")),
            "/version",
            "control-characters",
        ),
        (
            with(base(), "version", json!("1.0.0\u{7f}")),
            "/version",
            "control-characters",
        ),
        (
            with(base(), "version", json!("1.0.0\u{85}")),
            "/version",
            "control-characters",
        ),
        (
            npm(&json!({"identifier": "@alice/wea\u{1}ther"})),
            "/packages/0/identifier",
            "control-characters",
        ),
        (
            npm(&json!({"version": "1.0.0\u{0}"})),
            "/packages/0/version",
            "control-characters",
        ),
        (
            npm(&json!({"registryType": "np\u{2}m"})),
            "/packages/0/registryType",
            "control-characters",
        ),
        (
            with(
                base(),
                "remotes",
                json!([{"type": "streamable-http", "url": "https://example.com/\u{1b}mcp"}]),
            ),
            "/remotes/0/url",
            "control-characters",
        ),
        (
            with(base(), "description", json!("Weather\u{0}data")),
            "/description",
            "nul-character",
        ),
        (
            with(
                base(),
                "_meta",
                json!({"com.example/notes": {"a\u{0}b": "x"}}),
            ),
            "/_meta/com.example~1notes/a\u{0}b",
            "nul-character",
        ),
        (
            with(
                base(),
                "_meta",
                json!({"com.example/notes": ["fine", "nul\u{0}"]}),
            ),
            "/_meta/com.example~1notes/1",
            "nul-character",
        ),
    ];
    for (manifest, pointer, rule) in cases {
        for policy in [Policy::lenient(), Policy::strict()] {
            let report = validate_value(manifest, &policy);
            let at = rules_at(&report, pointer);
            assert!(
                at.iter().any(|found| found == rule),
                "{pointer}: expected {rule}, got {:#?}",
                report.issues
            );
            // One error per value: a NUL in an identifying value is not also a `nul-character`.
            assert!(
                !(rule == &"control-characters" && at.iter().any(|found| found == "nul-character")),
                "{pointer}: {at:?}"
            );
        }
        let bytes = serde_json::to_vec(manifest).unwrap();
        assert!(matches!(
            Manifest::parse(&bytes, &Policy::lenient()),
            Err(Error::Invalid(_))
        ));
    }
}

/// Control characters in free text stay allowed (descriptions have line breaks); the message quotes
/// the bad value with escapes, never raw control characters.
#[test]
fn free_text_keeps_control_characters_and_messages_escape_them() {
    let report = lenient(&with(
        base(),
        "description",
        json!("Weather\ndata\tfor you"),
    ));
    assert!(report.is_valid(), "{:#?}", report.issues);
    let report = lenient(&with(base(), "version", json!("1.0.0\u{0}")));
    let message = &report.errors().next().unwrap().message;
    assert!(
        message.contains("`1.0.0\\0`") && message.contains("U+0000"),
        "{message}"
    );
    assert!(!message.contains('\u{0}'), "{message}");
}

/// Keys the schema does not define warn at their pointer, naming the defined key they were meant to
/// be when one is close; `_meta` is free-form. Cases: `[server members, pointer, meant, object]`.
#[test]
fn unknown_keys_warn_with_a_suggestion() {
    let cases: Vec<(Value, String, Option<String>, String)> = serde_json::from_str(r#"[
        [{"packages": [{"enviromentVariables": []}]}, "/packages/0/enviromentVariables", "environmentVariables", "a package"],
        [{"packages": [{"runtime_arguments": []}]}, "/packages/0/runtime_arguments", "runtimeArguments", "a package"],
        [{"titel": "Weather"}, "/titel", "title", "the server"],
        [{"repository": {"url": "https://github.com/a/b", "source": "github", "subFolder": "x"}}, "/repository/subFolder", "subfolder", "the repository"],
        [{"packages": [{"transport": {"type": "stdio", "header": []}}]}, "/packages/0/transport/header", "headers", "a package transport"],
        [{"remotes": [{"type": "sse", "url": "https://x.io/sse", "headers": [{"nmae": "X", "name": "Y"}]}]}, "/remotes/0/headers/0/nmae", "name", "a header"],
        [{"packages": [{"packageArguments": [{"type": "positional", "valueHnit": "p", "value": "."}]}]}, "/packages/0/packageArguments/0/valueHnit", "valueHint", "a positional argument"],
        [{"packages": [{"environmentVariables": [{"name": "K", "isSecert": true}]}]}, "/packages/0/environmentVariables/0/isSecert", "isSecret", "an environment variable"],
        [{"packages": [{"colour": "blue"}]}, "/packages/0/colour", null, "a package"]
    ]"#).unwrap();
    for (members, pointer, meant, what) in cases {
        // `packages[0]` members go into the npm package; other members into the server.
        let mut manifest = npm(members.pointer("/packages/0").unwrap_or(&json!({})));
        for (key, value) in members
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k != "packages")
        {
            manifest[key] = value.clone();
        }
        let report = lenient(&manifest);
        assert!(report.is_valid(), "{pointer}: {:#?}", report.issues);
        let found: Vec<_> = report
            .warnings()
            .filter(|i| i.rule == "unknown-key")
            .collect();
        assert_eq!(found.len(), 1, "{pointer}: {:#?}", report.issues);
        assert_eq!(found[0].pointer, pointer);
        let key = pointer.rsplit('/').next().unwrap();
        let message = &found[0].message;
        let expected = match meant {
            Some(meant) => format!("`{key}` is not a field of {what}; did you mean `{meant}`?"),
            None => format!(
                "`{key}` is not a field of {what}; the schema defines `environmentVariables`, `fileSha256`,"
            ),
        };
        assert!(message.starts_with(&expected), "{message}");
    }
    let meta = lenient(&with(base(), "_meta", json!({"a.b/c": {"titel": 1}})));
    assert!(meta.issues.is_empty(), "{meta:#?}");
}

/// A bare `anyOf` message gives way to any clearer error at or beneath its value, and no rule is
/// reported twice at one pointer.
#[test]
fn schema_errors_are_deduplicated() {
    let report = lenient(&with(base(), "remotes", json!([{"type": "sse"}])));
    assert!(rules_at(&report, "/remotes/0").is_empty(), "{report:#?}");
    assert_eq!(rules_at(&report, "/remotes/0/url"), ["transport-url"]);
    let sub_value =
        json!([{"type": "x", "url": "https://x.io", "variables": {"a": {"isSecret": 1}}}]);
    let report = lenient(&with(base(), "remotes", sub_value));
    assert!(
        !report.has_rule("schema.anyOf") && report.has_rule("schema.type"),
        "{report:#?}"
    );
    // Alone, the anyOf error stays: it is the only sign that the argument is wrong.
    let alone = lenient(&npm(&json!({"packageArguments": [{"type": "named"}]})));
    assert_eq!(
        rules_at(&alone, "/packages/0/packageArguments/0"),
        ["schema.anyOf"]
    );
    for manifest in [
        json!({}),
        json!({"name": 1, "remotes": [{"url": "{a}{b}"}]}),
    ] {
        let report = lenient(&manifest);
        let mut seen: Vec<_> = report
            .issues
            .iter()
            .map(|i| (&i.rule, &i.pointer))
            .collect();
        let before = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), before, "{report:#?}");
    }
    // `name`, `description` and `version` are missing: one issue says so.
    let required = lenient(&json!({}));
    assert_eq!(rules_at(&required, ""), ["schema.required"]);
    assert!(
        required.issues[0].message.contains("\"version\""),
        "{required:#?}"
    );
}

/// Credentials written into argument values warn (strict: fail); placeholders and ordinary flags
/// pass even strictly. Cases: `[argument, flagged]` (more formats in `validate::tests`).
#[test]
fn secrets_in_argument_values() {
    let cases: Vec<(Value, bool)> = serde_json::from_str(r#"[
        [{"type": "named", "name": "--api-key", "value": "abc123"}, true],
        [{"type": "positional", "value": "--api-key=abc123"}, true],
        [{"type": "positional", "value": "--token sk-4f9a8b7c6d5e4f3a2b1c0d"}, true],
        [{"type": "named", "name": "--header", "value": "Authorization: Bearer xyz123"}, true],
        [{"type": "positional", "value": "ghp_0123456789abcdefABCDEF0123456789abcd"}, true],
        [{"type": "named", "name": "--k", "value": "{k}", "variables": {"k": {"default": "xoxb-1234567890-abcdefghij"}}}, true],
        [{"type": "positional", "value": "--port=8080"}, false],
        [{"type": "positional", "value": "--mode=readonly"}, false],
        [{"type": "named", "name": "--api-key", "value": "{api_key}", "variables": {"api_key": {"isSecret": true}}}, false],
        [{"type": "positional", "value": "--api-key=${API_KEY}"}, false],
        [{"type": "named", "name": "--max-tokens", "value": "4096"}, false]
    ]"#).unwrap();
    for (argument, flagged) in cases {
        let manifest = npm(&json!({"runtimeArguments": [argument], "runtimeHint": "npx"}));
        let found: Vec<_> = lenient(&manifest)
            .issues
            .into_iter()
            .filter(|i| i.rule == "secret-in-argument")
            .collect();
        let strict = validate_value(&manifest, &Policy::strict());
        if !flagged {
            assert!(
                found.is_empty() && !strict.has_rule("secret-in-argument"),
                "{argument}: {found:#?}"
            );
            continue;
        }
        assert_eq!(found.len(), 1, "{argument}: {found:#?}");
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(
            found[0]
                .pointer
                .starts_with("/packages/0/runtimeArguments/0/"),
            "{:?}",
            found[0]
        );
        let message = &found[0].message;
        assert!(
            message.contains("`isSecret` input") && !message.contains("abc123"),
            "{message}"
        );
        assert!(
            strict.errors().any(|i| i.rule == "secret-in-argument"),
            "{argument}"
        );
    }
}

#[test]
fn real_manifests_bake_no_secrets_and_name_only_old_keys() {
    for file in json_files(&shared().join("real-manifests")) {
        let (_, report) = validate_bytes(&std::fs::read(&file).unwrap(), &Policy::lenient());
        assert!(
            report.is_valid() && !report.has_rule("secret-in-argument"),
            "{report:#?}"
        );
        // GitHub's manifest still carries `status`, a field older schemas had.
        let unknown: Vec<_> = report
            .warnings()
            .filter(|i| i.rule == "unknown-key")
            .map(|i| i.pointer.as_str())
            .collect();
        assert!(
            unknown.is_empty() || unknown == ["/status"],
            "{}: {unknown:?}",
            file.display()
        );
    }
}
