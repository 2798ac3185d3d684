//! The `mcp-reg` manual (`docs/cli.md`), generated from the clap definitions so it cannot drift:
//! `tests/manual.rs` fails when the file differs from what this renders
//! (`UPDATE_SNAPSHOTS=1 cargo test -p registry-cli --test manual` rewrites it).

use std::fmt::Write as _;

use clap::CommandFactory as _;

use crate::cli::Cli;

/// The whole manual as Markdown: an index, then each command's full `--help` text.
pub fn markdown() -> String {
    let mut root = Cli::command().term_width(100).max_term_width(100);
    root.build();
    let mut out = String::from(
        "# mcp-reg manual\n\n\
         <!-- Generated from the command-line definitions by `registry_cli::manual`; do not edit.\n     \
         Regenerate: UPDATE_SNAPSHOTS=1 cargo test -p registry-cli --test manual -->\n\n",
    );
    let mut sections = Vec::new();
    collect(&root, "mcp-reg", &mut sections);
    out.push_str("## Commands\n\n");
    for (path, about) in &sections {
        let anchor = path.replace(' ', "-");
        let _ = writeln!(out, "- [`{path}`](#{anchor}){}", about_suffix(about));
    }
    out.push('\n');
    let mut commands = vec![(root.clone(), "mcp-reg".to_owned())];
    while let Some((command, path)) = commands.pop() {
        let _ = writeln!(out, "## {path}\n");
        // The environment's values must not leak into the manual (nor make it differ per machine).
        let help = command
            .clone()
            .mut_args(|arg| arg.hide_env_values(true))
            .render_long_help()
            .to_string();
        let _ = writeln!(out, "```text\n{}\n```\n", help.trim_end());
        let mut subcommands: Vec<_> = command
            .get_subcommands()
            .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
            .map(|sub| (sub.clone(), format!("{path} {}", sub.get_name())))
            .collect();
        subcommands.reverse();
        commands.extend(subcommands);
    }
    out
}

fn collect(command: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
    out.push((
        path.to_owned(),
        command
            .get_about()
            .map(ToString::to_string)
            .unwrap_or_default(),
    ));
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        collect(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

fn about_suffix(about: &str) -> String {
    if about.is_empty() {
        String::new()
    } else {
        format!(": {about}")
    }
}
