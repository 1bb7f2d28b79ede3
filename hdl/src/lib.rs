//! The rust-hdl description of the binary-CNN accelerator and the flow that checks its emitted
//! Verilog with independent tools (Icarus Verilog, Verilator, Yosys).
//!
//! Every block takes its widths and sizes from `cbnn::config::AccelConfig`; a block counts as
//! done when its emitted Verilog, simulated by Icarus or Verilator, matches the golden model.
//!
//! The folders, by role (docs/EXTENDING.md says where a change goes):
//! - `blocks`: the core's blocks, one per file with its tests beside it;
//! - `codec`: the DCT-CM encoder and decoder (Verilog generated from the config);
//! - `generator`: the netlist builder, the core's top level, Verilog handling and the manifest;
//! - `cosim`: the independent simulators and checkers, and the testbench that runs whole layers;
//! - `fpga`: the FPGA flow (`synth`) and the board-level top.

pub mod blocks;
pub mod codec;
pub mod cosim;
pub mod fpga;
pub mod generator;
