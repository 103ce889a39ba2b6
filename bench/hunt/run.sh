#!/usr/bin/env bash
# Benchmark of `spawnguard hunt` with the shipped rules plus every rule of the Elastic Linux
# corpus, on ~1 KB ECS process events generated deterministically by bench/query/gen.py,
# next to a parse-only pass of the same file in the same run (`hunt --parse-only`: every
# record read and parsed into an event, nothing else). One core: `taskset -c 0 … --threads 1`
# (everything inline). Two cores: `taskset -c 0,1 … --threads 2` (a reader thread, two
# screening workers — prefilter, parse, conditions — and the stateful engine on the main
# thread, results handed back in input order). Writes bench/results/hunt.md.
#
# Usage: bench/hunt/run.sh [MEGABYTES] (default 300)
# Env:   BENCH_DIR (default /tmp/spawnguard-bench-hunt) holds the data (not committed);
#        CARGO_TARGET_DIR as usual; RUNS (default 3) repetitions, best kept;
#        CORPUS (default ../shared/corpus/detection-rules/rules/linux relative to the repo).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
MB="${1:-300}"
RUNS="${RUNS:-3}"
BENCH_DIR="${BENCH_DIR:-/tmp/spawnguard-bench-hunt}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
CORPUS="${CORPUS:-$ROOT/../shared/corpus/detection-rules/rules/linux}"
DATA="$BENCH_DIR/events-${MB}mb.ndjson"
OUT="$ROOT/bench/results/hunt.md"
mkdir -p "$BENCH_DIR" "$ROOT/bench/results"

if [[ ! -s "$DATA" ]]; then
    echo "generating $DATA ($MB MB)..." >&2
    python3 "$ROOT/bench/query/gen.py" "$DATA.tmp" "$MB" 1059
    mv "$DATA.tmp" "$DATA"
fi

echo "building release..." >&2
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p spawnguard-cli)
BIN="$TARGET/release/spawnguard"
BYTES=$(stat -L -c %s "$DATA")
EVENTS=$(wc -l < "$DATA")
cat "$DATA" > /dev/null # warm the page cache
LOAD=$(cut -d" " -f1-3 /proc/loadavg)

# best CPUS CMD...: best wall time (s) of RUNS runs of CMD pinned to CPUS.
best() {
    local cpus="$1"; shift
    local best=""
    for _ in $(seq "$RUNS"); do
        local s e t
        s=$(date +%s.%N)
        taskset -c "$cpus" "$@" > /dev/null 2> "$BENCH_DIR/last.err" || [[ $? == 1 ]]
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc -l)
        if [[ -z "$best" ]] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
    done
    echo "$best"
}

STATE="$BENCH_DIR/state"
RULES=(--rules "$ROOT/rules" --rules "$CORPUS")
T_PARSE=$(best 0 "$BIN" hunt --parse-only "$DATA")
T_H1=$(best 0 bash -c "rm -rf '$STATE'; exec '$BIN' hunt --threads 1 ${RULES[*]} --state '$STATE' --format ndjson '$DATA'")
SUMMARY1=$(grep -E "loaded|events read|alerts [0-9]" "$BENCH_DIR/last.err" | sed 's/^/    /')
T_H2=$(best 0,1 bash -c "rm -rf '$STATE'; exec '$BIN' hunt --threads 2 ${RULES[*]} --state '$STATE' --format ndjson '$DATA'")
T_S1=$(best 0 bash -c "rm -rf '$STATE'; exec '$BIN' hunt --threads 1 --rules '$ROOT/rules' --state '$STATE' --format ndjson '$DATA'")

rate() { echo "scale=0; $EVENTS / $1" | bc -l; }
gbs() { echo "scale=4; $BYTES / $1 / 1000000000" | bc -l; }

{
    echo "# spawnguard hunt benchmark"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
    echo "- input: $DATA, $BYTES bytes, $EVENTS events (bench/query/gen.py, seed 1059)"
    echo "- rules: rules/ (shipped) + $CORPUS"
    echo "- best of $RUNS runs each; \`bench/hunt/run.sh $MB\`; load average at start: $LOAD"
    echo
    echo "| pass | cores | seconds | events/s | GB/s |"
    echo "|---|---|---|---|---|"
    echo "| parse-only (\`hunt --parse-only\`) | 1 | $T_PARSE | $(rate "$T_PARSE") | $(gbs "$T_PARSE") |"
    echo "| hunt, shipped + Linux corpus, \`--threads 1\` | 1 | $T_H1 | $(rate "$T_H1") | $(gbs "$T_H1") |"
    echo "| hunt, shipped + Linux corpus, \`--threads 2\` | 2 | $T_H2 | $(rate "$T_H2") | $(gbs "$T_H2") |"
    echo "| hunt, shipped rules only, \`--threads 1\` | 1 | $T_S1 | $(rate "$T_S1") | $(gbs "$T_S1") |"
    echo
    echo "Summary of the 1-core corpus run (stderr):"
    echo
    echo '```'
    echo "$SUMMARY1"
    echo '```'
} > "$OUT"
cat "$OUT"
