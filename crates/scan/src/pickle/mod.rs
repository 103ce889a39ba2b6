//! Pickle streams: the opcode walker and its value model.

mod calls;
mod value;
mod walker;

#[cfg(test)]
pub(crate) use calls::itemsize;
pub(crate) use walker::Walker;
