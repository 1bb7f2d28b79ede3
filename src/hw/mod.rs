//! What the host computes for the generated core: layer descriptors (the registers written before
//! a layer starts) and the order of the data on the core's streams. The RTL testbenches, the
//! cycle-accurate simulator and the FPGA loader all use these, so there is one definition of the
//! hardware's view of a layer (docs/ARCHITECTURE.md, section 4).

pub mod codec_geom;
pub mod combine;
pub mod control;
pub mod descriptor;
pub mod dram;
pub mod first_layer;
pub mod grouped;
pub mod layout;
pub mod params;
pub mod pipeline;
pub mod regs;
pub mod sequence;
pub mod setup;
pub mod streams;
pub mod trace;

pub use descriptor::{LayerDescriptor, LayerKind};
