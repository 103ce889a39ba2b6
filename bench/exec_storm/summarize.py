#!/usr/bin/env python3
"""Summarises bench/exec_storm/run.sh results (JSON lines) as Markdown on stdout."""
import json, statistics, sys, platform, datetime, os

def records(text):
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)

rows = records(open(sys.argv[1]).read())
by = {}
for r in rows:
    by.setdefault((r["mode"], r["storm"]["jobs"]), []).append(r)

def med(xs):
    return statistics.median(xs) if xs else float("nan")

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  ")
print(f"Machine: {os.cpu_count()} vCPU {cpu}, kernel {platform.release()}  ")
n = rows[0]["storm"]["count"] if rows else 0
print(f"Storm: {n} fork+exec+wait of /bin/true per run; median of {max(r['round'] for r in rows)} rounds\n")
if any(k[0] in ("base", "plain", "sensor", "watch", "alert") for k in by):
    print("| jobs | mode | storm rate (exec/s) | ratio to base (per round, median) | overhead | /bin/true execs received | lost | ringbuf drops | exec→user p50 | p99 | sensor CPU (s) | CPU per exec | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for jobs in sorted({k[1] for k in by}):
    base = med([r["storm"]["rate_per_s"] for r in by.get(("base", jobs), [])])
    base_by_round = {r["round"]: r["storm"]["rate_per_s"] for r in by.get(("base", jobs), [])}
    for mode in ("base", "plain", "sensor", "watch", "alert"):
        rs = by.get((mode, jobs), [])
        if not rs:
            continue
        rate = med([r["storm"]["rate_per_s"] for r in rs])
        # Each run against the no-sensor run of its own round (drift between rounds cancels),
        # median over rounds.
        paired = [r["storm"]["rate_per_s"] / base_by_round[r["round"]] for r in rs
                  if base_by_round.get(r["round"])]
        ratio = med(paired) if paired else (rate / base if base else float("nan"))
        if mode == "base":
            print(f"| {jobs} | no sensor | {rate:.0f} | 1.000 | - | - | - | - | - | - | - | - | - |")
            continue
        if mode == "sensor":
            s = [r["sensor"] for r in rs]
            recv = [x["true_execs"] for x in s]
            lost = [r["storm"]["count"] - x["true_execs"] for r, x in zip(rs, s)]
            drops = [x["ringbuf_drops"] for x in s]
            p50 = med([x["exec_latency_us"]["p50"] for x in s])
            p99 = med([x["exec_latency_us"]["p99"] for x in s])
            cpu_s = med([x["cpu_user_s"] + x["cpu_system_s"] for x in s])
            rss = max(x["peak_rss_kib"] for x in s)
            label = "sensor (library)"
        else:
            s = [r["watch"] for r in rs]
            recv = [x["execs"] for x in s]
            lost = ["≥0"]
            drops = [x["ringbuf_drops"] for x in s]
            p50 = med([x["latency_us"]["p50"] for x in s])
            p99 = med([x["latency_us"]["p99"] for x in s])
            cpu_s = med([x["cpu_user_s"] + x["cpu_system_s"] for x in s])
            rss = max(x["peak_rss_kib"] for x in s)
            label = {"plain": "spawnguard watch (shipped rules, as deployed)",
                     "watch": "spawnguard watch --emit-events /dev/null (shipped rules)"}.get(
                         mode, "spawnguard watch, rule on every exec of true, NDJSON alerts")
        per = cpu_s / n * 1e6 if n else 0
        lost_txt = ", ".join(str(x) for x in lost)
        recv_txt = ", ".join(str(x) for x in recv)
        print(f"| {jobs} | {label} | {rate:.0f} | {ratio:.3f} | {100*(1-ratio):.1f}% | {recv_txt} | {lost_txt} | {max(drops)} | {p50:.0f} µs | {p99:.0f} µs | {cpu_s:.2f} | {per:.1f} µs | {rss/1024:.1f} MiB |")
alert_rows = [(k[1], r) for k, rs in by.items() if k[0] == "alert" for r in rs]
if alert_rows:
    print("\nExec→alert latency (kernel exec record → alert written; `spawnguard watch` with a rule that fires on "
          "every exec of `true`, no alert cap, NDJSON to /dev/null), one row per run:\n")
    print("| jobs | round | storm execs | alerts | exec→alert p50 | p99 | max | ringbuf drops (events lost) | watch CPU (s) | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for jobs, r in sorted(alert_rows, key=lambda x: (x[0], x[1]["round"])):
        w = r["watch"]
        al = w["alert_latency_us"]
        fmt = lambda v: "-" if v is None else f"{v:.0f} µs"
        print(f"| {jobs} | {r['round']} | {r['storm']['count']} | {w['alerts']} | {fmt(al['p50'])} | {fmt(al['p99'])} | "
              f"{fmt(al.get('max'))} | {w['ringbuf_drops']} | {w['cpu_user_s'] + w['cpu_system_s']:.2f} | "
              f"{w['peak_rss_kib']/1024:.1f} MiB |")
full = [r for r in rows if r["mode"] in ("full_table", "full_watch", "full_alert", "full_worst")]
if full:
    mib = lambda kib: f"{kib/1024:.1f} MiB ({kib*1024/1e6:.1f} MB)"
    fmt = lambda v: "-" if v is None else f"{v:.0f} µs"
    fill = next((r["sensor"].get("table_fill") or r.get("watch", {}).get("table_fill") for r in full
                 if r["mode"] == "full_table"), None) or next((r["watch"].get("table_fill") for r in full
                 if "watch" in r), 0)
    print(f"\nFull table: the process table (capacity 65,536) filled with {fill:,} synthetic processes shaped like real "
          "ones (spawnguard_sensor::synthetic), then a storm on top (jobs 1), one row per run. "
          "\"after start\" is the peak during start-up (the BTF-parsing transient), \"after fill\" the resident set once "
          "the table is full; \"peak\" is VmHWM over the whole run; CPU is the sensor process's user+system time "
          "from the moment the table was full (start-up and the fill excluded).\n")
    print("| mode | round | storm execs | storm rate (exec/s) | table after fill → end | evictions | ringbuf drops | "
          "exec→user p50 | p99 | exec→alert p99 | CPU in the storm (s) | RSS after start (peak) | RSS after fill | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    labels = {"full_table": "sensor (library)", "full_watch": "spawnguard watch (shipped rules, --emit-events)",
              "full_alert": "spawnguard watch (rule on every exec of true)",
              "full_worst": "spawnguard watch (shipped rules, every entry 1 KiB of its own argv)"}
    for r in sorted(full, key=lambda r: (r["round"], ["full_table", "full_watch", "full_alert", "full_worst"].index(r["mode"]))):
        st = r["storm"]
        if r["mode"] == "full_table":
            s_ = r["sensor"]
            lat = s_["exec_latency_us"]
            start_peak, after_fill = s_["peak_rss_after_start_kib"], s_.get("peak_rss_after_fill_kib")
            alert = None
            table = f"{s_.get('table_len_after_fill', '?')} → {s_['table_len']}"
            cpu_s = s_["cpu_user_s"] + s_["cpu_system_s"]
        else:
            s_ = r["watch"]
            lat = s_["latency_us"]
            m = s_.get("memory", {})
            start_peak = m.get("after_sensor_start", {}).get("peak_rss_kib", 0)
            after_fill = m.get("after_table_fill", {}).get("rss_kib")
            alert = s_["alert_latency_us"]["p99"] if r["mode"] == "full_alert" else None
            table = f"{m.get('table_len_after_fill', '?')} → {s_['table_len']}"
            # CPU from the moment the table was full (start-up and the fill excluded).
            cpu_s = s_["cpu_user_s"] + s_["cpu_system_s"] - m.get("after_table_fill", {}).get("cpu_s", 0)
        print(f"| {labels[r['mode']]} | {r['round']} | {st['count']} | {st['rate_per_s']:.0f} | {table} | "
              f"{s_['table_evictions']} | {s_['ringbuf_drops']} | {fmt(lat['p50'])} | {fmt(lat['p99'])} | {fmt(alert)} | "
              f"{cpu_s:.2f} | {mib(start_peak)} | {mib(after_fill) if after_fill else '-'} | **{mib(s_['peak_rss_kib'])}** |")
    watch_peaks = [r["watch"]["peak_rss_kib"] for r in full if r["mode"] != "full_table"]
    if watch_peaks:
        worst = max(watch_peaks)
        print(f"\nHighest `watch` peak with the full table: {mib(worst)}; target 64 MB = 61.0 MiB: "
              f"{'met' if worst * 1024 <= 64e6 else 'NOT met'}, margin {(64e6 - worst*1024)/1e6:.1f} MB.")
