//! cbnn: the shared library of the compressed-binary-CNN accelerator generator.
//!
//! It holds what every other part of the project agrees on: the accelerator configuration, the
//! network and tensor formats, and the golden model that implements docs/SPEC.md bit for bit.
//! The RTL generator (`hdl/`) and the cycle-accurate simulator (`sim/`) read the same config
//! struct and are judged against this golden model.

pub mod batch;
pub mod classify;
pub mod cli;
pub mod codec;
pub mod config;
pub mod convert;
pub mod errors;
pub mod examples;
pub mod fsutil;
pub mod golden;
pub mod hostile;
pub mod hw;
pub mod import;
pub mod network;
pub mod npyio;
pub mod quant;
pub mod reference;
pub mod tensor;
pub mod testing;
pub mod tools;
pub mod verilog_keywords;
