#!/usr/bin/env bash
# Fuzzes the API against its own OpenAPI document with schemathesis (all checks), on a throwaway
# registry (every check runs: schemathesis enables all by default; scripts/schemathesis.toml lists the
# few documented exceptions): embedded SQLite in a temp dir, loopback only, with a publish token and a few servers so that
# reads find something. Needs `pip install schemathesis` (the only download; the run itself talks only to
# 127.0.0.1). Target: 0 failures, 0 server errors.
#
#   scripts/fuzz-api.sh [--max-examples N] [extra schemathesis arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v schemathesis >/dev/null 2>&1 && ! command -v st >/dev/null 2>&1; then
  echo "error: schemathesis is not installed" >&2
  echo "hint: pip install schemathesis" >&2
  exit 1
fi
st_cmd=$(command -v schemathesis || command -v st)

max_examples=50
if [[ "${1:-}" == "--max-examples" ]]; then
  max_examples="$2"
  shift 2
fi

# FUZZ_PROFILE=debug skips the (slow) release build; the API behaves the same.
profile="${FUZZ_PROFILE:-release}"
if [[ "$profile" == release ]]; then
  cargo build --release --locked -p registry-server >&2
  bin=target/release/registry-server
else
  cargo build --locked -p registry-server >&2
  bin=target/debug/registry-server
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export REGISTRY_DATA_DIR="$work" REGISTRY_LISTEN="127.0.0.1:$port"
# Fuzzing sends thousands of writes from one address: lift the write limits for this throwaway server.
export REGISTRY_WRITE_LIMIT_PER_IP=0 REGISTRY_WRITE_LIMIT_PER_TOKEN=0

token=$("$bin" token create --publish '*' --edit '*' 2>/dev/null | grep -o 'mcpr_[A-Za-z0-9_-]*' | head -n1)
"$bin" import ../shared/conformance/official/seed.json >&2 || true
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -fsS "$base/v0.1/ping" >/dev/null 2>&1 && break
  sleep 0.1
done

status=0
"$st_cmd" --config-file scripts/schemathesis.toml run "$base/openapi.json" \
  --url "$base" \
  --max-examples "$max_examples" \
  --header "Authorization: Bearer $token" \
  "$@" || status=$?

if grep -q "panicked" "$work/server.log"; then
  echo "error: the server panicked during the run:" >&2
  grep -A5 "panicked" "$work/server.log" >&2
  status=1
fi
exit "$status"
