//! The R x C weight-stationary systolic array (docs/ARCHITECTURE.md, section 1), composed from
//! identical PE instances and register chains.
//!
//! Interface (all unskewed; the array skews and deskews internally):
//! - one *step* per cycle: `a_in[r]` is reduction chunk r (L lanes) with its `pad`, `tail` and
//!   `first` flags; `first` marks the first step of a pass (the weights swap there);
//! - weight load: `wl_en` starts a load; during that cycle and the next R-1, `wl_data` carries the
//!   C weight words of rows 0, 1, ..., R-1 (column c in bits `[c*L+L-1 : c*L]`);
//! - `psum_out[c]`: the sum over rows of column c's contributions for the step that entered
//!   `LATENCY = R + C` cycles earlier.
//!
//! Timing contract (checked by the co-simulation): a pass may start 1 cycle after its weight load
//! starts, and a load may start in the cycle its predecessor pass starts; loads are `R` cycles
//! apart.

use anyhow::{bail, Result};

use crate::blocks::pe::Pe;
use crate::generator::netlist::{slice, Dir, NetModule};
use crate::generator::verilog::{emit_block, merge_identical, Module};
use rust_hdl::prelude::*;

/// Shape of an array; every field comes from the accelerator config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayShape {
    pub rows: usize,
    pub cols: usize,
    pub lanes: usize,
}

impl ArrayShape {
    pub fn from_config(cfg: &cbnn::config::AccelConfig) -> Self {
        ArrayShape { rows: cfg.array.rows as usize, cols: cfg.array.cols as usize, lanes: cfg.array.lanes as usize }
    }

    /// Partial-sum width: a column sum lies in [-R*L, R*L], or with bit-planes side by side on
    /// `P` rows (`cbnn::hw::descriptor::plane_rows`, at most 8 planes) in
    /// [-(2^P - 1)*L, (2^P - 1)*L].
    pub fn psum_bits(&self) -> usize {
        let plane_rows = cbnn::hw::descriptor::plane_rows(self.rows as u32, 1, 8) as usize;
        let bound = self.lanes * self.rows.max((1 << plane_rows) - 1);
        cbnn::quant::accwidth::signed_width(bound as u64) as usize
    }

    /// Cycles from a step entering to its column sums leaving.
    pub fn latency(&self) -> usize {
        self.rows + self.cols
    }
}

/// Module names used by the array, derived from the design name.
pub struct ArrayNames {
    pub array: String,
    pub pe: String,
    pub reg_lanes: String,
    pub reg_bit: String,
    pub reg_psum: String,
}

impl ArrayNames {
    pub fn new(design: &str, s: &ArrayShape) -> Self {
        ArrayNames {
            array: format!("{design}_array"),
            pe: format!("{design}_pe"),
            reg_lanes: format!("{design}_reg{}", s.lanes),
            reg_bit: format!("{design}_reg1"),
            reg_psum: format!("{design}_reg{}", s.psum_bits()),
        }
    }
}

/// Instantiates the rust-hdl blocks for `(L, SW)`: rust-hdl widths are Rust types, so every
/// supported pair is listed here once.
macro_rules! dispatch_lanes_psum {
    ($l:expr, $sw:expr, $f:ident($arg:expr); $( $L:literal => [$($SW:literal),*] ),* ) => {
        match ($l, $sw) {
            $( $( ($L, $SW) => Some($f::<$L, $SW>($arg)), )* )*
            _ => None,
        }
    };
}

fn leaf_modules_for<const L: usize, const SW: usize>(n: &ArrayNames) -> Vec<Module> {
    let mut v = emit_block(Pe::<L, SW>::default(), &n.pe);
    v.extend(emit_block(DFF::<Bits<L>>::default(), &n.reg_lanes));
    v.extend(emit_block(DFF::<Bit>::default(), &n.reg_bit));
    v.extend(emit_block(DFF::<Bits<SW>>::default(), &n.reg_psum));
    v
}

fn leaf_modules(s: &ArrayShape, n: &ArrayNames) -> Result<Vec<Module>> {
    let sw = s.psum_bits();
    let found = dispatch_lanes_psum!(s.lanes, sw, leaf_modules_for(n);
        8 => [5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
        16 => [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        32 => [7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
        64 => [8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
        128 => [9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    );
    match found {
        Some(v) => Ok(v),
        None => bail!("no PE for lanes = {} with {sw}-bit partial sums (rows = {})", s.lanes, s.rows),
    }
}

/// Appends a chain of `depth` registers after `src`; returns the expression at its end.
fn delay(m: &mut NetModule, reg: &str, name: &str, src: String, width: usize, depth: usize) -> String {
    let mut cur = src;
    for i in 0..depth {
        let q = format!("{name}_d{}", i + 1);
        m.wire(&q, width);
        m.instance(reg, &format!("{q}_reg"), &[("clock", "clock".into()), ("d", cur), ("q", q.clone())]);
        cur = q;
    }
    cur
}

/// The array's structural module.
// Indexing by (row, column) mirrors the picture in docs/ARCHITECTURE.md better than iterators.
#[allow(clippy::needless_range_loop)]
fn array_module(s: &ArrayShape, n: &ArrayNames) -> Module {
    let (r_n, c_n, l) = (s.rows, s.cols, s.lanes);
    let sw = s.psum_bits();
    let mut m = NetModule::new(&n.array);
    m.port(Dir::In, "clock", 1);
    m.port(Dir::In, "bwn", 1);
    // Bit-planes side by side on the rows: row r's contributions weigh 2^r.
    m.port(Dir::In, "plane_rows", 1);
    m.bus(Dir::In, "tail_mask", r_n * l);
    m.bus(Dir::In, "a_in", r_n * l);
    m.bus(Dir::In, "pad_in", r_n);
    m.bus(Dir::In, "tail_in", r_n);
    m.bus(Dir::In, "first_in", r_n);
    m.bus(Dir::In, "wl_data", c_n * l);
    m.port(Dir::In, "wl_en", 1);
    m.bus(Dir::Out, "psum_out", c_n * sw);
    // Row inputs, skewed by the row index, then moved right one register per column.
    let mut a = vec![vec![String::new(); c_n]; r_n];
    let mut flags = vec![vec![[String::new(), String::new(), String::new()]; c_n]; r_n];
    for r in 0..r_n {
        a[r][0] = delay(&mut m, &n.reg_lanes, &format!("a_r{r}_skew"), slice("a_in", r, l), l, r);
        for (f, port) in ["pad_in", "tail_in", "first_in"].iter().enumerate() {
            flags[r][0][f] =
                delay(&mut m, &n.reg_bit, &format!("{}_r{r}_skew", &port[..port.len() - 3]), slice(port, r, 1), 1, r);
        }
        for c in 1..c_n {
            a[r][c] = delay(&mut m, &n.reg_lanes, &format!("a_r{r}_c{c}"), a[r][c - 1].clone(), l, 1);
            for (f, name) in ["pad", "tail", "first"].iter().enumerate() {
                flags[r][c][f] =
                    delay(&mut m, &n.reg_bit, &format!("{name}_r{r}_c{c}"), flags[r][c - 1][f].clone(), 1, 1);
            }
        }
    }
    // Weight buses and load tokens, skewed by the column index; tokens move down one row per cycle.
    let mut tok = vec![vec![String::new(); c_n]; r_n];
    let mut bus = Vec::new();
    for c in 0..c_n {
        bus.push(delay(&mut m, &n.reg_lanes, &format!("wl_c{c}_skew"), slice("wl_data", c, l), l, c));
        tok[0][c] = delay(&mut m, &n.reg_bit, &format!("tok_c{c}_skew"), "wl_en".into(), 1, c);
        for r in 1..r_n {
            tok[r][c] = delay(&mut m, &n.reg_bit, &format!("tok_r{r}_c{c}"), tok[r - 1][c].clone(), 1, 1);
        }
    }
    // PEs; partial sums flow down.
    for r in 0..r_n {
        for c in 0..c_n {
            let ps = format!("ps_r{r}_c{c}");
            m.wire(&ps, sw);
            let psum_in = if r == 0 { format!("{{{sw}{{1'b0}}}}") } else { format!("ps_r{}_c{c}", r - 1) };
            m.instance(
                &n.pe,
                &format!("pe_r{r}_c{c}"),
                &[
                    ("clock", "clock".into()),
                    ("bwn", "bwn".into()),
                    ("tail_mask", slice("tail_mask", r, l)),
                    // At most 8 planes: rows from 8 on never hold one.
                    ("pshift", if r < 8 { format!("(plane_rows ? 3'd{r} : 3'd0)") } else { "3'd0".into() }),
                    ("a_in", a[r][c].clone()),
                    ("pad_in", flags[r][c][0].clone()),
                    ("tail_in", flags[r][c][1].clone()),
                    ("first_in", flags[r][c][2].clone()),
                    ("psum_in", psum_in),
                    ("psum_out", ps),
                    ("wl_data", bus[c].clone()),
                    ("wl_en", tok[r][c].clone()),
                ],
            );
        }
    }
    // Deskew: column c waits C-1-c cycles so all columns leave together.
    for c in 0..c_n {
        let out = delay(&mut m, &n.reg_psum, &format!("out_c{c}"), format!("ps_r{}_c{c}", r_n - 1), sw, c_n - 1 - c);
        m.assign(&slice("psum_out", c, sw), &out);
    }
    m.finish()
}

/// Every module of the array (array first), one definition per distinct block.
pub fn array_modules(design: &str, s: &ArrayShape) -> Result<Vec<Module>> {
    let names = ArrayNames::new(design, s);
    let mut v = vec![array_module(s, &names)];
    v.extend(leaf_modules(s, &names)?);
    Ok(merge_identical(v))
}

#[cfg(test)]
mod tests;
