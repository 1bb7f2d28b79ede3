//! The layer controller (`hdl/src/blocks/controller.rs`), register for register: the loop nest over row
//! bands, filter tiles and output rows, the stream gates, and the drain scheduler; for grouped
//! (slbf, penni) layers the loop over each row's runs (groups x bank tiles), the combine passes
//! scheduled like drains, and the drains of a finished row's filter tiles. `outputs` is the
//! block's combinational logic and `clock` its next-state logic, one function per RTL sub-block
//! (`clock_loop_nest`, `clock_run_issuer`, `clock_pass_scheduler` with `clock_row_drains`,
//! `clock_group_iter`; the RTL's `BandIter` is `Bounds`, from the contract).
//!
//! What is abstracted: the loop counters the RTL keeps as address arithmetic (`iy`, `base`, the
//! group offsets) are not here, since they decide no cycle (the datapath computes addresses from
//! `run_y`); the drain scheduler counts runs issued, stored and drained as totals where the RTL
//! keeps two 2-bit differences (`to_drain`, `in_flight`, each at most 2 by the two accumulator
//! banks), which give the same compares. Every register that decides a cycle is the RTL's, and
//! the outputs are compared with the RTL's in every cycle (the trace of `cbnn::hw::trace`,
//! explore/tests/rtl_cycles.rs): a difference names the cycle and the signal.

use cbnn::hw::control::{Phase, ACT_SETTLE, WEIGHT_SETTLE};
use cbnn::hw::streams::{band_input_rows, band_output_rows};
use cbnn::hw::{regs, LayerDescriptor};

/// The layer's loop bounds, as the descriptor registers give them.
#[derive(Clone, Debug)]
pub struct Bounds {
    pub bands: u32,
    pub filter_tiles: u32,
    /// The registers of the same names (`cbnn::hw::regs`): beats per input row of the band and
    /// weight words per tile.
    pub row_beats: u64,
    pub tile_words: u64,
    /// Per band: the input rows loaded and the output rows computed.
    pub band_in: Vec<std::ops::Range<u32>>,
    pub band_out: Vec<std::ops::Range<u32>>,
    /// Grouped layers: runs per output row and the combine entries' stream words.
    pub grouped: Option<(u32, u64)>,
}

impl Bounds {
    pub fn new(d: &LayerDescriptor, cfg: &cbnn::config::AccelConfig) -> Self {
        Bounds {
            bands: d.bands,
            filter_tiles: d.filter_tiles,
            row_beats: regs::row_beats(d, cfg) as u64,
            tile_words: regs::tile_words(d, cfg) as u64,
            band_in: (0..d.bands).map(|b| band_input_rows(d, b)).collect(),
            band_out: (0..d.bands).map(|b| band_output_rows(d, b)).collect(),
            grouped: d.grouped.as_ref().map(|g| (g.runs(), regs::entry_words(d, cfg) as u64)),
        }
    }
}

/// Inputs from the other blocks, sampled in the cycle.
#[derive(Clone, Copy, Debug, Default)]
pub struct CtlIn {
    pub act_fire: bool,
    pub act_busy: bool,
    pub w_fire: bool,
    pub seq_busy: bool,
    pub run_stored: bool,
    pub drain_busy: bool,
    pub comb_busy: bool,
}

/// Combinational outputs of the cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtlOut {
    pub busy: bool,
    pub act_en: bool,
    pub w_en: bool,
    /// A grouped layer's combine entries are loading (on the weight stream).
    pub ent_en: bool,
    pub load_start: bool,
    pub w_load_start: bool,
    /// A sequencer run starts: output row `run_y` of tile `run_tile` (a grouped layer's run
    /// `g * bank_tiles + b` of the row) into accumulator bank `run_bank`.
    pub go: bool,
    pub run_y: u32,
    pub run_tile: u32,
    pub run_bank: usize,
    pub run_end: bool,
    /// The RTL's `acc_bank` output (its `run_bank` register: the bank of the last run issued),
    /// here 0 until the layer's first run, whose bank it then holds.
    pub acc_bank: usize,
    /// The drain of accumulator bank `drain_bank` starts (grouped layers: the drain of filter
    /// tile `drain_tile` from the combine stage).
    pub drain_start: bool,
    pub drain_bank: usize,
    pub drain_tile: u32,
    /// A grouped layer's combine pass over accumulator bank `drain_bank` starts.
    pub comb_start: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Controller {
    pub state: Phase,
    band: u32,
    tile: u32,
    y: u32,
    y_end: u32,
    rows_left: u32,
    vals_left: u64,
    words_left: u64,
    settle: u32,
    /// An activation beat was taken in the previous cycle, and the load has one beat left not
    /// counting that one (the RTL's registers of the same names).
    fire_r: bool,
    act_last: bool,
    /// The bank of the last run issued, and whether this layer has issued one.
    run_bank: usize,
    ran: bool,
    run_active: bool,
    run_wait: bool,
    issued: u64,
    stored: u64,
    drained: u64,
    next_bank: usize,
    drain_active: bool,
    drain_wait: bool,
    drain_sel: usize,
    /// Grouped layers: the run of the row, each bank's "last run of its row", the pass's, and
    /// the drains of a finished row (pending, running, the tile).
    run_idx: u32,
    last: [bool; 2],
    d_last: bool,
    od_pending: bool,
    od_active: bool,
    od_wait: bool,
    od_tile: u32,
}

impl Controller {
    /// The state right after the `start` edge: the first band is being set up.
    pub fn start(&mut self) {
        self.state = Phase::Band;
        self.band = 0;
        self.issued = 0;
        self.stored = 0;
        self.drained = 0;
        self.next_bank = 0;
        self.drain_sel = 0;
        self.ran = false;
        self.od_pending = false;
        self.od_active = false;
    }

    fn may_go(&self) -> bool {
        !self.run_active && self.issued <= self.drained + 1
    }

    /// The combinational outputs (they depend on registers only).
    pub fn outputs(&self, i: &CtlIn, b: &Bounds) -> CtlOut {
        let grouped = b.grouped.is_some();
        let mut o = CtlOut {
            busy: self.state != Phase::Idle,
            act_en: self.state == Phase::LoadA && !(self.fire_r && self.act_last),
            w_en: self.state == Phase::LoadW,
            ent_en: self.state == Phase::LoadE,
            load_start: self.state == Phase::Band,
            w_load_start: self.state == Phase::Tile && !((b.filter_tiles == 1 || grouped) && self.band != 0),
            ..CtlOut::default()
        };
        if self.run_active && !self.run_wait && !i.seq_busy {
            o.run_end = true;
        }
        o.drain_bank = self.drain_sel;
        o.acc_bank = if self.ran { self.run_bank } else { 0 };
        if !self.drain_active && self.drained < self.stored && !(grouped && (self.od_pending || self.od_active)) {
            o.drain_start = !grouped;
            o.comb_start = grouped;
        }
        if !self.od_active && self.od_pending {
            o.drain_start = true;
            o.drain_tile = self.od_tile;
        }
        if self.state == Phase::Rows && self.y != self.y_end && self.may_go() {
            o.go = true;
            o.run_y = self.y;
            o.run_tile = if grouped { self.run_idx } else { self.tile };
            o.run_bank = self.next_bank;
        }
        o
    }

    /// The clock edge: next values from the registers as they were in the cycle (`q`). Each
    /// function below is one of the RTL controller's sub-blocks (`hdl/src/blocks/controller/`).
    pub fn clock(&mut self, i: &CtlIn, o: &CtlOut, b: &Bounds) {
        let q = self.clone();
        self.fire_r = i.act_fire;
        self.clock_loop_nest(&q, i, o, b);
        self.clock_run_issuer(&q, i, o);
        self.clock_pass_scheduler(&q, i, o, b);
        self.clock_group_iter(&q, o, b);
        // The RTL keeps these differences in 2-bit registers: two accumulator banks bound them.
        debug_assert!(
            self.issued - self.drained <= 2 && self.stored - self.drained <= 2,
            "runs issued {}, stored {}, drained {}",
            self.issued,
            self.stored,
            self.drained
        );
    }

    /// A grouped layer's current run is the last of its output row (`GroupIter`'s `row_last`).
    fn row_last(&self, b: &Bounds) -> bool {
        b.grouped.is_some_and(|(runs, _)| self.run_idx + 1 == runs)
    }

    /// `RunIssuer`: a run starts with `go` into the next bank, and ends when the sequencer is
    /// idle again.
    fn clock_run_issuer(&mut self, q: &Controller, i: &CtlIn, o: &CtlOut) {
        if q.run_active {
            if q.run_wait {
                self.run_wait = false;
            } else if !i.seq_busy {
                self.run_active = false;
            }
        }
        if o.go {
            self.run_active = true;
            self.run_wait = true;
            self.run_bank = q.next_bank;
            self.ran = true;
            self.next_bank ^= 1;
        }
    }

    /// `GroupIter`: the grouped row's run index, back to 0 with each tile and after a row's last
    /// run (the RTL's group, lane, row and base counters are addresses, which decide no cycle).
    fn clock_group_iter(&mut self, q: &Controller, o: &CtlOut, b: &Bounds) {
        if q.state == Phase::Tile {
            self.run_idx = 0;
        } else if o.go && b.grouped.is_some() {
            self.run_idx = if q.row_last(b) { 0 } else { q.run_idx + 1 };
        }
    }

    /// `PassScheduler`: a pass (a drain, or a grouped layer's combine pass) per stored run, in
    /// order, and after a grouped row's last pass the drains of its filter tiles.
    fn clock_pass_scheduler(&mut self, q: &Controller, i: &CtlIn, o: &CtlOut, b: &Bounds) {
        let grouped = b.grouped.is_some();
        if o.go {
            self.issued += 1;
            self.last[q.next_bank] = q.row_last(b);
        }
        if i.run_stored {
            self.stored += 1;
        }
        let pass_busy = if grouped { i.comb_busy } else { i.drain_busy };
        if q.drain_active {
            if q.drain_wait {
                self.drain_wait = false;
            } else if !pass_busy {
                self.drain_active = false;
                self.drained = q.drained + 1;
                if grouped && q.d_last {
                    self.od_pending = true;
                }
            }
        } else if (o.drain_start && !grouped) || o.comb_start {
            self.drain_active = true;
            self.drain_wait = true;
            self.drain_sel ^= 1;
            self.d_last = q.last[q.drain_sel];
        }
        self.clock_row_drains(q, i, b);
    }

    /// `RowDrains` (inside `PassScheduler`): a finished grouped row's filter tiles through the
    /// drain unit, one after another.
    fn clock_row_drains(&mut self, q: &Controller, i: &CtlIn, b: &Bounds) {
        if q.od_active {
            if q.od_wait {
                self.od_wait = false;
            } else if !i.drain_busy {
                self.od_active = false;
                self.od_tile += 1;
                if self.od_tile == b.filter_tiles {
                    self.od_pending = false;
                    self.od_tile = 0;
                }
            }
        } else if q.od_pending {
            self.od_active = true;
            self.od_wait = true;
        }
    }

    /// `LoopNest`: the loops over bands, filter tiles and output rows (a grouped layer: the runs
    /// of each row), and the loads between them.
    fn clock_loop_nest(&mut self, q: &Controller, i: &CtlIn, o: &CtlOut, b: &Bounds) {
        let grouped = b.grouped.is_some();
        match self.state {
            Phase::Band => {
                let rows = &b.band_in[self.band as usize];
                self.rows_left = rows.end - rows.start;
                self.vals_left = b.row_beats;
                self.y_end = b.band_out[self.band as usize].end;
                self.state = Phase::LoadA;
            }
            Phase::LoadA => {
                // Beats are counted a cycle after they were taken (`fire_r`), as in the RTL.
                if q.fire_r {
                    self.vals_left = q.vals_left - 1;
                    self.act_last = q.vals_left == 2 && q.rows_left == 1;
                    if q.vals_left == 1 {
                        self.vals_left = b.row_beats;
                        self.rows_left = q.rows_left - 1;
                        self.act_last = b.row_beats == 1 && q.rows_left == 2;
                        if q.rows_left == 1 {
                            self.settle = ACT_SETTLE;
                            self.state = Phase::SettleA;
                        }
                    }
                } else {
                    self.act_last = q.vals_left == 1 && q.rows_left == 1;
                }
            }
            Phase::SettleA => {
                if !i.act_busy {
                    if self.settle == 0 {
                        self.tile = 0;
                        self.state = Phase::Tile;
                    } else {
                        self.settle -= 1;
                    }
                }
            }
            Phase::Tile => {
                self.y = b.band_out[self.band as usize].start;
                if o.w_load_start {
                    self.words_left = b.tile_words;
                    self.state = Phase::LoadW;
                } else {
                    self.state = Phase::Rows;
                }
            }
            Phase::LoadW => {
                if i.w_fire {
                    self.words_left -= 1;
                    if self.words_left == 0 {
                        self.settle = WEIGHT_SETTLE;
                        self.state = Phase::SettleW;
                        if let Some((_, entry_words)) = b.grouped {
                            self.words_left = entry_words;
                            self.state = Phase::LoadE;
                        }
                    }
                }
            }
            Phase::LoadE => {
                if i.w_fire {
                    self.words_left -= 1;
                    if self.words_left == 0 {
                        self.settle = WEIGHT_SETTLE;
                        self.state = Phase::SettleW;
                    }
                }
            }
            Phase::SettleW => {
                if self.settle == 0 {
                    self.state = Phase::Rows;
                } else {
                    self.settle -= 1;
                }
            }
            Phase::Rows => {
                if q.y == q.y_end {
                    // The tile's rows are issued; buffers change only once the last run has read them.
                    if !q.run_active {
                        self.tile += 1;
                        self.state = Phase::Tile;
                        if self.tile == b.filter_tiles || grouped {
                            self.band += 1;
                            self.state = if self.band == b.bands { Phase::Finish } else { Phase::Band };
                        }
                    }
                } else if o.go && (!grouped || q.row_last(b)) {
                    // The next row (a grouped layer: after the row's last run).
                    self.y += 1;
                }
            }
            Phase::Finish => {
                if q.drained == q.issued && !q.run_active && !q.od_pending && !q.od_active {
                    self.state = Phase::Idle;
                }
            }
            Phase::Idle => {}
        }
    }
}
