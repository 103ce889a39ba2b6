#!/usr/bin/env bash
# Rebuilds spawnguard.bpf.o from spawnguard.bpf.c, reproducibly: fixed flags, no absolute paths
# in the object (the build runs from this directory on relative names), DWARF stripped (BTF and
# BTF.ext kept, which CO-RE and tp_btf need). The object is committed, so building the Rust
# crate needs no clang; crates/sensor/tests/bpf_object.rs checks the committed object is what
# this script makes.
#
#   bpf/build.sh [OUTPUT]      (default: bpf/spawnguard.bpf.o)
#   bpf/build.sh --vmlinux     regenerate vmlinux.h from this machine's kernel BTF
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLANG="${CLANG:-clang}"
STRIP="${LLVM_STRIP:-llvm-strip}"
if [ "${1:-}" = "--vmlinux" ]; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$here/vmlinux.h"
  exit 0
fi
out="${1:-$here/spawnguard.bpf.o}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
command -v "$CLANG" >/dev/null || { echo "build.sh: $CLANG not found (apt-get install clang llvm libbpf-dev)" >&2; exit 1; }
command -v "$STRIP" >/dev/null || { echo "build.sh: $STRIP not found (apt-get install llvm)" >&2; exit 1; }
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "build.sh: libbpf headers not found (apt-get install libbpf-dev)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$here"
"$CLANG" -target bpf -D__TARGET_ARCH_x86 -O2 -g -Wall -Werror \
  -fno-ident -fdebug-prefix-map="$here"=. -fdebug-compilation-dir=. \
  -I. -c spawnguard.bpf.c -o "$tmp/spawnguard.bpf.o"
"$STRIP" -g "$tmp/spawnguard.bpf.o"
mv "$tmp/spawnguard.bpf.o" "$out"
