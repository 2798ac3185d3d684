# Shared by the bench scripts (sourced, not run).

# Prints the registry-server binary to measure: $REGISTRY_BIN (a given build, e.g. an older revision's for
# a before/after comparison), else this checkout's release build ($1: the repository root), built first.
registry_server_bin() {
    if [[ -n "${REGISTRY_BIN:-}" ]]; then
        printf '%s\n' "$REGISTRY_BIN"
        return
    fi
    printf '==> building registry-server (release)\n' >&2
    (cd "$1" && cargo build --release -q -p registry-server) >&2
    printf '%s\n' "${CARGO_TARGET_DIR:-$1/target}/release/registry-server"
}
