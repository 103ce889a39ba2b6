//! Pickle streams: the opcode walker and its value model.

mod calls;
mod skim;
mod text;
mod value;
mod walker;

pub(crate) use skim::{skim, Skim};
pub(crate) use walker::Walker;
