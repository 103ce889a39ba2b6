//! Sequence and sample evaluation (being built).
