#!/usr/bin/env python3
"""Search load for bench/search.sh (standard library only, Python 3.11).

  search_load.py terms --corpus FILE --count N        realistic distinct search terms, one a line
  search_load.py latency --addr HOST:PORT --terms F   each term once, one client: p50/p99/max (ms)
  search_load.py rate --addr HOST:PORT --terms F --clients N --duration S
                                                      requests/s with N keep-alive clients
  search_load.py pgbench-log FILES...                 p50/p99/max (ms) from pgbench -l logs

Results are printed as one JSON object. Only 127.0.0.1 addresses are accepted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import re
import sys
import time
import urllib.parse
from pathlib import Path

# Terms people type: the words the issue names as slow first, then words of the corpus.
COMMON = [
    "github", "server", "git", "io.github.", "mcp", "com.", "ai.", "api", "data", "search",
    "database", "file", "files", "web", "browser", "slack", "postgres", "sql", "weather", "docker",
    "kubernetes", "aws", "azure", "google", "notion", "memory", "code", "python", "node", "npm",
    "openai", "claude", "llm", "tool", "tools", "image", "email", "calendar", "jira", "linear",
    "stripe", "redis", "mongodb", "mysql", "sqlite", "youtube", "twitter", "discord", "figma",
    "markdown", "pdf", "crypto", "blockchain", "finance", "stock", "news", "maps", "time",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(ms: list[float]) -> dict:
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms, default=0.0), 3),
    }


def terms(args: argparse.Namespace) -> None:
    corpus = json.loads(Path(args.corpus).read_text())
    words: set[str] = set()
    names: list[str] = []
    for server in corpus:
        names.append(server["name"])
        text = " ".join([server["name"], server.get("title") or "", server.get("description") or ""])
        words.update(w.lower() for w in re.split(r"[^0-9A-Za-z]+", text) if len(w) >= 3)
    rng = random.Random(19)
    chosen: list[str] = []
    seen: set[str] = set()

    def add(term: str) -> None:
        if term and term not in seen and len(chosen) < args.count:
            seen.add(term)
            chosen.append(term)

    for term in COMMON:
        add(term)
    # Prefixes of local names (a search box as people type), and a few two-word terms.
    for name in rng.sample(names, 40):
        local = name.split("/", 1)[-1].lower()
        add(local[: rng.randint(3, max(3, min(8, len(local))))])
    ordered = sorted(words)
    for _ in range(20):
        add(f"{rng.choice(ordered)} {rng.choice(ordered)}")
    for word in rng.sample(ordered, len(ordered)):
        add(word)
    print("\n".join(chosen))


def check_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    if host != "127.0.0.1":
        raise SystemExit("only 127.0.0.1 is allowed")
    return host, int(port)


def path_for(term: str) -> str:
    return "/v0.1/servers?limit=30&search=" + urllib.parse.quote(term, safe="")


def get(conn: http.client.HTTPConnection, path: str) -> None:
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status}")


def latency(args: argparse.Namespace) -> None:
    host, port = check_addr(args.addr)
    lines = Path(args.terms).read_text().splitlines()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    ms = []
    for term in lines:
        start = time.perf_counter()
        get(conn, path_for(term))
        ms.append((time.perf_counter() - start) * 1000)
    print(json.dumps(summary(ms)))


def worker(addr: str, paths: list[str], offset: int, deadline: float, out) -> None:
    host, port = check_addr(addr)
    conn = http.client.HTTPConnection(host, port, timeout=60)
    done = 0
    index = offset
    while time.time() < deadline:
        get(conn, paths[index % len(paths)])
        index += 1
        done += 1
    out.put(done)


def rate(args: argparse.Namespace) -> None:
    check_addr(args.addr)
    paths = [path_for(term) for term in Path(args.terms).read_text().splitlines()]
    queue: multiprocessing.Queue = multiprocessing.Queue()
    start = time.time()
    deadline = start + args.duration
    step = max(1, len(paths) // args.clients)
    procs = [
        multiprocessing.Process(target=worker, args=(args.addr, paths, i * step, deadline, queue))
        for i in range(args.clients)
    ]
    for proc in procs:
        proc.start()
    total = sum(queue.get() for _ in procs)
    for proc in procs:
        proc.join()
    elapsed = time.time() - start
    print(json.dumps({"clients": args.clients, "requests": total, "rps": round(total / elapsed, 1)}))


def lua_paths(terms_file: str) -> str:
    """The search path of every term in `terms_file`, as a Lua table named `paths`."""
    paths = [path_for(term) for term in Path(terms_file).read_text().splitlines()]
    return "local paths = {\n" + ",\n".join(json.dumps(p) for p in paths) + "\n}\n"


def wrk_script(args: argparse.Namespace) -> None:
    """A wrk Lua script that walks the terms, each thread from its own offset, non-200 answers counted."""
    print(
        lua_paths(args.terms) + "local counter = 0\n"
        "failed = 0\n"
        "local threads = {}\n"
        "function setup(thread) table.insert(threads, thread) end\n"
        "function init(args) counter = math.random(#paths) end\n"
        "function request()\n"
        "  counter = counter % #paths + 1\n"
        "  return wrk.format('GET', paths[counter])\n"
        "end\n"
        "function response(status, headers, body) if status ~= 200 then failed = failed + 1 end end\n"
        "function done(summary, latency, requests)\n"
        "  local bad = 0\n"
        "  for _, t in ipairs(threads) do bad = bad + t:get('failed') end\n"
        "  io.write(string.format('{\"requests\": %d, \"rps\": %.1f, \"p50_ms\": %.2f, "
        "\"p99_ms\": %.2f, \"non_200\": %d}\\n', summary.requests, "
        "summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, "
        "latency:percentile(99) / 1000, bad))\n"
        "end\n"
    )


def wrk_once_script(args: argparse.Namespace) -> None:
    """A wrk Lua script for one connection (`wrk -t1 -c1`) that asks each term once, in order, then stops
    and prints the latencies, measured by wrk's C event loop rather than by a Python client."""
    print(
        lua_paths(args.terms) + "local sent = 0\n"
        "local answered = 0\n"
        "failed = 0\n"
        "local threads = {}\n"
        "function setup(thread) table.insert(threads, thread) end\n"
        "function request()\n"
        "  sent = sent % #paths + 1\n"
        "  return wrk.format('GET', paths[sent])\n"
        "end\n"
        "function response(status, headers, body)\n"
        "  if status ~= 200 then failed = failed + 1 end\n"
        "  answered = answered + 1\n"
        "  if answered >= #paths then wrk.thread:stop() end\n"
        "end\n"
        "function done(summary, latency, requests)\n"
        "  local bad = 0\n"
        "  for _, t in ipairs(threads) do bad = bad + t:get('failed') end\n"
        "  io.write(string.format('{\"count\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
        "\"max_ms\": %.3f, \"non_200\": %d}\\n', summary.requests, latency:percentile(50) / 1000, "
        "latency:percentile(99) / 1000, latency.max / 1000, bad))\n"
        "end\n"
    )


def pgbench_log(args: argparse.Namespace) -> None:
    # pgbench -l lines: client_id transaction_no time_us script_no time_epoch time_us
    ms = []
    for name in args.files:
        for line in Path(name).read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3:
                ms.append(int(fields[2]) / 1000)
    print(json.dumps(summary(ms)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("terms")
    p.add_argument("--corpus", required=True)
    p.add_argument("--count", type=int, default=300)
    p = sub.add_parser("latency")
    p.add_argument("--addr", required=True)
    p.add_argument("--terms", required=True)
    p = sub.add_parser("wrk-script")
    p.add_argument("--terms", required=True)
    p = sub.add_parser("wrk-once-script")
    p.add_argument("--terms", required=True)
    p = sub.add_parser("rate")
    p.add_argument("--addr", required=True)
    p.add_argument("--terms", required=True)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--duration", type=float, default=10)
    p = sub.add_parser("pgbench-log")
    p.add_argument("files", nargs="+")
    args = parser.parse_args()
    {
        "terms": terms,
        "latency": latency,
        "rate": rate,
        "wrk-script": wrk_script,
        "wrk-once-script": wrk_once_script,
        "pgbench-log": pgbench_log,
    }[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
