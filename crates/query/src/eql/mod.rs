//! EQL, as Elasticsearch implements it: parsed ([`lexer`], [`parser`]) into [`ast`], then
//! compiled ([`compile`]) into the shared IR, with sequences and samples checked the way
//! Elasticsearch checks them.
//!
//! * `category where cond` tests `event_category_field == "category"` (case-sensitive);
//!   `any where cond` has no category test.
//! * `sequence [by k…] [with maxspan=N(ms|s|m|h|d)] [q] [by k…] [with runs=N] ![q] …
//!   [until [q]]`: at least two queries (counting runs), at least one that is not missing,
//!   `maxspan` whenever a missing event (`![…]`) is present, `runs` from 1 to 100, and the
//!   same number of per-query join keys everywhere (the `until` query included).
//! * `sample [by k…] [q] [q] …`: at least two queries, the same number of keys each.
//! * Pipes: `| head N`, `| tail N`.

#![allow(clippy::result_large_err)] // ParseError carries the query line, by design.

pub mod ast;
pub mod compile;
pub mod lexer;
pub mod parser;
pub mod statement;

use crate::ir::Pred;
use crate::matcher::{PatternKind, StrMatcher};
use crate::query::{Pipe, Sample, Sequence, Stage};
use crate::{CompileOptions, Language, ParseError, Query, QueryKind};
use ast::{Body, EventFilter, Key, PipeKind, Span, Term};
use compile::Compiler;
use spawnguard_event::FieldPath;

/// The most repetitions `with runs=N` accepts (Elasticsearch's limit).
pub const MAX_RUNS: i64 = 100;

/// Parses and compiles an EQL query.
pub fn compile(text: &str, opts: &CompileOptions) -> Result<Query, ParseError> {
    let tokens = lexer::tokenize(text)?;
    let stmt = parser::Parser::new(text, tokens).statement()?;
    let b = Builder {
        c: Compiler { src: text },
        opts,
    };
    let kind = match &stmt.body {
        Body::Event(f) => QueryKind::Event(b.filter(f)?),
        Body::Sequence {
            by,
            maxspan_ns,
            terms,
            until,
            span,
        } => QueryKind::Sequence(b.sequence(by, *maxspan_ns, terms, until.as_ref(), *span)?),
        Body::Sample { by, terms, span } => QueryKind::Sample(b.sample(by, terms, *span)?),
    };
    Ok(Query {
        language: Language::Eql,
        kind,
        pipes: stmt
            .pipes
            .iter()
            .map(|(k, n)| match k {
                PipeKind::Head => Pipe::Head(*n),
                PipeKind::Tail => Pipe::Tail(*n),
            })
            .collect(),
        timestamp_field: FieldPath::new(&opts.timestamp_field),
        tiebreaker_field: opts.tiebreaker_field.as_deref().map(FieldPath::new),
    })
}

struct Builder<'s, 'o> {
    c: Compiler<'s>,
    opts: &'o CompileOptions,
}

impl Builder<'_, '_> {
    fn err(&self, span: Span, msg: impl Into<String>) -> ParseError {
        ParseError::at(self.c.src, span.start, span.len(), msg)
    }

    /// `category where cond` as one optimized condition.
    fn filter(&self, f: &EventFilter) -> Result<Pred, ParseError> {
        let cond = self.c.pred(&f.cond)?;
        let pred = match &f.category {
            None => cond,
            Some(cat) => {
                let matcher = StrMatcher::new(PatternKind::Exact, std::slice::from_ref(cat), false)
                    .map_err(|e| self.err(f.cond.span, e))?;
                let category = Pred::Str {
                    field: FieldPath::new(&self.opts.event_category_field),
                    matcher,
                };
                match cond {
                    Pred::Const(Some(true)) => category,
                    other => Pred::And(vec![category, other]),
                }
            }
        };
        Ok(pred.optimize())
    }

    fn keys(keys: &[Key]) -> Vec<FieldPath> {
        keys.iter().map(|k| FieldPath::new(&k.path)).collect()
    }

    fn optional(keys: &[Key]) -> Vec<bool> {
        keys.iter().map(|k| k.optional).collect()
    }

    /// Every query must name as many join keys as the first.
    fn check_key_counts<'t>(
        &self,
        terms: impl Iterator<Item = &'t Term>,
    ) -> Result<(), ParseError> {
        let mut expected = None;
        for t in terms {
            match expected {
                None => expected = Some(t.by.len()),
                Some(n) if n != t.by.len() => {
                    return Err(self.err(
                        t.by_span,
                        format!(
                            "inconsistent number of join keys: expected {n} (as the first query \
                             has) but found {}",
                            t.by.len()
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn stage(&self, t: &Term) -> Result<Stage, ParseError> {
        let runs = match t.runs {
            None => 1,
            Some((n, span)) => {
                if !(1..=MAX_RUNS).contains(&n) {
                    return Err(self.err(
                        span,
                        format!("`runs` must be between 1 and {MAX_RUNS}, not {n}"),
                    ));
                }
                n as u32
            }
        };
        Ok(Stage {
            pred: self.filter(&t.filter)?,
            by: Self::keys(&t.by),
            optional_by: Self::optional(&t.by),
            runs,
            missing: t.missing,
        })
    }

    fn sequence(
        &self,
        by: &[Key],
        maxspan_ns: Option<i64>,
        terms: &[Term],
        until: Option<&Term>,
        span: Span,
    ) -> Result<Sequence, ParseError> {
        self.check_key_counts(terms.iter().chain(until))?;
        let stages = terms
            .iter()
            .map(|t| self.stage(t))
            .collect::<Result<Vec<_>, _>>()?;
        let total: u32 = stages.iter().map(|s| s.runs).sum();
        if total < 2 {
            return Err(self.err(
                span,
                format!("a sequence needs at least 2 queries (counting runs), found {total}"),
            ));
        }
        if stages.iter().all(|s| s.missing) {
            return Err(self.err(
                span,
                "a sequence needs at least one query that is not a missing event (`![…]`)",
            ));
        }
        if maxspan_ns.is_none() {
            if let Some(t) = terms.iter().find(|t| t.missing) {
                let bang = Span {
                    start: t.span.start,
                    end: t.span.start + 2,
                };
                return Err(self.err(
                    bang,
                    "a sequence with missing events (`![…]`) needs `with maxspan=…` after \
                     `sequence`",
                ));
            }
        }
        let until = match until {
            Some(t) => Some(self.stage(t)?),
            None => None,
        };
        Ok(Sequence {
            by: Self::keys(by),
            optional_by: Self::optional(by),
            maxspan_ns,
            stages,
            until,
        })
    }

    fn sample(&self, by: &[Key], terms: &[Term], span: Span) -> Result<Sample, ParseError> {
        self.check_key_counts(terms.iter())?;
        if terms.len() < 2 {
            return Err(self.err(
                span,
                format!("a sample needs at least 2 queries, found {}", terms.len()),
            ));
        }
        Ok(Sample {
            by: Self::keys(by),
            optional_by: Self::optional(by),
            stages: terms
                .iter()
                .map(|t| self.stage(t))
                .collect::<Result<Vec<_>, _>>()?,
        })
    }
}
