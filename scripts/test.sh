#!/usr/bin/env bash
# The project's test command (the README's, and CI's through .ci/run).
# Installs what the tests need (clang and bpftool for the BPF object check), then runs
# every test of the workspace. The sensor's tests load real BPF programs and need root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo test --workspace --no-fail-fast "$@"
