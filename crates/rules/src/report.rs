//! What loading produced: the rules that run, the ones skipped (with why), and every problem.

use crate::model::Rule;
use std::fmt;
use std::sync::Arc;

/// How bad a [`Problem`] is: errors keep a rule from loading, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProblemSeverity {
    Warning,
    Error,
}

impl ProblemSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemSeverity::Warning => "warning",
            ProblemSeverity::Error => "error",
        }
    }
}

/// One thing wrong with a rule file (or a tests file), at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file path, or `builtin:rules/...` for embedded rules.
    pub source: String,
    /// 1-based line in the file; 0 when the problem is about the file as a whole.
    pub line: usize,
    /// 1-based column in characters; 0 when the problem is about the file as a whole.
    pub column: usize,
    pub message: String,
    pub severity: ProblemSeverity,
    /// For query errors: the file line and a caret under the offending token, ready to print
    /// (two lines, each starting with `  | `).
    pub snippet: Option<String>,
}

impl Problem {
    pub fn error(source: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        Problem {
            source: source.to_string(),
            line,
            column,
            message: message.into(),
            severity: ProblemSeverity::Error,
            snippet: None,
        }
    }

    pub fn warning(source: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        Problem {
            severity: ProblemSeverity::Warning,
            ..Problem::error(source, line, column, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == ProblemSeverity::Error
    }
}

impl fmt::Display for Problem {
    /// `path:line:col: error: message` (or `path: error: message` for whole-file problems),
    /// followed by the snippet lines if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(
                f,
                "{}: {}: {}",
                self.source,
                self.severity.as_str(),
                self.message
            )?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}: {}",
                self.source,
                self.line,
                self.column,
                self.severity.as_str(),
                self.message
            )?;
        }
        if let Some(s) = &self.snippet {
            write!(f, "\n{s}")?;
        }
        Ok(())
    }
}

/// A rule that is listed but not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub source: String,
    /// `rule.name`, or empty if the file has none.
    pub name: String,
    /// `rule.rule_id`, or empty if the file has none.
    pub rule_id: String,
    /// `rule.type` as written (`esql`, `machine_learning`, …).
    pub rule_type: String,
    pub reason: String,
}

/// A rule ready to run: its typed form and its compiled query.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    pub rule: Arc<Rule>,
    pub query: spawnguard_query::Query,
}

/// Everything loading produced. No rule disappears silently: each file ends up in `rules`,
/// in `skipped`, or has at least one error in `problems`.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub rules: Vec<LoadedRule>,
    pub skipped: Vec<Skipped>,
    pub problems: Vec<Problem>,
}

impl LoadReport {
    /// Problems of severity error.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }

    /// Problems of severity warning.
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| !p.is_error())
    }

    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    /// Appends another report's rules, skipped rules and problems.
    pub fn extend(&mut self, other: LoadReport) {
        self.rules.extend(other.rules);
        self.skipped.extend(other.skipped);
        self.problems.extend(other.problems);
    }
}
