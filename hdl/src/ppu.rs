//! Post-processing unit (SPEC 5.2 and 6): one multiplier shared over time by a hardware group of
//! columns. Per value: `z = m_g * acc + b_o`, then the output function: the raw accumulator, the
//! sign bit (1 = +1) of `z`, or `clamp((z + 2^(F-1)) >> F, 0, 2^k - 1)`.
//!
//! Two pipeline stages: the multiply, then bias, rounding, shift and clamp. The arithmetic is in
//! custom Verilog with explicit sign- and zero-extension (rust-hdl's kernel language has only a
//! 16x16 multiply and emits width-mismatched masks for casts); each combinational block's
//! `update()` is the same function for rust-hdl's simulator.

use rust_hdl::prelude::*;

pub use cbnn::hw::descriptor::{MODE_ACC, MODE_RELU, MODE_SIGN};
use cbnn::quant::scale::SHIFT_BITS;

use crate::bitconv::{from_i128, sext, to_u128};

/// `prod = m * acc`: `m` unsigned `S` bits, `acc` signed `A` bits, `P = A + S + 1` bits.
#[derive(LogicBlock)]
pub struct Mul<const A: usize, const S: usize, const P: usize> {
    pub acc: Signal<In, Bits<A>>,
    pub m: Signal<In, Bits<S>>,
    pub prod: Signal<Out, Bits<P>>,
}

impl<const A: usize, const S: usize, const P: usize> Default for Mul<A, S, P> {
    fn default() -> Self {
        assert_eq!(P, A + S + 1, "Mul<{A}, {S}> needs P = A + S + 1");
        Mul { acc: Default::default(), m: Default::default(), prod: Default::default() }
    }
}

impl<const A: usize, const S: usize, const P: usize> Logic for Mul<A, S, P> {
    fn update(&mut self) {
        let p = to_u128(self.m.val()) as i128 * sext(to_u128(self.acc.val()), A);
        self.prod.next = from_i128(p);
    }
    fn connect(&mut self) {
        self.prod.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "wire signed [{p1}:0] ma = {{{{{ms}{{1'b0}}}}, m}};\n\
             wire signed [{p1}:0] aa = {{{{{as_}{{acc[{a1}]}}}}, acc}};\n\
             always @(*) prod = ma * aa;\n",
            p1 = P - 1,
            ms = P - S,
            as_ = P - A,
            a1 = A - 1
        ))
    }
}

/// Bias, rounding shift and output function on the product; `Z` internal bits (>= P + 1, >= 34 so
/// that the rounding constant 2^30 fits).
#[derive(LogicBlock)]
pub struct Requant<const A: usize, const P: usize, const B: usize, const Z: usize> {
    pub acc: Signal<In, Bits<A>>,
    pub prod: Signal<In, Bits<P>>,
    pub bias: Signal<In, Bits<B>>,
    pub shift: Signal<In, Bits<SHIFT_BITS>>,
    pub mode: Signal<In, Bits<2>>,
    pub out_bits: Signal<In, Bits<4>>,
    pub value: Signal<Out, Bits<A>>,
}

impl<const A: usize, const P: usize, const B: usize, const Z: usize> Default for Requant<A, P, B, Z> {
    fn default() -> Self {
        assert!(Z > P && Z > B && Z >= 34, "Requant needs Z > P, Z > B and Z >= 34");
        assert!(A >= 8, "the output word must hold an 8-bit activation");
        Requant {
            acc: Default::default(),
            prod: Default::default(),
            bias: Default::default(),
            shift: Default::default(),
            mode: Default::default(),
            out_bits: Default::default(),
            value: Default::default(),
        }
    }
}

impl<const A: usize, const P: usize, const B: usize, const Z: usize> Logic for Requant<A, P, B, Z> {
    fn update(&mut self) {
        let z = sext(to_u128(self.prod.val()), P) + sext(to_u128(self.bias.val()), B);
        let shift = to_u128(self.shift.val()) as u32;
        let bits = to_u128(self.out_bits.val()) as u32;
        let v: i128 = match to_u128(self.mode.val()) as u32 {
            MODE_ACC => to_u128(self.acc.val()) as i128,
            MODE_SIGN => (z >= 0) as i128,
            _ => {
                let h = if shift > 0 { 1i128 << (shift - 1) } else { 0 };
                ((z + h) >> shift).clamp(0, (1i128 << bits) - 1)
            }
        };
        self.value.next = from_i128(v);
    }
    fn connect(&mut self) {
        self.value.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "wire signed [{z1}:0] zp = {{{{{zp}{{prod[{p1}]}}}}, prod}};\n\
             wire signed [{z1}:0] zb = {{{{{zb}{{bias[{b1}]}}}}, bias}};\n\
             wire signed [{z1}:0] one = {{{{{z1}{{1'b0}}}}, 1'b1}};\n\
             wire signed [{z1}:0] z = zp + zb;\n\
             wire signed [{z1}:0] half = (shift == {sb}'d0) ? {{{z}{{1'b0}}}} : (one <<< (shift - {sb}'d1));\n\
             wire signed [{z1}:0] shifted = (z + half) >>> shift;\n\
             wire signed [{z1}:0] top = (one <<< out_bits) - one;\n\
             always @(*) begin\n\
             \x20   case (mode)\n\
             \x20       2'd0: value = acc;\n\
             \x20       2'd1: value = {{{{{a1}{{1'b0}}}}, ~z[{z1}]}};\n\
             \x20       default: begin\n\
             \x20           if (shifted[{z1}]) value = {{{a}{{1'b0}}}};\n\
             \x20           else if (shifted > top) value = top[{a1}:0];\n\
             \x20           else value = shifted[{a1}:0];\n\
             \x20       end\n\
             \x20   endcase\n\
             end\n",
            sb = SHIFT_BITS,
            z = Z,
            z1 = Z - 1,
            zp = Z - P,
            p1 = P - 1,
            zb = Z - B,
            b1 = B - 1,
            a = A,
            a1 = A - 1
        ))
    }
}

/// A pipelined PPU: values enter with `in_valid`, leave two cycles later with `out_valid`.
/// `shift`, `mode` and `out_bits` are layer-static.
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
    pub out_valid: Signal<Out, Bit>,
    pub value: Signal<Out, Bits<A>>,
    mul: Mul<A, S, P>,
    requant: Requant<A, P, B, Z>,
    prod_q: DFF<Bits<P>>,
    acc_q: DFF<Bits<A>>,
    bias_q: DFF<Bits<B>>,
    valid_q: DFF<Bit>,
    value_q: DFF<Bits<A>>,
    valid_qq: DFF<Bit>,
}

impl<const A: usize, const S: usize, const P: usize, const B: usize, const Z: usize> Default for Ppu<A, S, P, B, Z> {
    fn default() -> Self {
        Ppu {
            clock: Default::default(),
            in_valid: Default::default(),
            acc: Default::default(),
            m: Default::default(),
            bias: Default::default(),
            shift: Default::default(),
            mode: Default::default(),
            out_bits: Default::default(),
            out_valid: Default::default(),
            value: Default::default(),
            mul: Default::default(),
            requant: Default::default(),
            prod_q: Default::default(),
            acc_q: Default::default(),
            bias_q: Default::default(),
            valid_q: Default::default(),
            value_q: Default::default(),
            valid_qq: Default::default(),
        }
    }
}

impl<const A: usize, const S: usize, const P: usize, const B: usize, const Z: usize> Logic for Ppu<A, S, P, B, Z> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, prod_q, acc_q, bias_q, valid_q, value_q, valid_qq);
        // Stage 1: multiply.
        self.mul.acc.next = self.acc.val();
        self.mul.m.next = self.m.val();
        self.prod_q.d.next = self.mul.prod.val();
        self.acc_q.d.next = self.acc.val();
        self.bias_q.d.next = self.bias.val();
        self.valid_q.d.next = self.in_valid.val();
        // Stage 2: bias, rounding, shift, output function.
        self.requant.acc.next = self.acc_q.q.val();
        self.requant.prod.next = self.prod_q.q.val();
        self.requant.bias.next = self.bias_q.q.val();
        self.requant.shift.next = self.shift.val();
        self.requant.mode.next = self.mode.val();
        self.requant.out_bits.next = self.out_bits.val();
        self.value_q.d.next = self.requant.value.val();
        self.valid_qq.d.next = self.valid_q.q.val();
        self.value.next = self.value_q.q.val();
        self.out_valid.next = self.valid_qq.q.val();
    }
}

/// Cycles from `in_valid` to `out_valid`.
pub const PPU_LATENCY: usize = 2;

#[cfg(test)]
mod tests;
