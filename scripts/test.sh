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
if ! command -v python3 >/dev/null 2>&1; then
  step "installing python3 (layering check)"
  apt-get update -qq && apt-get install -y -qq python3
fi
# Test services (Prometheus, an S3 server, Azurite, etcd, memcached) are installed here by
# the features whose tests need them; today's tests need none.

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "crate layering"
python3 scripts/check-layers.py

step "build"
cargo build --workspace --all-targets --locked

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --doc --locked
else
  echo "cargo-nextest not found; using cargo test"
  cargo test --workspace --locked --no-fail-fast
fi

step "rustdoc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "benchmarks compile"
cargo bench --workspace --no-run --locked

printf '\nall checks passed in %ss\n' "$(( $(date +%s) - started ))"
