#!/usr/bin/env python3
"""Large benchmark inputs for spawnguard scan (written to OUTDIR, never committed).

- state_dict_big.pkl: a torch data.pkl-shaped pickle (protocol 2, persistent storage ids,
  _rebuild_tensor_v2 per tensor, OrderedDict with _metadata) with N tensors.
- binbytes_big.pkl: a protocol 4 pickle holding one large bytes payload (BINBYTES8).
- checkpoint_500mb.pt: a torch zip checkpoint with ~500 MB of tensor storage.

Usage: make_inputs.py OUTDIR [N_TENSORS] [CHECKPOINT_MB]
"""
import os
import pickle
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "crates", "scan", "corpus"))
import generate as g  # noqa: E402  (stand-in modules + torch-shaped pickler)

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 300_000
mb = int(sys.argv[3]) if len(sys.argv) > 3 else 500
os.makedirs(out, exist_ok=True)

layers = [(f"blocks.{i // 4}.{('attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2')[i % 4]}.weight", (2, 2)) for i in range(n)]
sd, storages = g.state_dict(3, layers)
data_pkl = g.torch_data_pkl(sd)
with open(os.path.join(out, "state_dict_big.pkl"), "wb") as f:
    f.write(data_pkl)

with open(os.path.join(out, "binbytes_big.pkl"), "wb") as f:
    f.write(pickle.dumps({"weights": bytes(256 << 20)}, protocol=4))

# 500 MB checkpoint: a small real-shaped state_dict pickle + big storages (1 MiB block repeated)
small_sd, small_st = g.state_dict(5, g.LAYERS)
block = g.lcg_floats(1 << 18, 77)  # 1 MiB
path = os.path.join(out, "checkpoint_500mb.pt")
with zipfile.ZipFile(path, "w") as z:
    def add(name, data):
        zi = zipfile.ZipInfo(name, g.ZIP_DATE)
        z.writestr(zi, data)
    add("archive/data.pkl", g.torch_data_pkl(small_sd))
    add("archive/byteorder", b"little")
    for st in small_st:
        add(f"archive/data/{st.key}", st.data)
    big = zipfile.ZipInfo("archive/data/big", g.ZIP_DATE)
    with z.open(big, "w", force_zip64=True) as w:
        for _ in range(mb):
            w.write(block)
    add("archive/version", b"3\n")
for name in sorted(os.listdir(out)):
    print(name, os.path.getsize(os.path.join(out, name)))
