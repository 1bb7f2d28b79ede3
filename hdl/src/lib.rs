//! The rust-hdl description of the binary-CNN accelerator and the flow that checks its emitted
//! Verilog with independent tools (Icarus Verilog, Verilator, Yosys).
//!
//! Every block takes its widths and sizes from `cbnn::config::AccelConfig`; a block counts as
//! done when its emitted Verilog, simulated by Icarus or Verilator, matches the golden model.

pub mod accum;
pub mod act_loader;
pub mod array;
pub mod bank;
pub mod bitconv;
pub mod board;
pub mod codec;
pub mod combine;
pub mod compute;
pub mod controller;
pub mod cosim;
pub mod drain;
pub mod flow;
pub mod fpga;
pub mod gather;
pub mod manifest;
pub mod netlist;
pub mod pe;
pub mod popcount;
pub mod ppu;
pub mod regfile;
pub mod row_ctl;
pub mod sequencer;
pub mod tail_mask;
pub mod top;
pub mod verilog;
pub mod weight_loader;

#[cfg(test)]
mod toolchain_tests;
