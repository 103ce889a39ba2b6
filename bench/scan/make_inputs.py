#!/usr/bin/env python3
"""Large benchmark inputs for spawnguard scan (written to OUTDIR, never committed).

- state_dict_big.pkl: a torch data.pkl-shaped pickle with N tensors, written the way
  torch.save writes a real (Llama-style) transformer's state_dict: protocol 2, one persistent
  storage id per tensor, _rebuild_tensor_v2 with fresh size/stride tuples of realistic
  dimensions (BININT2/BININT numbers), and `_metadata` with a {"version": 1} dict per module.
- state_dict_dense.pkl: the same with short names and one (2, 2) shape object shared by every
  tensor (so the size tuple is a memo hit): ~3.6 bytes per opcode instead of ~4.1, a harder
  case for MB/s than a real checkpoint (this was state_dict_big.pkl before 2026-11-24 14:00).
- full_walk_big.pkl: state_dict_big.pkl with its root `collections.OrderedDict` replaced by a
  class that is not allowlisted (`__main__.LlamaModel`, as in a pickled whole model): misses
  the fast path, so the full walker runs on all of it (within the default budget).
- over_budget.pkl: four full_walk_big.pkl streams concatenated (~4 x 15 M opcodes, over the
  default budget of 32 Mi opcodes per file): reported suspicious with a budget error.
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



def llama_state_dict(n_tensors, hidden=4096, inter=11008, vocab=32000):
    """A Llama-shaped state_dict with n_tensors tensors (storages carry no data: only the
    pickle is written). Shapes are lists, so each tensor pickles fresh size and stride tuples,
    as torch does (tuple(self.size()), self.stride()); the benchmark must not get memo hits a
    real checkpoint would not have."""
    per_layer = [
        ("self_attn.q_proj", [hidden, hidden]), ("self_attn.k_proj", [hidden, hidden]),
        ("self_attn.v_proj", [hidden, hidden]), ("self_attn.o_proj", [hidden, hidden]),
        ("mlp.gate_proj", [inter, hidden]), ("mlp.up_proj", [inter, hidden]),
        ("mlp.down_proj", [hidden, inter]), ("input_layernorm", [hidden]),
        ("post_attention_layernorm", [hidden]),
    ]
    sd = g.collections.OrderedDict()
    meta = g.collections.OrderedDict()
    modules = ["", "model", "model.embed_tokens", "model.layers"]
    tensors = [("model.embed_tokens.weight", [vocab, hidden])]
    i = 0
    while len(tensors) < n_tensors - 2:
        modules += [f"model.layers.{i}", f"model.layers.{i}.self_attn", f"model.layers.{i}.mlp"]
        for mod, shape in per_layer:
            modules.append(f"model.layers.{i}.{mod}")
            tensors.append((f"model.layers.{i}.{mod}.weight", shape))
        i += 1
    tensors = tensors[: n_tensors - 2]
    tensors += [("model.norm.weight", [hidden]), ("lm_head.weight", [vocab, hidden])]
    modules += ["model.norm", "lm_head"]
    for key, (name, shape) in enumerate(tensors):
        numel = 1
        for d in shape:
            numel *= d
        sd[name] = g.Tensor(g.Storage(str(key), numel, b""), list(shape))
    for m in modules:
        meta[m] = {"version": 1}
    sd._metadata = meta
    return sd


data_pkl = g.torch_data_pkl(llama_state_dict(n))
root = b"ccollections\nOrderedDict\n"
assert data_pkl[2:2 + len(root)] == root
full_walk = data_pkl[:2] + b"c__main__\nLlamaModel\n" + data_pkl[2 + len(root):]
with open(os.path.join(out, "full_walk_big.pkl"), "wb") as f:
    f.write(full_walk)
with open(os.path.join(out, "over_budget.pkl"), "wb") as f:
    for _ in range(4):
        f.write(full_walk)
dense_layers = [(f"blocks.{i // 4}.{('attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2')[i % 4]}.weight", (2, 2))
                for i in range(n)]
dense_sd, _ = g.state_dict(3, dense_layers)
with open(os.path.join(out, "state_dict_dense.pkl"), "wb") as f:
    f.write(g.torch_data_pkl(dense_sd))
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
