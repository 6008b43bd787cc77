#!/usr/bin/env python3
"""Fails when a workspace crate depends on a crate above its layer (docs/architecture.md).

Layers: L0 model, proto; L1 common, objstore; L2 tsdb, blocks, promql; L3 ring, limits, rpc,
http; L4 the roles; L5 server; L6 the norn binary. A crate may depend on crates of its own layer
or below, except that roles (L4) never depend on each other, and the storage engine (tsdb)
never depends on object storage, RPC or tokio. The e2e and bench crates may depend on anything.
"""
import json
import subprocess
import sys

LAYERS = {
    "norn-model": 0, "norn-proto": 0,
    "norn-common": 1, "norn-objstore": 1,
    "norn-tsdb": 2, "norn-blocks": 2, "norn-promql": 2,
    "norn-ring": 3, "norn-limits": 3, "norn-rpc": 3, "norn-http": 3,
    "norn-distributor": 4, "norn-ingester": 4, "norn-querier": 4,
    "norn-frontend": 4, "norn-storegateway": 4, "norn-compactor": 4,
    "norn-server": 5, "norn": 6,
}
UNLAYERED = {"norn-e2e", "norn-benches"}
TSDB_FORBIDDEN = {"norn-objstore", "norn-rpc", "tokio"}


def main() -> int:
    metadata = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"]))
    problems = []
    for package in metadata["packages"]:
        name = package["name"]
        if name in UNLAYERED:
            continue
        if name not in LAYERS:
            problems.append(f"{name} has no layer: add it to scripts/check-layers.py and docs/architecture.md")
            continue
        for dependency in package["dependencies"]:
            if dependency["kind"] == "dev":
                continue
            target = dependency["name"]
            if name == "norn-tsdb" and target in TSDB_FORBIDDEN:
                problems.append(f"norn-tsdb must stay synchronous and local; it may not depend on {target}")
            if target not in LAYERS:
                continue
            if LAYERS[target] > LAYERS[name]:
                problems.append(f"{name} (L{LAYERS[name]}) depends on {target} (L{LAYERS[target]}): dependencies point down")
            if LAYERS[name] == 4 and LAYERS[target] == 4:
                problems.append(f"role {name} depends on role {target}: roles talk through norn-rpc")
    for problem in problems:
        print(f"layering: {problem}", file=sys.stderr)
    if not problems:
        print(f"layering: {len(metadata['packages'])} crates, every dependency points down")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
