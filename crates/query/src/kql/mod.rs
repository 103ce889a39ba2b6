//! KQL (Kibana Query Language, "kuery") parsed and compiled with Kibana's semantics.
//!
//! The syntax follows Kibana's kuery grammar (`packages/kbn-es-query/src/kuery/grammar`):
//!
//! * `field:value`, `field:"quoted phrase"`, `field:(a or b and not c)` (value lists with
//!   `not` > `and` > `or` precedence), `field:*` (the field exists), `field < 10`, `<=`, `>`,
//!   `>=`, `field:{ sub:value }` (read as `field.sub:value`), parentheses, and the keywords
//!   `and`, `or`, `not` in any case.
//! * An unquoted value runs until a special character (`\ ( ) : < > " * { }`, with `*` a
//!   wildcard inside it) or whitespace followed by a keyword, so `f:foo bar` is the single
//!   value `foo bar`; surrounding whitespace is dropped. `?` is an ordinary character.
//! * Escapes in unquoted text: `\\ \( \) \: \< \> \" \* \{ \}`, `\t \r \n`, `\uXXXX`, and
//!   `\and \or \not` (the word taken literally). Any other backslash is an error. In quoted
//!   text `\"` and `\\` are escapes, as are `\t \r \n \uXXXX`; another backslash is literal.
//!
//! Semantics (documents have no mapping, so every field is treated like a `keyword`):
//!
//! * Values are case-sensitive: an exact value compiles to an exact string test, a value with
//!   `*` to a wildcard test; a quoted value never has wildcards. Any element of an array
//!   field may match. A number also matches numeric document values equal to it
//!   (`f:3` matches `3`, `3.0` and `"3"`); an IP address or CIDR block also matches the IP
//!   addresses it covers (as on an `ip` field).
//! * KQL is two-valued: a test on a field the document lacks is false, so `not f:x` matches
//!   documents without `f`; `f:*` is false and `not f:*` true when `f` is missing.
//! * `a:{ b:1 and c:2 }` is read as `a.b:1 and a.c:2`: each test may be met by a different
//!   element of an array of objects under `a` (Kibana's `nested` query would require one
//!   element to meet both; without a mapping we cannot know `a` is `nested`).
//! * A bare `true`, `false` or `null` is compared as that text (`b:true` matches the boolean
//!   `true` and the string `"true"`).
//! * Ranges compare numbers numerically and other text by bytes; a date (RFC 3339) is also
//!   compared with numeric dates as epoch milliseconds. A range value cannot be a wildcard.
//! * Deliberate refusals, with a precise error: a value without a field (Kibana would search
//!   every field; a detection should name its field, and an all-fields search over ECS
//!   documents rarely means what is intended) and field names with wildcards (Kibana expands
//!   them from the index mapping, which we do not have).
//! * Small supersets of Kibana's grammar that only turn its syntax errors into queries:
//!   `not(…)` without a space, `not not x`, and `and`/`or` directly before `(`, `)` or `"`.
//!   An `and`/`or` at the very end of a value list or query is an error (Kibana would read
//!   `f:a or` as the value `a or`).
//! * The empty query matches every event (as Kibana's).

// `ParseError` is the crate's error type, carried by value as the public API returns it.
#![allow(clippy::result_large_err)]

mod ast;
mod compile;
mod parser;

use crate::{CompileOptions, ParseError, Pred};

/// Parses and compiles a KQL query into an optimized condition.
pub fn compile(text: &str, _opts: &CompileOptions) -> Result<Pred, ParseError> {
    let Some(node) = parser::parse(text)? else {
        return Ok(Pred::Const(Some(true)));
    };
    let c = compile::Compiler { src: text };
    Ok(c.node(&node, "")?.optimize())
}
