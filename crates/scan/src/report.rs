//! Report types: what a scan says about one file.

use serde::Serialize;

/// How bad a global (or a whole file) is. Ordered: `Safe < Suspicious < Dangerous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Only allowlisted ML globals (tensor rebuild helpers, `collections.OrderedDict`, numpy
    /// reconstruct functions, ...), or no pickle at all.
    Safe,
    /// Imports that are neither allowlisted nor known to run code.
    Suspicious,
    /// Globals that run code or reach the system (`os.system`, `subprocess.*`, `builtins.eval`, ...).
    Dangerous,
}

impl Verdict {
    /// Lower-case name, as used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Suspicious => "suspicious",
            Verdict::Dangerous => "dangerous",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One non-safe global found in a pickle stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Verdict of this global.
    pub verdict: Verdict,
    /// The global as the loader resolves it: `module.name` (after Python 2 remapping).
    pub global: String,
    /// The global as written in the stream, when it differs (Python 2 names, `EXT` codes, getattr chains).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_as: Option<String>,
    /// Where the pickle stream lives: `""` for a raw pickle file, a zip/tar/7z member name,
    /// with `>`-separated steps for nesting (e.g. `archive/data.pkl>nested@120`).
    pub member: String,
    /// Byte offset of the opcode that imported the global, inside `member`'s pickle bytes.
    pub offset: u64,
    /// Why this verdict (which rule matched).
    pub reason: String,
    /// The reconstructed call with its arguments, e.g. `os.system("curl x | sh")`, when the
    /// stream calls the global.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
}

/// A problem reading part of a file. The rest of the file is still scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanError {
    /// Member inside the file (same convention as [`Finding::member`]); `""` for the file itself.
    pub member: String,
    /// Byte offset inside `member` (or the file) where the problem was seen.
    pub offset: u64,
    /// What went wrong.
    pub message: String,
}

/// The scan result for one file (or one in-memory buffer).
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Path as given (or the name passed to [`crate::scan_bytes`]).
    pub path: String,
    /// File size in bytes.
    pub size: u64,
    /// Formats recognised by content, outermost first, e.g. `["zip", "pytorch-zip", "pickle"]`.
    pub formats: Vec<String>,
    /// Worst verdict over all findings (`Safe` when there are none).
    pub verdict: Verdict,
    /// Number of pickle streams walked (including nested ones).
    pub pickles: u32,
    /// Non-safe globals, in stream order.
    pub findings: Vec<Finding>,
    /// Read/parse problems with member and byte offset.
    pub errors: Vec<ScanError>,
    /// Distinct string constants (3..=4096 bytes) seen in the pickle streams, in first-seen order,
    /// capped at [`crate::MAX_LITERALS`]. Used to tie a shell command line to the file.
    pub string_literals: Vec<String>,
}

impl FileReport {
    /// An empty, safe report for `path`.
    pub fn new(path: impl Into<String>, size: u64) -> Self {
        FileReport {
            path: path.into(),
            size,
            formats: Vec::new(),
            verdict: Verdict::Safe,
            pickles: 0,
            findings: Vec::new(),
            errors: Vec::new(),
            string_literals: Vec::new(),
        }
    }

    /// True when any pickle (or pickle-bearing container) was recognised.
    pub fn is_model(&self) -> bool {
        self.pickles > 0 || !self.formats.is_empty()
    }

    /// Dangerous findings only.
    pub fn dangerous(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.verdict == Verdict::Dangerous)
    }

    /// String literals of this file that occur in `command_line` (longest first).
    /// Literals shorter than `min_len` bytes are ignored, to avoid matching common words.
    pub fn literals_in<'s>(&'s self, command_line: &str, min_len: usize) -> Vec<&'s str> {
        let mut hits: Vec<&str> = self
            .string_literals
            .iter()
            .map(String::as_str)
            .filter(|l| l.len() >= min_len && command_line.contains(l))
            .collect();
        hits.sort_by_key(|l| std::cmp::Reverse(l.len()));
        hits
    }
}
