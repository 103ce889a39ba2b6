#!/usr/bin/env python3
"""Deterministic generator of ~1 KB ECS process events (NDJSON) for the query benchmark.

Usage: gen.py OUT.ndjson MEGABYTES [SEED]

Events are varied: ~60 hosts (mostly Linux, a few Windows/macOS), common Linux processes
with realistic parents, arguments and hashes. About 3% of events involve Python in some
way (python running scripts, pip, python spawning tools), and about 0.1% are a Python
process spawning an interactive shell (pty.spawn, or `sh` with no arguments): what the
benchmark query looks for.
"""
import json
import random
import sys
from datetime import datetime, timedelta, timezone

out_path, megabytes = sys.argv[1], float(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1059)
target = int(megabytes * 1_000_000)

HOSTS = [(f"web-{i:02d}", "linux", "ubuntu", "22.04") for i in range(20)]
HOSTS += [(f"db-{i:02d}", "linux", "rhel", "9.3") for i in range(15)]
HOSTS += [(f"ci-runner-{i:02d}", "linux", "debian", "12") for i in range(15)]
HOSTS += [(f"ws-{i:02d}", "windows", "windows", "10.0") for i in range(6)]
HOSTS += [(f"mac-{i:02d}", "macos", "macos", "14.4") for i in range(4)]
USERS = ["root", "www-data", "postgres", "deploy", "alice", "bob", "ci", "nobody"]

# (name, executable, argument sets)
COMMON = [
    ("ls", "/usr/bin/ls", [["ls", "-la"], ["ls", "/var/log"], ["ls"]]),
    ("cat", "/usr/bin/cat", [["cat", "/etc/hosts"], ["cat", "/proc/cpuinfo"]]),
    ("grep", "/usr/bin/grep", [["grep", "-r", "error", "/var/log/app"], ["grep", "-i", "timeout", "app.log"]]),
    ("curl", "/usr/bin/curl", [["curl", "-s", "https://api.internal.example.com/health"], ["curl", "-fsSL", "https://get.example.org/install"]]),
    ("systemctl", "/usr/bin/systemctl", [["systemctl", "status", "nginx"], ["systemctl", "restart", "app.service"]]),
    ("git", "/usr/bin/git", [["git", "fetch", "--all"], ["git", "status", "--porcelain"], ["git", "rev-parse", "HEAD"]]),
    ("node", "/usr/local/bin/node", [["node", "/srv/app/server.js"], ["node", "--max-old-space-size=4096", "build.js"]]),
    ("java", "/usr/lib/jvm/java-17/bin/java", [["java", "-Xmx2g", "-jar", "/opt/svc/service.jar"]]),
    ("postgres", "/usr/lib/postgresql/15/bin/postgres", [["postgres", "-D", "/var/lib/postgresql/15/main"]]),
    ("nginx", "/usr/sbin/nginx", [["nginx", "-g", "daemon off;"]]),
    ("ps", "/usr/bin/ps", [["ps", "aux"], ["ps", "-ef"]]),
    ("tar", "/usr/bin/tar", [["tar", "-czf", "/backup/db.tar.gz", "/var/lib/db"]]),
    ("sshd", "/usr/sbin/sshd", [["sshd", "-D"], ["sshd:", "alice", "[priv]"]]),
    ("cron", "/usr/sbin/cron", [["/usr/sbin/CRON", "-f"]]),
    ("awk", "/usr/bin/awk", [["awk", "{print $1}", "access.log"]]),
    ("sed", "/usr/bin/sed", [["sed", "-i", "s/foo/bar/g", "config.yml"]]),
    ("docker", "/usr/bin/docker", [["docker", "ps"], ["docker", "run", "--rm", "alpine:3.19", "true"]]),
    ("kubectl", "/usr/local/bin/kubectl", [["kubectl", "get", "pods", "-A"]]),
]
SHELLS = ["bash", "sh", "dash", "zsh"]
PARENTS = [("systemd", "/usr/lib/systemd/systemd", ["/sbin/init"]),
           ("bash", "/usr/bin/bash", ["-bash"]),
           ("sshd", "/usr/sbin/sshd", ["sshd:", "alice@pts/0"]),
           ("cron", "/usr/sbin/cron", ["/usr/sbin/CRON", "-f"]),
           ("containerd-shim", "/usr/bin/containerd-shim-runc-v2", ["containerd-shim-runc-v2", "-namespace", "moby"]),
           ("node", "/usr/local/bin/node", ["node", "/srv/app/server.js"])]
PY_SCRIPTS = ["/opt/tools/report.py", "manage.py", "/srv/etl/run_job.py", "-m", "/usr/bin/ansible-playbook"]


def hexid(n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def entity():
    return hexid(8) + "-" + hexid(4) + "-" + hexid(12)


def doc(ts, host, proc, parent, user):
    hname, ostype, osname, osver = host
    name, exe, args = proc
    pname, pexe, pargs = parent
    return {
        "@timestamp": ts.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "agent": {"type": "endpoint", "version": "8.13.2", "id": "a" + hexid(15)},
        "ecs": {"version": "8.11.0"},
        "data_stream": {"dataset": "endpoint.events.process", "namespace": "default", "type": "logs"},
        "event": {
            "category": ["process"],
            "type": ["start"],
            "action": rng.choice(["exec", "exec", "fork"]) if ostype == "linux" else "start",
            "kind": "event",
            "module": "endpoint",
            "dataset": "endpoint.events.process",
            "id": hexid(20),
        },
        "host": {
            "name": hname,
            "hostname": hname,
            "id": hexid(32),
            "architecture": "x86_64",
            "ip": [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"],
            "os": {"type": ostype, "family": osname, "name": osname.capitalize(), "version": osver,
                   "kernel": "6.1.0-18-amd64" if ostype == "linux" else osver},
        },
        "user": {"name": user, "id": str(USERS.index(user) * 1000)},
        "process": {
            "pid": rng.randrange(300, 4_000_000),
            "entity_id": entity(),
            "name": name,
            "executable": exe,
            "args": args,
            "args_count": len(args),
            "command_line": " ".join(args),
            "working_directory": rng.choice(["/", "/root", "/srv/app", "/home/alice", "/tmp"]),
            "hash": {"sha256": hexid(64)},
            "parent": {
                "pid": rng.randrange(1, 4_000_000),
                "entity_id": entity(),
                "name": pname,
                "executable": pexe,
                "args": pargs,
                "args_count": len(pargs),
                "command_line": " ".join(pargs),
            },
        },
    }


def python_proc(ver):
    exe = f"/usr/bin/python{ver}"
    args = [f"python{ver}", rng.choice(PY_SCRIPTS)]
    if args[1] == "-m":
        args.append(rng.choice(["pip", "http.server", "venv"]))
    return (f"python{ver}", exe, args)


def event(ts):
    host = rng.choice(HOSTS)
    user = rng.choice(USERS)
    r = rng.random()
    if r < 0.001:
        # Python spawning an interactive shell: the benchmark query's target.
        ver = rng.choice(["3", "3.11", ""])
        sh = rng.choice(SHELLS)
        if rng.random() < 0.5:
            parent = (f"python{ver}", f"/usr/bin/python{ver}",
                      [f"python{ver}", "-c", f"import pty; pty.spawn('/bin/{sh}')"])
            proc = (sh, f"/bin/{sh}", [f"/bin/{sh}"])
        else:
            parent = (f"python{ver}", f"/usr/bin/python{ver}", [f"python{ver}"])
            proc = (sh, f"/bin/{sh}", [sh])
        return doc(ts, (host[0], "linux", host[2], host[3]), proc, parent, user)
    if r < 0.015:
        # Python running a script (not a shell).
        return doc(ts, host, python_proc(rng.choice(["3", "3.11"])), rng.choice(PARENTS), user)
    if r < 0.03:
        # Python spawning an ordinary tool, or a shell running a command (not interactive).
        ver = rng.choice(["3", "3.11"])
        if rng.random() < 0.5:
            c = rng.choice(COMMON)
            proc = (c[0], c[1], rng.choice(c[2]))
        else:
            sh = rng.choice(SHELLS)
            proc = (sh, f"/bin/{sh}", [sh, "-c", "ls -la /tmp"])
        return doc(ts, host, proc, python_proc(ver), user)
    if r < 0.25:
        sh = rng.choice(SHELLS)
        c = rng.choice(COMMON)
        proc = (sh, f"/usr/bin/{sh}", [sh, "-c", " ".join(rng.choice(c[2]))])
        return doc(ts, host, proc, rng.choice(PARENTS), user)
    c = rng.choice(COMMON)
    return doc(ts, host, (c[0], c[1], rng.choice(c[2])), rng.choice(PARENTS), user)


ts = datetime(2026, 11, 1, tzinfo=timezone.utc)
written = 0
n = 0
with open(out_path, "w") as f:
    while written < target:
        ts += timedelta(microseconds=rng.randrange(1, 20_000))
        line = json.dumps(event(ts), separators=(",", ":")) + "\n"
        f.write(line)
        written += len(line)
        n += 1
print(f"{n} events, {written} bytes, {written / n:.0f} bytes/event", file=sys.stderr)
