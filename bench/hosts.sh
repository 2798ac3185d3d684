#!/usr/bin/env bash
# Real-host check (issue 20): what `mcp-reg install` writes is read by the hosts' own CLIs.
#
# Installs each host CLI from npm into a temp prefix (network: the npm registry only), starts a registry
# on loopback with a fixture server that needs a secret, runs `mcp-reg install` into a temp HOME for
# each host, and asks the host's own CLI to list / show the server. Then checks that no secret value
# reached any file, uninstalls, and checks that the host's own entry survived.
#
# Hosts: GitHub Copilot CLI (`copilot mcp list/get`), Claude Code (`claude mcp list`), Gemini CLI
# (`gemini mcp list`). HOSTS="copilot claude gemini" picks a subset. Not part of `cargo test`.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}/debug"
(cd "$root" && cargo build -q --bin mcp-reg --bin registry-server)
cli="$target/mcp-reg"
server="$target/registry-server"
hosts="${HOSTS:-copilot claude gemini}"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

npm_prefix="$work/npm"
declare -A package=([copilot]="@github/copilot" [claude]="@anthropic-ai/claude-code" [gemini]="@google/gemini-cli")
for host in $hosts; do
  npm install -q -g --prefix "$npm_prefix" "${package[$host]}" >/dev/null 2>&1
done
export PATH="$npm_prefix/bin:$PATH"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
mkdir -p "$work/data" "$work/home" "$work/config" "$work/mcp-data" "$work/project"
token="$("$server" token create --publish '*' --data-dir "$work/data" 2>/dev/null | grep -o 'mcpr_[0-9a-f]*' | head -1)"
"$server" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -fsS "$url/v0.1/ping" >/dev/null 2>&1 && break; sleep 0.05; done

export MCP_REG_REGISTRY="$url" MCP_REG_CONFIG_DIR="$work/config" MCP_REG_DATA_DIR="$work/mcp-data"
export HOME="$work/home"
unset XDG_CONFIG_HOME COPILOT_HOME CLAUDE_CONFIG_DIR

cat >"$work/server.json" <<JSON
{
  "\$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
  "name": "io.github.bench/weather",
  "description": "Weather (host check fixture)",
  "version": "1.0.0",
  "packages": [{
    "registryType": "npm", "identifier": "@modelcontextprotocol/server-everything", "version": "1.0.0",
    "transport": { "type": "stdio" },
    "environmentVariables": [{ "name": "WEATHER_API_KEY", "isSecret": true, "isRequired": true,
                               "description": "API key" }]
  }]
}
JSON
printf '%s\n' "$token" | "$cli" login -q
"$cli" publish "$work/server.json" --no-probe -q >/dev/null

secret="s3cr3t-$(date +%s%N)"
export WEATHER_API_KEY="$secret"
status=0
check() { # host, what, command...
  local host="$1" what="$2"; shift 2
  if "$@" >"$work/out" 2>&1 && grep -q "$what" "$work/out"; then
    echo "ok   $host: $* lists $what"
  else
    echo "FAIL $host: $* does not list $what:"; sed 's/^/     /' "$work/out"; status=1
  fi
}
for host in $hosts; do
  case "$host" in
    copilot)
      mkdir -p "$HOME/.copilot"
      printf '{"mcpServers":{"mine":{"type":"local","command":"node","args":["mine.js"]}}}\n' >"$HOME/.copilot/mcp-config.json"
      "$cli" install weather --host copilot-cli --yes -q
      check copilot weather copilot mcp get weather
      "$cli" uninstall weather --host copilot-cli --yes -q 2>/dev/null || "$cli" uninstall weather --host copilot-cli -q
      check copilot mine copilot mcp list ;;
    claude)
      "$cli" install weather --host claude-code --yes -q
      check claude weather claude mcp list
      "$cli" uninstall weather --host claude-code --yes -q 2>/dev/null || "$cli" uninstall weather --host claude-code -q ;;
    gemini)
      "$cli" install weather --host gemini --yes -q
      check gemini weather gemini mcp list
      "$cli" uninstall weather --host gemini --yes -q 2>/dev/null || "$cli" uninstall weather --host gemini -q ;;
  esac
done
if grep -rIl --exclude-dir=npm "$secret" "$HOME" "$work/mcp-data" "$work/config" 2>/dev/null; then
  echo "FAIL: the secret value was written into the files above"; status=1
else
  echo "ok   no secret value in any file under HOME, the install records or the config"
fi
exit "$status"
