#!/usr/bin/env bash
# Benchmark of `spawnguard query` on ~1 KB ECS process events, next to two baselines on the
# same file in the same run: a parse-only pass (every line parsed with the same JSON parser,
# nothing evaluated) and the Python `eql` package. Everything runs on one core
# (`taskset -c 0`). Writes bench/results/query.md.
#
# Usage: bench/query/run.sh [MEGABYTES] (default 600)
# Env:   BENCH_DIR (default /tmp/spawnguard-bench-query) holds the generated data (not
#        committed); CARGO_TARGET_DIR as usual; RUNS (default 3) repetitions, best kept;
#        PYEQL_MB (default 30) megabytes fed to the Python eql package (it is slow: its
#        throughput is measured on that prefix and the full-file time extrapolated).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
MB="${1:-600}"
RUNS="${RUNS:-3}"
PYEQL_MB="${PYEQL_MB:-30}"
BENCH_DIR="${BENCH_DIR:-/tmp/spawnguard-bench-query}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DATA="$BENCH_DIR/events-${MB}mb.ndjson"
OUT="$ROOT/bench/results/query.md"
mkdir -p "$BENCH_DIR" "$ROOT/bench/results"

QUERY='process where host.os.type == "linux" and event.type == "start" and event.action in ("exec", "exec_event", "start") and process.parent.name : "python*" and process.name in ("bash","dash","sh","tcsh","csh","zsh","ksh","fish") and ((process.parent.args_count >= 3 and process.parent.args : "*pty.spawn*" and process.parent.args : "-c") or (process.args : "*sh" and process.args_count == 1 and process.parent.args_count == 1))'

if [[ ! -s "$DATA" ]]; then
    echo "generating $DATA ($MB MB)..." >&2
    python3 "$ROOT/bench/query/gen.py" "$DATA.tmp" "$MB" 1059
    mv "$DATA.tmp" "$DATA"
fi

echo "building release..." >&2
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p spawnguard-cli)
BIN="$TARGET/release/spawnguard"

BYTES=$(stat -c %s "$DATA")
EVENTS=$(wc -l < "$DATA")
cat "$DATA" > /dev/null # warm the page cache

# best_of CMD...: runs the command RUNS times on core 0 and prints "CPU WALL" seconds of the
# run with the least CPU time (user + sys). The machine may be shared, so throughput is
# computed from CPU time; wall time is reported next to it.
best_of() {
    local best="" wall="" t
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%U %S %e" -o "$BENCH_DIR/last.time" \
            taskset -c 0 "$@" > "$BENCH_DIR/last.out" 2> "$BENCH_DIR/last.err"
        read -r u s e < "$BENCH_DIR/last.time"
        t=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        if [[ -z "$best" ]] || awk -v x="$t" -v y="$best" 'BEGIN { exit !(x < y) }'; then
            best="$t"; wall="$e"
        fi
    done
    echo "$best $wall"
}

rate() { # seconds -> "GB/s events/s"
    awk -v b="$BYTES" -v e="$EVENTS" -v s="$1" 'BEGIN { printf "%.3f %.0f", b / s / 1e9, e / s }'
}

echo "spawnguard query..." >&2
read -r T_QUERY W_QUERY <<< "$(best_of "$BIN" query --size 100000 "$QUERY" "$DATA")"
MATCHES=$(wc -l < "$BENCH_DIR/last.out")
echo "parse-only..." >&2
read -r T_PARSE W_PARSE <<< "$(best_of "$BIN" query --parse-only "any where true" "$DATA")"
PARSED=$(cat "$BENCH_DIR/last.out")
echo "spawnguard query without the byte prefilter..." >&2
read -r T_NOPF W_NOPF <<< "$(best_of "$BIN" query --no-prefilter --size 100000 "$QUERY" "$DATA")"
MATCHES_NOPF=$(wc -l < "$BENCH_DIR/last.out")

PYEQL_STATUS="not run"
PY_LINE=""
VENV="$BENCH_DIR/venv"
if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q eql || true
fi
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import eql" 2>/dev/null; then
    echo "python eql on the first $PYEQL_MB MB..." >&2
    if PY_LINE=$(taskset -c 0 "$VENV/bin/python" "$ROOT/bench/query/pyeql_baseline.py" "$QUERY" "$DATA" $((PYEQL_MB * 1000000)) 2> "$BENCH_DIR/pyeql.err"); then
        PYEQL_STATUS="ran"
    else
        PYEQL_STATUS="failed: $(tail -1 "$BENCH_DIR/pyeql.err")"
    fi
    PYEQL_VERSION=$("$VENV/bin/python" -c "import eql; print(eql.__version__)")
else
    PYEQL_STATUS="could not install the eql package"
    PYEQL_VERSION="-"
fi

read -r G_QUERY E_QUERY <<< "$(rate "$T_QUERY")"
read -r G_PARSE E_PARSE <<< "$(rate "$T_PARSE")"
read -r G_NOPF E_NOPF <<< "$(rate "$T_NOPF")"
RATIO=$(awk -v a="$T_PARSE" -v b="$T_QUERY" 'BEGIN { printf "%.2f", a / b }')
if [[ "$PYEQL_STATUS" == "ran" ]]; then
    PY_BYTES=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['bytes'])" "$PY_LINE")
    PY_SECS=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['seconds'])" "$PY_LINE")
    PY_LINES=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['lines'])" "$PY_LINE")
    PY_MATCHES=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['matches'])" "$PY_LINE")
    G_PY=$(awk -v b="$PY_BYTES" -v s="$PY_SECS" 'BEGIN { printf "%.4f", b / s / 1e9 }')
    E_PY=$(awk -v n="$PY_LINES" -v s="$PY_SECS" 'BEGIN { printf "%.0f", n / s }')
    T_PY=$(awk -v b="$BYTES" -v pb="$PY_BYTES" -v s="$PY_SECS" 'BEGIN { printf "%.1f", s * b / pb }')
    OUR_PREFIX=$(head -n "$PY_LINES" "$DATA" | taskset -c 0 "$BIN" query --size 100000 "$QUERY" - | wc -l)
    PY_ROW="| Python \`eql\` $PYEQL_VERSION (PythonEngine, json.loads per line; $PY_LINES events = first $PYEQL_MB MB, full file extrapolated) | - | ${T_PY} (measured $(printf %.1f "$PY_SECS") s) | $G_PY | $E_PY | $PY_MATCHES on that prefix (spawnguard: $OUR_PREFIX) |"
else
    PY_ROW="| Python \`eql\` | $PYEQL_STATUS | - | - | - | - |"
fi

CPU=$(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }')
if [[ "$(awk -v r="$RATIO" 'BEGIN { print (r >= 1.0) ? "met" : "not met" }')" == "met" ]]; then
    VERDICT="Target met: the query runs at ${RATIO}x the parse-only throughput on one core."
else
    VERDICT="Target NOT met: the query runs at ${RATIO}x the parse-only throughput on one core."
fi

cat > "$OUT" <<MD
# \`spawnguard query\` benchmark

- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)
- Machine: $CPU, $(nproc) cores visible, $(free -g | awk '/Mem:/ { print $2 }') GB RAM, $(uname -sr); every run pinned to core 0 (\`taskset -c 0\`), page cache warm, best of $RUNS.
- Commit: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown) (plus uncommitted work in progress)
- Data: \`bench/query/gen.py $MB MB, seed 1059\`: $EVENTS ECS process events, $BYTES bytes ($(awk -v b="$BYTES" -v e="$EVENTS" 'BEGIN { printf "%.0f", b / e }') bytes/event), about 3% involving Python and 0.1% Python spawning an interactive shell.
- Query: the "Interactive Terminal Spawned via Python" rule's EQL:

\`\`\`eql
$QUERY
\`\`\`

GB/s and events/s are computed from CPU time (user + sys) of the single-threaded process
pinned to core 0; wall time is shown too (the machine is shared with other work, so wall
time can include waiting for the core).

| Run | CPU s | Wall s | GB/s | Events/s | Matches |
|---|---|---|---|---|---|
| \`spawnguard query\` (byte prefilter, then parse and evaluate) | $T_QUERY | $W_QUERY | $G_QUERY | $E_QUERY | $MATCHES |
| parse-only baseline (\`spawnguard query --parse-only\`: serde_json on every line, nothing evaluated) | $T_PARSE | $W_PARSE | $G_PARSE | $E_PARSE | ($PARSED parsed) |
| \`spawnguard query --no-prefilter\` (parse and evaluate every line) | $T_NOPF | $W_NOPF | $G_NOPF | $E_NOPF | $MATCHES_NOPF |
$PY_ROW

$VERDICT

Notes:
- The parse-only pass reads and parses every line with the same reader and JSON parser
  (\`serde_json::Value\`) that \`spawnguard query\` uses, and evaluates nothing. The query
  beats it by not parsing most lines: the byte prefilter first looks for one literal the query
  requires (picked by sampling lines: here \`python\`), then checks the query's whole literal
  formula, and only lines that pass are parsed and evaluated.
- The Python \`eql\` package parses this query (with \`elasticsearch_syntax\`), but does not give
  it Elasticsearch's meaning: it does not apply "any element of an array field matches", and
  ECS's \`event.type\` is an array (\`["start"]\`), so \`event.type == "start"\` is false for every
  event and it finds no matches; its throughput is still that of evaluating the query on
  every event. It is run on a prefix of the file and its time extrapolated to the whole file.

Commands (from the repository root):

\`\`\`sh
bench/query/run.sh $MB
# which runs, each as: taskset -c 0 …
spawnguard query --size 100000 "\$QUERY" $DATA
spawnguard query --parse-only "any where true" $DATA
spawnguard query --no-prefilter --size 100000 "\$QUERY" $DATA
python bench/query/pyeql_baseline.py "\$QUERY" $DATA $((PYEQL_MB * 1000000))
\`\`\`
MD
cat "$OUT"
