#!/usr/bin/env bash
# Publish cost against history length (issue 19): one server gets BENCH_VERSIONS successive versions
# (1.0.0, 1.0.1, …: one compatibility line, so the gate's transitive check covers every earlier release),
# each carrying a ~40 KB tool surface in `_meta["dev.mcp-reg/surface"]` and a package whose version follows
# the server's. Publishes run one at a time over one keep-alive connection. The last BENCH_WINDOW versions
# alternate with the first versions of a second server, so both windows see the same machine; the script
# prints the p50 of the second server's publishes around version 10 and of the long server's last ones,
# their ratio, and the server's RSS at the end.
# Target: p50 at version ~1,000 <= 1.3 x p50 at version ~10 on both engines, RSS <= 150 MB.
#
#   bench/publish-history.sh                         # 1,000 versions, SQLite then PostgreSQL
#   BENCH_VERSIONS=200 BENCH_ENGINES=sqlite bench/publish-history.sh
#   REGISTRY_BIN=/tmp/registry-server bench/publish-history.sh   # a prebuilt binary (no cargo build)
#   BENCH_LOG=sqlx=debug,info bench/publish-history.sh   # the server's RUST_LOG: per-statement times in
#                                                         # target/bench/logs/history-<engine>.log
#
# Needs cargo (unless REGISTRY_BIN), python3 (standard library only), curl, and psql plus PostgreSQL for
# the postgres engine (BENCH_PG_* as in bench/publish.sh). Listens on 127.0.0.1 only.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_VERSIONS="${BENCH_VERSIONS:-1000}"
BENCH_WINDOW="${BENCH_WINDOW:-20}"
BENCH_ENGINES="${BENCH_ENGINES:-sqlite postgres}"
BENCH_WORK_DIR="${BENCH_WORK_DIR:-$REPO_ROOT/target/bench}"
BENCH_PG_HOST="${BENCH_PG_HOST:-127.0.0.1}"
BENCH_PG_PORT="${BENCH_PG_PORT:-5432}"
BENCH_PG_USER="${BENCH_PG_USER:-postgres}"
BENCH_PG_DB="${BENCH_PG_DB:-mcpreg_history_bench}"
TARGET_RATIO=1.3
TARGET_RSS_MB=150

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is required"
command -v curl >/dev/null || die "curl is required"
[[ "$BENCH_PG_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_PG_DB must be a plain identifier"
(( BENCH_VERSIONS > 2 * BENCH_WINDOW )) || die "BENCH_VERSIONS must exceed 2 x BENCH_WINDOW"

SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; fi
    SERVER_PID=""
    true
}
trap cleanup EXIT INT TERM

mkdir -p "$BENCH_WORK_DIR/logs"
WORK="$(cd "$BENCH_WORK_DIR" && pwd)"
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
BIN="$(registry_server_bin "$REPO_ROOT")"
[[ -x "$BIN" ]] || die "no registry-server binary at $BIN"

# The driver: builds the manifests, publishes them in order, prints one JSON line of results.
cat >"$WORK/publish_history.py" <<'PY'
import http.client, json, statistics, sys, time

addr, token, count, window = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
host, port = addr.rsplit(":", 1)

def tool(i):
    words = "forecast temperature humidity pressure wind visibility radar station alert region".split()
    props = {
        f"{words[(i + k) % len(words)]}_{k}": {
            "type": "string" if k % 3 else "number",
            "description": f"The {words[(i + k) % len(words)]} value number {k} for this request, "
                           f"as the upstream weather service reports it; optional unless stated.",
        }
        for k in range(6)
    }
    return {
        "name": f"weather_tool_{i:03d}",
        "title": f"Weather tool {i}",
        "description": f"Returns {words[i % len(words)]} data for a place and a time range. "
                       "Results are cached for ten minutes; stale entries are refreshed in the "
                       "background. Units follow the caller's locale unless `units` is given.",
        "inputSchema": {"type": "object", "properties": props, "required": [next(iter(props))]},
        "annotations": {"readOnlyHint": True, "openWorldHint": True},
    }

surface = {
    "serverInfo": {"name": "history-bench", "version": "1.0.0"},
    "protocolVersion": "2025-06-18",
    "capabilities": {"tools": {}},
    "tools": [tool(i) for i in range(30)],
}

def manifest(name, version):
    return {
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": name,
        "description": "Publish-history benchmark server",
        "version": version,
        "packages": [{"registryType": "npm", "identifier": "@bench/history", "version": version,
                      "transport": {"type": "stdio"}}],
        "_meta": {"dev.mcp-reg/surface": surface},
    }

surface_bytes = len(json.dumps(surface, separators=(",", ":")))
conn = http.client.HTTPConnection(host, int(port), timeout=120)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

def publish(name, n):
    body = json.dumps(manifest(name, f"1.0.{n}")).encode()
    start = time.perf_counter()
    conn.request("POST", "/v0.1/publish", body=body, headers=headers)
    response = conn.getresponse()
    answer = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        sys.exit(f"publish of {name} 1.0.{n} answered {response.status}: {answer[:300]!r}")
    return elapsed

# The long history first: every version but the last `window`.
LONG, FRESH = "io.github.bench/history", "io.github.bench/history-fresh"
total = 0.0
for n in range(count - window):
    elapsed = publish(LONG, n)
    total += elapsed
    if (n + 1) % 100 == 0:
        print(f"  {n + 1} versions, last {elapsed:.1f} ms", file=sys.stderr)
# Then the two windows side by side, one publish each in turn, so that the machine's speed (which can
# drift by a third within minutes on a shared host) weighs on both alike: a second server's versions
# 1.0.0-1.0.{window} (around version 10; its first publish has nothing to compare with and is not
# counted), and the long server's last `window` versions.
early, late = [], []
for k in range(window + 1):
    elapsed = publish(FRESH, k)
    if k > 0:
        early.append(elapsed)
    if k < window:
        late.append(publish(LONG, count - window + k))
        total += late[-1]
print(json.dumps({
    "surface_bytes": surface_bytes,
    "early_p50": statistics.median(early),
    "late_p50": statistics.median(late),
    "early_versions": f"1.0.1-1.0.{window}",
    "late_versions": f"1.0.{count - window}-1.0.{count - 1}",
    "total_s": total / 1000,
}))
PY

start_server() { # log name, serve args…
    local name="$1"; shift
    # BENCH_LOG, when given, is the server's RUST_LOG; otherwise the environment's is left as it is.
    env ${BENCH_LOG:+RUST_LOG="$BENCH_LOG"} "$BIN" serve --listen 127.0.0.1:0 --write-limit-per-token 0 --write-limit-per-ip 0 "$@" \
        >"$WORK/logs/history-$name.log" 2>&1 &
    SERVER_PID=$!
    ADDR=""
    for _ in $(seq 1 200); do
        ADDR="$(grep -o 'listening on http://[0-9.:]*' "$WORK/logs/history-$name.log" | head -n1 | sed 's|listening on http://||')" || true
        [[ -n "$ADDR" ]] && curl -fsS -o /dev/null "http://$ADDR/v0.1/health" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || die "registry-server exited; see $WORK/logs/history-$name.log"
        sleep 0.1
    done
    die "registry-server did not start"
}

rss_mb() { awk -v key="$2" '$1 == key":" { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

ROWS=()
for engine in $BENCH_ENGINES; do
    case "$engine" in
        sqlite)
            DATA="$WORK/history-sqlite"
            rm -rf "$DATA" && mkdir -p "$DATA"
            TOKEN="$("$BIN" token create --publish 'io.github.bench/*' --data-dir "$DATA" 2>/dev/null | grep -o 'mcpr_[0-9a-zA-Z_]*' | head -n1)"
            start_server sqlite --data-dir "$DATA"
            ;;
        postgres)
            command -v psql >/dev/null || die "psql is required for the postgres engine"
            ADMIN=(psql -h "$BENCH_PG_HOST" -p "$BENCH_PG_PORT" -U "$BENCH_PG_USER" -d postgres -v ON_ERROR_STOP=1 -qAt)
            "${ADMIN[@]}" -c "drop database if exists $BENCH_PG_DB with (force)"
            "${ADMIN[@]}" -c "create database $BENCH_PG_DB"
            DB_URL="postgres://$BENCH_PG_USER@$BENCH_PG_HOST:$BENCH_PG_PORT/$BENCH_PG_DB"
            "$BIN" migrate --database-url "$DB_URL" >/dev/null 2>&1 || die "migrate failed"
            TOKEN="$("$BIN" token create --publish 'io.github.bench/*' --database-url "$DB_URL" 2>/dev/null | grep -o 'mcpr_[0-9a-zA-Z_]*' | head -n1)"
            start_server postgres --database-url "$DB_URL" --no-migrate
            ;;
        *) die "unknown engine $engine (sqlite, postgres)" ;;
    esac
    [[ -n "$TOKEN" ]] || die "no token for $engine"
    log "$engine: publishing $BENCH_VERSIONS versions on http://$ADDR (pid $SERVER_PID)"
    RESULT="$(python3 "$WORK/publish_history.py" "$ADDR" "$TOKEN" "$BENCH_VERSIONS" "$BENCH_WINDOW")"
    RSS="$(rss_mb "$SERVER_PID" VmRSS)"
    PEAK="$(rss_mb "$SERVER_PID" VmHWM)"
    ROWS+=("$(python3 -c '
import json, sys
r = json.loads(sys.argv[1]); ratio = r["late_p50"] / r["early_p50"]
ok = ratio <= float(sys.argv[5]) and float(sys.argv[3]) <= float(sys.argv[6])
print("| %s | %d B | %.1f ms | %.1f ms | %.2f | %s MB | %s MB | %.0f s | %s |" % (sys.argv[2],
    r["surface_bytes"], r["early_p50"], r["late_p50"], ratio, sys.argv[3], sys.argv[4], r["total_s"],
    "met" if ok else "MISSED"))
' "$RESULT" "$engine" "$RSS" "$PEAK" "$TARGET_RATIO" "$TARGET_RSS_MB")")
    cleanup
done

printf '\n%s versions of one server (p50 over %s publishes each); target: ratio <= %s, RSS <= %s MB\n\n' \
    "$BENCH_VERSIONS" "$BENCH_WINDOW" "$TARGET_RATIO" "$TARGET_RSS_MB"
printf '| Engine | surface | p50 @ ~v10 | p50 @ ~v%s | ratio | RSS end | RSS peak | total | target |\n' "$BENCH_VERSIONS"
printf '|---|---:|---:|---:|---:|---:|---:|---:|---|\n'
printf '%s\n' "${ROWS[@]}"
