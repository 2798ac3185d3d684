#!/usr/bin/env bash
# Interoperability check: our key-mode provenance bundles verify with sigstore-js (`@sigstore/verify`,
# the verifier of the npm CLI and sigstore-js), following docs/provenance.md ("Key bundles and other
# Sigstore tools"). A fresh registry (SQLite, 127.0.0.1) gets a namespace key per algorithm; one version
# of com.example/weather is published signed with each key; its bundle, the namespace's keys and the
# canonical manifest (`publish --prepare`) are fetched, and bench/sigstore_js_verify.mjs verifies the
# bundle with a trust material holding only that key (tlog/ctlog/timestamp thresholds 0), compares the
# in-toto subject digest with sha256 of the canonical manifest, and checks that tampered copies (a DSSE
# signature byte flipped, the subject digest changed in the payload, the hint mapped to another key)
# are refused. Exits non-zero when anything does not verify or a tampered copy does.
#
#   bench/sigstore-js-verify.sh
#   SIGSTORE_JS_ALGORITHMS=ed25519 bench/sigstore-js-verify.sh
#   SIGSTORE_JS_VERIFY_SPEC=@sigstore/verify@4.1.3 bench/sigstore-js-verify.sh
#   REGISTRY_BIN=target/release/registry-server MCP_REG_BIN=target/release/mcp-reg bench/sigstore-js-verify.sh
#
# Needs cargo (unless both *_BIN are given), node (20 or later), npm, curl and jq. The only network access
# is `npm install` (the npm registry) into <work dir>/sigstore-js; everything else talks to 127.0.0.1.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_WORK_DIR="${BENCH_WORK_DIR:-$REPO_ROOT/target/bench}"
SIGSTORE_JS_ALGORITHMS="${SIGSTORE_JS_ALGORITHMS:-ed25519 ecdsa-p256}"
NAME=com.example/weather
NAMESPACE=com.example

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
for tool in node npm curl jq; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
(( NODE_MAJOR >= 20 )) || die "node 20 or later is required (found $(node --version))"
# @sigstore/verify 4.x declares node ^22.22.2 || ^24.15.0 || >=26; 3.x supports node ^20.17.0 || >=22.9.0.
if [[ -z "${SIGSTORE_JS_VERIFY_SPEC:-}" ]]; then
    if (( NODE_MAJOR >= 22 )); then SIGSTORE_JS_VERIFY_SPEC='@sigstore/verify@^4'; else SIGSTORE_JS_VERIFY_SPEC='@sigstore/verify@^3'; fi
fi

SERVER_PID=""
TMP=""
cleanup() {
    local status=$?
    if [[ -n "$SERVER_PID" ]]; then kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; fi
    SERVER_PID=""
    # The run's files (keys, manifests, bundles, database) stay for inspection when it failed.
    if [[ -n "$TMP" && "$status" == 0 ]]; then rm -rf "$TMP"; fi
    true
}
trap cleanup EXIT INT TERM

mkdir -p "$BENCH_WORK_DIR/logs" "$BENCH_WORK_DIR/sigstore-js"
WORK="$(cd "$BENCH_WORK_DIR" && pwd)"
NODE_DIR="$WORK/sigstore-js"
TMP="$(mktemp -d "$WORK/sigstore-js-run.XXXXXX")"

# Binaries: the overrides, else a release build (a no-op when target/release is fresh).
if [[ -z "${REGISTRY_BIN:-}" || -z "${MCP_REG_BIN:-}" ]]; then
    log "building registry-server and mcp-reg (release)"
    (cd "$REPO_ROOT" && cargo build --release -q -p registry-server -p registry-cli)
fi
TARGET="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release"
SERVER_BIN="${REGISTRY_BIN:-$TARGET/registry-server}"
CLI_BIN="${MCP_REG_BIN:-$TARGET/mcp-reg}"
[[ -x "$SERVER_BIN" ]] || die "no registry-server binary at $SERVER_BIN"
[[ -x "$CLI_BIN" ]] || die "no mcp-reg binary at $CLI_BIN"

# sigstore-js, installed into the work dir only (never globally; npm's cache lives there too).
log "installing $SIGSTORE_JS_VERIFY_SPEC into $NODE_DIR"
if [[ ! -f "$NODE_DIR/package.json" ]]; then
    printf '{ "name": "mcp-reg-sigstore-js-bench", "version": "0.0.0", "private": true }\n' >"$NODE_DIR/package.json"
fi
(cd "$NODE_DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
    --cache "$NODE_DIR/.npm-cache" "$SIGSTORE_JS_VERIFY_SPEC") >"$WORK/logs/sigstore-js-npm.log" 2>&1 \
    || die "npm install $SIGSTORE_JS_VERIFY_SPEC failed; see $WORK/logs/sigstore-js-npm.log"

# A registry on a fresh SQLite database, and a token that may publish (and register keys for) the namespace.
DATA="$TMP/registry"
mkdir -p "$DATA"
TOKEN="$("$SERVER_BIN" token create --publish "$NAMESPACE/*" --data-dir "$DATA" 2>/dev/null | grep -o 'mcpr_[0-9a-zA-Z_]*' | head -n1)" || true
[[ -n "$TOKEN" ]] || die "registry-server token create gave no token"
SERVER_LOG="$WORK/logs/sigstore-js-server.log"
"$SERVER_BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
ADDR=""
for _ in $(seq 1 200); do
    ADDR="$(grep -o 'listening on http://[0-9.:]*' "$SERVER_LOG" | head -n1 | sed 's|listening on http://||')" || true
    [[ -n "$ADDR" ]] && curl -fsS -o /dev/null "http://$ADDR/v0.1/health" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "registry-server exited; see $SERVER_LOG"
    ADDR=""
    sleep 0.1
done
[[ -n "$ADDR" ]] || die "registry-server did not start; see $SERVER_LOG"
REG="http://$ADDR"
log "registry on $REG (pid $SERVER_PID)"

# mcp-reg with its own config/data dirs, pointed at that registry.
HOME_DIR="$TMP/home"
mkdir -p "$HOME_DIR"
mcp_reg() {
    env -u XDG_DATA_HOME -u NO_COLOR -u CLICOLOR_FORCE \
        HOME="$HOME_DIR" XDG_CONFIG_HOME="$HOME_DIR/.config" \
        MCP_REG_CONFIG_DIR="$TMP/config" MCP_REG_DATA_DIR="$TMP/data" MCP_REG_REGISTRY="$REG" \
        MCP_REG_NO_LAN_OFFER=1 "$CLI_BIN" "$@"
}
printf '%s\n' "$TOKEN" | mcp_reg login >/dev/null 2>"$TMP/login.err" || die "mcp-reg login failed: $(cat "$TMP/login.err")"

ENCODED_NAME="${NAME//\//%2F}"
LINES=()
patch=0
for algorithm in $SIGSTORE_JS_ALGORITHMS; do
    version="1.0.$patch"
    patch=$((patch + 1))
    dir="$TMP/$algorithm"
    mkdir -p "$dir"
    log "$algorithm: keygen, keys register, publish $NAME $version --sign-key"
    mcp_reg keygen --out "$dir/mcp-reg.key" --algorithm "$algorithm" >/dev/null 2>"$dir/err" \
        || die "mcp-reg keygen failed: $(cat "$dir/err")"
    mcp_reg keys register "$dir/mcp-reg.key.pub" --namespace "$NAMESPACE" >/dev/null 2>"$dir/err" \
        || die "mcp-reg keys register failed: $(cat "$dir/err")"
    jq -n --arg name "$NAME" --arg version "$version" '{
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        name: $name,
        description: "Weather for agents",
        version: $version,
        remotes: [{type: "streamable-http", url: "https://weather.example.com/mcp"}]
    }' >"$dir/server.json"
    mcp_reg publish "$dir/server.json" --no-probe --sign-key "$dir/mcp-reg.key" >"$dir/publish.out" 2>"$dir/err" \
        || die "mcp-reg publish --sign-key failed: $(cat "$dir/err")"

    # What docs/provenance.md tells a user to fetch: the bundle, the canonical manifest, the keys.
    curl -fsS "$REG/v0.1/x/dev.mcp-reg/servers/$ENCODED_NAME/versions/$version/provenance" >"$dir/provenance.json" \
        || die "GET …/provenance failed"
    jq .bundle "$dir/provenance.json" >"$dir/bundle.json"
    mcp_reg publish "$dir/server.json" --no-probe --prepare "$dir/server.canonical.json" >/dev/null 2>"$dir/err" \
        || die "mcp-reg publish --prepare failed: $(cat "$dir/err")"
    curl -fsS "$REG/v0.1/x/dev.mcp-reg/namespaces/$NAMESPACE/keys" >"$dir/keys.json" || die "GET …/keys failed"

    log "$algorithm: verifying with sigstore-js"
    RESULT="$(node "$SCRIPT_DIR/sigstore_js_verify.mjs" "$NODE_DIR" "$dir/provenance.json" "$dir/keys.json" "$dir/server.canonical.json")" \
        || die "sigstore-js did not verify the $algorithm bundle of $NAME $version (files kept in $dir)"
    # Keep the last run's inputs for inspection.
    mkdir -p "$WORK/sigstore-js-last"
    cp "$dir/bundle.json" "$dir/server.canonical.json" "$dir/keys.json" "$dir/provenance.json" "$WORK/sigstore-js-last/" 2>/dev/null || true
    jq -r '"    \(.algorithm) \(.name) \(.version): hint \(.hint), predicate \(.predicateType), subject sha256 \(.sha256)",
           (.refused[] | "      refused (\(.case)): \(.error)")' <<<"$RESULT" >&2
    VERSIONS="$(jq -r '"@sigstore/verify \(.versions."@sigstore/verify") (@sigstore/bundle \(.versions."@sigstore/bundle"), @sigstore/core \(.versions."@sigstore/core"), node \(.versions.node))"' <<<"$RESULT")"
    LINES+=("$(jq -r '"\(.algorithm) hint \(.hint[0:16])…"' <<<"$RESULT")")
done

printf 'sigstore-js %s: verified our key bundles (%s); tampered copies refused\n' \
    "$VERSIONS" "$(IFS=,; echo "${LINES[*]}" | sed 's/,/, /g')"
