//! Pipeline latencies of the generated core that its cycle timing depends on, shared by the RTL
//! generator (`hdl/`) and the cycle simulator (`sim/`), so that both count the same cycles.

/// Cycles from a value entering a post-processing unit (`in_valid`) to its result (`out_valid`):
/// input registers, the partial products, the sum with bias and rounding constant, and the
/// shift and clamp (docs/ARCHITECTURE.md, section 4).
pub const PPU_LATENCY: usize = 4;

/// Address bits of the drain unit's result FIFO, whose depth is `RESULT_FIFO_DEPTH`.
pub const RESULT_FIFO_BITS: usize = 3;
pub const RESULT_FIFO_DEPTH: usize = 1 << RESULT_FIFO_BITS;

/// Cycles from a drain unit's accumulator read to its post-processed value: the read of the
/// accumulator and the bias, then the PPU.
pub const DRAIN_READ_TO_VALUE: usize = 1 + PPU_LATENCY;

/// Cycles from a drain's `start` cycle to the cycle the row's first beat is offered
/// (`out_valid`): the read and the PPU (`DRAIN_READ_TO_VALUE`), the FIFO write and the FIFO read.
pub const DRAIN_FIRST_BEAT: usize = DRAIN_READ_TO_VALUE + 2;
// The drain issues a read per cycle while it holds a credit (a free FIFO entry); a credit
// returns `DRAIN_FIRST_BEAT` cycles after its read, so a deeper pipeline needs a deeper FIFO.
const _: () = assert!(DRAIN_FIRST_BEAT < RESULT_FIFO_DEPTH);

/// Cycles from a drain's `start` cycle to the transfer of the last of a row's `beats` beats when
/// the result stream stays ready (`busy` falls in the next cycle, when `start` may come again).
pub fn drain_last_beat(beats: usize) -> usize {
    DRAIN_FIRST_BEAT + beats - 1
}

/// Cycles from a sequencer read to its step entering the array: the bank RAM's synchronous read,
/// then a register behind the row control (a block RAM's clock-to-output takes most of a cycle,
/// so its word goes to the PEs from a register). The weight words take the same path.
pub const READ_TO_ARRAY: usize = 2;

/// Cycles a combine pass stays busy after its last read (`hdl/src/blocks/combine/ctl.rs`): the dropped
/// read after the run's last entry, then the lane's stages 2 and 3; a pass over `E` entries is
/// busy for `E * W_out + COMBINE_TAIL` cycles.
pub const COMBINE_TAIL: usize = 3;

/// Cycles from a sequencer read to the column accumulators taking its column sums: the read,
/// then the array's `R + C` (one register per row on the psum path, one per column on the
/// activation path). This is also the controller's `store_delay`, from a run's end to its sums
/// being in the accumulators.
pub fn step_to_acc(rows: u32, cols: u32) -> usize {
    READ_TO_ARRAY + (rows + cols) as usize
}
