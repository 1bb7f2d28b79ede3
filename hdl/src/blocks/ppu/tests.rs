//! The PPU's emitted Verilog under Icarus against the golden model's output function
//! (`cbnn::golden::output::requantise`), over random accumulators, multipliers, biases, shifts,
//! output functions, widths and relu ranges (`out_max`).

use super::*;
use crate::cosim::verilog_tools;
use crate::generator::verilog::emit_block;
use cbnn::golden::output::requantise;
use cbnn::quant::scale::SHIFT_BITS;
use cbnn::quant::QOutput;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;

fn run<const A: usize, const S: usize, const P: usize, const B: usize, const Z: usize>(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    if !verilog_tools::have_icarus("ppu co-simulation") {
        return;
    }
    // Layer-static settings change between batches; values stream through each batch.
    let mut tb = String::new();
    writeln!(
        tb,
        "module tb;\nreg clock = 0; reg in_valid = 0; reg [{}:0] acc = 0; reg [{}:0] m = 0; reg [{}:0] bias = 0;",
        A - 1,
        S - 1,
        B - 1
    )
    .unwrap();
    writeln!(
        tb,
        "reg [{}:0] shift = 0; reg [1:0] mode = 0; reg [3:0] out_bits = 0; reg [7:0] out_max = 0; wire out_valid; wire [{}:0] value;",
        SHIFT_BITS - 1,
        A - 1
    )
    .unwrap();
    writeln!(tb, "ppu dut(.clock(clock), .in_valid(in_valid), .acc(acc), .m(m), .bias(bias), .shift(shift), .mode(mode), .out_bits(out_bits), .out_max(out_max), .out_valid(out_valid), .value(value));").unwrap();
    writeln!(tb, "initial begin").unwrap();
    let mut expected = Vec::new();
    let mut relu_batches = 0;
    // Values above a narrowed `out_max` (the new clamp decides them).
    let mut clamped_to_max = 0;
    for batch in 0..20 {
        let mode = [MODE_ACC, MODE_SIGN, MODE_RELU, MODE_RELU, MODE_RELU][batch % 5];
        let shift: u32 = rng.gen_range(0..=cbnn::quant::scale::MAX_SHIFT);
        let bits: u32 = rng.gen_range(2..=8);
        // Relu batches go through the full range, the narrow ranges 1 and 2, one level short of
        // full, and random ones (SPEC 6: 1 <= out_max <= 2^k - 1).
        let full = (1u32 << bits) - 1;
        let max = if mode == MODE_RELU {
            relu_batches += 1;
            match relu_batches % 6 {
                0 => full,
                1 => 1,
                2 => 2,
                3 => full - 1,
                _ => rng.gen_range(1..=full),
            }
        } else {
            0
        };
        writeln!(tb, "shift = {SHIFT_BITS}'d{shift}; mode = 2'd{mode}; out_bits = 4'd{bits}; out_max = 8'd{max};")
            .unwrap();
        let output = match mode {
            MODE_ACC => QOutput::Accumulator,
            MODE_SIGN => QOutput::Sign,
            _ => QOutput::Relu { bits, max },
        };
        for _ in 0..40 {
            let amax = 1i64 << (A - 1).min(31);
            let dot: i64 = if mode == MODE_ACC {
                rng.gen_range(-amax.min(1 << 31)..amax.min(1 << 31))
            } else {
                rng.gen_range(-amax..amax)
            };
            let m: u32 = rng.gen_range(0..(1u32 << S));
            let bmax = 1i64 << (B - 1);
            let mut b: i64 = if rng.gen_bool(0.3) { 0 } else { rng.gen_range(-bmax..bmax) };
            // Most values land where the output function decides something: around the rounding
            // ties and the clamp limits of relu (out_max, and 2^k where the mask takes over),
            // around zero for sign.
            if mode != MODE_ACC && rng.gen_bool(0.7) {
                let unit = 1i128 << shift;
                let top = if rng.gen_bool(0.6) { max } else { full } as i128;
                let q = rng.gen_range(-2i128..top + 3);
                let r = match rng.gen_range(0..3) {
                    0 => unit / 2,
                    1 => unit / 2 - 1,
                    _ => rng.gen_range(-unit..=unit),
                };
                let z = if mode == MODE_SIGN { rng.gen_range(-2i128..2) } else { q * unit + r };
                let need = z - m as i128 * dot as i128;
                if need >= -(bmax as i128) && need < bmax as i128 {
                    b = need as i64;
                }
            }
            let want = requantise(output, dot, m, b, shift);
            if mode == MODE_RELU && requantise(QOutput::Relu { bits, max: full }, dot, m, b, shift) > max as i32 {
                clamped_to_max += 1;
            }
            // The PPU emits the stored bit pattern: the value, or 1 for +1 and 0 for -1.
            expected.push(if output == QOutput::Sign { (want > 0) as i64 } else { want as i64 });
            let hex = |v: i64, w: usize| format!("{w}'h{:x}", (v as i128) & ((1i128 << w) - 1));
            writeln!(tb, "in_valid = 1; acc = {}; m = {}; bias = {}; #1 clock = 1; #1 clock = 0; if (out_valid) $display(\"%0d\", $signed(value));", hex(dot, A), hex(m as i64, S), hex(b, B)).unwrap();
        }
        // Drain before the static settings change.
        writeln!(tb, "in_valid = 0;").unwrap();
        for _ in 0..PPU_LATENCY {
            writeln!(tb, "#1 clock = 1; #1 clock = 0; if (out_valid) $display(\"%0d\", $signed(value));").unwrap();
        }
    }
    writeln!(tb, "$finish;\nend\nendmodule").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out =
        verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(Ppu::<A, S, P, B, Z>::default(), "ppu")).unwrap();
    let got: Vec<i64> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
    // Relu and sign values are small and non-negative; $signed only matters for accumulators.
    let got: Vec<i64> =
        got.iter().zip(&expected).map(|(&g, &e)| if e >= 0 && g < 0 { g + (1i64 << A) } else { g }).collect();
    assert_eq!(got, expected, "PPU<{A}, {S}>");
    assert!(clamped_to_max >= 50, "PPU<{A}, {S}>: only {clamped_to_max} values above a narrowed out_max");
}

#[test]
fn verilog_matches_golden_output_function() {
    run::<16, 8, 25, 24, 34>(1);
    run::<24, 16, 41, 40, 42>(2);
    run::<32, 12, 45, 44, 46>(3);
}

#[test]
fn verilog_is_lint_clean_and_synthesises() {
    verilog_tools::check_lint_and_synth("ppu", &emit_block(Ppu::<24, 16, 41, 40, 42>::default(), "ppu"), "ppu");
}
