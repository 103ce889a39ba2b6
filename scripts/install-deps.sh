#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine. Idempotent: it only
# installs what is missing. Each part of the project adds its own needs here.
set -euo pipefail
need_apt=()
# (sections are added by the parts of the project that need them)
# sensor (issue 4): clang, llvm-strip and the libbpf headers rebuild crates/sensor/bpf/spawnguard.bpf.o
# (the test crates/sensor/tests/bpf_object.rs compares it with the committed object); bpftool
# regenerates vmlinux.h; python3 and node run the `watch --self-test` emulations.
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
command -v llvm-strip >/dev/null 2>&1 || need_apt+=(llvm)
dpkg -s libbpf-dev >/dev/null 2>&1 || need_apt+=(libbpf-dev)
command -v bpftool >/dev/null 2>&1 || need_apt+=(bpftool)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
