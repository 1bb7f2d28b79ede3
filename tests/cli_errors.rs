//! Bad input never panics: every case exits non-zero with one line on stderr naming the file,
//! the key and what was expected, and writes no output.

mod common;

use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use std::path::Path;
use std::process::Command;

const GOLDEN: &str = env!("CARGO_BIN_EXE_golden");

/// A directory with a valid network, its weights and an input; tests then break one thing.
fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("net.toml"), common::SMALL_NET).unwrap();
    std::fs::write(p.join("w1.npy"), npyio::f32_to_npy(&[4, 3, 3, 3], &vec![0.5; 108])).unwrap();
    std::fs::write(p.join("w2.npy"), npyio::f32_to_npy(&[5, 256], &vec![-0.25; 1280])).unwrap();
    let x = Tensor3::from_vec(3, 8, 8, (0..192).map(|i| i % 256).collect());
    std::fs::write(p.join("x.npy"), npyio::activations_to_npy(&x, Elem::U8)).unwrap();
    d
}

fn golden(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["--network", "net.toml", "--out", "out"];
    if !extra.contains(&"--input") {
        args.extend(["--input", "x.npy"]);
    }
    args.extend_from_slice(extra);
    let o = Command::new(GOLDEN).current_dir(dir).args(&args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// Runs golden after `edit` broke the setup, and checks the one-line error contains `needles`.
fn expect_error(edit: impl FnOnce(&Path), extra: &[&str], needles: &[&str]) {
    let d = setup();
    edit(d.path());
    let (code, _out, err) = golden(d.path(), extra);
    assert_ne!(code, 0, "expected failure, stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].starts_with("golden: error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "missing {n:?} in: {err}");
    }
    // Not even an empty --out directory: it is made once the work has succeeded.
    assert!(!d.path().join("out").is_dir(), "out/ was created despite the error");
}

fn edit_net(p: &Path, from: &str, to: &str) {
    let net = std::fs::read_to_string(p.join("net.toml")).unwrap();
    assert!(net.contains(from), "test setup: {from}");
    std::fs::write(p.join("net.toml"), net.replacen(from, to, 1)).unwrap();
}

#[test]
fn the_good_setup_runs() {
    let d = setup();
    // A dump of another network, left in the directory by an earlier run.
    std::fs::create_dir_all(d.path().join("out/layers")).unwrap();
    std::fs::write(d.path().join("out/layers/05_conv9.npy"), b"stale").unwrap();
    let (code, out, err) = golden(d.path(), &["--dump-layers"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("output.npy"));
    let y = npyio::parse_int(&std::fs::read(d.path().join("out/output.npy")).unwrap(), Elem::I32).unwrap();
    assert_eq!(y.shape, vec![5, 1, 1]);
    assert!(d.path().join("out/layers/00_conv0.npy").exists());
    assert!(!d.path().join("out/layers/05_conv9.npy").exists(), "the old dump is mixed with the new one");
}

#[test]
fn malformed_toml() {
    expect_error(|p| edit_net(p, "bits = 8", "bits = = 8"), &[], &["net.toml", "line 4"]);
}

#[test]
fn unknown_key() {
    expect_error(|p| edit_net(p, "kernel = 3", "kernel = 3\nkernal_size = 3"), &[], &["net.toml", "kernal_size"]);
}

#[test]
fn key_not_used_by_kind() {
    expect_error(
        |p| edit_net(p, "kind = \"fc\"", "kind = \"fc\"\nkernel = 3"),
        &[],
        &["net.toml", "layer 1", "`kernel`", "fc"],
    );
}

#[test]
fn missing_weights_file() {
    expect_error(
        |p| std::fs::remove_file(p.join("w1.npy")).unwrap(),
        &[],
        &["net.toml", "layer 0", "`weights`", "w1.npy"],
    );
}

#[test]
fn weights_of_wrong_dtype() {
    // A float64 .npy: write int64 through the same writer to get a wrong dtype.
    expect_error(
        |p| std::fs::write(p.join("w1.npy"), npyio::i64_to_npy(&[4, 3, 3, 3], &[1; 108])).unwrap(),
        &[],
        &["w1.npy", "`weights`", "expected float32", "int64"],
    );
}

#[test]
fn weights_of_wrong_shape() {
    expect_error(
        |p| std::fs::write(p.join("w1.npy"), npyio::f32_to_npy(&[4, 2, 3, 3], &[0.5; 72])).unwrap(),
        &[],
        &["w1.npy", "`weights`", "expected shape [4, 3, 3, 3]", "[4, 2, 3, 3]"],
    );
}

#[test]
fn shapes_that_do_not_chain() {
    // Without padding and with a 9x9 kernel, the 8x8 input cannot produce an output.
    expect_error(
        |p| edit_net(p, "kernel = 3\npadding = 1", "kernel = 9"),
        &[],
        &["net.toml", "layer 0", "`kernel` = 9", "8x8"],
    );
}

#[test]
fn group_out_of_range() {
    expect_error(
        |p| edit_net(p, "scale_group = 2", "scale_group = 5"),
        &[],
        &["net.toml", "`scale_group` = 5", "1..=4"],
    );
    expect_error(|p| edit_net(p, "scale_group = 2", "scale_group = 0"), &[], &["`scale_group` = 0"]);
}

#[test]
fn codec_settings_out_of_range() {
    expect_error(
        |p| edit_net(p, "out_bits = 4", "out_bits = 4\ncodec = \"dct\"\nstep = 3"),
        &[],
        &["`step` = 3", "power of two"],
    );
    expect_error(|p| edit_net(p, "out_bits = 4", "out_bits = 4\ncodec = \"zip\""), &[], &["`codec` = \"zip\"", "auto"]);
    expect_error(
        |p| edit_net(p, "output = \"relu\"\nout_bits = 4\nout_scale = 0.05", "output = \"sign\"\ncodec = \"dct\""),
        &[],
        &["layer 0", "`codec`", "binary"],
    );
    expect_error(
        |p| edit_net(p, "output = \"relu\"\nout_bits = 4\nout_scale = 0.05", "output = \"sign\"\ncodec = \"golomb\""),
        &[],
        &["layer 0", "`codec`", "binary"],
    );
    expect_error(
        |p| edit_net(p, "out_bits = 4", "out_bits = 4\ncodec = \"dct\"\ndct_keep = 9"),
        &[],
        &["`dct_keep` = 9", "codec.block = 8"],
    );
}

#[test]
fn accumulator_output_must_be_last() {
    expect_error(
        |p| {
            edit_net(
                p,
                "scale_group = 2\noutput = \"relu\"\nout_bits = 4\nout_scale = 0.05",
                "output = \"accumulator\"",
            )
        },
        &[],
        &["layer 0", "last layer"],
    );
}

#[test]
fn input_of_wrong_dtype_shape_or_range() {
    let wrong_dtype = |p: &Path| {
        let x = Tensor3::from_vec(3, 8, 8, vec![1; 192]);
        std::fs::write(p.join("x.npy"), npyio::activations_to_npy(&x, Elem::I32)).unwrap();
    };
    expect_error(wrong_dtype, &[], &["x.npy", "expected uint8", "int32"]);
    let wrong_shape = |p: &Path| {
        let x = Tensor3::from_vec(3, 8, 4, vec![1; 96]);
        std::fs::write(p.join("x.npy"), npyio::activations_to_npy(&x, Elem::U8)).unwrap();
    };
    expect_error(wrong_shape, &[], &["x.npy", "expected shape [3, 8, 8]"]);
    expect_error(|p| edit_net(p, "bits = 8", "bits = 4"), &[], &["x.npy", "outside the range of 4-bit", "0..=15"]);
    expect_error(|p| std::fs::write(p.join("x.npy"), b"garbage").unwrap(), &[], &["x.npy", "not a valid .npy"]);
}

#[test]
fn bad_config() {
    let cfg = |p: &Path| {
        let text = cbnn::config::DEFAULT_CONFIG_TOML.replace("rows = 2", "rows = 2\ncolumns = 2");
        std::fs::write(p.join("accel.toml"), text).unwrap();
    };
    expect_error(cfg, &["--config", "accel.toml"], &["accel.toml", "columns"]);
    expect_error(|_| {}, &["--config", "nope.toml"], &["nope.toml", "cannot read"]);
    // fc over 256 8-bit inputs: |dot| <= 256 * 255 needs 17 bits.
    let narrow = |p: &Path| {
        let text = cbnn::config::DEFAULT_CONFIG_TOML.replace("acc_bits = 24", "acc_bits = 16");
        std::fs::write(p.join("accel.toml"), text).unwrap();
        edit_net(p, "out_bits = 4", "out_bits = 8");
    };
    expect_error(narrow, &["--config", "accel.toml"], &["net.toml", "layer 1", "acc_bits = 16", "17-bit accumulator"]);
}

#[test]
fn bad_command_line() {
    let d = setup();
    let o = Command::new(GOLDEN).current_dir(d.path()).args(["--frobnicate"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--frobnicate"), "{err}");
    let o = Command::new(GOLDEN).current_dir(d.path()).args(["--network", "net.toml"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--input"));
}

#[test]
fn runs_with_no_arguments() {
    let d = tempfile::tempdir().unwrap();
    let o = Command::new(GOLDEN).current_dir(d.path()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let y = npyio::parse_int(&std::fs::read(d.path().join("out/golden/output.npy")).unwrap(), Elem::I32).unwrap();
    assert_eq!(y.shape, vec![10, 1, 1]);
}

#[test]
fn layer_names_must_be_plain() {
    expect_error(
        |p| edit_net(p, "kind = \"conv\"", "kind = \"conv\"\nname = \"a/b\""),
        &["--dump-layers"],
        &["layer 0", "`name` = \"a/b\""],
    );
}

#[test]
fn keys_without_effect_are_errors_not_ignored() {
    expect_error(
        |p| edit_net(p, "output = \"accumulator\"", "output = \"accumulator\"\nout_max = 3"),
        &[],
        &["layer 1", "`out_max`", "accumulator"],
    );
    expect_error(
        |p| {
            std::fs::write(p.join("t.npy"), npyio::i64_to_npy(&[4], &[0, 1, 2, 3])).unwrap();
            edit_net(p, "out_bits = 4", "out_bits = 4\nthreshold = \"t.npy\"")
        },
        &[],
        &["layer 0", "`threshold`", "output = \"sign\""],
    );
    expect_error(
        |p| {
            std::fs::write(p.join("t.npy"), npyio::i64_to_npy(&[4], &[0, 1, 2, 3])).unwrap();
            edit_net(p, "output = \"relu\"\nout_bits = 4\nout_scale = 0.05", "output = \"sign\"\nthreshold = \"t.npy\"")
        },
        &[],
        &["layer 0", "`scale_group`", "`threshold`"],
    );
    expect_error(
        |p| edit_net(p, "bits = 8", "bits = 8\npixel_scale = 0.5"),
        &[],
        &["[input]", "`pixel_scale`", "`thresholds`"],
    );
    expect_error(
        |p| edit_net(p, "out_bits = 4", "out_bits = 4\nstep = 4"),
        &[],
        &["layer 0", "`step`", "\"dct\", \"auto\" or \"golomb\""],
    );
    // golomb uses step and eg_order but not dct_keep (SPEC 8.1).
    expect_error(
        |p| edit_net(p, "out_bits = 4", "out_bits = 4\ncodec = \"golomb\"\nstep = 2\ndct_keep = 4"),
        &[],
        &["layer 0", "`dct_keep`", "\"dct\" or \"auto\""],
    );
    // A codec that does not exist is the error, not the step it would take.
    expect_error(
        |p| edit_net(p, "out_bits = 4", "out_bits = 4\ncodec = \"zstd\"\nstep = 4"),
        &[],
        &["`codec` = \"zstd\""],
    );
    // [input] takes the same codec keys, under the same rules.
    expect_error(|p| edit_net(p, "bits = 8", "bits = 8\nstep = 4"), &[], &["[input]", "`step`"]);
    expect_error(
        |p| edit_net(p, "bits = 8", "bits = 8\ncodec = \"sparse\"\ndct_keep = 4"),
        &[],
        &["[input]", "`dct_keep`"],
    );
}

#[test]
fn golomb_layer_runs() {
    let d = setup();
    edit_net(d.path(), "out_bits = 4", "out_bits = 4\ncodec = \"golomb\"\nstep = 2\neg_order = 1");
    let (code, out, err) = golden(d.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("codec=golomb"), "{out}");
}

#[test]
fn a_single_bracket_layer_table_is_explained() {
    expect_error(
        |p| {
            std::fs::write(p.join("net.toml"), "[input]\nshape = [3, 8, 8]\nbits = 8\n[layer]\nkind = \"fc\"\n")
                .unwrap()
        },
        &[],
        &["net.toml", "line 4", "[[layer]]"],
    );
}

#[test]
fn an_output_path_that_is_a_file_fails_first_in_one_line() {
    expect_error(|p| std::fs::write(p.join("out"), b"not a directory").unwrap(), &[], &["out", "not a directory"]);
}

#[test]
fn binary_inputs_have_no_scale() {
    let binary = |p: &Path| {
        edit_net(p, "bits = 8", "bits = 1\nscale = 0.5");
        let x = Tensor3::from_vec(3, 8, 8, vec![1; 192]);
        std::fs::write(p.join("x.npy"), npyio::activations_to_npy(&x, Elem::I8)).unwrap();
    };
    expect_error(binary, &[], &["[input]", "`scale`", "binary"]);
}

/// The setup's conv layer as an slbf layer (3 channels = 1 slice of 3, a bank of 2 filters) or a
/// penni layer (2 basis kernels), with the given bank/index or basis/coef files written.
fn grouped_layer(p: &Path, slbf: bool, files: &[(&str, Vec<u8>)]) {
    let text = std::fs::read_to_string(p.join("net.toml")).unwrap();
    let layer = if slbf {
        "kind = \"slbf\"\nout_channels = 4\nkernel = 3\npadding = 1\nbank = \"bank.npy\"\nindex = \"index.npy\""
    } else {
        "kind = \"penni\"\nout_channels = 4\nkernel = 3\npadding = 1\nbasis = \"basis.npy\"\ncoef = \"coef.npy\""
    };
    let conv = "kind = \"conv\"\nout_channels = 4\nkernel = 3\npadding = 1\nweights = \"w1.npy\"";
    assert!(text.contains(conv));
    std::fs::write(p.join("net.toml"), text.replace(conv, layer)).unwrap();
    for (name, bytes) in files {
        std::fs::write(p.join(name), bytes).unwrap();
    }
}

/// A network whose conv layer is an slbf layer of the given bank shape and index, which must fail
/// naming every needle.
fn slbf_error(bank_shape: [usize; 4], index_shape: [usize; 2], index: &[i64], needles: &[&str]) {
    expect_error(
        |p| {
            let bank = npyio::f32_to_npy(&bank_shape, &vec![0.5; bank_shape.iter().product()]);
            let index = npyio::i64_to_npy(&index_shape, index);
            grouped_layer(p, true, &[("bank.npy", bank), ("index.npy", index)]);
        },
        &[],
        needles,
    );
}

/// The same for a penni layer of the given basis and coefficient shapes.
fn penni_error(basis_shape: [usize; 3], coef_shape: [usize; 3], needles: &[&str]) {
    expect_error(
        |p| {
            let basis = npyio::f32_to_npy(&basis_shape, &vec![0.5; basis_shape.iter().product()]);
            let coef = npyio::f32_to_npy(&coef_shape, &vec![0.5; coef_shape.iter().product()]);
            grouped_layer(p, false, &[("basis.npy", basis), ("coef.npy", coef)]);
        },
        &[],
        needles,
    );
}

#[test]
fn slbf_index_out_of_the_bank() {
    slbf_error([2, 3, 3, 3], [4, 1], &[0, 1, 2, 1], &["index.npy", "`index`", "value 2 out of range", "expected 0..2"]);
}

#[test]
fn slbf_slices_that_do_not_cover_the_input() {
    // Bank filters of 2 channels and 1 slice: 2 of the 3 input channels.
    slbf_error([2, 2, 3, 3], [4, 1], &[0, 1, 1, 0], &["`bank`", "d = 2", "m = 1", "expected m * d = 3"]);
}

#[test]
fn slbf_index_of_the_wrong_shape() {
    slbf_error([2, 3, 3, 3], [3, 1], &[0, 1, 1], &["index.npy", "`index`", "expected shape [4, m]", "[3, 1]"]);
}

#[test]
fn penni_coefficients_of_the_wrong_shape() {
    penni_error([2, 3, 3], [4, 3, 3], &["coef.npy", "`coef`", "expected shape [4, 3, 2]", "[4, 3, 3]"]);
}

#[test]
fn penni_basis_of_the_wrong_kernel() {
    penni_error([2, 5, 5], [4, 3, 2], &["basis.npy", "`basis`", "expected shape [_, 3, 3]", "[2, 5, 5]"]);
}

/// A batch of two images of the setup's input `[3, 8, 8]` as `x2.npy`, with image 1 holding `v`
/// at one value.
fn batch_of_two(p: &Path, v: i32) {
    let a = Tensor3::from_vec(3, 8, 8, (0..192).map(|i| i % 16).collect());
    let mut b = a.clone();
    b.data[100] = v;
    std::fs::write(p.join("x2.npy"), npyio::images_to_npy(&[&a, &b], true, Elem::U8)).unwrap();
}

#[test]
fn bad_batches() {
    let input = |extra: &'static [&'static str]| -> Vec<&'static str> { [&["--input", "x2.npy"], extra].concat() };
    // A batch whose images have another shape, an array of five dimensions, no images at all.
    let shaped = |shape: &'static [usize]| {
        move |p: &Path| {
            let n = shape.iter().product();
            std::fs::write(p.join("x2.npy"), npyio::to_npy(shape, (0..n).map(|_| 1u8))).unwrap()
        }
    };
    let want = "expected shape [3, 8, 8] (one image) or [N, 3, 8, 8] (a batch of N)";
    expect_error(shaped(&[2, 3, 8, 4]), &input(&[]), &["x2.npy", want, "[2, 3, 8, 4]"]);
    expect_error(shaped(&[1, 2, 3, 8, 8]), &input(&[]), &["x2.npy", want]);
    expect_error(shaped(&[0, 3, 8, 8]), &input(&[]), &["x2.npy", "at least one image"]);
    // An out-of-range value in image 1 (4-bit input).
    let four_bits = |p: &Path| {
        edit_net(p, "bits = 8", "bits = 4");
        batch_of_two(p, 20);
    };
    expect_error(four_bits, &input(&[]), &["x2.npy", "image 1", "value 20", "0..=15"]);
}

#[test]
fn bad_labels() {
    let with = |labels: Vec<u8>| {
        move |p: &Path| {
            batch_of_two(p, 1);
            std::fs::write(p.join("y.npy"), labels.clone()).unwrap();
        }
    };
    let args = ["--input", "x2.npy", "--labels", "y.npy"];
    let float = npyio::f32_to_npy(&[2], &[0.0, 1.0]);
    expect_error(with(float), &args, &["y.npy", "labels", "expected integer values, found float32"]);
    let flat = npyio::i64_to_npy(&[2, 1], &[0, 1]);
    expect_error(with(flat), &args, &["y.npy", "labels", "expected shape [2] (one class per image), found [2, 1]"]);
    expect_error(with(npyio::i64_to_npy(&[3], &[0, 1, 2])), &args, &["y.npy", "3 labels for 2 images"]);
    let negative = npyio::i64_to_npy(&[2], &[0, -1]);
    expect_error(with(negative), &args, &["y.npy", "label -1 of image 1 out of range", "expected 0..5"]);
    // The fc layer has 5 outputs: classes 0..5.
    let large = npyio::to_npy(&[2], [5u16, 0].into_iter());
    expect_error(with(large), &args, &["y.npy", "label 5 of image 0 out of range", "expected 0..5"]);
    expect_error(with(b"garbage".to_vec()), &args, &["y.npy", "labels", "not a valid .npy"]);
    expect_error(|p| batch_of_two(p, 1), &args, &["y.npy", "cannot read"]);
    // One image takes one label.
    expect_error(
        with(npyio::i64_to_npy(&[2], &[0, 1])),
        &["--labels", "y.npy"],
        &["y.npy", "2 labels for 1 image: expected one per image"],
    );
}

#[test]
fn labels_need_an_input_file() {
    let d = setup();
    let o = Command::new(GOLDEN).current_dir(d.path()).args(["--labels", "y.npy"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--input"), "{err}");
    assert!(!d.path().join("out").exists());
}
