#![allow(clippy::unwrap_used)]
//! Launch specs that start: every package of every real manifest (`conformance/real-manifests`) and
//! of every corpus manifest renders a command line that a small checker accepts: the runtime's
//! subcommand once (docker `run` once, first), docker's `-i`/`--rm` at most once, the image or
//! package named exactly once and pinned, and no stray `true`/`false` words from boolean flags.
//! GitHub's own manifest must run, in effect, `docker run -i --rm -e GITHUB_PERSONAL_ACCESS_TOKEN
//! ghcr.io/github/github-mcp-server:0.20.1`.

use std::fs;
use std::path::{Path, PathBuf};

use registry_cli::install::launch::{self, Choice, LaunchSpec, Part, Platform, Template, Values};
use registry_cli::install::{Host, InstallError, render};
use registry_schema::ServerJson;
use registry_schema::manifest::Package;

fn conformance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}

fn real_manifests() -> Vec<(String, ServerJson)> {
    let dir = conformance().join("real-manifests");
    let mut out = Vec::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let server = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
            out.push((path.display().to_string(), server));
        }
    }
    assert!(!out.is_empty(), "no real manifests in {}", dir.display());
    out
}

fn corpus() -> Vec<ServerJson> {
    let path = conformance().join("corpus/servers-2025-12-11.json");
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// A word of the command line; a secret shows as `${ENV_NAME}`.
fn word(template: &Template) -> String {
    template
        .0
        .iter()
        .map(|part| match part {
            Part::Text(text) => text.clone(),
            Part::Secret(secret) => format!("${{{}}}", secret.env_name),
        })
        .collect()
}

struct CommandLine {
    command: String,
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

/// The command line of package `index`, with a placeholder for every required input nobody gave;
/// `None` when mcp-reg cannot run the package at all (e.g. registry type `unknown`).
fn command_line(server: &ServerJson, index: usize) -> Option<CommandLine> {
    let mut values = Values::new();
    for _ in 0..64 {
        match launch::resolve(server, Choice::Package(index), &values, Platform::Linux) {
            Ok(resolved) => {
                let LaunchSpec::Stdio { command, args, env } = resolved.spec else {
                    panic!("{}: a package resolved to a remote", server.name);
                };
                return Some(CommandLine {
                    command,
                    argv: args.iter().map(word).collect(),
                    env: env.iter().map(|(k, v)| (k.clone(), word(v))).collect(),
                });
            }
            Err(InstallError::MissingInput { key, .. }) => {
                values.insert(key, "VALUE".to_owned());
            }
            Err(InstallError::Unsupported(_)) => return None,
            Err(other) => panic!("{}: package {index}: {other}", server.name),
        }
    }
    panic!("{}: package {index}: inputs never settle", server.name)
}

/// Literal `true`/`false` words the manifest itself passes (not from boolean flags).
fn literal_booleans(package: &Package) -> usize {
    package
        .runtime_arguments()
        .iter()
        .chain(package.package_arguments())
        .filter(|arg| {
            let boolean = arg.input.format.as_deref() == Some("boolean");
            let text = arg.input.value.as_deref().or(arg.input.default.as_deref());
            !boolean && matches!(text, Some("true" | "false"))
        })
        .count()
}

/// The checker: why `line` would not start as the manifest means, or `Ok`.
fn check(package: &Package, line: &CommandLine) -> Result<(), String> {
    let argv = &line.argv;
    let id = package.identifier.as_str();
    let version = package.version.as_deref().unwrap_or_default();
    let count = |pred: &dyn Fn(&str) -> bool, words: &[String]| {
        words.iter().filter(|w| pred(w.as_str())).count()
    };
    let booleans = count(&|w| w == "true" || w == "false", argv);
    if booleans > literal_booleans(package) {
        return Err(format!(
            "a boolean flag left `true`/`false` behind: {argv:?}"
        ));
    }
    match line.command.as_str() {
        "docker" => {
            if argv.first().map(String::as_str) != Some("run") {
                return Err(format!(
                    "docker's subcommand `run` must come first: {argv:?}"
                ));
            }
            let images: Vec<usize> = argv
                .iter()
                .enumerate()
                .filter(|(_, w)| launch::same_image(w, id))
                .map(|(i, _)| i)
                .collect();
            let [image] = images.as_slice() else {
                return Err(format!(
                    "image `{id}` named {} times: {argv:?}",
                    images.len()
                ));
            };
            let reference = &argv[*image];
            let last = reference.rsplit('/').next().unwrap_or(reference);
            if !(last.contains(':') || reference.contains("@sha256:")) {
                return Err(format!("image `{reference}` is not pinned: {argv:?}"));
            }
            let options = &argv[1..*image];
            for (flag, max) in [("run", 0), ("-i", 1), ("--rm", 1)] {
                let seen = count(&|w| w == flag, options);
                if seen > max {
                    return Err(format!("`{flag}` {seen} times before the image: {argv:?}"));
                }
            }
            for (name, value) in &line.env {
                if value.contains("${") && argv.iter().any(|w| w.contains(value.as_str())) {
                    return Err(format!("secret {name} sits in the command line: {argv:?}"));
                }
            }
        }
        "npx" => {
            let pinned = format!("{id}@{version}");
            if count(&|w| w == pinned, argv) != 1 || count(&|w| w == id, argv) != 0 {
                return Err(format!("`{pinned}` must be named once: {argv:?}"));
            }
            let before = argv.iter().position(|w| *w == pinned).unwrap_or(0);
            if count(&|w| w == "-y" || w == "--yes", &argv[..before]) != 1 {
                return Err(format!("npx needs exactly one -y: {argv:?}"));
            }
        }
        "uvx" => {
            let pinned = format!("{id}=={version}");
            let norm = |w: &str| w.to_ascii_lowercase().replace(['_', '.'], "-");
            if count(&|w| w == pinned, argv) != 1 || count(&|w| norm(w) == norm(id), argv) != 0 {
                return Err(format!("`{pinned}` must be named once: {argv:?}"));
            }
        }
        "dnx" => {
            let pinned = format!("{id}@{version}");
            if count(&|w| w == pinned, argv) != 1 || count(&|w| w == "--yes", argv) != 1 {
                return Err(format!("`{pinned}` and --yes once each: {argv:?}"));
            }
        }
        other => return Err(format!("unexpected runtime `{other}`")),
    }
    Ok(())
}

#[test]
fn githubs_own_manifest_runs_docker_with_one_pinned_image() {
    let (_, server) = real_manifests()
        .into_iter()
        .find(|(_, s)| s.name.as_str() == "io.github.github/github-mcp-server")
        .unwrap();
    let line = command_line(&server, 0).unwrap();
    assert_eq!(line.command, "docker");
    assert_eq!(
        line.argv,
        [
            "run",
            "-i",
            "--rm",
            "-e",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "ghcr.io/github/github-mcp-server:0.20.1"
        ]
    );
    // The token reaches docker through the environment, read from the variable of the same name.
    assert_eq!(
        line.env,
        [(
            "GITHUB_PERSONAL_ACCESS_TOKEN".to_owned(),
            "${GITHUB_PERSONAL_ACCESS_TOKEN}".to_owned()
        )]
    );
    // As a host writes it: Cursor's entry reads the token from the user's environment.
    let resolved =
        launch::resolve(&server, Choice::Package(0), &Values::new(), Platform::Linux).unwrap();
    let entry = render::entry(Host::Cursor, &resolved.spec, "github", false).unwrap();
    let args: Vec<&str> = entry.value["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args.join(" "),
        "run -i --rm -e GITHUB_PERSONAL_ACCESS_TOKEN ghcr.io/github/github-mcp-server:0.20.1"
    );
    assert_eq!(
        entry.value["env"],
        serde_json::json!({"GITHUB_PERSONAL_ACCESS_TOKEN": "${env:GITHUB_PERSONAL_ACCESS_TOKEN}"})
    );
    assert_eq!(entry.env_to_set, ["GITHUB_PERSONAL_ACCESS_TOKEN"]);
}

#[test]
fn every_real_and_corpus_package_renders_a_command_line_that_starts() {
    let mut servers: Vec<ServerJson> = real_manifests().into_iter().map(|(_, s)| s).collect();
    servers.extend(corpus());
    assert!(servers.len() > 460);
    let (mut checked, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    let mut by_runtime = std::collections::BTreeMap::<String, usize>::new();
    for server in &servers {
        for (index, package) in server.packages().iter().enumerate() {
            let Some(line) = command_line(server, index) else {
                skipped += 1;
                continue;
            };
            checked += 1;
            *by_runtime.entry(line.command.clone()).or_default() += 1;
            if let Err(why) = check(package, &line) {
                failures.push(format!("{} package {index}: {why}", server.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every runnable registry type of the corpus was exercised (302 `unknown` are skipped).
    assert!(checked > 150, "{checked} checked, {skipped} skipped");
    for runtime in ["docker", "npx", "uvx"] {
        assert!(
            by_runtime.get(runtime).copied().unwrap_or(0) > 10,
            "{by_runtime:?}"
        );
    }
}

#[test]
fn the_checker_rejects_what_issue_20_saw() {
    // Today's broken rendering must fail the checker, or the test above proves nothing.
    let (_, server) = real_manifests()
        .into_iter()
        .find(|(_, s)| s.name.as_str() == "io.github.github/github-mcp-server")
        .unwrap();
    let package = &server.packages()[0];
    let broken = "run -i --rm run -i true --rm true -e GITHUB_PERSONAL_ACCESS_TOKEN \
                  ghcr.io/github/github-mcp-server ghcr.io/github/github-mcp-server:0.20.1";
    let line = CommandLine {
        command: "docker".to_owned(),
        argv: broken.split_whitespace().map(str::to_owned).collect(),
        env: Vec::new(),
    };
    assert!(check(package, &line).is_err());
    let line = CommandLine {
        argv: [
            "run",
            "-i",
            "--rm",
            "-e",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "ghcr.io/github/github-mcp-server",
        ]
        .map(str::to_owned)
        .to_vec(),
        ..line
    };
    assert!(check(package, &line).unwrap_err().contains("not pinned"));
}
