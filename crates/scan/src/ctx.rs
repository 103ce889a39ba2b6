//! Per-file scan state shared by the container readers and the pickle walker.

use crate::report::{FileReport, Finding, ScanError, Verdict};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Most string literals kept per file.
pub const MAX_LITERALS: usize = 10_000;
/// Most findings kept per file (a stream importing thousands of globals is cut short here).
pub const MAX_FINDINGS: usize = 10_000;
/// Deepest container/nested-pickle recursion followed.
pub const MAX_DEPTH: u32 = 8;
/// Largest decompressed member or stream read into memory (bytes).
pub const MAX_INFLATE: u64 = 2 << 30;

/// Default for [`Limits::max_walk_opcodes`]: 32 Mi opcodes. On a torch `data.pkl`-shaped stream
/// that is about 130 MB of pickle, 1–2 s of full walking on one core and up to ~800 MB of memory
/// (the walker keeps every memoized value, as the unpickler does).
pub const DEFAULT_MAX_WALK_OPCODES: u64 = 1 << 25;
/// Default for [`Limits::max_walk_time`]: 20 seconds.
pub const DEFAULT_MAX_WALK_TIME: Duration = Duration::from_secs(20);

/// The work budget of one file's scan.
///
/// Streams that pass the fast path (well-formed, only allowlisted globals) cost time linear in
/// their size and are not counted. Everything else is walked opcode by opcode by the full
/// walker, which keeps every memoized value; these limits bound that walk, over all the file's
/// pickle streams together (members, concatenated and nested pickles). When a limit is reached
/// the walk stops there: the report gets an error, and a [`Verdict::Suspicious`] finding
/// `<scan budget exceeded>` so that a file cut short is never reported safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most opcodes the full walker runs per file. Default [`DEFAULT_MAX_WALK_OPCODES`].
    pub max_walk_opcodes: u64,
    /// Most wall-clock time spent in the full walker per file, checked every 65,536 opcodes (a
    /// backstop for opcodes whose cost depends on what came before, such as calls of a global
    /// with thousands of findings). Default [`DEFAULT_MAX_WALK_TIME`]; `None` for no limit.
    pub max_walk_time: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_walk_opcodes: DEFAULT_MAX_WALK_OPCODES,
            max_walk_time: Some(DEFAULT_MAX_WALK_TIME),
        }
    }
}

/// Name of the finding recorded when the budget runs out.
pub const BUDGET_FINDING: &str = "<scan budget exceeded>";

pub(crate) struct Ctx {
    pub report: FileReport,
    /// Disable the skim fast path (tests compare both paths).
    pub full_walk_only: bool,
    seen_lits: HashSet<String>,
    pub limits: Limits,
    /// Opcodes run by the full walker so far in this file.
    pub walked: u64,
    /// When the full walker first ran on this file (for `max_walk_time`).
    walk_started: Option<Instant>,
    /// The budget ran out: every walk stops at once.
    pub exhausted: bool,
}

impl Ctx {
    pub fn new(report: FileReport) -> Self {
        Ctx {
            report,
            full_walk_only: false,
            seen_lits: HashSet::new(),
            limits: Limits::default(),
            walked: 0,
            walk_started: None,
            exhausted: false,
        }
    }

    /// Called by the full walker when it starts a stream: starts the clock on first use.
    pub fn walk_begins(&mut self) {
        if self.walk_started.is_none() && self.limits.max_walk_time.is_some() {
            self.walk_started = Some(Instant::now());
        }
    }

    /// Called every 65,536 opcodes (and when the opcode count is over): true when over budget.
    #[cold]
    pub fn over_budget(&self) -> bool {
        if self.exhausted || self.walked > self.limits.max_walk_opcodes {
            return true;
        }
        match (self.limits.max_walk_time, self.walk_started) {
            (Some(limit), Some(t)) => t.elapsed() > limit,
            _ => false,
        }
    }

    /// Marks the budget as spent (once per file): a suspicious finding and an error at
    /// `offset` of `member`. Returns the message for the walk's own error.
    pub fn budget_exceeded(&mut self, member: &str, offset: u64) -> String {
        let why = if self.walked > self.limits.max_walk_opcodes {
            format!("{} opcodes", self.limits.max_walk_opcodes)
        } else {
            let secs = self.limits.max_walk_time.map_or(0.0, |d| d.as_secs_f64());
            format!("{secs} s")
        };
        let message = format!(
            "scan budget exceeded (full walk limited to {why} per file); not scanned past here"
        );
        if !self.exhausted {
            self.exhausted = true;
            // past MAX_FINDINGS, the cap is lifted for this one: it must reach the report
            self.report.findings.push(Finding {
                verdict: Verdict::Suspicious,
                global: BUDGET_FINDING.to_string(),
                written_as: None,
                member: member.to_string(),
                offset,
                reason: message.clone(),
                call: None,
            });
        }
        message
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
        // one hash per literal: most are new (dict keys), so insert first
        let s = String::from_utf8_lossy(bytes).into_owned();
        if self.seen_lits.insert(s.clone()) {
            self.report.string_literals.push(s);
        }
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
