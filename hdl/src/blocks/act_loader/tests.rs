//! The loader's Verilog under Icarus: the activation beats of real conv and fc layers (the host's
//! `cbnn::hw::streams::act_stream`, sent with gaps in `in_valid`), written into banks that start
//! full of garbage, must leave exactly the words of `cbnn::hw::layout::act_banks` in every chunk
//! the layer has.

use super::*;
use crate::cosim::verilog_tools;
use crate::generator::verilog::emit_block;
use cbnn::config::AccelConfig;
use cbnn::hw::{layout, streams, LayerDescriptor, LayerKind};
use cbnn::network::{Geometry, Network};
use cbnn::quant::compile;
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A random conv or fc layer for `cfg`, its descriptor and a random input.
fn random_case(rng: &mut StdRng, cfg: &AccelConfig, fc: bool) -> (LayerDescriptor, Tensor3<i32>, u32) {
    let bits = [1u32, 2, 5, 8][rng.gen_range(0..4)];
    let (c_in, h, w) = (rng.gen_range(1..40), rng.gen_range(1..4), rng.gen_range(1..5));
    let net = if fc {
        Network::single_fc(c_in, h, w, 3, bits, vec![0.5; 3 * c_in * h * w])
    } else {
        let g = Geometry { kernel: 1, stride: 1, padding: 0 };
        Network::single_conv(c_in, h, w, 3, g, bits, vec![0.5; 3 * c_in])
    };
    let q = compile(&net, cfg, None).unwrap();
    let d = LayerDescriptor::new(&q.layers[0], cfg).unwrap();
    let data = (0..c_in * h * w)
        .map(|_| if bits == 1 { [1, -1][rng.gen_range(0..2)] } else { rng.gen_range(0..1 << bits) })
        .collect();
    (d, Tensor3::from_vec(c_in, h, w, data), bits)
}

fn run<const L: usize, const B: usize, const D: usize, const G: usize>(rows: u32, cols: u32, seed: u64) {
    if !verilog_tools::have_icarus("activation loader co-simulation") {
        return;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut cfg = AccelConfig::default();
    (cfg.array.rows, cfg.array.cols, cfg.array.lanes) = (rows, cols, L as u32);
    cfg.codec.block = B.max(4) as u32; // a codec block; cols decide the beat when it does not divide them
    cfg.codec.enabled = false;
    cfg.datapath.acc_bits = 32;
    assert_eq!(cfg.beat_values() as usize, B, "test setup");
    for case in 0..6 {
        let fc = case % 3 == 2;
        let (d, input, bits) = random_case(&mut rng, &cfg, fc);
        let core_rows = if d.kind == LayerKind::Fc { 1 } else { d.h };
        let beats = streams::act_stream(&d, &cfg, &input, bits, 0..core_rows);
        let mut tb = String::new();
        writeln!(tb, "module tb;\nreg clock = 0, start = 1, in_valid = 0; reg [{}:0] in_data = 0;", D - 1).unwrap();
        writeln!(tb, "wire in_ready, busy, wr_en; wire [7:0] wr_row; wire [15:0] wr_addr;").unwrap();
        writeln!(tb, "wire [{}:0] wr_groups; wire [{}:0] wr_data; integer i, n;", G - 1, L - 1).unwrap();
        writeln!(tb, "reg [{}:0] vals [0:{}];", D - 1, beats.len() - 1).unwrap();
        let regs = [
            ("c_in", d.c_in),
            ("t_ch", d.in_shape[0]),
            ("t_w", d.in_shape[2]),
            ("planes", d.planes),
            ("pixel_words", d.pixel_words),
        ];
        let conns: String = regs.iter().map(|(p, v)| format!(".{p}(16'd{v}), ")).collect();
        writeln!(tb, "ld dut(.clock(clock), .start(start), {conns}.plane_shift(3'd{}), .fc(1'b{}), .in_valid(in_valid), .in_data(in_data), .in_ready(in_ready), .busy(busy), .wr_en(wr_en), .wr_row(wr_row), .wr_addr(wr_addr), .wr_groups(wr_groups), .wr_data(wr_data));", d.plane_rows.trailing_zeros(), fc as u8).unwrap();
        writeln!(
            tb,
            "always @(posedge clock) if (wr_en) $display(\"W %0d %0d %h %h\", wr_row, wr_addr, wr_groups, wr_data);"
        )
        .unwrap();
        writeln!(
            tb,
            "initial begin\n$readmemh(\"vals.hex\", vals);\n#1 clock = 1; #1 clock = 0; start = 0; i = 0; n = 0;"
        )
        .unwrap();
        writeln!(tb, "while (i < {} || busy) begin", beats.len()).unwrap();
        writeln!(tb, "  in_valid = (i < {}) && (((n * 7 + 3) % 5) != 0); in_data = vals[i]; n = n + 1;", beats.len())
            .unwrap();
        writeln!(tb, "  #1; if (in_valid & in_ready) i = i + 1; clock = 1; #1 clock = 0;").unwrap();
        // The write pipeline still holds the last words when `busy` falls.
        writeln!(tb, "end\nrepeat ({WRITE_LAG}) begin #1 clock = 1; #1 clock = 0; end").unwrap();
        writeln!(tb, "$display(\"CYCLES %0d\", n);\n$finish;\nend\nendmodule").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let hex: String =
            beats.iter().map(|b| b.codes.iter().rev().map(|c| format!("{c:02x}")).collect::<String>() + "\n").collect();
        std::fs::write(dir.path().join("vals.hex"), hex).unwrap();
        let ld = ActLoader::<L, B, D, G>::new(rows as usize, cols as usize);
        let out = verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(ld, "ld")).unwrap();
        // Banks start as garbage; apply the writes group by group.
        let mut mem: BTreeMap<(u32, u32), u128> = BTreeMap::new();
        let garbage = |rng: &mut StdRng| rng.gen::<u128>() & (u128::MAX >> (128 - L));
        for line in out.lines().filter(|l| l.starts_with("W ")) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let key = (f[1].parse().unwrap(), f[2].parse().unwrap());
            let groups = u32::from_str_radix(f[3], 16).unwrap();
            let data = u128::from_str_radix(f[4], 16).unwrap();
            let old = *mem.entry(key).or_insert_with(|| garbage(&mut rng));
            let mask = (0..G).filter(|g| groups >> g & 1 == 1).fold(0u128, |m, g| m | (((1u128 << B) - 1) << (g * B)));
            mem.insert(key, (old & !mask) | (data & mask));
        }
        let want = layout::act_banks(&d, &cfg, &input, bits, 0, core_rows);
        let pixels = if d.kind == LayerKind::Fc { 1 } else { core_rows * d.w };
        for p in 0..pixels {
            for q in 0..d.chunks {
                for b in 0..d.planes {
                    let (bank, offset) = d.act_slot(rows, q, b);
                    let addr = p * d.pixel_words + offset;
                    let got = mem.get(&(bank, addr)).copied();
                    let exp = want[bank as usize][addr as usize];
                    assert_eq!(
                        got,
                        Some(exp),
                        "{d:?}\npixel {p} chunk {q} plane {b}: bank {bank} addr {addr}: got {got:x?}, want {exp:x}"
                    );
                }
            }
        }
    }
}

#[test]
fn verilog_fills_the_buffer_layout_conv_and_fc() {
    // Segments narrower than a word (written in pieces), as wide as a word, wider than a word;
    // R = 3 (a non-power-of-two bank count); one-lane-group words (B = L).
    run::<32, 8, 64, 4>(2, 8, 1);
    run::<8, 4, 32, 2>(3, 4, 2);
    run::<16, 8, 64, 2>(1, 32, 3);
    run::<8, 8, 64, 1>(2, 8, 4);
    run::<16, 2, 16, 8>(2, 6, 5);
}

#[test]
fn verilog_is_lint_clean_and_synthesises() {
    let check = |modules: Vec<crate::generator::verilog::Module>| {
        verilog_tools::check_lint_and_synth("activation loader", &modules, "ld")
    };
    check(emit_block(ActLoader::<32, 8, 64, 4>::new(2, 8), "ld"));
    check(emit_block(ActLoader::<8, 4, 32, 2>::new(3, 4), "ld"));
    check(emit_block(ActLoader::<8, 8, 64, 1>::new(2, 8), "ld"));
}
