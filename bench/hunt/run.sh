#!/usr/bin/env bash
# Benchmark of `spawnguard hunt` with the shipped rules plus every rule of the Elastic Linux
# corpus, on ~1 KB ECS process events generated deterministically by bench/query/gen.py,
# next to a parse-only pass of the same file in the same run (`hunt --parse-only`: every
# record read and parsed into an event, nothing else). One core: `taskset -c 0 … --threads 1`
# (everything inline). Two cores: `taskset -c 0,1 … --threads 2` (a reader thread, two
# screening workers — prefilter, parse, conditions — and the stateful engine on the main
# thread, results handed back in input order). Each pass is timed by wall clock and by CPU
# time (user + sys, from /usr/bin/time): the machine is shared, and CPU time is the figure
# that other processes disturb least. Writes bench/results/hunt.md, notes included.
#
# Usage: bench/hunt/run.sh [MEGABYTES] (default 300)
# Env:   BENCH_DIR (default /tmp/spawnguard-bench-hunt) holds the data (not committed);
#        CARGO_TARGET_DIR as usual; RUNS (default 5) rounds, each running every pass once,
#        best kept per pass, and the median of each round's own hunt/parse-only ratio (this
#        shared machine has slow phases, minutes long, in which the same run takes up to 40%
#        longer: a round's passes run minutes apart at most, so its ratio is fairer);
#        CORPUS (default ../shared/corpus/detection-rules/rules/linux relative to the repo).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
MB="${1:-300}"
RUNS="${RUNS:-5}"
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

# once CPUS CMD...: "wall cpu" of one run of CMD pinned to CPUS (cpu = user + sys seconds of
# the whole process tree).
once() {
    local cpus="$1"; shift
    /usr/bin/time -f "%e %U %S" -o "$BENCH_DIR/last.time" \
        taskset -c "$cpus" "$@" > /dev/null 2> "$BENCH_DIR/last.err" || [[ $? == 1 ]]
    tail -1 "$BENCH_DIR/last.time" | awk '{print $1, $2 + $3}'
}
# better "W C" "W2 C2": the pair with the smaller wall time.
better() {
    if [[ -z "$1" ]] || (( $(echo "${2% *} < ${1% *}" | bc -l) )); then echo "$2"; else echo "$1"; fi
}

STATE="$BENCH_DIR/state"
RULES=(--rules "$ROOT/rules" --rules "$CORPUS")
EMPTY="$BENCH_DIR/empty.ndjson"
echo '{}' > "$EMPTY"
HUNT1=(bash -c "rm -rf '$STATE'; exec '$BIN' hunt --threads 1 ${RULES[*]} --state '$STATE' --format ndjson '$DATA'")
HUNT2=(bash -c "rm -rf '$STATE'; exec '$BIN' hunt --threads 2 ${RULES[*]} --state '$STATE' --format ndjson '$DATA'")
# Rounds: each runs every pass once, parse-only next to the hunts, so that a slow phase of
# the machine (they last minutes) weighs on both sides of a round's ratio alike. Reported:
# each pass's best round, and the median over rounds of each round's own ratio.
B_LOAD="" B_PARSE="" B_H1="" B_H2="" B_F1="" B_S1="" R1S="" R2S=""
for round in $(seq "$RUNS"); do
    echo "round $round of $RUNS..." >&2
    L=$(once 0 bash -c "rm -rf '$STATE'; exec '$BIN' hunt --threads 1 ${RULES[*]} --state '$STATE' --format ndjson '$EMPTY'")
    P=$(once 0 "$BIN" hunt --parse-only "$DATA")
    H1=$(once 0 "${HUNT1[@]}")
    SUMMARY1=$(grep -E "loaded|events read|alerts [0-9]" "$BENCH_DIR/last.err" | sed 's/^/    /')
    H2=$(once 0,1 "${HUNT2[@]}")
    F1=$(once 0 bash -c "rm -rf '$STATE'; exec '$BIN' hunt --threads 1 --full-parse ${RULES[*]} --state '$STATE' --format ndjson '$DATA'")
    S1=$(once 0 bash -c "rm -rf '$STATE'; exec '$BIN' hunt --threads 1 --rules '$ROOT/rules' --state '$STATE' --format ndjson '$DATA'")
    B_LOAD=$(better "$B_LOAD" "$L"); B_PARSE=$(better "$B_PARSE" "$P")
    B_H1=$(better "$B_H1" "$H1"); B_H2=$(better "$B_H2" "$H2")
    B_F1=$(better "$B_F1" "$F1"); B_S1=$(better "$B_S1" "$S1")
    R1S="$R1S $(echo "scale=2; ${P% *} / ${H1% *}" | bc -l)"
    R2S="$R2S $(echo "scale=2; ${P% *} / ${H2% *}" | bc -l)"
done
read -r W_LOAD C_LOAD <<< "$B_LOAD"
read -r W_PARSE C_PARSE <<< "$B_PARSE"
read -r W_H1 C_H1 <<< "$B_H1"
read -r W_H2 C_H2 <<< "$B_H2"
read -r W_F1 C_F1 <<< "$B_F1"
read -r W_S1 C_S1 <<< "$B_S1"
median() { tr ' ' '\n' <<< "$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
M1=$(median "$R1S")
M2=$(median "$R2S")
LOAD_END=$(cut -d" " -f1-3 /proc/loadavg)

rate() { echo "scale=0; $EVENTS / $1" | bc -l; }
gbs() { echo "scale=4; $BYTES / $1 / 1000000000" | bc -l; }
row() { # name cores wall cpu
    echo "| $1 | $2 | $3 | $4 | $(rate "$3") | $(gbs "$3") | $(rate "$4") |"
}
ratio() { echo "scale=2; $1 / $2" | bc -l; }
R1=$(ratio "$W_PARSE" "$W_H1")   # hunt 1-core throughput as a fraction of parse-only
R2=$(ratio "$W_PARSE" "$W_H2")
RC=$(ratio "$C_PARSE" "$C_H1")
SCALE=$(ratio "$W_H1" "$W_H2")
verdict() { if (( $(echo "$1 >= 1" | bc -l) )); then echo "met"; else echo "**not met**"; fi; }

{
    echo "# spawnguard hunt benchmark"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
    echo "- input: $DATA, $BYTES bytes, $EVENTS events (bench/query/gen.py, seed 1059)"
    echo "- rules: rules/ (shipped) + $CORPUS"
    echo "- $RUNS rounds, each running every pass once (parse-only next to the hunts); each pass's"
    echo "  best wall time (CPU time of that run beside it); \`bench/hunt/run.sh $MB\`"
    echo "- load average at start: $LOAD; at end: $LOAD_END (the machine is shared: wall times of"
    echo "  the 2-core row in particular depend on what else runs)"
    echo
    echo "| pass | cores | wall s | CPU s | events/s (wall) | GB/s (wall) | events per CPU-second |"
    echo "|---|---|---|---|---|---|---|"
    row "parse-only (\`hunt --parse-only\`)" 1 "$W_PARSE" "$C_PARSE"
    row "hunt, shipped + Linux corpus, \`--threads 1\`" 1 "$W_H1" "$C_H1"
    row "hunt, shipped + Linux corpus, \`--threads 2\`" 2 "$W_H2" "$C_H2"
    row "hunt, shipped + Linux corpus, \`--threads 1 --full-parse\` (every line parsed in full: the previous design)" 1 "$W_F1" "$C_F1"
    row "hunt, shipped rules only, \`--threads 1\`" 1 "$W_S1" "$C_S1"
    echo
    echo "Fixed cost included in every hunt row: loading and compiling the rules, opening the"
    echo "state store (hunt on a one-line file, shipped + corpus): ${W_LOAD} s wall, ${C_LOAD} s CPU."
    echo
    echo "Summary of the 1-core corpus run (stderr):"
    echo
    echo '```'
    echo "$SUMMARY1"
    echo '```'
    echo
    echo "## Notes (written by run.sh)"
    echo
    echo "- Target (hunt with shipped + Linux corpus rules at least as fast as parse-only):"
    echo "  1 core $(verdict "$R1") (hunt runs at ${R1}x parse-only throughput by best wall times, ${RC}x by"
    echo "  CPU time; median of the rounds' own ratios ${M1}x:${R1S}); 2 cores $(verdict "$R2") (${R2}x; median"
    echo "  ${M2}x:${R2S}). \`--threads 2\` vs \`--threads 1\`: ${SCALE}x by wall time."
    echo "- What each side does. parse-only: read every record (line splitting, gzip/zstd if any)"
    echo "  and parse it in full with \`spawnguard_event::reader::parse_record\` (serde_json into a"
    echo "  \`serde_json::Value\` with order-preserving maps): the document every alert copies, and"
    echo "  what hunt did for every line before the projection. Both run in the same binary (mimalloc,"
    echo "  the allocator of every batch command). hunt: the same reading, then per line a projected"
    echo "  parse (\`spawnguard_event::Projection\`: one validating pass over the bytes, following a"
    echo "  trie of the fields some rule, join key, history or the ancestry context reads, into flat"
    echo "  leaf values with no maps or keys), one Aho-Corasick scan of the text of the fields that"
    echo "  rules take literals from (an event no requirement accepts goes no further), the candidate"
    echo "  rules as bit sets (category, required field value, anchor literal), each candidate's"
    echo "  literal formula, its conditions over shared memoised leaves (exact-match tests settled per"
    echo "  field by one lookup), the stream context (process ancestry), the stateful part (new-terms"
    echo "  history in redb, sequences, thresholds, suppression), and for alerts only a full parse of"
    echo "  the line and the alert document. \`--full-parse\` skips the projection: every line is"
    echo "  scanned whole and parsed in full."
    echo "- Why hunt does not reach parse-only on one core: 84 % of the generated lines are Linux"
    echo "  process exec events, which the corpus rules read most of (process, parent, user, host,"
    echo "  event), and each meets a few hundred rules of its category (about 19 candidates after"
    echo "  the indexes, 12 with their literal formula holding). Per event, hunt executes fewer"
    echo "  instructions than parse-only (about 62k against 75k, cachegrind over 12,000 lines; see"
    echo "  bench/hunt/PROFILE.md) but runs them slower: it misses the first-level data cache about"
    echo "  890 times per event against 85 (the rules' data it reads per event: literal formulas,"
    echo "  conditions, matchers, the projection trie, the literal memo, is far larger than the"
    echo "  32 KB cache, and each event reads a different part of it), the instruction cache 676"
    echo "  times against 13 (its per-event code spans every crate), and mispredicts 700 branches"
    echo "  against 600. On top come start-up (about 0.09 s), the alerts' own cost (a full parse of"
    echo "  each emitted alert's record and its document), and memory: hunt touches ~95 MB"
    echo "  (compiled rules, the ancestry context of 32,768 processes, history) against"
    echo "  parse-only's ~12 MB, and memory touched for the first time is expensive on this machine"
    echo "  (0.07-0.4 s of system time per hunt run, varying with the host). With the shipped rules"
    echo "  alone hunt is faster than parse-only."
    echo "- Two cores: a reader thread, two screening workers (prefilter, projection, indexes,"
    echo "  conditions, and what the process-ancestry context needs), and the stateful engine on the"
    echo "  main thread, fed in input order. An event no rule wants is dropped on the worker that"
    echo "  parsed it; an event with hits refers to its batch's bytes (no copy), and one that only"
    echo "  a pending sequence could want crosses without its projected view (projected again by"
    echo "  the engine only if the rule has something pending). The reader and the stateful part"
    echo "  are serial, and four threads share two cores, so the gain is bounded well below 2x."
    echo "- One core: the screen runs in step with the engine, so a sequence's later stages are"
    echo "  evaluated only while the rule has something pending (worker threads, ahead of the"
    echo "  engine, evaluate them all; the engine then drops such hits the same way)."
    echo "- History durability: every alert that depends on new history is printed only after the"
    echo "  commit that makes it durable; for files, such alerts (and those after them, in order)"
    echo "  wait for the periodic commit, at most one second, instead of one fsync each."
} > "$OUT"
cat "$OUT"
