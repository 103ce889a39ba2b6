//! KQL parser and compiler (being built).
use crate::{CompileOptions, ParseError, Pred};

pub fn compile(text: &str, _opts: &CompileOptions) -> Result<Pred, ParseError> {
    Err(ParseError::at(
        text,
        0,
        0,
        "the KQL parser is not built yet",
    ))
}
