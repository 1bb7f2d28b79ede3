//! The golden model against testbenches/spec_ref/spec_ref.py, an independent implementation
//! written in Python from docs/SPEC.md alone (by an engineer who did not see src/). Raw
//! accumulators of conv, fc, slbf and penni layers must be bit-exact, and the codec bitstreams
//! byte-exact in both directions.

mod common;

use cbnn::codec::{self, CodecParams, Mode, RecordCheck};
use cbnn::config::AccelConfig;
use cbnn::golden;
use cbnn::network::{Op, Weights};
use cbnn::npyio::{self, Elem};
use cbnn::quant::{self, QOp};
use cbnn::tensor::Tensor3;
use common::Kind;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testbenches/spec_ref/spec_ref.py");

fn spec_ref(args: &[String]) {
    let out = Command::new("python3").arg(SCRIPT).args(args).output().expect("python3 runs");
    assert!(out.status.success(), "spec_ref.py {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn act_elem(bits: u32) -> Elem {
    if bits == 1 {
        Elem::I8
    } else {
        Elem::U8
    }
}

fn write(path: &Path, bytes: Vec<u8>) -> String {
    std::fs::write(path, bytes).unwrap();
    path.display().to_string()
}

fn check_accumulators(kind: Kind, count: usize, seed: u64) {
    if !cbnn::tools::python_numpy("spec_ref accumulators") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut cfg = AccelConfig::default();
    cfg.datapath.acc_bits = 32;
    let mut rng = StdRng::seed_from_u64(seed);
    for case in 0..count {
        let net = common::random_layer(&mut rng, kind);
        let x = common::activations(&mut rng, net.input.shape, net.input.bits);
        let q = quant::compile(&net, &cfg, None).unwrap();
        let QOp::Weighted(qw) = &q.layers[0].op else { unreachable!() };
        let ours = golden::layer_dots(qw, &x);
        let Op::Weighted(w) = &net.layers[0].op else { unreachable!() };
        let [c_in, h, wd] = net.input.shape;
        let k = w.geometry.kernel;
        let o = w.out_channels;
        let mut args: Vec<String> = vec!["acc".into(), "--kind".into()];
        args.push(format!("{kind:?}").to_lowercase());
        args.extend([
            "--input".into(),
            write(&d.join("x.npy"), npyio::activations_to_npy(&x, act_elem(net.input.bits))),
        ]);
        args.extend(["--out".into(), d.join("out.npy").display().to_string()]);
        args.extend(["--bits".into(), net.input.bits.to_string()]);
        if kind != Kind::Fc {
            args.extend([
                "--stride".into(),
                w.geometry.stride.to_string(),
                "--padding".into(),
                w.geometry.padding.to_string(),
            ]);
        }
        match &w.weights {
            Weights::Conv(f) => {
                args.extend(["--weights".into(), write(&d.join("w.npy"), npyio::f32_to_npy(&[o, c_in, k, k], f))])
            }
            Weights::Fc(f) => {
                args.extend(["--weights".into(), write(&d.join("w.npy"), npyio::f32_to_npy(&[o, c_in * h * wd], f))])
            }
            Weights::Slbf { bank, n, d: dd, index, m } => {
                args.extend(["--bank".into(), write(&d.join("bank.npy"), npyio::f32_to_npy(&[*n, *dd, k, k], bank))]);
                let idx: Vec<i64> = index.iter().map(|&v| v as i64).collect();
                args.extend(["--index".into(), write(&d.join("idx.npy"), npyio::i64_to_npy(&[o, *m], &idx))]);
            }
            Weights::Penni { basis, d: dd, coef } => {
                args.extend(["--basis".into(), write(&d.join("basis.npy"), npyio::f32_to_npy(&[*dd, k, k], basis))]);
                args.extend(["--coef".into(), write(&d.join("coef.npy"), npyio::f32_to_npy(&[o, c_in, *dd], coef))]);
                args.extend(["--coef-bits".into(), cfg.datapath.coef_bits.to_string()]);
                // A threshold layer is one scale group (SPEC 6): its coefficients share one sc_g.
                let g = if w.threshold.is_some() { o } else { w.scale_group };
                args.extend(["--scale-group".into(), g.to_string()]);
                if let Some(ws) = &w.weight_scale {
                    args.extend(["--weight-scale".into(), write(&d.join("ws.npy"), npyio::f64_to_npy(&[o], ws))]);
                }
            }
        }
        spec_ref(&args);
        let theirs = npyio::parse_int(&std::fs::read(d.join("out.npy")).unwrap(), Elem::I32).unwrap();
        assert_eq!(theirs.shape, ours.shape().to_vec(), "case {case}");
        let ours_v: Vec<i64> = ours.data.clone();
        assert_eq!(theirs.data, ours_v, "case {case} ({kind:?}) differs from spec_ref.py: {:?}", net.layers[0]);
        if qw.output == quant::QOutput::Accumulator {
            let out = golden::layer_output(&q.layers[0], &x);
            assert_eq!(
                out.data.iter().map(|&v| v as i64).collect::<Vec<_>>(),
                theirs.data,
                "case {case}: output = accumulator"
            );
        }
    }
}

#[test]
fn conv_accumulators_match_independent_implementation() {
    check_accumulators(Kind::Conv, 30, 11);
}

#[test]
fn fc_accumulators_match_independent_implementation() {
    check_accumulators(Kind::Fc, 15, 12);
}

#[test]
fn slbf_accumulators_match_independent_implementation() {
    check_accumulators(Kind::Slbf, 15, 13);
}

#[test]
fn penni_accumulators_match_independent_implementation() {
    check_accumulators(Kind::Penni, 15, 14);
}

fn codec_args(p: &CodecParams, bits: u32) -> Vec<String> {
    vec![
        "--bits".into(),
        bits.to_string(),
        "--block".into(),
        p.block.to_string(),
        "--mode".into(),
        p.mode.as_str().into(),
        "--step".into(),
        p.step.to_string(),
        "--keep".into(),
        p.keep.to_string(),
        "--eg".into(),
        p.eg_order.to_string(),
        "--segment".into(),
        p.segment.to_string(),
        "--check".into(),
        p.check.to_string(),
    ]
}

/// Encoder and decoder of both implementations agree byte for byte and value for value.
#[test]
fn codec_bitstreams_match_independent_implementation() {
    if !cbnn::tools::python_numpy("spec_ref codec") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = StdRng::seed_from_u64(15);
    let mut golomb = 0;
    for case in 0..50 {
        let bits = if case % 8 == 0 { 1 } else { rng.gen_range(2..=8) };
        let block = [4usize, 8, 16][rng.gen_range(0..3)];
        let mode = if bits == 1 { Mode::Raw } else { Mode::ALL[rng.gen_range(0..Mode::ALL.len())] };
        golomb += (mode == Mode::Golomb) as usize;
        let p = CodecParams {
            block,
            mode,
            step: 1 << rng.gen_range(0..8),
            keep: rng.gen_range(1..=block),
            eg_order: rng.gen_range(0..4),
            // Whole rows, the accelerator's segments (a multiple of N) and blocks cut short.
            segment: [1000, block, 2 * block, rng.gen_range(1..=12)][rng.gen_range(0..4)],
            check: if rng.gen_bool(0.5) { RecordCheck::Crc8 } else { RecordCheck::None },
        };
        let shape = [[1usize, 3, 7, 8, 9, 13, 17, 20][rng.gen_range(0..8)], rng.gen_range(1..5), rng.gen_range(1..5)];
        let x = common::activations(&mut rng, shape, bits);
        let ours = codec::encode(&x, bits, &p);
        let xin = write(&d.join("x.npy"), npyio::activations_to_npy(&x, act_elem(bits)));
        let stream = d.join("s.bin").display().to_string();
        let mut args = vec!["encode".to_string(), "--input".into(), xin, "--out".into(), stream.clone()];
        args.extend(codec_args(&p, bits));
        spec_ref(&args);
        let theirs = std::fs::read(&stream).unwrap();
        assert_eq!(theirs, ours.bytes, "case {case}: bitstreams differ for {p:?} bits {bits} shape {shape:?}");
        // Their decoder on our stream gives our reconstruction.
        let rec = d.join("rec.npy").display().to_string();
        let mut args =
            vec!["decode".to_string(), "--stream".into(), stream, "--out".into(), rec.clone(), "--shape".into()];
        args.extend(shape.iter().map(|v| v.to_string()));
        args.extend(codec_args(&p, bits));
        spec_ref(&args);
        let theirs_rec = npyio::parse_activations(&std::fs::read(&rec).unwrap(), bits, shape).unwrap();
        let ours_rec: Tensor3<i32> = codec::reconstruct(&x, bits, &p);
        assert_eq!(theirs_rec, ours_rec, "case {case}: reconstructions differ for {p:?}");
    }
    assert!(golomb >= 5, "only {golomb} golomb cases");
}

/// Both decoders reject a golomb value above the largest a k-bit value quantises to (SPEC 8.8)
/// and accept the largest one.
#[test]
fn golomb_value_limit_matches_independent_implementation() {
    if !cbnn::tools::python_numpy("spec_ref golomb limit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // k = 8, step 4, eg 0, N = 4: mask 1000, then EG0(64) (q = 65, too big) or EG0(63) (q = 64).
    let p = CodecParams {
        block: 4,
        mode: Mode::Golomb,
        step: 4,
        keep: 4,
        eg_order: 0,
        segment: 4,
        check: RecordCheck::None,
    };
    for (stream, ok) in [([0x80u8, 0x20, 0x80], false), ([0x80, 0x20, 0x00], true)] {
        assert_eq!(codec::decode(&stream, 4, 1, 1, 8, &p).is_ok(), ok, "{stream:?}");
        let s = write(&dir.path().join("s.bin"), stream.to_vec());
        let mut args = vec!["decode".to_string(), "--stream".into(), s, "--shape".into(), "4".into()];
        args.extend(["1".into(), "1".into(), "--out".into(), dir.path().join("r.npy").display().to_string()]);
        args.extend(codec_args(&p, 8));
        let out = Command::new("python3").arg(SCRIPT).args(&args).output().unwrap();
        assert_eq!(out.status.success(), ok, "{stream:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Both implementations state the same dct error bound (SPEC 8.7).
#[test]
fn dct_error_bound_matches_independent_implementation() {
    if !cbnn::tools::python_numpy("spec_ref bound") {
        return;
    }
    for block in [4usize, 8, 16] {
        for step in [1u32, 4, 128] {
            for bits in [2u32, 8] {
                let out = Command::new("python3")
                    .arg(SCRIPT)
                    .args([
                        "bound",
                        "--block",
                        &block.to_string(),
                        "--step",
                        &step.to_string(),
                        "--bits",
                        &bits.to_string(),
                    ])
                    .output()
                    .unwrap();
                assert!(out.status.success());
                let theirs: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
                assert_eq!(theirs, codec::dct_error_bound(block, step, bits), "N={block} step={step} k={bits}");
            }
        }
    }
}

/// As a user would: the `golden` program on a network file with `output = "accumulator"`, and
/// spec_ref.py on the same .npy files, give identical int32 outputs (conv and fc).
#[test]
fn golden_program_accumulator_outputs_match_independent_implementation() {
    if !cbnn::tools::python_numpy("spec_ref golden program") {
        return;
    }
    let mut rng = StdRng::seed_from_u64(16);
    for (kind, extra) in [("conv", "kernel = 3\nstride = 2\npadding = 1\n"), ("fc", "")] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (c, h, w, o) = (5usize, 9usize, 7usize, 6usize);
        let wshape: Vec<usize> = if kind == "conv" { vec![o, c, 3, 3] } else { vec![o, c * h * w] };
        let wn: usize = wshape.iter().product();
        std::fs::write(d.join("w.npy"), npyio::f32_to_npy(&wshape, &common::floats(&mut rng, wn))).unwrap();
        let x = common::activations(&mut rng, [c, h, w], 3);
        std::fs::write(d.join("x.npy"), npyio::activations_to_npy(&x, Elem::U8)).unwrap();
        let net = format!(
            "[input]\nshape = [{c}, {h}, {w}]\nbits = 3\n\n[[layer]]\nkind = \"{kind}\"\nout_channels = {o}\n{extra}weights = \"w.npy\"\noutput = \"accumulator\"\n"
        );
        std::fs::write(d.join("net.toml"), net).unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_golden"))
            .current_dir(d)
            .args(["--network", "net.toml", "--input", "x.npy", "--out", "g"])
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        let mut args: Vec<String> =
            ["acc", "--kind", kind, "--bits", "3", "--input", "x.npy", "--weights", "w.npy", "--out", "r.npy"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        if kind == "conv" {
            args.extend(["--stride", "2", "--padding", "1"].iter().map(|s| s.to_string()));
        }
        let out = Command::new("python3").arg(SCRIPT).args(&args).current_dir(d).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let ours = npyio::parse_int(&std::fs::read(d.join("g/output.npy")).unwrap(), Elem::I32).unwrap();
        let theirs = npyio::parse_int(&std::fs::read(d.join("r.npy")).unwrap(), Elem::I32).unwrap();
        assert_eq!(ours.shape, theirs.shape, "{kind}");
        assert_eq!(ours.data, theirs.data, "{kind}");
        assert!(ours.data.iter().any(|&v| v != 0), "{kind}: a trivial all-zero output proves little");
    }
}
