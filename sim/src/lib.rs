//! The cycle-accurate simulator of the generated accelerator (issue: cycle-accurate simulator).
//!
//! It will model the micro-architecture block by block as `hdl/` describes it, reading the same
//! `cbnn::config::AccelConfig`, and produce the golden model's outputs with the RTL's exact cycle
//! counts. Nothing is implemented here yet: this crate only fixes the workspace layout.
