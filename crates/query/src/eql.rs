//! EQL parser and compiler (being built).
use crate::{CompileOptions, ParseError, Query};

pub fn compile(text: &str, _opts: &CompileOptions) -> Result<Query, ParseError> {
    Err(ParseError::at(
        text,
        0,
        0,
        "the EQL parser is not built yet",
    ))
}
