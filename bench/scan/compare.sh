#!/usr/bin/env bash
# Compare spawnguard scan with picklescan, fickling and modelscan (all from PyPI) on the
# generated corpus and on large generated inputs. Writes bench/results/scan.md.
#
# Env: SG_BENCH_DIR (work dir, default a new /tmp dir), SG_BENCH_VENV (reuse a venv),
#      CARGO_TARGET_DIR (cargo's, as usual).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${SG_BENCH_DIR:-$(mktemp -d /tmp/sg-scan-bench.XXXXXX)}
VENV=${SG_BENCH_VENV:-$WORK/venv}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$WORK"

echo "== venv and tools in $VENV" >&2
: > "$WORK/pip.log"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" >> "$WORK/pip.log" 2>&1
fi
for pkg in picklescan fickling modelscan; do
    if ! "$VENV/bin/pip" install "$pkg" >> "$WORK/pip.log" 2>&1; then
        echo "pip install $pkg FAILED (see log)" | tee -a "$WORK/pip.log" >&2
    fi
done
# fickling 0.1.x imports typing_extensions without declaring it
"$VENV/bin/python" -c "import typing_extensions" 2>/dev/null || \
    "$VENV/bin/pip" install typing_extensions >> "$WORK/pip.log" 2>&1 || true
"$VENV/bin/pip" freeze 2>/dev/null | grep -iE '^(picklescan|fickling|modelscan|typing.extensions|numpy)=' > "$WORK/versions.txt" || true
(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null | sed 's/^/spawnguard tree at commit /') >> "$WORK/versions.txt" || true
rustc --version >> "$WORK/versions.txt"

echo "== building spawnguard (release)" >&2
(cd "$ROOT" && cargo build --release -p spawnguard-cli && cargo build --release -p spawnguard-scan --example scanbench) >&2

echo "== large inputs in $WORK/inputs" >&2
python3 "$ROOT/bench/scan/make_inputs.py" "$WORK/inputs" >&2

echo "== comparing" >&2
python3 "$ROOT/bench/scan/compare.py" \
    --spawnguard "$TARGET/release/spawnguard" \
    --scanbench "$TARGET/release/examples/scanbench" \
    --venv "$VENV" --corpus "$ROOT/crates/scan/corpus" --inputs "$WORK/inputs" \
    --versions "$WORK/versions.txt" --install-log "$WORK/pip.log" \
    --out "$ROOT/bench/results/scan.md"
echo "wrote $ROOT/bench/results/scan.md" >&2
