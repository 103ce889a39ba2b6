//! Per-file scan state shared by the container readers and the pickle walker.

use crate::report::{FileReport, Finding, ScanError, Verdict};
use std::collections::HashSet;

/// Most string literals kept per file.
pub const MAX_LITERALS: usize = 10_000;
/// Most findings kept per file (a stream importing thousands of globals is cut short here).
pub const MAX_FINDINGS: usize = 10_000;
/// Deepest container/nested-pickle recursion followed.
pub const MAX_DEPTH: u32 = 8;
/// Largest decompressed member or stream read into memory (bytes).
pub const MAX_INFLATE: u64 = 2 << 30;

pub(crate) struct Ctx {
    pub report: FileReport,
    /// Disable the skim fast path (tests compare both paths).
    pub full_walk_only: bool,
    seen_lits: HashSet<String>,
}

impl Ctx {
    pub fn new(report: FileReport) -> Self {
        Ctx {
            report,
            full_walk_only: false,
            seen_lits: HashSet::new(),
        }
    }

    pub fn error(&mut self, member: &str, offset: u64, message: impl Into<String>) {
        self.report.errors.push(ScanError {
            member: member.to_string(),
            offset,
            message: message.into(),
        });
    }

    pub fn format(&mut self, f: &str) {
        if !self.report.formats.iter().any(|x| x == f) {
            self.report.formats.push(f.to_string());
        }
    }

    /// Adds a finding; returns its index, or `None` when the per-file cap is reached.
    pub fn finding(&mut self, f: Finding) -> Option<usize> {
        if self.report.findings.len() >= MAX_FINDINGS {
            return None;
        }
        self.report.findings.push(f);
        Some(self.report.findings.len() - 1)
    }

    pub fn literal(&mut self, bytes: &[u8]) {
        if self.report.string_literals.len() >= MAX_LITERALS {
            return;
        }
        let s = String::from_utf8_lossy(bytes);
        if self.seen_lits.contains(s.as_ref()) {
            return;
        }
        self.seen_lits.insert(s.to_string());
        self.report.string_literals.push(s.into_owned());
    }

    pub fn finish(mut self) -> FileReport {
        self.report.verdict = self
            .report
            .findings
            .iter()
            .map(|f| f.verdict)
            .max()
            .unwrap_or(Verdict::Safe);
        self.report
    }
}
