//! Post-processing unit (SPEC 5.2 and 6): one multiplier shared over time by a hardware group of
//! columns. Per value: `z = m_g * acc + b_o`, then the output function: the raw accumulator, the
//! sign bit (1 = +1) of `z`, or `clamp((z + 2^(F-1)) >> F, 0, out_max)`.
//!
//! Four pipeline stages (`PPU_LATENCY`), each short enough for the core's clock:
//! 1. input registers (the accumulator read and the column select arrive late in the cycle);
//! 2. the two partial products `m * acc[15:0]` and `m * acc[A-1:16]` (one DSP each), and the
//!    bias plus the rounding constant `2^(F-1)` (0 for sign layers);
//! 3. `zr = z + 2^(F-1)`, one three-operand add;
//! 4. the output function on `zr`: 0 if it is negative; else `out_max` if `zr` has a bit at or
//!    above `k + F` (a layer-static mask: `zr >> F > 2^k - 1`, decided beside the shift) or if
//!    the shifted value's low 8 bits exceed `out_max` (an 8-bit compare after the shift; below
//!    the mask's limit the shifted value has at most `k <= 8` bits, so those are all of it);
//!    else those 8 bits. With `out_max = 2^k - 1` the compare never fires.
//!
//! `shift`, `mode`, `out_bits` and `out_max` are layer-static: the constants derived from them
//! are registered, a cycle behind the ports, and used only from stage 2 on. The block is custom
//! Verilog (explicit sign and zero extension; rust-hdl's kernel language has only a 16x16
//! multiply); rust-hdl's simulator does not model it: its behaviour is the Verilog, co-simulated
//! under Icarus against the golden model (`ppu/tests.rs`).

use rust_hdl::prelude::*;

pub use cbnn::hw::descriptor::{MODE_ACC, MODE_RELU, MODE_SIGN};
pub use cbnn::hw::pipeline::PPU_LATENCY;
use cbnn::quant::scale::SHIFT_BITS;

/// A pipelined PPU for `A`-bit accumulators and `S`-bit multipliers; `P = A + S + 1` (the
/// product's width), `B` bias bits, `Z` internal bits (`> P`, `> B`, `>= 34` so that the
/// rounding constant 2^30 fits). Values enter with `in_valid` and leave `PPU_LATENCY` cycles
/// later with `out_valid`.
#[derive(LogicBlock)]
pub struct Ppu<const A: usize, const S: usize, const P: usize, const B: usize, const Z: usize> {
    pub clock: Signal<In, Clock>,
    pub in_valid: Signal<In, Bit>,
    pub acc: Signal<In, Bits<A>>,
    pub m: Signal<In, Bits<S>>,
    pub bias: Signal<In, Bits<B>>,
    pub shift: Signal<In, Bits<SHIFT_BITS>>,
    pub mode: Signal<In, Bits<2>>,
    pub out_bits: Signal<In, Bits<4>>,
    /// The largest relu output (`out_max`, at most `2^out_bits - 1`).
    pub out_max: Signal<In, Bits<8>>,
    pub out_valid: Signal<Out, Bit>,
    pub value: Signal<Out, Bits<A>>,
    // Stage registers (named by the stage that writes them) and the layer constants.
    v1: Signal<Local, Bit>,
    acc1: Signal<Local, Bits<A>>,
    m1: Signal<Local, Bits<S>>,
    bias1: Signal<Local, Bits<B>>,
    v2: Signal<Local, Bit>,
    acc2: Signal<Local, Bits<A>>,
    pl2: Signal<Local, Bits<Z>>,
    ph2: Signal<Local, Bits<Z>>,
    bh2: Signal<Local, Bits<Z>>,
    v3: Signal<Local, Bit>,
    acc3: Signal<Local, Bits<A>>,
    zr3: Signal<Local, Bits<Z>>,
    half_r: Signal<Local, Bits<Z>>,
    mask_r: Signal<Local, Bits<Z>>,
    max_r: Signal<Local, Bits<8>>,
}

impl<const A: usize, const S: usize, const P: usize, const B: usize, const Z: usize> Default for Ppu<A, S, P, B, Z> {
    fn default() -> Self {
        assert_eq!(P, A + S + 1, "Ppu<{A}, {S}> needs P = A + S + 1");
        assert!(Z > P && Z > B && Z >= 34, "Ppu needs Z > P, Z > B and Z >= 34");
        assert!((16..=32).contains(&A) && S <= 16, "Ppu<{A}, {S}>: 16..=32 accumulator bits, at most 16 scale bits");
        Ppu {
            clock: Default::default(),
            in_valid: Default::default(),
            acc: Default::default(),
            m: Default::default(),
            bias: Default::default(),
            shift: Default::default(),
            mode: Default::default(),
            out_bits: Default::default(),
            out_max: Default::default(),
            out_valid: Default::default(),
            value: Default::default(),
            v1: Default::default(),
            acc1: Default::default(),
            m1: Default::default(),
            bias1: Default::default(),
            v2: Default::default(),
            acc2: Default::default(),
            pl2: Default::default(),
            ph2: Default::default(),
            bh2: Default::default(),
            v3: Default::default(),
            acc3: Default::default(),
            zr3: Default::default(),
            half_r: Default::default(),
            mask_r: Default::default(),
            max_r: Default::default(),
        }
    }
}

impl<const A: usize, const S: usize, const P: usize, const B: usize, const Z: usize> Logic for Ppu<A, S, P, B, Z> {
    /// Not modelled for rust-hdl's simulator (see the module comment): the Verilog is the block.
    fn update(&mut self) {}

    fn connect(&mut self) {
        self.out_valid.connect();
        self.value.connect();
        for s in [&mut self.v1, &mut self.v2, &mut self.v3] {
            s.connect();
        }
        for s in [&mut self.acc1, &mut self.acc2, &mut self.acc3] {
            s.connect();
        }
        self.max_r.connect();
        for s in [&mut self.pl2, &mut self.ph2, &mut self.bh2, &mut self.zr3, &mut self.half_r, &mut self.mask_r] {
            s.connect();
        }
        self.m1.connect();
        self.bias1.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(ppu_verilog(A, S, B, Z))
    }
}

/// The PPU's Verilog for `a` accumulator, `s` scale, `b` bias and `z` internal bits.
fn ppu_verilog(a: usize, s: usize, b: usize, z: usize) -> String {
    let (z1, a1, sb) = (z - 1, a - 1, SHIFT_BITS);
    let mut v = String::new();
    // Partial products at `z` bits: m (unsigned) times the low 16 accumulator bits (unsigned)
    // and times the signed high bits; explicit extension keeps every operand at `z` bits.
    v += &format!("wire signed [{z1}:0] m_z = {{{}'d0, m1}};\n", z - s);
    v += &format!("wire signed [{z1}:0] lo_z = {{{}'d0, acc1[15:0]}};\n", z - 16);
    if a > 16 {
        v += &format!("wire signed [{z1}:0] hi_z = {{{{{}{{acc1[{a1}]}}}}, acc1[{a1}:16]}};\n", z - (a - 16));
    } else {
        // 16-bit accumulators: the high part is the sign alone (-1 or 0).
        v += &format!("wire signed [{z1}:0] hi_z = {{{z}{{acc1[15]}}}};\n");
    }
    v += &format!("wire signed [{z1}:0] bias_z = {{{{{}{{bias1[{}]}}}}, bias1}};\n", z - b, b - 1);
    v += &format!("wire [{z1}:0] one_z = {{{z1}'d0, 1'b1}};\n");
    v += &format!("wire [5:0] sat_at = {{2'b00, out_bits}} + {{{}'d0, shift}};\n", 6 - sb);
    // Only the low 8 bits of the shift are an output (the mask covers the rest).
    v += &format!("wire [{z1}:0] shifted = zr3 >> shift;\n");
    v += &format!("wire unused_shifted = &{{1'b0, shifted[{z1}:8], 1'b0}};\n");
    v += "wire sat = |(zr3 & mask_r);\n";
    v += "wire over = shifted[7:0] > max_r;\n";
    v += "always @(posedge clock) begin\n";
    // Layer constants (a cycle behind the layer-static ports).
    v += &format!(
        "    half_r <= ((mode == 2'd{MODE_SIGN}) | (shift == {sb}'d0)) ? {z}'d0 : (one_z << (shift - {sb}'d1));\n"
    );
    v += &format!("    mask_r <= {{{z}{{1'b1}}}} << sat_at;\n");
    v += "    max_r <= out_max;\n";
    v += "    v1 <= in_valid; acc1 <= acc; m1 <= m; bias1 <= bias;\n";
    v += "    v2 <= v1; acc2 <= acc1; pl2 <= m_z * lo_z; ph2 <= m_z * hi_z; bh2 <= bias_z + half_r;\n";
    v += "    v3 <= v2; acc3 <= acc2; zr3 <= (ph2 << 16) + pl2 + bh2;\n";
    v += "    out_valid <= v3;\n";
    v += "    case (mode)\n";
    v += &format!("        2'd{MODE_ACC}: value <= acc3;\n");
    v += &format!("        2'd{MODE_SIGN}: value <= {{{a1}'d0, ~zr3[{z1}]}};\n");
    v += "        default: begin\n";
    v += &format!("            if (zr3[{z1}]) value <= {a}'d0;\n");
    v += &format!("            else if (sat | over) value <= {{{}'d0, max_r}};\n", a - 8);
    v += &format!("            else value <= {{{}'d0, shifted[7:0]}};\n", a - 8);
    v += "        end\n    endcase\nend\n";
    v
}

#[cfg(test)]
mod tests;
