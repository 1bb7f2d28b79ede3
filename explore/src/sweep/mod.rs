//! Architecture what-if sweeps (docs/SWEEPS.md): a base config and network, axes of config and
//! network keys, every point through the cycle simulator (and optionally the FPGA flow), results
//! as CSV/JSON, a summary with the Pareto front, and SVG plots.
//!
//! - `spec`: the sweep file, its axes and points, checked before anything runs;
//! - `apply`: a point's values written into the base config and network;
//! - `point`: one point simulated and measured; `synth`: its core placed and routed (cached);
//! - `store`: the results directory (resumable log, atomic results, shard merging);
//! - `run`: the parallel, sharded run; `table`, `summary`, `plots`: what is made of the rows.

pub mod apply;
pub mod metric;
pub mod plots;
pub mod point;
pub mod run;
pub mod spec;
pub mod store;
pub mod summary;
pub mod synth;
pub mod table;

pub use run::{run, RunOptions, Shard};
pub use spec::{Sweep, EXAMPLE, MAX_POINTS};
