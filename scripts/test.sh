#!/usr/bin/env bash
# Runs Norn's whole test suite from a fresh clone: installs what the tests need, then checks
# formatting, lints, builds, runs every test, builds the docs and the benchmarks, and checks
# the crate layering. `.ci/run` calls exactly this script.
#
# Usage: ./scripts/test.sh        (from anywhere; it changes to the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

step "toolchain"
cargo --version
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  echo "rustfmt and clippy are needed: rustup component add rustfmt clippy" >&2
  rustup component add rustfmt clippy
fi
# Debian packages the tests use: python3 (layering check), Prometheus's `prometheus` and
# `promtool` (the TSDB tests check blocks against them; the write-path tests remote-write with
# Prometheus) and `victoria-metrics` for `vmagent` (a second remote-write client). One
# `apt-get update` at most.
# Later features add their services (an S3 server, Azurite, etcd, memcached) to this list.
missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || missing+=(prometheus)
command -v vmagent >/dev/null 2>&1 || missing+=(victoria-metrics)
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "crate layering"
python3 scripts/check-layers.py

step "build"
cargo build --workspace --all-targets --locked

step "tests"
test_log=$(mktemp)
trap 'rm -f "$test_log"' EXIT
cargo test --workspace --doc --locked
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast 2>&1 | tee "$test_log"
  passed=$(sed -n 's/.* tests run: \([0-9]*\) passed.*/\1/p' "$test_log" | tail -n 1)
  failed=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' "$test_log" | tail -n 1)
else
  echo "cargo-nextest not found; using cargo test"
  cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$test_log"
  passed=$(sed -n 's/^test result: .* \([0-9]*\) passed.*/\1/p' "$test_log" | awk '{s+=$1} END {print s+0}')
  failed=$(sed -n 's/^test result: .* \([0-9]*\) failed.*/\1/p' "$test_log" | awk '{s+=$1} END {print s+0}')
fi
passed=${passed:-0}
failed=${failed:-0}

step "rustdoc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "benchmarks compile"
cargo bench -p norn-benches -p norn-promql --no-run --locked

printf '\nall checks passed in %ss\n' "$(( $(date +%s) - started ))"
printf 'tests: %s passed, %s failed\n' "$passed" "$failed"
