#!/usr/bin/env python3
"""Runs spawnguard, picklescan, fickling and modelscan on the same files; writes markdown.

Called by compare.sh (which sets up the venv and builds spawnguard). Standard library only.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

TIMEOUT = 300


def run(cmd, timeout=TIMEOUT):
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr, time.perf_counter() - t
    except subprocess.TimeoutExpired:
        return None, "timeout", time.perf_counter() - t


class Tool:
    name = ""

    def cmd(self, path):
        raise NotImplementedError

    def verdict(self, rc, out, path):
        raise NotImplementedError

    def scan(self, path, timeout=TIMEOUT):
        rc, out, dt = run(self.cmd(path), timeout)
        if rc is None:
            return "timeout", dt
        return self.verdict(rc, out, path), dt


class Spawnguard(Tool):
    name = "spawnguard"

    def __init__(self, binary):
        self.binary = binary

    def cmd(self, path):
        return [self.binary, "scan", "--format", "json", "--jobs", "1", path]

    def verdict(self, rc, out, path):
        try:
            rep = json.loads(out[out.index("{"):])
        except ValueError:
            return f"error(rc={rc})"
        files = rep["files"]
        if any(f["verdict"] == "dangerous" for f in files):
            return "dangerous"
        if any(f["verdict"] == "suspicious" for f in files):
            return "suspicious"
        if rep["errors"]:
            return "safe+errors"
        return "safe" if any(f["formats"] for f in files) else "not-a-model"


class Picklescan(Tool):
    name = "picklescan"

    def __init__(self, venv):
        self.exe = os.path.join(venv, "bin", "picklescan")

    def cmd(self, path):
        return [self.exe, "-p", path]

    def verdict(self, rc, out, path):
        d = re.search(r"Dangerous globals: (\d+)", out)
        s = re.search(r"Suspicious globals: (\d+)", out)
        n = re.search(r"Scanned files: (\d+)", out)
        if d and int(d.group(1)) > 0:
            return "dangerous"
        if s and int(s.group(1)) > 0:
            return "suspicious"
        if "ERROR" in out or "Traceback" in out:
            return f"error(rc={rc})"
        if n and int(n.group(1)) == 0:
            return "not-scanned"
        return "safe" if rc == 0 else f"rc={rc}"


class Fickling(Tool):
    name = "fickling"

    def __init__(self, venv):
        self.exe = os.path.join(venv, "bin", "fickling")

    def cmd(self, path):
        return [self.exe, "--check-safety", "--json-output", os.devnull, path]

    def verdict(self, rc, out, path):
        if rc == 0:
            return "safe"
        if rc == 1:
            return "dangerous"
        return f"error(rc={rc})"


class Modelscan(Tool):
    name = "modelscan"

    def __init__(self, venv):
        self.exe = os.path.join(venv, "bin", "modelscan")
        self.tmp = tempfile.mkdtemp(prefix="sg-modelscan-")

    def cmd(self, path):
        self.report = os.path.join(self.tmp, "r.json")
        if os.path.exists(self.report):
            os.remove(self.report)
        return [self.exe, "scan", "-p", path, "-r", "json", "-o", self.report]

    def verdict(self, rc, out, path):
        try:
            with open(self.report) as f:
                rep = json.load(f)
        except (OSError, ValueError):
            return f"error(rc={rc})"
        sev = rep.get("summary", {}).get("total_issues_by_severity", {})
        if sev.get("CRITICAL", 0) or sev.get("HIGH", 0):
            return "dangerous"
        if sev.get("MEDIUM", 0) or sev.get("LOW", 0):
            return "suspicious"
        if rep.get("errors"):
            return "error"
        skipped = rep.get("summary", {}).get("skipped", {}).get("total_skipped", 0)
        scanned = rep.get("summary", {}).get("scanned", {}).get("total_scanned", 0)
        if scanned == 0 and skipped:
            return "skipped"
        return "safe"


def detected(expected, got):
    if expected == "dangerous":
        return got == "dangerous"
    return got != "dangerous"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spawnguard", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--scanbench", required=True)
    ap.add_argument("--versions", required=True)
    ap.add_argument("--install-log", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    tools = [Spawnguard(a.spawnguard)]
    missing = []
    for cls in (Picklescan, Fickling, Modelscan):
        t = cls(a.venv)
        exe = t.exe
        rc, out, _ = run([exe, "--help"], 120) if os.path.exists(exe) else (None, "not installed", 0)
        if rc == 0:
            tools.append(t)
        else:
            missing.append((cls.name, (out or "").strip().splitlines()[-1:] or ["?"]))

    manifest = json.load(open(os.path.join(a.corpus, "manifest.json")))["files"]
    rows, totals = [], {t.name: {"time": 0.0, "mal": 0, "mal_hit": 0, "ben": 0, "ben_fp": 0} for t in tools}
    corpus_bytes = 0
    for e in manifest:
        path = os.path.join(a.corpus, e["file"])
        corpus_bytes += os.path.getsize(path)
        row = [os.path.basename(e["file"]), e["expected"]]
        for t in tools:
            got, dt = t.scan(path)
            tt = totals[t.name]
            tt["time"] += dt
            if e["expected"] == "dangerous":
                tt["mal"] += 1
                tt["mal_hit"] += got == "dangerous"
            elif e["expected"] == "safe":
                tt["ben"] += 1
                tt["ben_fp"] += got == "dangerous"
            mark = "" if detected(e["expected"], got) else " ✗"
            row.append(got + mark)
        rows.append(row)
        print(" | ".join(row), file=sys.stderr)

    # whole-directory runs (one process per tool; fickling has no directory mode)
    files_dir = os.path.join(a.corpus, "files")
    dir_runs = {}
    for t in tools:
        if t.name == "fickling":
            dir_runs[t.name] = (totals[t.name]["time"], "one process per file")
            continue
        cmd = t.cmd(files_dir)
        if t.name == "spawnguard":
            cmd = [a.spawnguard, "scan", "--format", "json", "--jobs", "1", files_dir]
        rc, out, dt = run(cmd)
        dir_runs[t.name] = (dt, "one process, whole directory")

    # large inputs
    big = ["state_dict_big.pkl", "binbytes_big.pkl", "checkpoint_500mb.pt"]
    big_rows = []
    for name in big:
        path = os.path.join(a.inputs, name)
        size = os.path.getsize(path)
        row = [name, f"{size / 1e6:.1f}"]
        for t in tools:
            got, dt = t.scan(path)
            rate = f"{size / 1e6 / dt:.1f} MB/s" if got != "timeout" else f"> {TIMEOUT} s"
            row.append(f"{dt:.2f} s, {rate} ({got})")
        big_rows.append(row)
        print(" | ".join(row), file=sys.stderr)

    bench = subprocess.run([a.scanbench, os.path.join(a.inputs, "state_dict_big.pkl"),
                            os.path.join(a.inputs, "binbytes_big.pkl")], capture_output=True, text=True).stdout
    bench += "\n" + subprocess.run([a.scanbench, "--mmap", os.path.join(a.inputs, "checkpoint_500mb.pt")],
                                   capture_output=True, text=True).stdout

    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    marker = "<!-- sections below are kept when compare.py rewrites this file -->"
    kept = ""
    if os.path.exists(a.out):
        old = open(a.out).read()
        if marker in old:
            kept = old[old.index(marker):]
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"]
    with open(a.out, "w") as f:
        w = lambda s="": f.write(s + "\n")  # noqa: E731
        w("# spawnguard scan: benchmark and comparison")
        w()
        w(f"Recorded by `bench/scan/compare.sh` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
        w(f"Machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}; load average at the end of the run: {' '.join(load)} "
          "(the machine is shared with other builds, so wall times are noisy; CPU times are given where measured).")
        w()
        w("Tool versions:")
        w()
        w("```")
        w(open(a.versions).read().strip())
        w("```")
        for name, err in missing:
            w(f"- **{name} could not run**: {' '.join(err)} (install log: see below)")
        w()
        w("## Detection on the generated corpus")
        w()
        w(f"Corpus: `crates/scan/corpus` ({len(manifest)} files, {corpus_bytes / 1e3:.0f} kB), made by `generate.py`. "
          "A malicious file counts as detected only when the tool says dangerous/unsafe; a benign file is a false "
          "positive when the tool says dangerous. ✗ marks a miss or a false positive.")
        w()
        w("| tool | malicious flagged dangerous | benign flagged dangerous | total time, one process per file |")
        w("|---|---:|---:|---:|")
        for t in tools:
            tt = totals[t.name]
            w(f"| {t.name} | {tt['mal_hit']}/{tt['mal']} | {tt['ben_fp']}/{tt['ben']} | {tt['time']:.2f} s |")
        w()
        w("| file | expected | " + " | ".join(t.name for t in tools) + " |")
        w("|---|---|" + "---|" * len(tools))
        for r in rows:
            w("| " + " | ".join(r) + " |")
        w()
        w("## Throughput")
        w()
        w(f"Whole corpus ({len(manifest)} files, {corpus_bytes / 1e6:.2f} MB); dominated by process start-up for the Python tools.")
        w()
        w("| tool | how | wall time | files/s | MB/s |")
        w("|---|---|---:|---:|---:|")
        for t in tools:
            dt, how = dir_runs[t.name]
            w(f"| {t.name} | {how} | {dt:.2f} s | {len(manifest) / dt:.0f} | {corpus_bytes / 1e6 / dt:.2f} |")
        w()
        w("Large inputs made by `bench/scan/make_inputs.py` (not committed): a torch `data.pkl` of a Llama-shaped "
          "state_dict with 300,000 tensors, a protocol-4 pickle with one 256 MiB bytes payload, and a 500 MB PyTorch zip checkpoint. "
          "Each cell: wall time of one CLI run (process start included), throughput, and the tool's verdict.")
        w()
        w("| file | MB | " + " | ".join(t.name for t in tools) + " |")
        w("|---|---:|" + "---|" * len(tools))
        for r in big_rows:
            w("| " + " | ".join(r) + " |")
        w()
        w("### In-process, one core (`cargo run --release -p spawnguard-scan --example scanbench`)")
        w()
        w(bench.strip())
        w()
        w("## pip install log (tail)")
        w()
        w("```")
        w("\n".join(open(a.install_log).read().strip().splitlines()[-15:]))
        w("```")
        w()
        w(kept.strip() if kept else marker)


if __name__ == "__main__":
    main()
