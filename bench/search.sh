#!/usr/bin/env bash
# Search benchmark (issue 19): uncached searches over BENCH_SERVERS x BENCH_VERSIONS generated manifests, on
# SQLite and PostgreSQL, next to the official registry's search SQL (`name ILIKE '%t%' OR description ILIKE
# '%t%'` over latest versions, pg_trgm GIN indexes) on the same PostgreSQL data. See bench/README.md.
# Everything listens on 127.0.0.1 only.
#
#   BENCH_SERVERS=20000 bench/search.sh
#   REGISTRY_BIN=/path/to/registry-server bench/search.sh     # measure another build (no cargo build)
#   BENCH_PG_SSLMODE=prefer bench/search.sh                    # TLS to PostgreSQL on loopback, as libpq's default
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

BENCH_SERVERS="${BENCH_SERVERS:-100000}"
BENCH_VERSIONS="${BENCH_VERSIONS:-5}"
BENCH_TERMS="${BENCH_TERMS:-300}"
BENCH_CLIENTS="${BENCH_CLIENTS:-16}"
BENCH_DURATION="${BENCH_DURATION:-10}"
BENCH_BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
BENCH_OFFICIAL="${BENCH_OFFICIAL:-1}"
BENCH_CORPUS="${BENCH_CORPUS:-$REPO_ROOT/../shared/conformance/corpus/servers-2025-12-11.json}"
BENCH_WORK_DIR="${BENCH_WORK_DIR:-$REPO_ROOT/target/bench}"
BENCH_PG_HOST=127.0.0.1
BENCH_PG_PORT="${BENCH_PG_PORT:-5432}"
BENCH_PG_USER="${BENCH_PG_USER:-postgres}"
BENCH_PG_DB="${BENCH_PG_DB:-mcpreg_bench_search}"
# Loopback: TLS would only measure encryption that never leaves the machine. Ours and the official SQL's
# clients (psql, pgbench) use the same mode.
BENCH_PG_SSLMODE="${BENCH_PG_SSLMODE:-disable}"
export PGSSLMODE="$BENCH_PG_SSLMODE"
PYTHON="${PYTHON:-python3}"
LOAD="$SCRIPT_DIR/search_load.py"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

WORK="$BENCH_WORK_DIR"
mkdir -p "$WORK/logs"
DATA="$WORK/servers-${BENCH_SERVERS}x${BENCH_VERSIONS}.json"
META="$WORK/servers-${BENCH_SERVERS}x${BENCH_VERSIONS}.meta.json"
if [[ ! -f "$DATA" || ! -f "$META" || "$META" -ot "$SCRIPT_DIR/generate.py" ]]; then
    log "generating $((BENCH_SERVERS * BENCH_VERSIONS)) manifests"
    "$PYTHON" "$SCRIPT_DIR/generate.py" --corpus "$BENCH_CORPUS" --servers "$BENCH_SERVERS" \
        --versions "$BENCH_VERSIONS" --out "$DATA" --meta "$META"
fi
TERMS="$WORK/search-terms.txt"
"$PYTHON" "$LOAD" terms --corpus "$BENCH_CORPUS" --count "$BENCH_TERMS" >"$TERMS"

# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
BIN="$(registry_server_bin "$REPO_ROOT")"
[[ -x "$BIN" ]] || die "binary not found: $BIN"

PG_ADMIN=(psql -h "$BENCH_PG_HOST" -p "$BENCH_PG_PORT" -U "$BENCH_PG_USER" -d postgres -v ON_ERROR_STOP=1 -qAt)
PG_BENCH=(psql -h "$BENCH_PG_HOST" -p "$BENCH_PG_PORT" -U "$BENCH_PG_USER" -d "$BENCH_PG_DB" -v ON_ERROR_STOP=1 -qAt)
PG_URL="postgres://$BENCH_PG_USER@$BENCH_PG_HOST:$BENCH_PG_PORT/$BENCH_PG_DB?sslmode=$BENCH_PG_SSLMODE"
log "PostgreSQL clients (ours, psql, pgbench): sslmode=$BENCH_PG_SSLMODE"

# Reads the stored data into the OS page cache right before it is timed. Some virtual machines hand idle
# page cache back to their host within minutes of the import, and a search that reads from the host's disk
# measures the disk, not the search (a 40-row SQLite page: 0.3 ms from the page cache, 1.3-1.7 ms after
# the host took it back). A serving registry keeps its working set cached. Both sides get the same.
warm_sqlite() { cat "$1"/registry.db* >/dev/null; }
warm_postgres() { # every relation of the benchmark database, toast included (pg_prewarm ships with PostgreSQL)
    "${PG_BENCH[@]}" -c "create extension if not exists pg_prewarm" \
        -c "select count(pg_prewarm(c.oid::regclass, 'read')) from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'i', 't', 'm') and n.nspname not in ('pg_catalog', 'information_schema')" >/dev/null ||
        log "pg_prewarm unavailable: PostgreSQL's data is timed as the OS cache holds it"
}

rss() { awk '/^VmHWM|^VmRSS/ {printf "%s %d MB  ", $1, $2 / 1024}' "/proc/$1/status"; }

start_server() { # logfile db-args...
    local logfile="$1"
    shift
    # `--cache-mb 0`: every request reaches the search, as distinct terms typed by people would.
    "$BIN" serve --listen 127.0.0.1:0 --cache-mb 0 "$@" >"$logfile" 2>&1 &
    SERVER_PID=$!
    SERVER_ADDR=""
    for _ in $(seq 1 3000); do
        kill -0 "$SERVER_PID" 2>/dev/null || die "registry-server exited; see $logfile"
        SERVER_ADDR="$(sed -n 's|.*listening on http://\([0-9.]*:[0-9]*\).*|\1|p' "$logfile" | head -n 1)"
        [[ -n "$SERVER_ADDR" ]] && curl -fsS -o /dev/null "http://$SERVER_ADDR/v0.1/health" && return 0
        sleep 0.1
    done
    die "registry-server did not start; see $logfile"
}

declare -A RESULT
for backend in $BENCH_BACKENDS; do
    case "$backend" in
    sqlite)
        data_dir="$WORK/search-sqlite"
        rm -rf "$data_dir"
        mkdir -p "$data_dir"
        DB_ARGS=(--data-dir "$data_dir")
        ;;
    postgres)
        "${PG_ADMIN[@]}" -c "drop database if exists $BENCH_PG_DB with (force)"
        "${PG_ADMIN[@]}" -c "create database $BENCH_PG_DB"
        DB_ARGS=(--database-url "$PG_URL")
        ;;
    *) die "unknown backend $backend" ;;
    esac
    log "[$backend] importing $((BENCH_SERVERS * BENCH_VERSIONS)) manifests"
    "$BIN" import "$DATA" "${DB_ARGS[@]}" >"$WORK/logs/search-import-$backend.log" 2>&1 ||
        die "import failed; see $WORK/logs/search-import-$backend.log"
    if [[ "$backend" == sqlite ]]; then warm_sqlite "$data_dir"; else warm_postgres; fi
    t0="$(date +%s.%N)"
    start_server "$WORK/logs/search-serve-$backend.log" "${DB_ARGS[@]}"
    t1="$(date +%s.%N)"
    log "[$backend] serving on $SERVER_ADDR after $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')s; $(rss "$SERVER_PID")"
    lat="$("$PYTHON" "$LOAD" latency --addr "$SERVER_ADDR" --terms "$TERMS")"
    log "[$backend] 1 client, $BENCH_TERMS distinct terms: $lat"
    if command -v wrk >/dev/null; then
        # The same terms once each through wrk's C client: the latency without the Python client's own
        # ~0.15 ms per request (the official SQL's figures are the database's alone).
        "$PYTHON" "$LOAD" wrk-once-script --terms "$TERMS" >"$WORK/search-wrk-once.lua"
        lat_wrk="$(wrk -t1 -c1 -d120s -s "$WORK/search-wrk-once.lua" "http://$SERVER_ADDR" | tail -n 1)"
        log "[$backend] 1 client (wrk), $BENCH_TERMS distinct terms: $lat_wrk"
        lat="$lat wrk-1-client $lat_wrk"
        # wrk (C, event loop) takes far less CPU per request than the Python client on the shared cores.
        "$PYTHON" "$LOAD" wrk-script --terms "$TERMS" >"$WORK/search-wrk.lua"
        rate="wrk $(wrk -t2 -c"$BENCH_CLIENTS" -d"${BENCH_DURATION}s" -s "$WORK/search-wrk.lua" \
            "http://$SERVER_ADDR" | tail -n 1)"
    else
        rate="$("$PYTHON" "$LOAD" rate --addr "$SERVER_ADDR" --terms "$TERMS" --clients "$BENCH_CLIENTS" --duration "$BENCH_DURATION")"
    fi
    log "[$backend] $BENCH_CLIENTS clients: $rate"
    mem="$(rss "$SERVER_PID")"
    log "[$backend] server memory after the load: $mem"
    RESULT[$backend]="$lat $rate $mem"
    cleanup
    SERVER_PID=""
done

if [[ "$BENCH_OFFICIAL" == 1 && " $BENCH_BACKENDS " == *" postgres "* ]]; then
    log "[official SQL] building its table and trigram indexes from the same data"
    "${PG_BENCH[@]}" <<'SQL'
create extension if not exists pg_trgm;
drop table if exists official_servers;
create table official_servers as
    select v.server_name as name, v.version, v.is_latest, (v.manifest::jsonb) ->> 'description' as description,
           v.manifest::jsonb as value
    from server_versions v;
create index official_servers_name_trgm on official_servers using gin (name gin_trgm_ops);
create index official_servers_description_trgm on official_servers using gin (description gin_trgm_ops);
create index official_servers_name on official_servers (name, version);
analyze official_servers;
SQL
    scripts="$WORK/official-sql"
    rm -rf "$scripts"
    mkdir -p "$scripts"
    # One statement per term, with the pattern as a literal (as the official registry's query builder
    # binds it), so the planner sees it and can use the trigram indexes.
    "$PYTHON" - "$TERMS" "$scripts" <<'PY'
import sys
from pathlib import Path
terms = Path(sys.argv[1]).read_text().splitlines()
out = Path(sys.argv[2])
timed = ["\\timing on", "\\o /dev/null"]
for i, term in enumerate(terms):
    like = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    literal = "'%" + like.replace("'", "''") + "%'"
    sql = (f"select name, version, value from official_servers where is_latest and "
           f"(name ilike {literal} or description ilike {literal}) order by name, version limit 30;")
    (out / f"term-{i}.sql").write_text(sql + "\n")
    timed.append(sql)
(out / "timed.sql").write_text("\n".join(timed) + "\n")
PY
    warm_postgres
    "${PG_BENCH[@]}" -f "$scripts/timed.sql" >"$WORK/logs/official-timed.txt" 2>&1
    lat="$("$PYTHON" - "$WORK/logs/official-timed.txt" <<'PY'
import json, re, sys
sys.path.insert(0, __import__("os").path.dirname(sys.argv[0]))
ms = [float(m) for m in re.findall(r"Time: ([0-9.]+) ms", open(sys.argv[1]).read())]
ordered = sorted(ms)
pick = lambda p: ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]
print(json.dumps({"count": len(ms), "p50_ms": round(pick(50), 3), "p99_ms": round(pick(99), 3), "max_ms": round(max(ms), 3)}))
PY
)"
    log "[official SQL] 1 client, $BENCH_TERMS distinct terms: $lat"
    # pgbench takes at most 128 scripts: the terms run in groups of 100, each for its share of the time.
    files=("$scripts"/term-*.sql)
    groups=$(((${#files[@]} + 99) / 100))
    per_group=$(((BENCH_DURATION + groups - 1) / groups))
    rates=()
    for ((g = 0; g < groups; g++)); do
        args=()
        for f in "${files[@]:$((g * 100)):100}"; do args+=(-f "$f"); done
        out="$(pgbench -n -h "$BENCH_PG_HOST" -p "$BENCH_PG_PORT" -U "$BENCH_PG_USER" -c "$BENCH_CLIENTS" -j 2 \
            -T "$per_group" "${args[@]}" "$BENCH_PG_DB" 2>&1)" || die "pgbench failed: $(tail -n 3 <<<"$out")"
        rates+=("$(awk '/^tps/ {print $3}' <<<"$out")")
    done
    rate="$(printf '%s\n' "${rates[@]}" | awk '{s += $1} END {printf "%.1f", s / NR}')"
    log "[official SQL] $BENCH_CLIENTS clients: $rate requests/s"
    RESULT[official]="$lat {\"rps\": $rate}"
fi

echo
echo "search benchmark: $BENCH_SERVERS servers x $BENCH_VERSIONS versions, $BENCH_TERMS distinct terms, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for key in sqlite postgres official; do
    if [[ -n "${RESULT[$key]:-}" ]]; then
        printf '  %-9s %s\n' "$key" "${RESULT[$key]}"
    fi
done
