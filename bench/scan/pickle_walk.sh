#!/usr/bin/env bash
# Pickle-walk throughput on one core (issue 5 target: >= 1 GB/s), the full walker's speed and
# its work budget. One command:
#
#     bench/scan/pickle_walk.sh
#
# Builds the scanbench example (release), makes the inputs with make_inputs.py if they are not
# there, runs every measurement pinned to one CPU (taskset -c $SG_CPU, default 0) for
# $SG_ROUNDS rounds (default 3; each round is scanbench's own best-of-N over >= 3 s), and
# writes the "Pickle walk" section of bench/results/scan.md (between its markers; the rest of
# the file is left alone). The raw output is also kept in $SG_INPUTS/pickle_walk.log.
#
# Env: SG_INPUTS (input dir, default /tmp/sginputs), SG_ROUNDS, SG_CPU, CARGO_TARGET_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IN=${SG_INPUTS:-/tmp/sginputs}
ROUNDS=${SG_ROUNDS:-3}
CPU=${SG_CPU:-0}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT="$ROOT/bench/results/scan.md"
BENCH="$TARGET/release/examples/scanbench"

echo "== building scanbench (release)" >&2
(cd "$ROOT" && cargo build --release -p spawnguard-scan --example scanbench) >&2
if [ ! -f "$IN/state_dict_big.pkl" ] || [ ! -f "$IN/over_budget.pkl" ]; then
    echo "== making inputs in $IN" >&2
    python3 "$ROOT/bench/scan/make_inputs.py" "$IN" >&2
fi

LOG="$IN/pickle_walk.log"
: > "$LOG"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
header_done=0
run() { # run MODE_FLAG FILE...: scanbench rows, plus the process's user/sys/wall times
    local rows times
    times=$(mktemp)
    rows=$( { /usr/bin/time -f "%U %S %e" -o "$times" taskset -c "$CPU" "$BENCH" "$@"; } )
    if [ $header_done = 0 ]; then
        echo "$rows" | head -2
        header_done=1
    fi
    echo "$rows" | tail -n +3
    read -r u s e < "$times"
    echo "process $* : user ${u} s, sys ${s} s, wall ${e} s (all runs of this scanbench call)" >> "$LOG"
    rm -f "$times"
}
TABLE=$(
    for r in $(seq "$ROUNDS"); do
        echo "== round $r" >&2
        run "$IN/state_dict_big.pkl" "$IN/state_dict_dense.pkl"
        run --full "$IN/state_dict_big.pkl" "$IN/state_dict_dense.pkl"
        run "$IN/full_walk_big.pkl" "$IN/over_budget.pkl"
    done
)
echo "$TABLE" >> "$LOG"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
commit=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')
sizes=$(cd "$IN" && for f in state_dict_big.pkl state_dict_dense.pkl full_walk_big.pkl over_budget.pkl; do
    printf '%s %.1f MB; ' "$f" "$(stat -c %s "$f" | awk '{print $1 / 1e6}')"; done)

SECTION=$(mktemp)
{
    echo "<!-- pickle-walk:begin (written by bench/scan/pickle_walk.sh; rerun it to refresh) -->"
    echo "## Pickle walk on one core ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "\`bench/scan/pickle_walk.sh\`: \`scanbench\` pinned with \`taskset -c $CPU\`, $ROUNDS rounds; each row is one"
    echo "scanbench call's best of N runs (N = runs column, >= 3 s per file) of \`scan_bytes\` on the whole file in"
    echo "memory: content detection, the walk of every byte of the pickle stream to its STOP, literals and"
    echo "report. MB/s = file size / time of one complete scan. \"best CPU\" is the thread's user+sys time."
    echo "Machine: $cpu, $(nproc) CPUs, tree at $commit (with uncommitted changes when run before the lead's commit)."
    echo "Load average: $load_before before, $load_after after (shared machine: other engineers' builds)."
    echo
    echo "Inputs (\`bench/scan/make_inputs.py\`, 300,000 tensors): $sizes"
    echo "- state_dict_big.pkl: torch \`data.pkl\` of a Llama-shaped state_dict as \`torch.save\` writes it (protocol 2, BINPUT/LONG_BINPUT/BINGET memo, GLOBAL, BINUNICODE keys, BINPERSID, fresh size/stride tuples, REDUCE, SETITEMS, per-module \`_metadata\`); ~4.1 bytes per opcode."
    echo "- state_dict_dense.pkl: short names, one shared (2, 2) shape tuple; ~3.6 bytes per opcode (harder than a real checkpoint)."
    echo "- full_walk_big.pkl: state_dict_big.pkl with a non-allowlisted root class (misses the fast path; suspicious)."
    echo "- over_budget.pkl: four full_walk_big.pkl streams concatenated (over the default budget of 32 Mi opcodes)."
    echo
    echo "$TABLE"
    echo
    echo "Process totals (user / sys / wall, all runs of each scanbench call, including reading the file):"
    echo
    echo '```'
    grep '^process' "$LOG" | sed "s#$IN/##g"
    echo '```'
    echo "<!-- pickle-walk:end -->"
} > "$SECTION"

python3 - "$OUT" "$SECTION" <<'EOF'
import sys
out, section = sys.argv[1], open(sys.argv[2]).read().strip() + "\n"
text = open(out).read()
begin, end = "<!-- pickle-walk:begin", "<!-- pickle-walk:end -->"
keep = "<!-- sections below are kept when compare.py rewrites this file -->"
if begin in text and end in text:
    a = text.index(begin)
    b = text.index(end) + len(end)
    text = text[:a] + section.strip() + text[b:]
elif keep in text:
    i = text.index(keep) + len(keep)
    text = text[:i] + "\n\n" + section + text[i:]
else:
    text = text.rstrip() + "\n\n" + keep + "\n\n" + section
open(out, "w").write(text)
EOF
rm -f "$SECTION"
echo "wrote the pickle-walk section of $OUT (raw: $LOG)" >&2
