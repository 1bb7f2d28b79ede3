//! The array's emitted Verilog under Icarus against the golden model: random conv layers are cut
//! into passes (filter tile, output row, tap, chunk group) exactly as docs/ARCHITECTURE.md
//! describes, the column sums are accumulated per pixel and bit-plane, and the result must equal
//! `cbnn::golden::layer_dots` bit for bit.

use super::*;
use crate::flow;
use cbnn::config::AccelConfig;
use cbnn::golden;
use cbnn::network::{CodecSettings, Geometry, InputDef, Layer, Network, Op, OutputFn, Weighted, Weights};
use cbnn::quant::{self, QOp, QWeights};
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;

/// One conv layer with random float weights and a random input.
struct Case {
    net: Network,
    input: Tensor3<i32>,
}

fn random_case(rng: &mut StdRng, bits: u32) -> Case {
    let c_in = [1usize, 3, 5, 7, 9, 13, 17, 33, 40][rng.gen_range(0..9)];
    let k = [1usize, 3][rng.gen_range(0..2)];
    let stride = rng.gen_range(1..=2);
    let padding = rng.gen_range(0..=k / 2);
    let (h, w) = (rng.gen_range(k..k + 4), rng.gen_range(k..k + 4));
    let o = rng.gen_range(1..=9);
    let g = Geometry { kernel: k, stride, padding };
    let weights: Vec<f32> = (0..o * c_in * k * k).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let layer = Layer {
        name: "l".into(),
        in_shape: [c_in, h, w],
        in_bits: bits,
        out_shape: [o, g.out_len(h).unwrap(), g.out_len(w).unwrap()],
        op: Op::Weighted(Weighted {
            out_channels: o,
            geometry: g,
            weights: Weights::Conv(weights),
            bias: None,
            scale_group: 1,
            output: OutputFn::Accumulator,
        }),
        codec: CodecSettings::default(),
    };
    let net = Network {
        origin: "array test".into(),
        input: InputDef { shape: [c_in, h, w], bits, scale: 1.0, codec: CodecSettings::default() },
        layers: vec![layer],
    };
    let n = c_in * h * w;
    let data = (0..n)
        .map(|_| {
            if bits == 1 {
                if rng.gen_bool(0.5) {
                    1
                } else {
                    -1
                }
            } else {
                rng.gen_range(0..1 << bits)
            }
        })
        .collect();
    Case { net, input: Tensor3::from_vec(c_in, h, w, data) }
}

/// Per-cycle stimulus of the array and, for step cycles, what the step is.
#[derive(Clone, Default)]
struct Cycle {
    a: Vec<u128>,
    pad: Vec<bool>,
    tail: Vec<bool>,
    first: bool,
    wl: Vec<u128>,
    wl_en: bool,
    /// (filter tile, output row, output column, bit-plane) of a step.
    tag: Option<(usize, usize, usize, u32)>,
}

/// Cuts a conv layer into array passes; returns the cycles and the static tail masks.
fn schedule(s: &ArrayShape, case: &Case, signs: &[i8]) -> (Vec<Cycle>, Vec<u128>) {
    let (r_n, c_n, l) = (s.rows, s.cols, s.lanes);
    let layer = &case.net.layers[0];
    let Op::Weighted(w) = &layer.op else { unreachable!() };
    let g = w.geometry;
    let [c_in, h, wd] = layer.in_shape;
    let [o_n, h_out, w_out] = layer.out_shape;
    let bwn = layer.in_bits > 1;
    let planes = if bwn { layer.in_bits } else { 1 };
    let q_n = c_in.div_ceil(l);
    let groups = q_n.div_ceil(r_n);
    let tail_lanes = c_in % l;
    let full: u128 = if l == 128 { u128::MAX } else { (1 << l) - 1 };
    let tail_masks: Vec<u128> = (0..r_n)
        .map(|r| if tail_lanes != 0 && (q_n - 1) % r_n == r { (1u128 << tail_lanes) - 1 } else { full })
        .collect();
    let idle = Cycle {
        a: vec![0; r_n],
        pad: vec![false; r_n],
        tail: vec![false; r_n],
        wl: vec![0; c_n],
        ..Default::default()
    };
    let mut cycles: Vec<Cycle> = Vec::new();
    let at = |cycles: &mut Vec<Cycle>, t: usize| -> usize {
        while cycles.len() <= t {
            cycles.push(idle.clone());
        }
        t
    };
    let (mut prev_t0, mut prev_ts, mut prev_len): (Option<usize>, usize, usize) = (None, 0, 0);
    for ft in 0..o_n.div_ceil(c_n) {
        for y in 0..h_out {
            for ky in 0..g.kernel {
                for kx in 0..g.kernel {
                    for grp in 0..groups {
                        // Weight load, then the pass (timing contract of array.rs).
                        let t0 = match prev_t0 {
                            None => 0,
                            Some(p) => prev_ts.max(p + r_n),
                        };
                        let ts = (t0 + 1).max(if prev_t0.is_some() { prev_ts + prev_len } else { 0 });
                        for r in 0..r_n {
                            let t = at(&mut cycles, t0 + r);
                            cycles[t].wl_en = r == 0;
                            let q = grp * r_n + r;
                            for c in 0..c_n {
                                let f = ft * c_n + c;
                                let mut word = 0u128;
                                for lane in 0..l {
                                    let ch = q * l + lane;
                                    if f < o_n
                                        && ch < c_in
                                        && signs[((f * c_in + ch) * g.kernel + ky) * g.kernel + kx] > 0
                                    {
                                        word |= 1 << lane;
                                    }
                                }
                                cycles[t].wl[c] = word;
                            }
                        }
                        let len = w_out * planes as usize;
                        for x in 0..w_out {
                            for b in 0..planes {
                                let t = at(&mut cycles, ts + x * planes as usize + b as usize);
                                let cy = &mut cycles[t];
                                cy.first = x == 0 && b == 0;
                                cy.tag = Some((ft, y, x, b));
                                let iy = (y * g.stride + ky) as isize - g.padding as isize;
                                let ix = (x * g.stride + kx) as isize - g.padding as isize;
                                let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd;
                                for r in 0..r_n {
                                    let q = grp * r_n + r;
                                    cy.pad[r] = !inside || q >= q_n;
                                    cy.tail[r] = q + 1 == q_n && tail_lanes != 0;
                                    let mut word = 0u128;
                                    if !cy.pad[r] {
                                        for lane in 0..l {
                                            let ch = q * l + lane;
                                            if ch >= c_in {
                                                continue;
                                            }
                                            let v = case.input.get(ch, iy as usize, ix as usize);
                                            let bit = if bwn { (v >> b) & 1 == 1 } else { v > 0 };
                                            if bit {
                                                word |= 1 << lane;
                                            }
                                        }
                                    }
                                    cy.a[r] = word;
                                }
                            }
                        }
                        prev_t0 = Some(t0);
                        prev_ts = ts;
                        prev_len = len;
                    }
                }
            }
        }
    }
    // Let the last steps drain out.
    let end = cycles.len() + s.latency() + 2;
    at(&mut cycles, end);
    (cycles, tail_masks)
}

fn hex_word(parts: &[u128], w: usize) -> String {
    let fields: Vec<(u128, usize)> = parts.iter().map(|&p| (p, w)).collect();
    hex_fields(&fields)
}

/// Hex of fields packed tightly, the first field least significant.
fn hex_fields(fields: &[(u128, usize)]) -> String {
    let mut bits = Vec::new();
    for &(v, w) in fields {
        for j in 0..w {
            bits.push((v >> j) & 1 == 1);
        }
    }
    let mut s = String::new();
    for chunk in (0..bits.len().div_ceil(4)).rev() {
        let mut d = 0;
        for j in 0..4 {
            if bits.get(chunk * 4 + j).copied().unwrap_or(false) {
                d |= 1 << j;
            }
        }
        write!(s, "{d:x}").unwrap();
    }
    s
}

/// Runs one case through the array's Verilog in Icarus; returns the accumulated dots [O][H][W].
fn cosim(s: &ArrayShape, case: &Case) -> Option<Vec<i64>> {
    let cfg = {
        let mut c = AccelConfig::default();
        c.datapath.acc_bits = 32;
        c
    };
    let q = quant::compile(&case.net, &cfg, None).unwrap();
    let QOp::Weighted(qw) = &q.layers[0].op else { unreachable!() };
    let QWeights::Conv { signs } = &qw.weights else { unreachable!() };
    let (cycles, tail_masks) = schedule(s, case, signs);
    if !flow::have_icarus("array co-simulation") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let modules = array_modules("dut", s).unwrap();
    let (r_n, c_n, l, sw) = (s.rows, s.cols, s.lanes, s.psum_bits());
    let mut stim = String::new();
    for cy in &cycles {
        let flags: Vec<u128> =
            (0..r_n).map(|r| cy.pad[r] as u128 | (cy.tail[r] as u128) << 1 | (cy.first as u128) << 2).collect();
        // One packed vector per cycle, least significant field first: wl_en, wl_data, flags, a.
        let mut fields: Vec<(u128, usize)> = vec![(cy.wl_en as u128, 1)];
        fields.extend(cy.wl.iter().map(|&w| (w, l)));
        fields.extend(flags.iter().map(|&f| (f, 3)));
        fields.extend(cy.a.iter().map(|&a| (a, l)));
        writeln!(stim, "{}", hex_fields(&fields)).unwrap();
    }
    std::fs::write(d.join("stim.hex"), stim).unwrap();
    let sw_total = r_n * l + 3 * r_n + c_n * l + 1;
    let bwn = (case.net.input.bits > 1) as u8;
    let mut tb = String::new();
    writeln!(tb, "module tb;").unwrap();
    writeln!(
        tb,
        "reg clock = 0; reg [{}:0] mem [0:{}]; reg [{}:0] v; integer i, f;",
        sw_total - 1,
        cycles.len() - 1,
        sw_total - 1
    )
    .unwrap();
    writeln!(tb, "reg [{}:0] pad, tail, first; integer r;", r_n - 1).unwrap();
    writeln!(tb, "wire [{}:0] psum_out;", c_n * sw - 1).unwrap();
    writeln!(tb, "reg [{}:0] a_in; reg [{}:0] wl_data; reg wl_en;", r_n * l - 1, c_n * l - 1).unwrap();
    writeln!(tb, "dut_array dut(.clock(clock), .bwn(1'b{bwn}), .tail_mask({}'h{}), .a_in(a_in), .pad_in(pad), .tail_in(tail), .first_in(first), .wl_data(wl_data), .wl_en(wl_en), .psum_out(psum_out));", r_n * l, hex_word(&tail_masks, l)).unwrap();
    writeln!(tb, "initial begin").unwrap();
    writeln!(tb, "$readmemh(\"stim.hex\", mem); f = $fopen(\"out.txt\", \"w\");").unwrap();
    writeln!(tb, "for (i = 0; i < {}; i = i + 1) begin", cycles.len()).unwrap();
    writeln!(tb, "  v = mem[i];").unwrap();
    writeln!(tb, "  wl_en = v[0]; wl_data = v[{}:1];", c_n * l).unwrap();
    writeln!(tb, "  for (r = 0; r < {r_n}; r = r + 1) begin pad[r] = v[{}+3*r]; tail[r] = v[{}+3*r+1]; first[r] = v[{}+3*r+2]; end", c_n * l + 1, c_n * l + 1, c_n * l + 1).unwrap();
    writeln!(tb, "  a_in = v[{}:{}];", sw_total - 1, c_n * l + 1 + 3 * r_n).unwrap();
    writeln!(tb, "  #1 clock = 1; #1 clock = 0; $fwrite(f, \"%h\\n\", psum_out);").unwrap();
    writeln!(tb, "end\n$fclose(f); $finish;\nend\nendmodule").unwrap();
    flow::icarus_run_with(d, &tb, &modules).unwrap();
    let out = std::fs::read_to_string(d.join("out.txt")).unwrap();
    let samples: Vec<&str> = out.lines().collect();
    assert_eq!(samples.len(), cycles.len());
    // Accumulate: the column sums of the step at cycle t are sampled after clock edge t + R + C - 1.
    let [o_n, h_out, w_out] = case.net.layers[0].out_shape;
    let mut acc = vec![0i64; o_n * h_out * w_out];
    for (t, cy) in cycles.iter().enumerate() {
        let Some((ft, y, x, b)) = cy.tag else { continue };
        let sample = samples[t + s.latency() - 1];
        let value = u128::from_str_radix(sample, 16).unwrap();
        for c in 0..c_n {
            let f = ft * c_n + c;
            if f >= o_n {
                continue;
            }
            let raw = ((value >> (c * sw)) & ((1u128 << sw) - 1)) as i64;
            let psum = if raw >= 1 << (sw - 1) { raw - (1 << sw) } else { raw };
            acc[(f * h_out + y) * w_out + x] += psum << b;
        }
    }
    Some(acc)
}

fn check_shape(s: ArrayShape, bits_options: &[u32], cases: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let cfg = {
        let mut c = AccelConfig::default();
        c.datapath.acc_bits = 32;
        c
    };
    for i in 0..cases {
        let bits = bits_options[i % bits_options.len()];
        let case = random_case(&mut rng, bits);
        let q = quant::compile(&case.net, &cfg, None).unwrap();
        let QOp::Weighted(qw) = &q.layers[0].op else { unreachable!() };
        let want = golden::layer_dots(qw, &case.input);
        let Some(got) = cosim(&s, &case) else { return };
        let l = &case.net.layers[0];
        assert_eq!(
            got, want.data,
            "array {s:?}, case {i}: in {:?} bits {} out {:?}",
            l.in_shape, l.in_bits, l.out_shape
        );
    }
}

#[test]
fn square_array_of_8_lanes_matches_golden() {
    check_shape(ArrayShape { rows: 2, cols: 2, lanes: 8 }, &[1, 2, 8], 6, 1);
}

#[test]
fn non_square_array_of_32_lanes_matches_golden() {
    check_shape(ArrayShape { rows: 3, cols: 2, lanes: 32 }, &[1, 2, 8], 6, 2);
}

#[test]
fn tall_array_of_64_lanes_matches_golden() {
    check_shape(ArrayShape { rows: 1, cols: 4, lanes: 64 }, &[1, 8], 4, 3);
}

#[test]
fn array_verilog_is_lint_clean_and_synthesises() {
    let s = ArrayShape { rows: 2, cols: 3, lanes: 8 };
    let modules = array_modules("dut", &s).unwrap();
    let names: Vec<&str> = modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "dut_pe").count(), 1, "one PE definition: {names:?}");
    flow::check_lint_and_synth("array", &modules, "dut_array");
}
