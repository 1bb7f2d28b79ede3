//! The cycle-accurate simulator of the generated accelerator (docs/ARCHITECTURE.md).
//!
//! It models the micro-architecture block by block as `hdl/` describes it, reading the same
//! `cbnn::config::AccelConfig`: each control block is a struct whose fields are the RTL block's
//! registers (`controller`, `act_loader`, `sequencer`, `drain`, `gather`, `encoder`, `decoder`),
//! `core` wires them cycle by cycle as `hdl/src/generator/top.rs` does, `datapath` holds the buffers and
//! computes what the array and the PPUs compute, and `layer` drives the core's ports as the RTL
//! testbench does, optionally through the DRAM model of `cbnn::hw::dram`. Its outputs are the
//! golden model's, and its cycle counts are the RTL's (`tests/rtl_cycles.rs`).

pub mod act_loader;
pub mod batch;
pub mod combine;
pub mod controller;
pub mod core;
pub mod datapath;
pub mod decoder;
pub mod drain;
pub mod encoder;
pub mod gather;
pub mod layer;
pub mod network;
pub mod report;
pub mod sequencer;
pub mod trace;
pub mod waves;

pub use layer::{run_layer, run_layer_probed, LayerResult, Probe, Stored, Traffic};
pub use network::{run_network, LayerReport, NetworkRun, RunOptions};
