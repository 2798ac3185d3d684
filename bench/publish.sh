#!/usr/bin/env bash
# Publish throughput of registry-server on PostgreSQL (validation, compatibility gate, audit and rate-limit
# bookkeeping included), driven by wrk from a second process on loopback. Target: >= 300 publishes/s.
#
#   bench/publish.sh                       # 10 s of load, 2 threads x 16 connections
#   BENCH_DURATION=30 bench/publish.sh
#
# Every request publishes a new version (1.<n>.0, n unique per connection) of one of 64 servers, so each
# publish does the full work: parse and validate the manifest, lock the server, run the compatibility
# gate over its history, insert, move the latest flag, write the audit entry. Needs cargo, wrk, psql and
# PostgreSQL (BENCH_PG_* as in bench/run.sh). Listens on 127.0.0.1 only.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_DURATION="${BENCH_DURATION:-10s}"
BENCH_THREADS="${BENCH_THREADS:-2}"
BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-16}"
BENCH_SERVERS="${BENCH_PUBLISH_SERVERS:-64}"
BENCH_WORK_DIR="${BENCH_WORK_DIR:-$REPO_ROOT/target/bench}"
BENCH_PG_HOST="${BENCH_PG_HOST:-127.0.0.1}"
BENCH_PG_PORT="${BENCH_PG_PORT:-5432}"
BENCH_PG_USER="${BENCH_PG_USER:-postgres}"
BENCH_PG_DB="${BENCH_PG_DB:-mcpreg_publish_bench}"
TARGET_PER_SEC=300
[[ "$BENCH_DURATION" =~ ^[0-9]+$ ]] && BENCH_DURATION="${BENCH_DURATION}s"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is required (bench/run.sh installs it on Debian as root)"
command -v psql >/dev/null || die "psql is required"
[[ "$BENCH_PG_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_PG_DB must be a plain identifier"

SERVER_PID=""
cleanup() { [[ -n "$SERVER_PID" ]] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; true; }
trap cleanup EXIT INT TERM

mkdir -p "$BENCH_WORK_DIR/logs"
WORK="$(cd "$BENCH_WORK_DIR" && pwd)"
log "building registry-server (release)"
(cd "$REPO_ROOT" && cargo build --release -q -p registry-server)
BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/registry-server"

ADMIN=(psql -h "$BENCH_PG_HOST" -p "$BENCH_PG_PORT" -U "$BENCH_PG_USER" -d postgres -v ON_ERROR_STOP=1 -qAt)
"${ADMIN[@]}" -c "drop database if exists $BENCH_PG_DB with (force)"
"${ADMIN[@]}" -c "create database $BENCH_PG_DB"
DB_URL="postgres://$BENCH_PG_USER@$BENCH_PG_HOST:$BENCH_PG_PORT/$BENCH_PG_DB"
"$BIN" migrate --database-url "$DB_URL" >/dev/null 2>&1 || die "migrate failed"
TOKEN="$("$BIN" token create --publish 'io.github.bench/*' --database-url "$DB_URL" 2>/dev/null)"

# Rate limits off: this measures the write path, not the limiter's verdict.
"$BIN" serve --listen 127.0.0.1:0 --database-url "$DB_URL" --no-migrate \
    --write-limit-per-token 0 --write-limit-per-ip 0 >"$WORK/logs/publish-serve.log" 2>&1 &
SERVER_PID=$!
ADDR=""
for _ in $(seq 1 100); do
    ADDR="$(grep -o 'listening on http://[0-9.:]*' "$WORK/logs/publish-serve.log" | head -n1 | sed 's|listening on http://||')" || true
    [[ -n "$ADDR" ]] && curl -fsS -o /dev/null "http://$ADDR/v0.1/health" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "registry-server exited; see $WORK/logs/publish-serve.log"
    sleep 0.1
done
[[ -n "$ADDR" ]] || die "registry-server did not start"
log "serving on http://$ADDR (pid $SERVER_PID)"

# wrk script: each connection publishes its own sequence of versions, spread over BENCH_SERVERS servers.
cat >"$WORK/publish.lua" <<LUA
local counter = 0
local thread_id = 0
local servers = $BENCH_SERVERS
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  thread_id = id
  n = 0
end
function request()
  n = n + 1
  local server = (thread_id * 7919 + n) % servers
  local version = string.format("%d.%d.0", thread_id + 1, n)
  local body = string.format(
    '{"\$schema":"https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",' ..
    '"name":"io.github.bench/server-%d","description":"Publish benchmark server %d",' ..
    '"version":"%s","packages":[{"registryType":"npm","identifier":"@bench/server-%d",' ..
    '"version":"%s","transport":{"type":"stdio"}}]}', server, server, version, server, version)
  return wrk.format("POST", "/v0.1/publish", {
    ["Authorization"] = "Bearer $TOKEN",
    ["Content-Type"] = "application/json"
  }, body)
end
done_count = 0
function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("status " .. status .. ": " .. body:sub(1, 200) .. "\n")
  end
end
LUA

log "publishing for $BENCH_DURATION (wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS)"
OUT="$WORK/publish-wrk.txt"
wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"$BENCH_DURATION" --latency -s "$WORK/publish.lua" "http://$ADDR" >"$OUT" 2>"$WORK/publish-wrk.err"
RPS="$(awk '/Requests\/sec/ {print $2}' "$OUT")"
P50="$(awk '$1 == "50%" {print $2}' "$OUT")"
P99="$(awk '$1 == "99%" {print $2}' "$OUT")"
NON2XX="$(awk '/Non-2xx/ {print $NF}' "$OUT")"
STORED="$(psql "$DB_URL" -qAt -c 'select count(*) from server_versions')"
ERRORS="$(sort "$WORK/publish-wrk.err" | uniq -c | sort -rn | head -n 3)"
printf '\n| Backend | publishes/s | p50 | p99 | non-2xx | versions stored | target |\n|---|---:|---:|---:|---:|---:|---|\n'
printf '| postgres | %s | %s | %s | %s | %s | %s |\n' "$RPS" "$P50" "$P99" "${NON2XX:-0}" "$STORED" \
    "$(awk -v r="$RPS" -v t="$TARGET_PER_SEC" 'BEGIN { print (r >= t ? "met (>= " t "/s)" : "MISSED (< " t "/s)") }')"
[[ -z "$ERRORS" ]] || printf '\nmost common non-200 answers:\n%s\n' "$ERRORS"
