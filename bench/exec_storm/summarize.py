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
print("| jobs | mode | storm rate (exec/s) | ratio to base | overhead | /bin/true execs received | lost | ringbuf drops | exec→user p50 | p99 | sensor CPU (s) | CPU per exec | peak RSS |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for jobs in sorted({k[1] for k in by}):
    base = med([r["storm"]["rate_per_s"] for r in by.get(("base", jobs), [])])
    for mode in ("base", "sensor", "watch", "alert"):
        rs = by.get((mode, jobs), [])
        if not rs:
            continue
        rate = med([r["storm"]["rate_per_s"] for r in rs])
        ratio = rate / base if base else float("nan")
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
            label = ("spawnguard watch --emit-events /dev/null (shipped rules)" if mode == "watch"
                     else "spawnguard watch, rule on every exec of true, NDJSON alerts")
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
ft = by.get(("full_table", 1), [])
for r in ft:
    s = r["sensor"]
    print(f"\nFull table: {s['table_len']} / {s['table_capacity']} entries after filling 65,536 synthetic processes "
          f"(4 args each, 200 distinct executables) and a 2,000-exec storm: peak RSS {s['peak_rss_kib']/1024:.1f} MiB "
          f"(after start, before the fill: {s['peak_rss_after_start_kib']/1024:.1f} MiB), evictions {s['table_evictions']}, "
          f"exec→user p99 {s['exec_latency_us']['p99']:.0f} µs.")
