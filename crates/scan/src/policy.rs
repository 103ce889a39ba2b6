//! Which globals are safe, suspicious or dangerous, and the Python 2 name remapping the
//! unpickler applies to protocols < 3.

use crate::report::Verdict;

/// Modules where every attribute runs code, spawns processes, touches files or the network,
/// or loads code. Submodules (`os.path`, `subprocess.Popen`, `importlib.util`) are covered too.
const BLOCKED_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "posixpath",
    "ntpath",
    "subprocess",
    "_posixsubprocess",
    "commands",
    "popen2",
    "sys",
    "importlib",
    "imp",
    "runpy",
    "pip",
    "ensurepip",
    "venv",
    "socket",
    "_socket",
    "socketserver",
    "ssl",
    "pty",
    "tty",
    "ctypes",
    "_ctypes",
    "cffi",
    "shutil",
    "webbrowser",
    "code",
    "codeop",
    "pdb",
    "bdb",
    "trace",
    "profile",
    "cProfile",
    "timeit",
    "marshal",
    "types",
    "operator",
    "_operator",
    "multiprocessing",
    "_multiprocessing",
    "asyncio",
    "concurrent",
    "threading",
    "_thread",
    "signal",
    "pydoc",
    "idlelib",
    "distutils",
    "setuptools",
    "pkg_resources",
    "zipimport",
    "dill",
    "cloudpickle",
    "requests",
    "httpx",
    "urllib3",
    "urllib",
    "http",
    "ftplib",
    "smtplib",
    "telnetlib",
    "poplib",
    "imaplib",
    "nntplib",
    "xmlrpc",
    "tempfile",
    "glob",
    "io",
    "_io",
    "fileinput",
    "pathlib",
    "platform",
    "sysconfig",
    "site",
    "gc",
    "inspect",
    "linecache",
    "ast",
    "dis",
    "tkinter",
    "numpy.testing",
    "numpy.distutils",
    "numpy.f2py",
    "torch.hub",
    "torch.jit",
    "torch.utils.cpp_extension",
    "torch.package",
    "torch._dynamo",
    "torch.fx",
    "torch._inductor",
    "torch.distributed",
    "torch.multiprocessing",
    "joblib.parallel",
    "tensorflow.io",
    "tensorflow.python.ops",
    "keras.utils",
    "pandas.io",
    "paramiko",
    "fabric",
];

/// Names in `builtins` (and the Python 2 `__builtin__`) that run code or reach the system.
const DANGEROUS_BUILTINS: &[&str] = &[
    "eval",
    "exec",
    "execfile",
    "compile",
    "getattr",
    "setattr",
    "delattr",
    "__import__",
    "open",
    "file",
    "globals",
    "locals",
    "vars",
    "breakpoint",
    "input",
    "raw_input",
    "help",
    "reload",
    "apply",
    "exit",
    "quit",
    "__loader__",
    "__build_class__",
    "execfile",
];

/// Plain data constructors of `builtins`.
const SAFE_BUILTINS: &[&str] = &[
    "set",
    "frozenset",
    "dict",
    "list",
    "tuple",
    "int",
    "float",
    "complex",
    "bool",
    "str",
    "bytes",
    "bytearray",
    "slice",
    "range",
    "object",
    "Ellipsis",
    "NotImplemented",
    "True",
    "False",
    "None",
];

/// Exact `module.name` pairs that ML checkpoints legitimately use.
const SAFE_GLOBALS: &[(&str, &str)] = &[
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("collections", "Counter"),
    ("collections", "deque"),
    ("copyreg", "_reconstructor"),
    ("_codecs", "encode"),
    ("codecs", "encode"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("decimal", "Decimal"),
    ("fractions", "Fraction"),
    ("uuid", "UUID"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy", "float64"),
    ("numpy", "float32"),
    ("numpy", "int64"),
    ("numpy", "int32"),
    ("numpy", "bool_"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("torch", "Size"),
    ("torch", "device"),
    ("torch", "Tensor"),
    ("torch", "finfo"),
    ("torch", "iinfo"),
    ("torch._tensor", "_rebuild_from_type"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch.nn.parameter", "Parameter"),
    ("torch.storage", "UntypedStorage"),
    ("torch.storage", "TypedStorage"),
    ("torch.storage", "_TypedStorage"),
    ("torch.serialization", "_get_layout"),
    ("torch.nn.modules.container", "ModuleDict"),
    ("torch.nn.modules.container", "Sequential"),
    ("torch.nn.modules.container", "ModuleList"),
];

/// Callables that unpickle their bytes argument: a bytes literal passed to one of these is a
/// nested pickle and is scanned as such.
pub const LOADERS: &[(&str, &str)] = &[
    ("pickle", "loads"),
    ("pickle", "_loads"),
    ("pickle", "load"),
    ("pickle", "_load"),
    ("_pickle", "loads"),
    ("_pickle", "load"),
    ("torch", "load"),
    ("torch.serialization", "load"),
    ("torch.serialization", "_load_from_bytes"),
    ("torch.storage", "_load_from_bytes"),
    ("joblib", "load"),
    ("joblib.numpy_pickle", "load"),
    ("numpy", "load"),
    ("dill", "loads"),
    ("cloudpickle", "loads"),
];

/// Callables that wrap bytes into a file object (`io.BytesIO(b)` passed to `torch.load`).
pub const BYTES_WRAPPERS: &[(&str, &str)] = &[("io", "BytesIO"), ("_io", "BytesIO")];

/// True when `module.name` is a nested-pickle loader.
pub fn is_loader(module: &str, name: &str) -> bool {
    LOADERS.iter().any(|&(m, n)| m == module && n == name)
}

/// True when `module.name` wraps bytes into a file object.
pub fn is_bytes_wrapper(module: &str, name: &str) -> bool {
    BYTES_WRAPPERS
        .iter()
        .any(|&(m, n)| m == module && n == name)
}

/// True for `joblib`'s array wrapper, whose `BUILD` is followed by raw array bytes.
pub fn is_joblib_wrapper(module: &str, name: &str) -> bool {
    name == "NumpyArrayWrapper"
        && (module == "joblib.numpy_pickle" || module == "sklearn.externals.joblib.numpy_pickle")
}

fn is_torch_safe(module: &str, name: &str) -> bool {
    match module {
        "torch._utils" => name.starts_with("_rebuild_"),
        "torch" => {
            // storage classes and dtypes: FloatStorage, float32, bfloat16, ...
            name.ends_with("Storage")
                || matches!(
                    name,
                    "float16"
                        | "float32"
                        | "float64"
                        | "bfloat16"
                        | "half"
                        | "float"
                        | "double"
                        | "int8"
                        | "int16"
                        | "int32"
                        | "int64"
                        | "uint8"
                        | "bool"
                        | "long"
                        | "int"
                        | "short"
                        | "complex64"
                        | "complex128"
                        | "cfloat"
                        | "cdouble"
                        | "qint8"
                        | "quint8"
                        | "qint32"
                        | "float8_e4m3fn"
                        | "float8_e5m2"
                        | "strided"
                        | "sparse_coo"
                        | "sparse_csr"
                        | "contiguous_format"
                        | "channels_last"
                        | "preserve_format"
                        | "per_tensor_affine"
                        | "per_channel_affine"
                )
        }
        _ => false,
    }
}

fn is_ident(s: &str) -> bool {
    let mut ch = s.chars();
    matches!(ch.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && ch.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn module_blocked(module: &str) -> Option<&'static str> {
    BLOCKED_MODULES.iter().copied().find(|b| {
        module == *b
            || (module.len() > b.len()
                && module.starts_with(b)
                && module.as_bytes()[b.len()] == b'.')
    })
}

/// Classify a resolved global. Returns the verdict and the reason.
///
/// `name` may be dotted (protocol ≥ 4 resolves `a.b.c` by attribute lookup): every dotted path
/// `module.name` is checked in full and from each component, so `torch.serialization` +
/// `os.system` or `builtins` + `getattr.__self__` are caught.
pub fn classify(module: &str, name: &str) -> (Verdict, String) {
    if module.is_empty() {
        return (Verdict::Suspicious, "empty module name".into());
    }
    if name.is_empty() {
        // a module object (from importlib.import_module / __import__)
        if module == "pkgutil" || module == "builtins" || module_blocked(module).is_some() {
            return (
                Verdict::Dangerous,
                format!("module `{module}` runs code or reaches the system"),
            );
        }
        return (Verdict::Suspicious, "module object".into());
    }
    if name.contains('.') {
        // Dotted attribute path: dunder hops reach arbitrary objects.
        if name
            .split('.')
            .any(|p| p.starts_with("__") && p.ends_with("__") && p.len() > 4)
        {
            return (
                Verdict::Dangerous,
                format!("dotted name `{name}` walks a dunder attribute"),
            );
        }
        let full = format!("{module}.{name}");
        let parts: Vec<&str> = full.split('.').collect();
        let mut worst = (
            Verdict::Suspicious,
            format!("dotted name `{name}` resolved by attribute lookup"),
        );
        // Try every split of the path into (module, attribute).
        for start in 0..parts.len() {
            for cut in start + 1..parts.len() {
                let m = parts[start..cut].join(".");
                let n = parts[cut];
                let (v, r) = classify_simple(&m, n);
                if v == Verdict::Dangerous {
                    return (v, format!("dotted name reaches {m}.{n}: {r}"));
                }
                if start == 0 && cut + 1 == parts.len() && v == Verdict::Safe && parts.len() == 2 {
                    worst = (v, r);
                }
            }
        }
        return worst;
    }
    classify_simple(module, name)
}

fn classify_simple(module: &str, name: &str) -> (Verdict, String) {
    if module == "builtins" || module == "__builtin__" || module == "exceptions" {
        if DANGEROUS_BUILTINS.contains(&name) {
            return (
                Verdict::Dangerous,
                format!("builtins.{name} runs code or reaches the system"),
            );
        }
        if SAFE_BUILTINS.contains(&name) {
            return (Verdict::Safe, "plain data type".into());
        }
        return (Verdict::Suspicious, "builtin not on the allowlist".into());
    }
    if module == "pkgutil" && name == "resolve_name" {
        return (
            Verdict::Dangerous,
            "pkgutil.resolve_name imports any module".into(),
        );
    }
    if module == "pkgutil" {
        return (
            Verdict::Dangerous,
            "pkgutil imports and loads modules".into(),
        );
    }
    if module == "numpy.testing._private.utils"
        || (module.starts_with("numpy") && name == "runstring")
    {
        return (Verdict::Dangerous, "numpy test helper executes code".into());
    }
    if is_bytes_wrapper(module, name) {
        return (Verdict::Suspicious, "wraps bytes into a file object".into());
    }
    if let Some(b) = module_blocked(module) {
        return (
            Verdict::Dangerous,
            format!("module `{b}` runs code or reaches the system"),
        );
    }
    if is_loader(module, name) {
        return (
            Verdict::Suspicious,
            "unpickles its argument (scanned as a nested pickle)".into(),
        );
    }
    if module == "copyreg" && name == "add_extension" {
        return (
            Verdict::Suspicious,
            "registers pickle extension codes".into(),
        );
    }
    if SAFE_GLOBALS.iter().any(|&(m, n)| m == module && n == name) || is_torch_safe(module, name) {
        return (Verdict::Safe, "allowlisted ML global".into());
    }
    if (module == "sklearn" || module.starts_with("sklearn."))
        && is_ident(name)
        && name.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return (Verdict::Safe, "scikit-learn estimator class".into());
    }
    if module == "numpy"
        && is_ident(name)
        && (name.starts_with("float")
            || name.starts_with("int")
            || name.starts_with("uint")
            || name.starts_with("complex"))
    {
        return (Verdict::Safe, "numpy scalar type".into());
    }
    (Verdict::Suspicious, "import not on the allowlist".into())
}

/// Python 2 → 3 renames applied by `find_class` when the stream's protocol is < 3
/// (a subset of CPython's `_compat_pickle`, covering every rename that reaches a blocked
/// module plus the common data ones). Returns the remapped `(module, name)` when one applies.
pub fn py2_remap(module: &str, name: &str) -> Option<(String, String)> {
    type Pair = (&'static str, &'static str);
    const NAMES: &[(Pair, Pair)] = &[
        (("__builtin__", "xrange"), ("builtins", "range")),
        (("__builtin__", "reduce"), ("functools", "reduce")),
        (("__builtin__", "intern"), ("sys", "intern")),
        (("__builtin__", "unichr"), ("builtins", "chr")),
        (("__builtin__", "unicode"), ("builtins", "str")),
        (("__builtin__", "long"), ("builtins", "int")),
        (("itertools", "izip"), ("builtins", "zip")),
        (("itertools", "imap"), ("builtins", "map")),
        (("itertools", "ifilter"), ("builtins", "filter")),
        (
            ("UserDict", "IterableUserDict"),
            ("collections", "UserDict"),
        ),
        (("_socket", "fromfd"), ("socket", "fromfd")),
        (
            ("multiprocessing.forking", "Popen"),
            ("multiprocessing.popen_fork", "Popen"),
        ),
        (("urllib", "urlopen"), ("urllib.request", "urlopen")),
        (("urllib", "urlretrieve"), ("urllib.request", "urlretrieve")),
        (("urllib", "urlcleanup"), ("urllib.request", "urlcleanup")),
        (("urllib", "getproxies"), ("urllib.request", "getproxies")),
        (("urllib", "quote"), ("urllib.parse", "quote")),
        (("urllib", "unquote"), ("urllib.parse", "unquote")),
        (("urllib", "urlencode"), ("urllib.parse", "urlencode")),
        (("urllib2", "HTTPError"), ("urllib.error", "HTTPError")),
        (("urllib2", "URLError"), ("urllib.error", "URLError")),
    ];
    const MODULES: &[(&str, &str)] = &[
        ("__builtin__", "builtins"),
        ("copy_reg", "copyreg"),
        ("Queue", "queue"),
        ("SocketServer", "socketserver"),
        ("ConfigParser", "configparser"),
        ("repr", "reprlib"),
        ("Tkinter", "tkinter"),
        ("thread", "_thread"),
        ("dummy_thread", "_dummy_thread"),
        ("xmlrpclib", "xmlrpc.client"),
        ("SimpleXMLRPCServer", "xmlrpc.server"),
        ("httplib", "http.client"),
        ("HTMLParser", "html.parser"),
        ("Cookie", "http.cookies"),
        ("cookielib", "http.cookiejar"),
        ("BaseHTTPServer", "http.server"),
        ("commands", "subprocess"),
        ("urlparse", "urllib.parse"),
        ("robotparser", "urllib.robotparser"),
        ("urllib2", "urllib.request"),
        ("anydbm", "dbm"),
        ("_abcoll", "collections.abc"),
    ];
    if let Some((_, (m, n))) = NAMES.iter().find(|((m, n), _)| *m == module && *n == name) {
        return Some((m.to_string(), n.to_string()));
    }
    if module == "exceptions" {
        return Some(("builtins".into(), name.to_string()));
    }
    MODULES
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, to)| (to.to_string(), name.to_string()))
}

/// True when `s` is a plausible (possibly dotted) Python identifier path, as `__import__` needs.
pub fn is_dotted_ident(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_ident)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_and_allowlisted() {
        assert_eq!(classify("os", "system").0, Verdict::Dangerous);
        assert_eq!(classify("posix", "system").0, Verdict::Dangerous);
        assert_eq!(classify("subprocess", "Popen").0, Verdict::Dangerous);
        assert_eq!(classify("os.path", "join").0, Verdict::Dangerous);
        assert_eq!(classify("builtins", "eval").0, Verdict::Dangerous);
        assert_eq!(classify("builtins", "set").0, Verdict::Safe);
        assert_eq!(classify("pkgutil", "resolve_name").0, Verdict::Dangerous);
        assert_eq!(classify("collections", "OrderedDict").0, Verdict::Safe);
        assert_eq!(
            classify("torch._utils", "_rebuild_tensor_v2").0,
            Verdict::Safe
        );
        assert_eq!(classify("torch", "FloatStorage").0, Verdict::Safe);
        assert_eq!(
            classify("numpy.core.multiarray", "_reconstruct").0,
            Verdict::Safe
        );
        assert_eq!(classify("mylib", "Thing").0, Verdict::Suspicious);
        assert_eq!(classify("osx", "thing").0, Verdict::Suspicious);
        assert_eq!(
            classify("sklearn.linear_model._logistic", "LogisticRegression").0,
            Verdict::Safe
        );
    }

    #[test]
    fn dotted_names() {
        assert_eq!(
            classify("torch.serialization", "os.system").0,
            Verdict::Dangerous
        );
        assert_eq!(
            classify("collections", "OrderedDict.__init__.__globals__").0,
            Verdict::Dangerous
        );
        assert_eq!(classify("builtins", "getattr.x").0, Verdict::Dangerous);
        assert_eq!(classify("mylib", "a.b").0, Verdict::Suspicious);
    }

    #[test]
    fn py2_names() {
        assert_eq!(
            py2_remap("__builtin__", "eval"),
            Some(("builtins".into(), "eval".into()))
        );
        assert_eq!(
            py2_remap("commands", "getoutput"),
            Some(("subprocess".into(), "getoutput".into()))
        );
        assert_eq!(
            py2_remap("urllib2", "urlopen"),
            Some(("urllib.request".into(), "urlopen".into()))
        );
        assert_eq!(py2_remap("os", "system"), None);
    }
}
