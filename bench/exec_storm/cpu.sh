#!/usr/bin/env bash
# Sensor CPU per exec in a 2-job exec storm (issue 4's overhead target), far less disturbed by
# other load than the storm's rate. Run as root from anywhere:
#
#   bench/exec_storm/cpu.sh                      # N=20000, JOBS=2, ROUNDS=3, every mode
#   MODES="plain sensor" ROUNDS=5 bench/exec_storm/cpu.sh
#
# Modes: plain (watch as deployed: shipped rules), nogate (the same, building every exec event:
# --no-exec-gate), sensor (the library, exec_storm sensor: exec
# events only, as its consumer needs), sensor_all (the library building fork and exit events too),
# emit (watch --emit-events /dev/null), alert (watch with a rule firing on every exec of true).
# Per run it records the sensor process's user and system CPU during the storm, divided by the
# storm's execs, and the kernel side's cost: the run time of the eBPF programs
# (kernel.bpf_stats_enabled) per exec. Prints a Markdown table and appends JSON records to $OUT
# (default bench/exec_storm/out/cpu.jsonl).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
N="${N:-20000}"
JOBS="${JOBS:-2}"
ROUNDS="${ROUNDS:-3}"
MODES="${MODES:-plain sensor sensor_all emit alert}"
# POLL_US: the sensor's poll interval while records flow, in µs (default: the sensor's default).
POLL_US="${POLL_US:-}"
wflags=(); sflags=()
if [ -n "$POLL_US" ]; then wflags=(--poll-interval "$(awk "BEGIN{print $POLL_US/1000}")ms"); sflags=(--poll-interval-us "$POLL_US"); fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
OUT="${OUT:-$here/out/cpu.jsonl}"
mkdir -p "$(dirname "$OUT")"
[ "$(id -u)" = 0 ] || { echo "cpu.sh: needs root (eBPF)" >&2; exit 1; }
(cd "$root" && cargo build --release -q -p spawnguard-sensor --example exec_storm && cargo build --release -q -p spawnguard-cli)
EX="$CARGO_TARGET_DIR/release/examples/exec_storm"
SG="$CARGO_TARGET_DIR/release/spawnguard"
tmp="$(mktemp -d)"
old_stats="$(sysctl -n kernel.bpf_stats_enabled)"
trap 'rm -rf "$tmp"; sysctl -q -w kernel.bpf_stats_enabled="$old_stats"' EXIT
sysctl -q -w kernel.bpf_stats_enabled=1
mkdir -p "$tmp/rules"
sed -n "/^cat > \"\$outdir\/rules\/bench_every_true_exec.toml\" <<'RULE'$/,/^RULE$/p" "$here/run.sh" | sed '1d;$d' > "$tmp/rules/bench_every_true_exec.toml"

# CPU seconds (user system) of a pid, from /proc/PID/stat.
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{print $14/t, $15/t}' "/proc/$1/stat"; }
# Total run time (ns) and runs of the sg_* programs.
bpf_ns() { bpftool prog show -j | python3 -c 'import json,sys; p=[x for x in json.load(sys.stdin) if x.get("name","").startswith("sg_")]; print(sum(x.get("run_time_ns",0) for x in p), sum(x.get("run_cnt",0) for x in p))'; }

start_sensor() { # mode -> pid in $spid
  rm -rf "$tmp/state" "$tmp/err" "$tmp/ready"
  case "$1" in
    plain) "$SG" watch "${wflags[@]}" --state "$tmp/state" --output /dev/null --stats-interval 0 2> "$tmp/err" & spid=$! ;;
    nogate) "$SG" watch "${wflags[@]}" --no-exec-gate --state "$tmp/state" --output /dev/null --stats-interval 0 2> "$tmp/err" & spid=$! ;;
    emit)  "$SG" watch "${wflags[@]}" --emit-events /dev/null --state "$tmp/state" --output /dev/null --stats-interval 0 2> "$tmp/err" & spid=$! ;;
    alert) "$SG" watch "${wflags[@]}" --rules "$tmp/rules" --state "$tmp/state" --format ndjson --output /dev/null --max-alerts-per-minute 0 --stats-interval 0 2> "$tmp/err" & spid=$! ;;
    sensor) "$EX" sensor "${sflags[@]}" --ready "$tmp/ready" --report /dev/null & spid=$! ;;
    sensor_all) "$EX" sensor --all-events "${sflags[@]}" --ready "$tmp/ready" --report /dev/null & spid=$! ;;
  esac
  for _ in $(seq 1 600); do
    if [ "${1#sensor}" != "$1" ]; then [ -s "$tmp/ready" ] && return 0; else grep -q "watch: ready" "$tmp/err" 2>/dev/null && return 0; fi
    sleep 0.05
  done
  echo "sensor ($1) did not start" >&2; cat "$tmp/err" >&2 || true; exit 1
}

for round in $(seq 1 "$ROUNDS"); do
  for m in $MODES; do
    start_sensor "$m"
    sleep 0.3
    read -r u0 s0 < <(cpu_of "$spid"); read -r b0 c0 < <(bpf_ns)
    r=$("$EX" storm --count "$N" --jobs "$JOBS")
    sleep 0.3
    read -r u1 s1 < <(cpu_of "$spid"); read -r b1 c1 < <(bpf_ns)
    kill -TERM "$spid"; wait "$spid" || true
    echo "{\"mode\":\"$m\",\"poll_us\":\"${POLL_US:-default}\",\"round\":$round,\"n\":$N,\"jobs\":$JOBS,\"user_s\":$(awk "BEGIN{print $u1 - $u0}"),\"sys_s\":$(awk "BEGIN{print $s1 - $s0}"),\"bpf_ns\":$((b1 - b0)),\"bpf_runs\":$((c1 - c0)),\"storm\":$r,\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" | tee -a "$OUT"
  done
done
python3 - "$OUT" "$N" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
print("| mode | poll (µs) | runs | user+sys CPU per exec (best, median) | of which sys | eBPF per exec (median) | storm rate (median) | load avg |")
print("|---|---|---|---|---|---|---|---|")
polls = sorted({r.get("poll_us", "default") for r in rows})
for m, poll in [(m, p) for m in ["plain", "nogate", "sensor", "sensor_all", "emit", "alert"] for p in polls]:
    rs = [r for r in rows if r["mode"] == m and r.get("poll_us", "default") == poll]
    if not rs: continue
    per = sorted((r["user_s"] + r["sys_s"]) / r["storm"]["count"] * 1e6 for r in rs)
    sysv = sorted(r["sys_s"] / r["storm"]["count"] * 1e6 for r in rs)
    bpf = sorted(r["bpf_ns"] / r["storm"]["count"] / 1e3 for r in rs)
    rate = sorted(r["storm"]["rate_per_s"] for r in rs)
    md = lambda v: v[len(v) // 2]
    print(f"| {m} | {poll} | {len(rs)} | {per[0]:.1f} µs, {md(per):.1f} µs | {md(sysv):.1f} µs | {md(bpf):.1f} µs | {md(rate):.0f}/s | {rs[-1]['loadavg']} |")
PY
