#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets into fuzz/corpus/<target>/ (not committed).

Queries come from Elastic's detection rules (every `.toml` under the shared corpus, split by
language) plus a few hand-written ones covering each construct; event seeds are the files in
fuzz/seeds/events plus variants (JSON array, search response) built from them.
"""
import hashlib
import json
import pathlib
import sys
import tomllib

HERE = pathlib.Path(__file__).resolve().parent
RULES = [
    HERE.parent.parent / "shared/corpus/detection-rules/rules",
    HERE.parent / "rules",
]

KQL_EXTRA = [
    'f:a\\:b and not g:("x" or y*) or h:{ i:1 and j < 2 }',
    'n >= 3 and n < 10.5 and s > "m" and d <= 2026-01-01T00:00:00Z',
    'f:\\(x\\) or f:\\u0041 or f:"a\\"b\\\\c" or f:\\and or f:a\\tb',
    'ip:(10.0.0.0/8 or "::1") and f:* and not g:*',
    'NOT a:1 AND (b:2 OR c:(x and not y))',
]
EQL_EXTRA = [
    'process where process.name : ("bash", "sh") and process.parent.name like~ "python*"',
    'sequence by host.id with maxspan=5s [process where true] [network where destination.port == 443] until [process where event.type == "end"]',
    'sample by host.id [process where process.name == "a"] [file where file.path regex~ ".*/x"]',
    'any where cidrMatch(destination.ip, "10.0.0.0/8") and length(process.args) > 2 | head 5',
    'process where startsWith~(process.name, "py") and not process.args : "-c" and ?process.foo == null',
]


def write(target, data):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    counts = {"kql_parse": 0, "eql_parse": 0, "event_reader": 0}
    for root in RULES:
        if not root.is_dir():
            print(f"missing rule directory {root}", file=sys.stderr)
            continue
        for path in sorted(root.rglob("*.toml")):
            try:
                rule = tomllib.loads(path.read_text()).get("rule", {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            target = {"kuery": "kql_parse", "eql": "eql_parse"}.get(rule.get("language"))
            if target and isinstance(rule.get("query"), str):
                write(target, rule["query"].encode())
                counts[target] += 1
    for q in KQL_EXTRA:
        write("kql_parse", q.encode())
        counts["kql_parse"] += 1
    for q in EQL_EXTRA:
        write("eql_parse", q.encode())
        counts["eql_parse"] += 1
    docs = []
    for path in sorted((HERE / "seeds" / "events").glob("*")):
        data = path.read_bytes()
        write("event_reader", data)
        counts["event_reader"] += 1
        for line in data.splitlines():
            try:
                docs.append(json.loads(line))
            except ValueError:
                pass
    if docs:
        write("event_reader", json.dumps(docs).encode())
        write("event_reader", json.dumps(docs, indent=2).encode())
        hits = {"hits": {"hits": [{"_index": "i", "_id": str(i), "_source": d} for i, d in enumerate(docs)]}}
        write("event_reader", json.dumps(hits, indent=2).encode())
        counts["event_reader"] += 3
    print(counts)


if __name__ == "__main__":
    main()
