//! The array's emitted Verilog under Icarus against the golden model: random conv layers are fed
//! the way the core's datapath will feed them (the controller's compute sequence reading the
//! buffer images of `cbnn::hw`), the column sums are accumulated per pixel and bit-plane, and the
//! result must equal `cbnn::golden::layer_dots` bit for bit. This checks the array, the buffer
//! layout and the compute sequence together.

use super::*;
use crate::cosim::verilog_tools;
use cbnn::config::AccelConfig;
use cbnn::golden;
use cbnn::network::{Geometry, Network};
use cbnn::quant::{self, QOp};
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
    let net = Network::single_conv(c_in, h, w, o, g, bits, weights);
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

/// The accelerator config of an array shape, with buffers large enough for the test layers.
fn config_for(s: &ArrayShape) -> AccelConfig {
    let mut c = AccelConfig::default();
    c.array.rows = s.rows as u32;
    c.array.cols = s.cols as u32;
    c.array.lanes = s.lanes as u32;
    c.datapath.acc_bits = 32;
    c.buffers.act_kib = 1024;
    c.buffers.weight_kib = 1024;
    c
}

/// The array's inputs cycle by cycle, exactly as the core's datapath produces them: the
/// controller's compute sequence (`cbnn::hw::sequence`) reads the buffer images
/// (`cbnn::hw::layout`) one cycle ahead, and the row-control rule sets pad/tail per row.
/// Filter tiles follow each other. Returns the cycles and the static tail masks.
#[allow(clippy::needless_range_loop)] // rows index several per-row vectors at once
fn schedule(s: &ArrayShape, case: &Case, layer: &cbnn::quant::QLayer) -> (Vec<Cycle>, Vec<u128>) {
    use cbnn::hw::{layout, sequence, LayerDescriptor};
    let cfg = config_for(s);
    let (r_n, c_n, l) = (s.rows, s.cols, s.lanes);
    let d = LayerDescriptor::new(layer, &cfg).unwrap();
    let acts = layout::act_banks(&d, &cfg, &case.input, layer.in_bits, 0, d.h);
    let full: u128 = if l == 128 { u128::MAX } else { (1 << l) - 1 };
    let tail_row = (d.last_group_rows - 1) as usize;
    let tail_masks: Vec<u128> =
        (0..r_n).map(|r| if d.tail_lanes != 0 && r == tail_row { (1u128 << d.tail_lanes) - 1 } else { full }).collect();
    let idle = Cycle {
        a: vec![0; r_n],
        pad: vec![false; r_n],
        tail: vec![false; r_n],
        wl: vec![0; c_n],
        ..Default::default()
    };
    let mut cycles: Vec<Cycle> = vec![idle.clone()];
    for tile in 0..d.filter_tiles {
        let weights = layout::weight_banks(layer, &d, &cfg, tile);
        let seq = sequence::compute_sequence(&d, &cfg, 0..d.h_out, 0);
        let base = cycles.len();
        cycles.resize(base + seq.len() + 1, idle.clone());
        for (t, issue) in seq.iter().enumerate() {
            // Reads issued in cycle t reach the array in cycle t + 1.
            let cy = &mut cycles[base + t + 1];
            if let Some(w) = issue.weight {
                cy.wl_en = w.start;
                cy.wl = (0..c_n).map(|c| weights[c][w.addr as usize]).collect();
            }
            if let Some(st) = issue.step {
                cy.first = st.first;
                cy.tag = Some((tile as usize, st.y as usize, st.x as usize, st.plane));
                for r in 0..r_n {
                    cy.pad[r] = st.outside || (st.last_group && r as u32 >= d.last_group_rows);
                    cy.tail[r] = st.last_group && d.tail_lanes != 0 && r == tail_row;
                    cy.a[r] = if cy.pad[r] { 0 } else { acts[r][st.addr as usize] };
                }
            }
        }
    }
    // Let the last steps drain out.
    let end = cycles.len() + s.latency() + 2;
    cycles.resize(end, idle);
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
    let q = quant::compile(&case.net, &config_for(s), None).unwrap();
    let (cycles, tail_masks) = schedule(s, case, &q.layers[0]);
    if !verilog_tools::have_icarus("array co-simulation") {
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
    let desc = cbnn::hw::LayerDescriptor::new(&q.layers[0], &config_for(s)).unwrap();
    let plane_rows = (desc.plane_rows > 1) as u8;
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
    writeln!(tb, "dut_array dut(.clock(clock), .bwn(1'b{bwn}), .plane_rows(1'b{plane_rows}), .tail_mask({}'h{}), .a_in(a_in), .pad_in(pad), .tail_in(tail), .first_in(first), .wl_data(wl_data), .wl_en(wl_en), .psum_out(psum_out));", r_n * l, hex_word(&tail_masks, l)).unwrap();
    writeln!(tb, "initial begin").unwrap();
    writeln!(tb, "$readmemh(\"stim.hex\", mem); f = $fopen(\"out.txt\", \"w\");").unwrap();
    writeln!(tb, "for (i = 0; i < {}; i = i + 1) begin", cycles.len()).unwrap();
    writeln!(tb, "  v = mem[i];").unwrap();
    writeln!(tb, "  wl_en = v[0]; wl_data = v[{}:1];", c_n * l).unwrap();
    writeln!(tb, "  for (r = 0; r < {r_n}; r = r + 1) begin pad[r] = v[{}+3*r]; tail[r] = v[{}+3*r+1]; first[r] = v[{}+3*r+2]; end", c_n * l + 1, c_n * l + 1, c_n * l + 1).unwrap();
    writeln!(tb, "  a_in = v[{}:{}];", sw_total - 1, c_n * l + 1 + 3 * r_n).unwrap();
    writeln!(tb, "  #1 clock = 1; #1 clock = 0; $fwrite(f, \"%h\\n\", psum_out);").unwrap();
    writeln!(tb, "end\n$fclose(f); $finish;\nend\nendmodule").unwrap();
    verilog_tools::icarus_run_with(d, &tb, &modules).unwrap();
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
    verilog_tools::check_lint_and_synth("array", &modules, "dut_array");
}
