#!/usr/bin/env bash
# Publish latency under concurrent writers on SQLite (issue 19 point 3): BENCH_PUBLISHERS clients (16 by
# default), each on its own keep-alive connection, publish new versions (1.<n>.0) of their own server as
# fast as they are answered for BENCH_DURATION seconds. Prints publishes/s, p50, p99 and max latency.
# Target: p99 <= 100 ms at 16 publishers.
#
#   bench/publish-concurrent.sh
#   BENCH_PUBLISHERS=32 BENCH_DURATION=20 bench/publish-concurrent.sh
#   REGISTRY_BIN=/tmp/registry-server bench/publish-concurrent.sh   # a prebuilt binary (no cargo build)
#
# Needs cargo (unless REGISTRY_BIN), python3 (standard library only) and curl. Listens on 127.0.0.1 only.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_PUBLISHERS="${BENCH_PUBLISHERS:-16}"
BENCH_DURATION="${BENCH_DURATION:-10}"
BENCH_WORK_DIR="${BENCH_WORK_DIR:-$REPO_ROOT/target/bench}"
TARGET_P99_MS=100

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is required"
command -v curl >/dev/null || die "curl is required"

SERVER_PID=""
cleanup() { [[ -n "$SERVER_PID" ]] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; true; }
trap cleanup EXIT INT TERM

mkdir -p "$BENCH_WORK_DIR/logs"
WORK="$(cd "$BENCH_WORK_DIR" && pwd)"
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
BIN="$(registry_server_bin "$REPO_ROOT")"
[[ -x "$BIN" ]] || die "no registry-server binary at $BIN"

DATA="$WORK/concurrent-sqlite"
rm -rf "$DATA" && mkdir -p "$DATA"
TOKEN="$("$BIN" token create --publish 'io.github.bench/*' --data-dir "$DATA" 2>/dev/null | grep -o 'mcpr_[0-9a-zA-Z_]*' | head -n1)"
[[ -n "$TOKEN" ]] || die "no token"
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" --write-limit-per-token 0 --write-limit-per-ip 0 \
    >"$WORK/logs/concurrent-serve.log" 2>&1 &
SERVER_PID=$!
ADDR=""
for _ in $(seq 1 200); do
    ADDR="$(grep -o 'listening on http://[0-9.:]*' "$WORK/logs/concurrent-serve.log" | head -n1 | sed 's|listening on http://||')" || true
    [[ -n "$ADDR" ]] && curl -fsS -o /dev/null "http://$ADDR/v0.1/health" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "registry-server exited; see $WORK/logs/concurrent-serve.log"
    sleep 0.1
done
[[ -n "$ADDR" ]] || die "registry-server did not start"
log "sqlite: $BENCH_PUBLISHERS publishers for ${BENCH_DURATION}s on http://$ADDR (pid $SERVER_PID)"

python3 - "$ADDR" "$TOKEN" "$BENCH_PUBLISHERS" "$BENCH_DURATION" "$TARGET_P99_MS" <<'PY'
import http.client, json, sys, threading, time

addr, token, publishers, duration, target = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
host, port = addr.rsplit(":", 1)
surface = {
    "serverInfo": {"name": "concurrent-bench", "version": "1.0.0"},
    "protocolVersion": "2025-06-18",
    "capabilities": {"tools": {}},
    "tools": [{"name": f"tool_{i}", "description": f"Tool number {i} of the benchmark server.",
               "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}}}
              for i in range(8)],
}
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
latencies, errors = [], []
lock = threading.Lock()
start_at = time.monotonic() + 0.5
stop_at = start_at + duration

def publisher(index):
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    name = f"io.github.bench/concurrent-{index}"
    mine, n = [], 0
    while time.monotonic() < start_at:
        time.sleep(0.01)
    while time.monotonic() < stop_at:
        version = f"1.{n}.0"
        n += 1
        body = json.dumps({
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": name, "description": f"Concurrent publish benchmark server {index}",
            "version": version,
            "packages": [{"registryType": "npm", "identifier": f"@bench/concurrent-{index}",
                          "version": version, "transport": {"type": "stdio"}}],
            "_meta": {"dev.mcp-reg/surface": surface},
        }).encode()
        began = time.perf_counter()
        try:
            conn.request("POST", "/v0.1/publish", body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
        except Exception as err:  # a dropped connection: count it, reconnect
            with lock:
                errors.append(repr(err))
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            continue
        mine.append((time.perf_counter() - began) * 1000)
        if response.status != 200:
            with lock:
                errors.append(f"{response.status}: {answer[:160]!r}")
    with lock:
        latencies.extend(mine)

threads = [threading.Thread(target=publisher, args=(i,)) for i in range(publishers)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
latencies.sort()
def pct(p):
    return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))]
p99 = pct(99)
print(f"\n| Engine | publishers | publishes/s | p50 | p99 | max | errors | target |")
print(f"|---|---:|---:|---:|---:|---:|---:|---|")
print(f"| sqlite | {publishers} | {len(latencies) / duration:.0f} | {pct(50):.1f} ms | {p99:.1f} ms | "
      f"{latencies[-1]:.1f} ms | {len(errors)} | {'met' if p99 <= target and not errors else 'MISSED'} (p99 <= {target:.0f} ms) |")
if errors:
    print("\nfirst errors:", *errors[:3], sep="\n  ")
PY
