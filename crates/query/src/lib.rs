//! EQL and KQL, parsed and compiled to one predicate form evaluated over ECS events.
//!
//! * [`ir`] is the compiled form: [`ir::Pred`] (three-valued: true, false, null) over
//!   [`ir::Expr`] values, with string tests compiled to cheap [`matcher::StrMatcher`]s.
//! * [`eql`] and [`kql`] parse their languages and compile into that form.
//! * [`prefilter`] derives, from a compiled query, the literals an event's raw bytes must
//!   contain for the query to have any chance, so most lines are skipped before parsing.
//! * [`sequence`] runs `sequence` and `sample` queries over time-ordered events.
//!
//! Semantics follow Elasticsearch, not the Python `eql` package: any element of an array
//! field can match; `:`, `like~`, `regex~`, `in~` and `fn~` ignore case while `==`, `!=`,
//! `in`, `like` and `regex` do not; a comparison on a missing field is null, `not null` is
//! null, and a null condition never matches.

pub mod error;
pub mod eval;
pub mod functions;
mod glob;
pub mod ir;
pub mod matcher;
pub mod prefilter;
pub mod query;
pub mod value;

pub mod eql;
pub mod kql;
pub mod sequence;

pub use error::ParseError;
pub use ir::{Expr, Pred};
pub use query::{compile, CompileOptions, Language, Query, QueryKind};
