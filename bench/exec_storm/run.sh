#!/usr/bin/env bash
# Exec-storm benchmark for `spawnguard watch` (issue 4). Run as root from anywhere:
#
#   bench/exec_storm/run.sh            # N=20000, 3 rounds, jobs 1 and 2
#   N=5000 ROUNDS=1 bench/exec_storm/run.sh
#   PARTS=full ROUNDS=2 bench/exec_storm/run.sh   # only the full-table memory runs
#
# For each round and each job count it times a storm of N fork+exec of /bin/true:
#   base   - no sensor
#   sensor - the sensor library in a bench process (exec_storm sensor): counts /bin/true exec
#            events and their kernel->user-space latency, with a 65,536-entry table; like
#            `watch` with the shipped rules it builds exec events only (fork and exit records
#            still update the table; `exec_storm sensor --all-events` builds them too), and it
#            uses mimalloc as `spawnguard` does
#   plain  - `spawnguard watch` as deployed: shipped rules, alerts to /dev/null, no event copy
#   watch  - the full `spawnguard watch --emit-events /dev/null` (every event built and
#            serialised, forks and exits included), with the shipped rules and a throwaway history
#   alert  - the full `spawnguard watch` with only a rule that fires on every exec of `true`
#            (`process where event.action == "exec" and process.name == "true"`), no alert cap,
#            NDJSON alerts to /dev/null: exec->alert latency (kernel record -> alert written)
# and then (PARTS "full") measures memory with the process table filled with TABLE_FILL (65,536)
# synthetic processes shaped like real ones (spawnguard_sensor::synthetic: realistic argv lengths,
# 200 executables, 50 working directories, a parent tree), then a storm of FULL_N execs on top
# (the table is full: every new process evicts one), jobs 1, FULL_ROUNDS rounds:
#   full_table - the sensor library (exec_storm sensor --table-fill)
#   full_watch - `spawnguard watch --bench-table-fill` with the shipped rules, --emit-events /dev/null
#   full_alert - `spawnguard watch --bench-table-fill` with the rule firing on every exec of true
# `--bench-table-fill N` is a hidden benchmark aid of `watch` (docs/watch.md): the synthetic
# processes go into the table before the "ready" line; their pids are above the kernel's pid limit.
# Results (JSON records) go to $OUT (default bench/exec_storm/out/results.jsonl); summarize.py
# prints the Markdown tables of bench/results/exec_storm.md. bench/exec_storm/cpu.sh measures the
# sensor's CPU per exec and the eBPF programs' run time per exec, less disturbed by other load.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
N="${N:-20000}"
ROUNDS="${ROUNDS:-3}"
JOBS="${JOBS:-1 2}"
PARTS="${PARTS:-storms full}"
TABLE_FILL="${TABLE_FILL:-65536}"
FULL_N="${FULL_N:-$N}"
FULL_ROUNDS="${FULL_ROUNDS:-$ROUNDS}"
# Niceness of the sensor process (0 = as the systemd unit runs it; try -10 to compare).
SENSOR_NICE="${SENSOR_NICE:-0}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
# Raw results (JSON) are kept in the repo next to the summary; scratch files go to a temp dir.
# (PARTS=full alone writes results-full-table.jsonl, so the storms' records are kept.)
if [ "$PARTS" = full ]; then OUT="${OUT:-$here/out/results-full-table.jsonl}"; fi
OUT="${OUT:-$here/out/results.jsonl}"
mkdir -p "$(dirname "$OUT")"
: > "$OUT"
outdir="$(mktemp -d)"
trap 'rm -rf "$outdir"' EXIT
mkdir -p "$outdir/rules"
cat > "$outdir/rules/bench_every_true_exec.toml" <<'RULE'
[metadata]
creation_date = "2026/11/24"
maturity = "development"
updated_date = "2026/11/24"

[rule]
author = ["spawnguard bench"]
description = "Benchmark only: fires on every exec of true (the exec storm), to time exec->alert."
from = "now-9m"
index = ["logs-endpoint.events.process-*"]
language = "eql"
license = "Elastic License v2"
name = "Bench: every exec of true"
risk_score = 21
rule_id = "5e7b0c1e-0000-4000-8000-00000000be01"
severity = "low"
type = "eql"
query = '''
process where event.action == "exec" and process.name == "true"
'''
RULE

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (eBPF)" >&2; exit 1; }
(cd "$root" && cargo build --release -q -p spawnguard-sensor --example exec_storm && cargo build --release -q -p spawnguard-cli)
EX="$CARGO_TARGET_DIR/release/examples/exec_storm"
SG="$CARGO_TARGET_DIR/release/spawnguard"

wait_file() { for _ in $(seq 1 600); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "timeout waiting for $1" >&2; return 1; }

storm() { "$EX" storm --count "$N" --jobs "$1"; }

case " $PARTS " in *" storms "*)
for round in $(seq 1 "$ROUNDS"); do
  for j in $JOBS; do
    # base
    r=$(storm "$j"); echo "{\"mode\":\"base\",\"round\":$round,\"storm\":$r}" >> "$OUT"
    # watch as deployed: shipped rules, alerts to a file, no event copy
    rm -rf "$outdir/state" "$outdir/watch.json" "$outdir/watch.err"
    nice -n "$SENSOR_NICE" "$SG" watch --state "$outdir/state" --output /dev/null --stats-interval 0 --report-json "$outdir/watch.json" 2> "$outdir/watch.err" & wpid=$!
    for _ in $(seq 1 600); do grep -q "watch: ready" "$outdir/watch.err" 2>/dev/null && break; sleep 0.05; done
    r=$(storm "$j")
    sleep 0.5; kill -TERM "$wpid"; wait "$wpid" || true
    echo "{\"mode\":\"plain\",\"round\":$round,\"storm\":$r,\"watch\":$(cat "$outdir/watch.json")}" >> "$OUT"
    # sensor library
    rm -f "$outdir/ready" "$outdir/sensor.json"
    nice -n "$SENSOR_NICE" "$EX" sensor --ready "$outdir/ready" --report "$outdir/sensor.json" & spid=$!
    wait_file "$outdir/ready"
    r=$(storm "$j")
    sleep 0.5; kill -TERM "$spid"; wait "$spid" || true
    echo "{\"mode\":\"sensor\",\"round\":$round,\"storm\":$r,\"sensor\":$(cat "$outdir/sensor.json")}" >> "$OUT"
    # full watch
    rm -f "$outdir/watch.json" "$outdir/watch.err"
    rm -rf "$outdir/state"
    nice -n "$SENSOR_NICE" "$SG" watch --emit-events /dev/null --state "$outdir/state" --output /dev/null --stats-interval 0 --report-json "$outdir/watch.json" 2> "$outdir/watch.err" & wpid=$!
    for _ in $(seq 1 600); do grep -q "watch: ready" "$outdir/watch.err" 2>/dev/null && break; sleep 0.05; done
    r=$(storm "$j")
    sleep 0.5; kill -TERM "$wpid"; wait "$wpid" || true
    echo "{\"mode\":\"watch\",\"round\":$round,\"storm\":$r,\"watch\":$(cat "$outdir/watch.json")}" >> "$OUT"
    # full watch, a rule firing on every storm exec
    rm -rf "$outdir/state" "$outdir/watch.json" "$outdir/watch.err"
    nice -n "$SENSOR_NICE" "$SG" watch --rules "$outdir/rules" --state "$outdir/state" --format ndjson --output /dev/null --max-alerts-per-minute 0 --stats-interval 0 --report-json "$outdir/watch.json" 2> "$outdir/watch.err" & wpid=$!
    for _ in $(seq 1 600); do grep -q "watch: ready" "$outdir/watch.err" 2>/dev/null && break; sleep 0.05; done
    r=$(storm "$j")
    sleep 0.5; kill -TERM "$wpid"; wait "$wpid" || true
    echo "{\"mode\":\"alert\",\"round\":$round,\"storm\":$r,\"watch\":$(cat "$outdir/watch.json")}" >> "$OUT"
    echo "round $round jobs $j done" >&2
  done
done
;; esac

start_watch() { # args: extra watch arguments; sets wpid
  rm -rf "$outdir/state" "$outdir/watch.json" "$outdir/watch.err"
  nice -n "$SENSOR_NICE" "$SG" watch --state "$outdir/state" --output /dev/null --stats-interval 0 --report-json "$outdir/watch.json" "$@" 2> "$outdir/watch.err" & wpid=$!
  for _ in $(seq 1 1200); do grep -q "watch: ready" "$outdir/watch.err" 2>/dev/null && break; sleep 0.05; done
  grep -q "watch: ready" "$outdir/watch.err" || { cat "$outdir/watch.err" >&2; echo "watch did not start" >&2; exit 1; }
}

# Memory with a full table: TABLE_FILL synthetic processes, then a storm on top.
case " $PARTS " in *" full "*)
for round in $(seq 1 "$FULL_ROUNDS"); do
  rm -f "$outdir/ready" "$outdir/sensor.json"
  nice -n "$SENSOR_NICE" "$EX" sensor --table-fill "$TABLE_FILL" --ready "$outdir/ready" --report "$outdir/sensor.json" & spid=$!
  wait_file "$outdir/ready"
  r=$("$EX" storm --count "$FULL_N" --jobs 1)
  sleep 0.5; kill -TERM "$spid"; wait "$spid" || true
  echo "{\"mode\":\"full_table\",\"round\":$round,\"storm\":$r,\"sensor\":$(cat "$outdir/sensor.json")}" >> "$OUT"

  start_watch --bench-table-fill "$TABLE_FILL" --emit-events /dev/null
  r=$("$EX" storm --count "$FULL_N" --jobs 1)
  sleep 0.5; kill -TERM "$wpid"; wait "$wpid" || true
  echo "{\"mode\":\"full_watch\",\"round\":$round,\"storm\":$r,\"watch\":$(cat "$outdir/watch.json")}" >> "$OUT"

  start_watch --bench-table-fill "$TABLE_FILL" --rules "$outdir/rules" --format ndjson --max-alerts-per-minute 0
  r=$("$EX" storm --count "$FULL_N" --jobs 1)
  sleep 0.5; kill -TERM "$wpid"; wait "$wpid" || true
  echo "{\"mode\":\"full_alert\",\"round\":$round,\"storm\":$r,\"watch\":$(cat "$outdir/watch.json")}" >> "$OUT"

  # Worst case for the table's memory: every synthetic process with its own 1 KiB of argv
  # (the table's argv budget then cuts most of them; counted in table_argv_cut).
  start_watch --bench-table-fill "$TABLE_FILL" --bench-worst-argv --emit-events /dev/null
  r=$("$EX" storm --count "$FULL_N" --jobs 1)
  sleep 0.5; kill -TERM "$wpid"; wait "$wpid" || true
  echo "{\"mode\":\"full_worst\",\"round\":$round,\"storm\":$r,\"watch\":$(cat "$outdir/watch.json")}" >> "$OUT"
  echo "full table round $round done" >&2
done
;; esac

python3 "$here/summarize.py" "$OUT"
