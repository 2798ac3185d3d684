#!/usr/bin/env python3
"""Generate a large import file for the registry benchmark from the real-manifest corpus.

Server i (0-based) is a copy of corpus entry i % len(corpus) with `-b{i}` appended to the name
part (so names stay valid and unique), published in BENCH_VERSIONS versions 1.0.0, 1.1.0, ... .
Every package follows its server's version: `version` for npm/pypi/..., the `:tag` of an OCI
identifier. The output is a compact JSON array, server by server, oldest version first.

Alongside it goes a small metadata file (JSON) with the names the load test needs: a server to
read in detail and a keyset cursor near the end of the `(name, version)` order.

Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from pathlib import Path

NAMESPACE_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.-]*[a-zA-Z0-9]$")
LOCAL_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$")
MAX_NAME = 200
# How many servers before the end of the keyset order the deep cursor points at.
DEEP_CURSOR_TAIL = 20


def versions_for(count: int) -> list[str]:
    return [f"1.{minor}.0" for minor in range(count)]


def bench_name(base: str, index: int) -> str:
    namespace, _, local = base.partition("/")
    suffix = f"-b{index}"
    # Keep the name part legal: it must end in an alphanumeric, which the suffix guarantees, and
    # the whole name must fit in MAX_NAME characters.
    local = local[: MAX_NAME - len(namespace) - 1 - len(suffix)] + suffix
    name = f"{namespace}/{local}"
    if not (NAMESPACE_RE.match(namespace) and LOCAL_RE.match(local) and len(name) <= MAX_NAME):
        raise SystemExit(f"generated an invalid name: {name!r}")
    return name


def with_version(manifest: dict, name: str, version: str) -> dict:
    server = copy.deepcopy(manifest)
    server["name"] = name
    server["version"] = version
    for package in server.get("packages", []):
        if package.get("registryType") == "oci":
            # OCI packages carry no `version`; the tag in the identifier is the version.
            identifier = package["identifier"]
            image, sep, _tag = identifier.rpartition(":")
            if sep and "/" not in _tag:
                package["identifier"] = f"{image}:{version}"
            else:
                package["identifier"] = f"{identifier}:{version}"
            package.pop("version", None)
        else:
            package["version"] = version
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--servers", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--out", required=True, type=Path, help="import file to write")
    parser.add_argument("--meta", required=True, type=Path, help="metadata file to write")
    args = parser.parse_args()
    if args.servers < 1 or args.versions < 1:
        raise SystemExit("--servers and --versions must be at least 1")

    corpus_bytes = args.corpus.read_bytes()
    corpus = json.loads(corpus_bytes)
    if isinstance(corpus, dict):  # a ServerList response
        corpus = [entry["server"] for entry in corpus["servers"]]
    if not corpus:
        raise SystemExit(f"{args.corpus}: empty corpus")

    versions = versions_for(args.versions)
    names: list[str] = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    total = args.servers * args.versions
    written = 0
    with tmp.open("w", encoding="utf-8") as out:
        out.write("[")
        for index in range(args.servers):
            base = corpus[index % len(corpus)]
            name = bench_name(base["name"], index)
            names.append(name)
            for version in versions:
                if written:
                    out.write(",\n")
                json.dump(with_version(base, name, version), out, ensure_ascii=False,
                          separators=(",", ":"))
                written += 1
            if (index + 1) % 10_000 == 0:
                print(f"  generated {written}/{total} manifests", file=sys.stderr)
        out.write("]\n")
    tmp.replace(args.out)

    # Keyset order is `(server_name, version)` in byte order (collate "C" / SQLite binary), which is
    # Python's str order for these ASCII names.
    ordered = sorted(names)
    deep = ordered[max(0, len(ordered) - 1 - DEEP_CURSOR_TAIL)]
    meta = {
        "servers": args.servers,
        "versions": args.versions,
        "manifests": total,
        "corpus": str(args.corpus),
        "corpus_sha256": hashlib.sha256(corpus_bytes).hexdigest(),
        "first_name": ordered[0],
        # A real `name:version` cursor: the page after it starts at the next server.
        "deep_cursor": f"{deep}:{max(versions)}",
        "deep_cursor_position": len(ordered) - 1 - DEEP_CURSOR_TAIL,
        # A server in the middle of the generated set, for the detail endpoints.
        "detail_name": names[len(names) // 2],
        "latest_version": versions[-1],
        "first_version": versions[0],
    }
    args.meta.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"  wrote {total} manifests to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
