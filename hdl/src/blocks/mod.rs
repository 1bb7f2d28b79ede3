//! The core's blocks (docs/ARCHITECTURE.md, section 3): each file holds one block, the rust-hdl
//! description or the generator of its Verilog, and its tests beside it (`NAME/tests.rs`).

pub mod accum;
pub mod act_loader;
pub mod array;
pub mod bank;
pub mod bitconv;
pub mod combine;
pub mod compute;
pub mod controller;
pub mod drain;
pub mod gather;
pub mod pe;
pub mod popcount;
pub mod ppu;
pub mod regfile;
pub mod row_ctl;
pub mod sequencer;
pub mod tail_mask;
pub mod weight_loader;
