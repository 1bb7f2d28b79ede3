//! The core's blocks (docs/ARCHITECTURE.md, section 3): each file holds one block, the rust-hdl
//! description or the generator of its Verilog, and its tests beside it (`NAME/tests.rs`).

/// Calls the generic `f::<W>(arg)` (or `f::<P, W>(arg)` with `f[P]`) for the run-time width
/// `val`, one of the literal widths listed: rust-hdl fixes widths in types, the config gives them
/// at run time. `None` for a width not listed.
macro_rules! by_width {
    ($val:expr, $f:ident($arg:expr); $($v:literal),*) => {
        match $val { $( $v => Some($f::<$v>($arg)), )* _ => None }
    };
    ($val:expr, $f:ident[$p:tt]($arg:expr); $($v:literal),*) => {
        match $val { $( $v => Some($f::<$p, $v>($arg)), )* _ => None }
    };
}

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
pub mod lit;
pub mod pe;
pub mod popcount;
pub mod ppu;
pub mod regfile;
pub mod row_ctl;
pub mod sequencer;
pub mod tail_mask;
pub mod weight_loader;
