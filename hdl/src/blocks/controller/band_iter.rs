//! The row-band iterator of the layer controller: which input rows band `b` loads and which
//! output rows it computes (the contract: `cbnn::hw::streams::band_input_rows` and
//! `band_output_rows`), with adds and compares on the descriptor registers only. The input
//! row of a band's first output row is `iy_band`, two's complement and negative inside the top
//! padding; its rows are `max(iy_band, 0) .. min(iy_band + band_span, h)`, its output rows
//! `y_band .. min(y_band + band_out_rows, h_out)`. The band's first activation address
//! (`base_begin`) is that of row `iy_band`, column `-padding`, counted from the buffer's first
//! row (the band's first loaded row): negative inside the padding.
//!
//! The simulator takes the bands from the contract directly (`sim/src/controller.rs`,
//! `Bounds`); the test below checks this block against it.

use rust_hdl::prelude::*;

use crate::blocks::lit::Lit;

#[derive(LogicBlock, Default)]
pub struct BandIter {
    pub clock: Signal<In, Clock>,
    /// A layer starts: band 0.
    pub rewind: Signal<In, Bit>,
    /// The band is being set up: latch its bounds.
    pub setup: Signal<In, Bit>,
    /// The band is done: move to the next.
    pub advance: Signal<In, Bit>,
    // Descriptor registers.
    pub bands: Signal<In, Bits<16>>,
    pub band_out_rows: Signal<In, Bits<16>>,
    pub h_out: Signal<In, Bits<16>>,
    pub band_span: Signal<In, Bits<16>>,
    pub band_iy_step: Signal<In, Bits<16>>,
    pub band_base_step: Signal<In, Bits<16>>,
    pub iy0_first: Signal<In, Bits<16>>,
    pub band_base_first: Signal<In, Bits<16>>,
    pub pad_base: Signal<In, Bits<16>>,
    pub h: Signal<In, Bits<16>>,
    /// Band 0 / the layer's last band.
    pub first_band: Signal<Out, Bit>,
    pub last_band: Signal<Out, Bit>,
    /// The band's input rows: the first, and how many (valid from the setup cycle on).
    pub rows: Signal<Out, Bits<16>>,
    pub first_row: Signal<Out, Bits<16>>,
    /// The band's output rows `y_begin .. y_end`, the input row of the first, and its
    /// activation address (valid after the setup cycle).
    pub y_begin: Signal<Out, Bits<16>>,
    pub y_end: Signal<Out, Bits<16>>,
    pub iy_begin: Signal<Out, Bits<16>>,
    pub base_begin: Signal<Out, Bits<16>>,
    band: DFF<Bits<16>>,
    y_band: DFF<Bits<16>>,
    iy_band: DFF<Bits<16>>,
    base_iy: DFF<Bits<16>>,
    base_band: DFF<Bits<16>>,
    first: DFF<Bits<16>>,
    y_end_r: DFF<Bits<16>>,
    hi: Signal<Local, Bits<16>>,
    lo: Signal<Local, Bits<16>>,
    y_lim: Signal<Local, Bits<16>>,
    one: Lit<16, 1>,
    zero: Lit<16, 0>,
}

impl Logic for BandIter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, band, y_band, iy_band, base_iy, base_band, first, y_end_r);
        self.lo.next = self.iy_band.q.val();
        if self.iy_band.q.val().get_bits::<1>(15).any() {
            self.lo.next = self.zero.val();
        }
        self.hi.next = self.iy_band.q.val() + self.band_span.val();
        if (self.iy_band.q.val() + self.band_span.val()) > self.h.val() {
            self.hi.next = self.h.val();
        }
        self.y_lim.next = self.y_band.q.val() + self.band_out_rows.val();
        if (self.y_band.q.val() + self.band_out_rows.val()) > self.h_out.val() {
            self.y_lim.next = self.h_out.val();
        }
        self.first_band.next = self.band.q.val() == self.zero.val();
        self.last_band.next = (self.band.q.val() + self.one.val()) == self.bands.val();
        self.rows.next = self.hi.val() - self.lo.val();
        self.first_row.next = self.first.q.val();
        self.y_begin.next = self.y_band.q.val();
        self.y_end.next = self.y_end_r.q.val();
        self.iy_begin.next = self.iy_band.q.val();
        self.base_begin.next = self.base_band.q.val();
        if self.rewind.val() {
            self.band.d.next = self.zero.val();
            self.y_band.d.next = self.zero.val();
            self.iy_band.d.next = self.iy0_first.val();
            self.base_iy.d.next = self.band_base_first.val();
        }
        if self.setup.val() {
            self.first.d.next = self.lo.val();
            self.y_end_r.d.next = self.y_lim.val();
            self.base_band.d.next = self.pad_base.val();
            if self.iy_band.q.val().get_bits::<1>(15).any() {
                self.base_band.d.next = self.base_iy.q.val() + self.pad_base.val();
            }
        }
        if self.advance.val() {
            self.band.d.next = self.band.q.val() + self.one.val();
            self.y_band.d.next = self.y_end_r.q.val();
            self.iy_band.d.next = self.iy_band.q.val() + self.band_iy_step.val();
            self.base_iy.d.next = self.base_iy.q.val() + self.band_base_step.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosim::verilog_tools;
    use crate::generator::verilog::emit_block;
    use cbnn::config::AccelConfig;
    use cbnn::hw::streams::{band_input_rows, band_output_rows};
    use cbnn::hw::{regs, LayerDescriptor};
    use cbnn::network::{Geometry, Network};
    use cbnn::quant::compile;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::fmt::Write as _;

    /// Random conv layers (padding, strides, kernels; small buffers, so many bands): the
    /// Verilog, stepped through every band, against the contract's rows of each band.
    #[test]
    fn verilog_steps_through_every_band_like_the_contract() {
        let mut cfg = AccelConfig::default();
        (cfg.buffers.act_kib, cfg.limits.max_width) = (1, 64);
        let mut rng = StdRng::seed_from_u64(3);
        let mut tb = String::from(
            "module tb;\nreg clock = 0, rewind = 0, setup = 0, advance = 0;\n\
             reg [15:0] bands, band_out_rows, h_out, band_span, band_iy_step, band_base_step, iy0_first, band_base_first, pad_base, h;\n\
             wire first_band, last_band; wire [15:0] rows, first_row, y_begin, y_end, iy_begin, base_begin;\n\
             bi dut(.clock(clock), .rewind(rewind), .setup(setup), .advance(advance), .bands(bands), .band_out_rows(band_out_rows),\n\
             .h_out(h_out), .band_span(band_span), .band_iy_step(band_iy_step), .band_base_step(band_base_step), .iy0_first(iy0_first),\n\
             .band_base_first(band_base_first), .pad_base(pad_base), .h(h), .first_band(first_band), .last_band(last_band),\n\
             .rows(rows), .first_row(first_row), .y_begin(y_begin), .y_end(y_end), .iy_begin(iy_begin), .base_begin(base_begin));\n\
             always #1 clock = !clock;\ninitial begin\n",
        );
        let mut want = Vec::new();
        let (mut padded, mut many, mut cases) = (false, false, 0);
        while !(padded && many && cases >= 8) {
            let k = [1usize, 3, 5][rng.gen_range(0..3)];
            let g = Geometry { kernel: k, stride: rng.gen_range(1..=2), padding: rng.gen_range(0..=k / 2) };
            let (c_in, hw) = (rng.gen_range(1..100), rng.gen_range(k..40));
            let net = Network::single_conv(c_in, hw, hw, 3, g, rng.gen_range(1..=4), vec![0.5; 3 * c_in * k * k]);
            let q = compile(&net, &cfg, None).unwrap();
            let Ok(d) = LayerDescriptor::new(&q.layers[0], &cfg) else { continue };
            (padded, many, cases) = (padded | (d.padding > 0 && d.bands > 2), many | (d.bands > 4), cases + 1);
            for name in [
                "bands",
                "band_out_rows",
                "h_out",
                "band_span",
                "band_iy_step",
                "band_base_step",
                "iy0_first",
                "band_base_first",
                "pad_base",
                "h",
            ] {
                write!(tb, "{name} = {}; ", (regs::register(name).value)(&d, &cfg)).unwrap();
            }
            tb += "\n@(negedge clock) rewind = 1; @(negedge clock) rewind = 0;\n";
            for b in 0..d.bands {
                // The address of the band's first input row (padding included) and column, from
                // the buffer's first row (the band's first loaded row), `pixel_words` per pixel.
                let iy = (b * d.band_out_rows * d.stride) as i64 - d.padding as i64;
                let base = ((iy - iy.max(0)) * d.w as i64 - d.padding as i64) * d.pixel_words as i64;
                let (rows, out) = (band_input_rows(&d, b), band_output_rows(&d, b));
                tb += "setup = 1; @(negedge clock) setup = 0;\n\
                       $display(\"%0d %0d %0d %0d %0d %0d %0d %0d\", first_band, last_band, rows, first_row, y_begin, y_end, $signed(iy_begin), $signed(base_begin));\n\
                       advance = 1; @(negedge clock) advance = 0;\n";
                let flags = format!("{} {}", (b == 0) as u8, (b + 1 == d.bands) as u8);
                want.push(format!("{flags} {} {} {} {} {iy} {base}", rows.len(), rows.start, out.start, out.end));
            }
        }
        tb += "$finish;\nend\nendmodule\n";
        if !verilog_tools::have_icarus("row-band iterator co-simulation") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(BandIter::default(), "bi")).unwrap();
        assert_eq!(out.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn verilog_is_lint_clean_and_synthesises() {
        verilog_tools::check_lint_and_synth("row-band iterator", &emit_block(BandIter::default(), "bi"), "bi");
    }
}
