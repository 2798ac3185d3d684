#!/usr/bin/env bash
# Issue 16: how fast the registry's HTML pages are, and how much a first visit transfers.
#
#   bench/web.sh                                  # 100,000 servers x 5 versions (reuses bench/run.sh's data)
#   BENCH_SERVERS=2000 bench/web.sh               # quick check
#
# Targets: a server page and a results page render in <= 2 ms p50 server-side (measured with the
# response cache off, so every request renders from the database, and on, as served); the first page
# load transfers <= 60 KB (HTML + CSS + JS, gzip'd as a proxy would send them); search-as-you-type
# shows results <= 50 ms after a keystroke (the script's debounce plus the fragment request).
# SQLite only; everything listens on 127.0.0.1.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_SERVERS="${BENCH_SERVERS:-100000}"
BENCH_VERSIONS="${BENCH_VERSIONS:-5}"
BENCH_REQUESTS="${BENCH_REQUESTS:-300}"
BENCH_CORPUS="${BENCH_CORPUS:-$REPO_ROOT/../shared/conformance/corpus/servers-2025-12-11.json}"
BENCH_WORK_DIR="${BENCH_WORK_DIR:-$REPO_ROOT/target/bench}"
PYTHON="${PYTHON:-python3}"
# Must match DEBOUNCE_MS in registry-server/src/web/assets/web.js.
DEBOUNCE_MS=25

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
for tool in curl cargo gzip "$PYTHON" awk; do
    command -v "$tool" >/dev/null 2>&1 || die "\`$tool\` is required"
done
[[ -f "$BENCH_CORPUS" ]] || die "corpus not found: $BENCH_CORPUS (set BENCH_CORPUS)"

SERVER_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$BENCH_WORK_DIR"
WORK="$(cd "$BENCH_WORK_DIR" && pwd)"
json_field() { "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
urlencode() { "$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=sys.argv[2] if len(sys.argv) > 2 else ""))' "$@"; }

# 1. Data: the same generated set as bench/run.sh.
DATA="$WORK/servers-${BENCH_SERVERS}x${BENCH_VERSIONS}.json"
META="$WORK/servers-${BENCH_SERVERS}x${BENCH_VERSIONS}.meta.json"
if [[ ! -f "$DATA" || ! -f "$META" ]]; then
    log "generating $((BENCH_SERVERS * BENCH_VERSIONS)) manifests"
    "$PYTHON" "$SCRIPT_DIR/generate.py" --corpus "$BENCH_CORPUS" --servers "$BENCH_SERVERS" \
        --versions "$BENCH_VERSIONS" --out "$DATA" --meta "$META"
fi
DETAIL_NAME="$(json_field "$META" detail_name)"

# 2. Build and import (the import is kept while the data file is unchanged).
log "building registry-server (release)"
(cd "$REPO_ROOT" && cargo build --release -q -p registry-server)
BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/registry-server"
DATA_DIR="$WORK/web-sqlite-${BENCH_SERVERS}x${BENCH_VERSIONS}"
if [[ ! -f "$DATA_DIR/.imported" || "$DATA" -nt "$DATA_DIR/.imported" ]]; then
    rm -rf "$DATA_DIR" && mkdir -p "$DATA_DIR"
    log "importing into $DATA_DIR"
    "$BIN" import "$DATA" --data-dir "$DATA_DIR" >"$WORK/web-import.log" 2>&1 || die "import failed: $(tail -n 5 "$WORK/web-import.log")"
    touch "$DATA_DIR/.imported"
fi

start_server() { # log args...
    local logfile="$1"
    shift
    "$BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA_DIR" --read-limit-per-ip 0 "$@" >"$logfile" 2>&1 &
    SERVER_PID=$!
    local addr=""
    for _ in $(seq 1 600); do
        kill -0 "$SERVER_PID" 2>/dev/null || die "registry-server exited: $(tail -n 5 "$logfile")"
        addr="$(sed -n 's|.*listening on http://\([0-9.]*:[0-9]*\).*|\1|p' "$logfile" | head -n 1)"
        [[ -n "$addr" ]] && break
        sleep 0.1
    done
    [[ -n "$addr" ]] || die "registry-server did not start"
    BASE="http://$addr"
    until curl -fsS -o /dev/null "$BASE/v0.1/health"; do sleep 0.1; done
}
stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# p50 and p99 (ms) of time-to-first-byte over BENCH_REQUESTS keep-alive requests of each URL given;
# the URLs are cycled, so a list of distinct URLs defeats the response cache.
measure() { # label url...
    local label="$1"
    shift
    local urls=()
    while ((${#urls[@]} < BENCH_REQUESTS)); do
        for url in "$@"; do
            if ((${#urls[@]} < BENCH_REQUESTS)); then urls+=("$url"); fi
        done
    done
    local args=()
    for url in "${urls[@]}"; do args+=(-o /dev/null "$url"); done
    curl -sS -H 'Accept: text/html' -w '%{http_code} %{time_starttransfer}\n' "${args[@]}" >"$WORK/web-times.txt"
    local bad
    bad="$(awk '$1 != "200"' "$WORK/web-times.txt" | wc -l)"
    awk '{ printf "%.4f\n", $2 * 1000 }' "$WORK/web-times.txt" | sort -n >"$WORK/web-sorted.txt"
    awk -v label="$label" -v bad="$bad" '{ t[NR] = $1 } END {
        printf "    %-28s p50 %7.3f ms   p99 %7.3f ms   (%d requests%s)\n", label, t[int(NR * 0.5) + 1], t[int(NR * 0.99)], NR, (bad > 0 ? ", " bad " not 200" : "") }' "$WORK/web-sorted.txt"
}
p50_of_last() { awk '{ t[NR] = $1 } END { printf "%.1f", t[int(NR * 0.5) + 1] }' "$WORK/web-sorted.txt"; }

SERVER_URL="/servers/$(urlencode "$DETAIL_NAME" /)"
SEARCHES=(weather github memory file search slack git browser notion postgres)

# 3. Render time, every request from the database (cache off).
start_server "$WORK/web-serve-nocache.log" --cache-mb 0
log "serving $BENCH_SERVERS servers x $BENCH_VERSIONS versions on $BASE (cache off)"
for path in / "$SERVER_URL" "/servers?q=weather" "$SERVER_URL/diff"; do
    status="$(curl -sS -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$BASE$path")"
    [[ "$status" == "200" ]] || die "GET $path answered $status"
done
echo "Render time (cache off: each request reads the database and renders):"
measure "server page" "$BASE$SERVER_URL"
measure "server version page" "$BASE$SERVER_URL/versions/1.0.0"
search_urls=()
for q in "${SEARCHES[@]}"; do search_urls+=("$BASE/servers?q=$q"); done
measure "results page (10 queries)" "${search_urls[@]}"
measure "results page, no query" "$BASE/servers"
measure "diff page" "$BASE$SERVER_URL/diff"
measure "start page" "$BASE/"
fragment_urls=()
for q in "${SEARCHES[@]}"; do fragment_urls+=("$BASE/servers?q=${q:0:3}&fragment=1"); done
measure "search-as-you-type fragment" "${fragment_urls[@]}"
frag_p50="$(p50_of_last)"

# 4. As served: through the response cache (hits after the first request).
echo "For comparison, the API's reads of the same rows (cache off):"
measure "API detail (latest)" "$BASE/v0.1/servers/$(urlencode "$DETAIL_NAME")/versions/latest"
api_urls=()
for q in "${SEARCHES[@]}"; do api_urls+=("$BASE/v0.1/servers?limit=20&version=latest&search=$q"); done
measure "API search (10 queries)" "${api_urls[@]}"
stop_server

start_server "$WORK/web-serve-cache.log"
search_urls=()
for q in "${SEARCHES[@]}"; do search_urls+=("$BASE/servers?q=$q"); done
echo "As served (response cache on):"
measure "server page" "$BASE$SERVER_URL"
measure "results page (10 queries)" "${search_urls[@]}"

# 5. What a first visit transfers: the start page, its stylesheet and script (gzip -6, as a proxy or
# CDN-less deployment behind nginx `gzip on` would send them; raw sizes beside).
echo "First page load (start page + CSS + JS):"
home="$WORK/web-home.html"
curl -fsS -H 'Accept: text/html' "$BASE/" -o "$home"
total_raw=0 total_gz=0
for url in / $(grep -o '/assets/[^"]*\.\(css\|js\)' "$home" | sort -u); do
    raw="$(curl -fsS "$BASE$url" | wc -c)"
    gz="$(curl -fsS "$BASE$url" | gzip -6 | wc -c)"
    printf '    %-40s %7d bytes   %6d gzip\n' "$url" "$raw" "$gz"
    total_raw=$((total_raw + raw)) total_gz=$((total_gz + gz))
done
printf '    %-40s %7d bytes   %6d gzip   (target <= 61440)\n' "total" "$total_raw" "$total_gz"
server_raw="$(curl -fsS -H 'Accept: text/html' "$BASE$SERVER_URL" | wc -c)"
server_gz="$(curl -fsS -H 'Accept: text/html' "$BASE$SERVER_URL" | gzip -6 | wc -c)"
printf '    %-40s %7d bytes   %6d gzip\n' "server page HTML" "$server_raw" "$server_gz"
stop_server

echo "Search-as-you-type: ${DEBOUNCE_MS} ms debounce + ${frag_p50} ms fragment (p50, cache off) = $(awk -v a="$DEBOUNCE_MS" -v b="$frag_p50" 'BEGIN { printf "%.1f", a + b }') ms after a keystroke (target <= 50 ms)"
