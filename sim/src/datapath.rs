//! The values the core computes, held the way its buffers hold them: the activation row banks
//! (bit-plane words, `cbnn::hw::layout::act_banks`), the weight column banks, the two banks of
//! column accumulators, and the PPUs with their scale and bias memories
//! (`cbnn::hw::params`). The control models say *when* a beat is written, a run starts or a
//! row drains; this file says what that does to the data, with the array's arithmetic (XNOR or
//! BWN popcounts per lane word, docs/ARCHITECTURE.md section 1) and the PPU's (SPEC 5.2, 6).
//!
//! None of it calls the golden model: the simulator's outputs are checked against it.

use cbnn::codec::{BlockCost, BlockCoster};
use cbnn::config::AccelConfig;
use cbnn::hw::combine::{Entry, EntryFormat};
use cbnn::hw::descriptor::{MODE_ACC, MODE_SIGN};
use cbnn::hw::params::{bias_tables, scale_tables};
use cbnn::hw::streams::ActBeat;
use cbnn::hw::LayerDescriptor;
use cbnn::quant::QLayer;
use cbnn::tensor::Tensor3;

pub struct Datapath {
    d: LayerDescriptor,
    cfg: AccelConfig,
    rows: u32,
    cols: u32,
    lanes: u32,
    g_hw: u32,
    acc_bits: u32,
    block: u32,
    /// Activation row banks `[R][word]` and the band's first input row.
    act: Vec<Vec<u128>>,
    first_row: u32,
    /// Weight column banks `[C][T * R]` and the next word's index in the tile.
    weights: Vec<Vec<u128>>,
    w_next: usize,
    /// Grouped layers: each combine lane's entry memory, the next stream word's index into
    /// the entries (after the bank's weight words) and the word being assembled; the output
    /// accumulators `[lane][t * w_out + x]`; where each run's entries start.
    entries: Vec<Vec<Entry>>,
    entry_format: EntryFormat,
    entry_k: usize,
    entry_raw: u128,
    oacc: Vec<Vec<i64>>,
    oacc_y: u32,
    run_start: Vec<u32>,
    /// Accumulator banks `[bank][c * w_out + x]` and the (tile, row) each holds.
    acc: [Vec<i64>; 2],
    acc_row: [(u32, u32); 2],
    scales: Vec<Vec<u32>>,
    biases: Vec<Vec<i64>>,
    /// The layer's output as the PPUs produce it.
    pub output: Tensor3<i32>,
    /// With the codec on a k-bit or sign layer: the coded length of each block the gather stage
    /// will hand the encoder, in its order.
    coster: Option<BlockCoster>,
    pub out_blocks: std::collections::VecDeque<BlockCost>,
}

/// One PE's contribution (docs/ARCHITECTURE.md, section 1) for the chunk whose first plane's
/// word is `words[0]`, shifted down by `shift` lanes, against weight word `w`: XNOR mode over
/// the valid lanes `e`; BWN mode summed over the bit-planes (lanes outside `e` are zero bits).
fn chunk_dot(d: &LayerDescriptor, words: &[u128], shift: u32, w: u128, e: u128) -> i64 {
    if d.bwn {
        // Pass plane `p` of a row stands for plane `p * plane_rows` (plus the row's offset,
        // which the caller shifts in).
        (0..d.pass_planes)
            .map(|p| {
                let a = (words[p as usize] >> shift) & e;
                (2 * (a & w).count_ones() as i64 - a.count_ones() as i64) << (p * d.plane_rows)
            })
            .sum()
    } else {
        let a = words[0] >> shift;
        2 * (!(a ^ w) & e).count_ones() as i64 - e.count_ones() as i64
    }
}

fn lane_mask(n: u32) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

impl Datapath {
    pub fn new(cfg: &AccelConfig, d: &LayerDescriptor, layer: &QLayer) -> Self {
        let words = (d.band_rows * d.w * d.pixel_words) as usize;
        let coded = cfg.codec.enabled && d.out_mode != MODE_ACC;
        let (weight_words, entry_depth, oacc_words) = match &d.grouped {
            Some(g) => (g.bank_tiles * g.tile_words, d.entries, d.filter_tiles * d.w_out),
            None => (d.steps * cfg.array.rows, 0, 0),
        };
        let run_start = d.run_entries.iter().scan(0, |acc, &n| Some(std::mem::replace(acc, *acc + n))).collect();
        Datapath {
            d: d.clone(),
            cfg: cfg.clone(),
            rows: cfg.array.rows,
            cols: cfg.array.cols,
            lanes: cfg.array.lanes,
            g_hw: cfg.datapath.scale_group,
            acc_bits: cfg.datapath.acc_bits,
            block: cfg.codec.block,
            act: vec![vec![0; words]; cfg.array.rows as usize],
            first_row: 0,
            weights: vec![vec![0; weight_words as usize]; cfg.array.cols as usize],
            w_next: 0,
            entries: vec![vec![Entry::default(); entry_depth as usize]; cfg.array.cols as usize],
            entry_format: EntryFormat::new(cfg),
            entry_k: EntryFormat::new(cfg).words(cfg) as usize,
            entry_raw: 0,
            oacc: vec![vec![0; oacc_words as usize]; cfg.array.cols as usize],
            oacc_y: 0,
            run_start,
            acc: [vec![0; (cfg.array.cols * d.w_out) as usize], vec![0; (cfg.array.cols * d.w_out) as usize]],
            acc_row: [(0, 0); 2],
            scales: scale_tables(layer, d, cfg),
            biases: bias_tables(layer, d, cfg),
            output: Tensor3::zeros(d.c_out as usize, d.h_out as usize, d.w_out as usize),
            coster: coded.then(|| BlockCoster::new(layer.out_bits, &layer.codec)),
            out_blocks: Default::default(),
        }
    }

    /// A band starts loading at input row `first_row`: the banks are cleared (the loader writes
    /// every lane a run reads, and zeros above a pixel's last channel).
    pub fn start_band(&mut self, first_row: u32) {
        self.first_row = first_row;
        for b in &mut self.act {
            b.fill(0);
        }
    }

    /// The activation loader takes a beat: its codes into the bit-plane words of their chunks.
    pub fn write_beat(&mut self, beat: &ActBeat) {
        let d = &self.d;
        for (j, &code) in beat.codes.iter().enumerate() {
            let ch = beat.ch0 + j as u32;
            let (chunk, lane) = (ch / self.lanes, ch % self.lanes);
            for plane in 0..d.planes {
                if (code >> plane) & 1 == 1 {
                    let (bank, offset) = d.act_slot(self.rows, chunk, plane);
                    self.act[bank as usize][(beat.pixel * d.pixel_words + offset) as usize] |= 1 << lane;
                }
            }
        }
    }

    /// A filter tile's weights start loading.
    pub fn start_tile(&mut self) {
        self.w_next = 0;
    }

    /// The weight loader takes a word: word `i` to column bank `i mod C`, address `i div C`.
    /// A grouped layer's words after the bank's are its combine entries, `EntryFormat::words`
    /// words each (low bits first), entry `i` to lane `i mod C`, address `i div C`.
    pub fn write_weight(&mut self, word: u128) {
        let c = self.cols as usize;
        let bank_words = self.weights[0].len() * c;
        if self.w_next < bank_words {
            self.weights[self.w_next % c][self.w_next / c] = word;
        } else {
            let i = self.w_next - bank_words;
            let (entry, part) = (i / self.entry_k, i % self.entry_k);
            if part == 0 {
                self.entry_raw = 0;
            }
            self.entry_raw |= word << (part as u32 * self.lanes);
            if part + 1 == self.entry_k {
                self.entries[entry % c][entry / c] = self.entry_format.unpack(self.entry_raw);
            }
        }
        self.w_next += 1;
    }

    /// A sequencer run: output row `y` of filter tile `tile` into accumulator bank `bank`; every
    /// step, array row and column as the PEs compute it.
    pub fn run(&mut self, tile: u32, y: u32, bank: usize) {
        let d = &self.d;
        let (r_n, c_n, w_out) = (self.rows, self.cols, d.w_out as usize);
        let acc = &mut self.acc[bank];
        acc.fill(0);
        self.acc_row[bank] = (tile, y);
        let tail = if d.tail_lanes != 0 { lane_mask(d.tail_lanes) } else { lane_mask(self.lanes) };
        for s in 0..d.steps {
            let (tap, group) = (s / d.groups, s % d.groups);
            let (ky, kx) = (tap / d.kernel, tap % d.kernel);
            let iy = (y * d.stride + ky) as i64 - d.padding as i64;
            if iy < self.first_row as i64 || iy >= d.h as i64 {
                continue; // padded tap: no lane is valid
            }
            for x in 0..d.w_out {
                let ix = (x * d.stride + kx) as i64 - d.padding as i64;
                if ix < 0 || ix >= d.w as i64 {
                    continue;
                }
                let pixel = (iy as u32 - self.first_row) * d.w + ix as u32;
                let base = ((pixel * d.groups + group) * d.pass_planes) as usize;
                for r in 0..r_n {
                    // The row control zeroes rows past the pixel's chunks.
                    let Some((chunk, plane_offset)) = d.row_role(r_n, group, r) else { continue };
                    let e = if chunk + 1 == d.chunks { tail } else { lane_mask(self.lanes) };
                    let bank_words = &self.act[r as usize];
                    for c in 0..c_n as usize {
                        let w = self.weights[c][(s * r_n + r) as usize];
                        let dot = chunk_dot(d, &bank_words[base..], 0, w, e);
                        acc[c * w_out + x as usize] += dot << plane_offset;
                    }
                }
            }
        }
    }

    /// A grouped layer's run: output row `y`, group `g`, bank tile `b` into accumulator bank
    /// `bank` (docs/ARCHITECTURE.md, section 10): the group's chunk groups only; a sub-chunk
    /// group on its one array row, its chunk shifted down by the group's lane offset and the
    /// layer's tail mask (`gs` lanes) applied, in BWN mode too (the row control zeroes the
    /// lanes above).
    pub fn run_group(&mut self, g: u32, b: u32, y: u32, bank: usize) {
        let d = &self.d;
        let gr = d.grouped.as_ref().expect("run_group on a grouped layer");
        let (r_n, c_n, w_out) = (self.rows, self.cols, d.w_out as usize);
        let pos = gr.pos(g, d.planes, &self.cfg);
        let acc = &mut self.acc[bank];
        acc.fill(0);
        self.acc_row[bank] = (g * gr.bank_tiles + b, y);
        let e = if d.tail_lanes != 0 { lane_mask(d.tail_lanes) } else { lane_mask(self.lanes) };
        for s in 0..d.steps {
            let (tap, cg) = (s / d.run_groups, s % d.run_groups);
            let (ky, kx) = (tap / d.kernel, tap % d.kernel);
            let iy = (y * d.stride + ky) as i64 - d.padding as i64;
            if iy < self.first_row as i64 || iy >= d.h as i64 {
                continue;
            }
            for x in 0..d.w_out {
                let ix = (x * d.stride + kx) as i64 - d.padding as i64;
                if ix < 0 || ix >= d.w as i64 {
                    continue;
                }
                let pixel = (iy as u32 - self.first_row) * d.w + ix as u32;
                let base = (pixel * d.pixel_words + pos.base + cg * d.planes) as usize;
                for r in 0..r_n {
                    if gr.sub_chunk && r != pos.row {
                        continue;
                    }
                    let bank_words = &self.act[r as usize];
                    for c in 0..c_n as usize {
                        let w = self.weights[c][(b * gr.tile_words + s * r_n + r) as usize];
                        acc[c * w_out + x as usize] += chunk_dot(d, &bank_words[base..], pos.lane, w, e);
                    }
                }
            }
        }
    }

    /// The combine pass of the run whose maps are in accumulator bank `bank`: every lane's
    /// entries of the run add `coef * acc[j][x]` into its output accumulator at `a + x` (a
    /// filter's first entry of the row writes it).
    pub fn combine(&mut self, bank: usize) {
        let (run, y) = self.acc_row[bank];
        self.oacc_y = y;
        let w_out = self.d.w_out as usize;
        let (start, len) = (self.run_start[run as usize] as usize, self.d.run_entries[run as usize] as usize);
        for (lane, entries) in self.entries.iter().enumerate() {
            for e in entries[start..start + len].iter().filter(|e| e.valid) {
                for x in 0..w_out {
                    let v = e.coef as i64 * self.acc[bank][e.j as usize * w_out + x];
                    let old = if e.init { 0 } else { self.oacc[lane][e.a as usize + x] };
                    self.oacc[lane][e.a as usize + x] = old + v;
                }
            }
        }
    }

    /// A grouped layer's drain of filter tile `tile` of the output row last combined, from the
    /// output accumulators.
    pub fn drain_oacc(&mut self, tile: u32) {
        let y = self.oacc_y;
        let w_out = self.d.w_out as usize;
        let base = tile as usize * w_out;
        let values: Vec<Vec<i64>> = self.oacc.iter().map(|l| l[base..base + w_out].to_vec()).collect();
        self.post_process(tile, y, |c, x| values[c as usize][x]);
    }

    /// A drain: the row in accumulator bank `bank` through the PPUs into the output.
    pub fn drain(&mut self, bank: usize) {
        let (tile, y) = self.acc_row[bank];
        let w_out = self.d.w_out as usize;
        let acc = std::mem::take(&mut self.acc[bank]);
        self.post_process(tile, y, |c, x| acc[c as usize * w_out + x]);
        self.acc[bank] = acc;
    }

    /// Filter tile `tile` of output row `y` through the PPUs into the output, `value(c, x)` the
    /// sum of column `c` at pixel `x`.
    fn post_process(&mut self, tile: u32, y: u32, value: impl Fn(u32, usize) -> i64) {
        let d = &self.d;
        let w_out = d.w_out as usize;
        let shift_up = 64 - self.acc_bits;
        for c in 0..self.cols {
            let f = tile * self.cols + c;
            if f >= d.c_out {
                continue;
            }
            let (j, cl) = ((c / self.g_hw) as usize, c % self.g_hw);
            let m = self.scales[j][tile as usize] as i128;
            let b = self.biases[j][(tile * self.g_hw + cl) as usize] as i128;
            for x in 0..w_out {
                // The accumulator register is acc_bits wide.
                let a = (value(c, x) << shift_up) >> shift_up;
                let z = m * a as i128 + b;
                let v = match d.out_mode {
                    MODE_ACC => a as i32,
                    MODE_SIGN => {
                        if z >= 0 {
                            1
                        } else {
                            -1
                        }
                    }
                    _ => {
                        let h = if d.shift > 0 { 1i128 << (d.shift - 1) } else { 0 };
                        ((z + h) >> d.shift).clamp(0, d.out_max as i128) as i32
                    }
                };
                self.output.set(f as usize, y as usize, x, v);
            }
        }
        if let Some(coster) = &self.coster {
            // The gather stage cuts each pixel of the tile's channels into blocks of N.
            let (c0, len) = (tile * self.cols, self.cols.min(d.c_out - tile * self.cols));
            let mut v = Vec::with_capacity(self.block as usize);
            for x in 0..w_out {
                let mut ch = 0;
                while ch < len {
                    let n = self.block.min(len - ch);
                    v.clear();
                    v.extend((0..n).map(|i| self.output.get((c0 + ch + i) as usize, y as usize, x)));
                    self.out_blocks.push_back(coster.cost(&v));
                    ch += n;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
