//! `docs/cli.md` is the manual clap renders (issue 20): regenerate it with
//! `UPDATE_SNAPSHOTS=1 cargo test -p registry-cli --test manual`.

use std::path::Path;

#[test]
fn docs_cli_md_is_the_generated_manual() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md");
    let generated = registry_cli::manual::markdown();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &generated).expect("writing docs/cli.md");
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == generated,
        "docs/cli.md is out of date with the command-line definitions; run \
         `UPDATE_SNAPSHOTS=1 cargo test -p registry-cli --test manual` and commit the result"
    );
    for command in [
        "install", "publish", "search", "show", "review", "verify", "discover",
    ] {
        assert!(
            generated.contains(&format!("## mcp-reg {command}\n")),
            "the manual lacks `{command}`"
        );
    }
}
