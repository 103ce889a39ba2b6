//! Pickle streams: the opcode walker and its value model.

mod calls;
mod value;
mod walker;

pub(crate) use calls::itemsize;
pub(crate) use walker::{Outcome, Walker};
