//! What needs both the generated hardware (`cbnn-hdl`) and the cycle simulator (`cbnn-sim`):
//! architecture sweeps (`sweep`, docs/SWEEPS.md), whose points may also be synthesised. Its tests
//! hold the simulator to the RTL (`tests/rtl_cycles.rs`, `tests/imported_networks.rs`) and its
//! benchmark times both (`benches/speed.rs`, docs/PERFORMANCE.md).

pub mod sweep;
