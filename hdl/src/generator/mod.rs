//! From the config to the core's Verilog: the structural netlist builder (`netlist`), the core's
//! top level that wires the blocks (`top`), the handling of emitted Verilog (`verilog`) and the
//! manifest that describes the generated core to its users (`manifest`).

pub mod check;
pub mod expr;
pub mod manifest;
pub mod netlist;
pub mod top;
pub mod verilog;
