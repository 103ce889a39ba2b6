#!/usr/bin/env python3
"""Baseline: the Python `eql` package (pip install eql) running one event query over NDJSON.

(Not named eql_*: the package imports every top-level module named eql_* as a plugin.)

Usage: pyeql_baseline.py QUERY FILE [MAX_BYTES]

Every line is parsed with json.loads and handed to eql's PythonEngine, the way the package
evaluates queries locally. The package has no notion of ECS's `event.category` array, so the
event type is taken from its first element. Prints matches, lines, bytes, seconds as JSON.
"""
import json
import sys
import time

import eql

query, path = sys.argv[1], sys.argv[2]
max_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else None

with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
    parsed = eql.parse_query(query)

matches = []
engine = eql.PythonEngine()
engine.add_query(parsed)
engine.add_output_hook(lambda ev: matches.append(ev))

lines = 0
nbytes = 0
start = time.perf_counter()
with open(path, "rb") as f:
    for line in f:
        doc = json.loads(line)
        cat = doc.get("event", {}).get("category")
        if isinstance(cat, list):
            cat = cat[0] if cat else None
        engine.stream_event(eql.Event(cat, doc.get("@timestamp"), doc))
        lines += 1
        nbytes += len(line)
        if max_bytes is not None and nbytes >= max_bytes:
            break
engine.finalize()
elapsed = time.perf_counter() - start
print(json.dumps({"matches": len(matches), "lines": lines, "bytes": nbytes, "seconds": elapsed}))
