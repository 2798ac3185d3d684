#!/usr/bin/env bash
# Time from announcing an MCP server / registry on the LAN to its discovery (target: median <= 1.5 s).
#
# Everything runs inside throwaway network namespaces; nothing is sent on the machine's real
# interfaces, and each measuring program refuses to run if it sees any other interface.
#   1. library: `discovery_latency` (registry-discovery example) in `unshare -rn` with only `lo`:
#      Announcer::start -> Appeared (browser already running), and Browser::start -> Appeared
#      (service already announced). No root needed.
#   2. cli-lo: `mcp-reg announce --url …` spawned -> `appeared` line of a running
#      `mcp-reg discover --watch --json`, same namespace (`lo`). Includes process start-up.
#   3. cli-veth (root only): the same across two namespaces joined by a veth pair (two "hosts").
#
# Env: ROUNDS (default 10), PROFILE=debug|release (default debug; dependencies are built with
# opt-level 2 either way). Prints one JSON line per measurement and a summary line per part.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${ROUNDS:-10}"
profile="${PROFILE:-debug}"
target="${CARGO_TARGET_DIR:-$root/target}/$profile"
release_flag=()
[[ "$profile" == release ]] && release_flag=(--release)

if [[ "${1:-}" == "--cli-rounds" ]]; then
    # Inside a namespace: measure announce -> appeared with the CLI. Args: IF_WATCH IF_ANNOUNCE
    # ANNOUNCE_PREFIX (a command prefix that enters the announcer's namespace, or "").
    if_watch="$2"; if_announce="$3"; prefix="$4"; label="$5"
    cli="$target/mcp-reg"
    work="$(mktemp -d)"
    trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
    export MCP_REG_MDNS_PORT=5454 MCP_REG_CONFIG_DIR="$work/config" MCP_REG_DATA_DIR="$work/data" \
        MCP_REG_NO_LAN_OFFER=1
    mkfifo "$work/events"
    MCP_REG_MDNS_INTERFACE="$if_watch" "$cli" discover --watch --json --only servers >"$work/events" &
    exec 3<"$work/events"
    sleep 2 # let the watcher's daemon join its interfaces (not part of the measurement)
    samples=()
    for ((i = 0; i < rounds; i++)); do
        start=$(date +%s%N)
        # shellcheck disable=SC2086
        MCP_REG_MDNS_INTERFACE="$if_announce" $prefix "$cli" announce \
            --url "http://${ANNOUNCE_ADDR:-127.0.0.1}:$((9000 + i))/mcp" --name "io.github.bench/server-$i" \
            --instance "bench $i" -q &
        announcer=$!
        while read -r line <&3; do
            if [[ "$line" == *'"event":"appeared"'* && "$line" == *"\"bench $i\""* ]]; then
                break
            fi
        done
        ms=$(((($(date +%s%N) - start)) / 1000000))
        samples+=("$ms")
        echo "{\"part\":\"$label\",\"round\":$i,\"announce_ms\":$ms}"
        kill -TERM "$announcer"
        wait "$announcer" || true
        # Wait for the goodbye before the next round.
        while read -r line <&3; do [[ "$line" == *'"event":"left"'* ]] && break; done
    done
    sorted=$(printf '%s\n' "${samples[@]}" | sort -n)
    n=${#samples[@]}
    pick() { echo "$sorted" | sed -n "$(($1 + 1))p"; }
    echo "{\"summary\":true,\"part\":\"$label\",\"rounds\":$n,\"min_ms\":$(pick 0),\"median_ms\":$(pick $((n / 2))),\"p90_ms\":$(pick $((n * 9 / 10))),\"max_ms\":$(pick $((n - 1)))}"
    exit 0
fi

command -v unshare >/dev/null || { echo "needs unshare (util-linux)" >&2; exit 1; }
command -v ip >/dev/null || { echo "needs ip (iproute2)" >&2; exit 1; }

echo "building ($profile)…" >&2
cargo build "${release_flag[@]}" -q -p registry-discovery --features testing --example discovery_latency
cargo build "${release_flag[@]}" -q -p registry-cli --bin mcp-reg
example="$target/examples/discovery_latency"

echo "== library, loopback namespace" >&2
unshare --user --map-root-user --net -- sh -c \
    'ip link set lo up && exec "$0" --rounds "$1"' "$example" "$rounds"

echo "== cli, loopback namespace" >&2
unshare --user --map-root-user --net -- sh -c \
    'ip link set lo up && exec "$0" --cli-rounds lo lo "" cli-lo' "$0"

if [[ "$(id -u)" != 0 ]]; then
    echo "== cli over veth: skipped (needs root)" >&2
    exit 0
fi
echo "== cli, two namespaces over a veth pair" >&2
a="mcpreg-bench-$$-a"; b="mcpreg-bench-$$-b"
trap 'ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true' EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev va
ip -n "$b" addr add 10.77.0.2/24 dev vb
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set va up
ip -n "$b" link set vb up
# Guard: each side must see only lo and its veth end.
for ns in "$a:va" "$b:vb"; do
    got=$(ip -n "${ns%%:*}" -o link | awk -F': ' '{split($2, n, "@"); print n[1]}' | sort | tr '\n' ' ')
    want=$(printf 'lo\n%s\n' "${ns##*:}" | sort | tr '\n' ' ')
    [[ "$got" == "$want" ]] || { echo "guard: ${ns%%:*} has $got" >&2; exit 1; }
done
sleep 2 # veth carrier and IPv6 link-local addresses settle (not part of the measurement)
ANNOUNCE_ADDR=10.77.0.2 ip netns exec "$a" "$0" --cli-rounds va vb "ip netns exec $b" cli-veth
