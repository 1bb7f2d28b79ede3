//! The sweep file's parsing and checks, on the embedded example network and default config.

use super::*;

fn parse(text: &str) -> Result<Sweep> {
    Sweep::parse(text, "t.toml", None)
}

/// The error of a sweep file, from parsing it or checking its points.
fn err(text: &str) -> String {
    match parse(text).and_then(|s| s.check_points(&indicatif::ProgressBar::hidden())) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => cbnn::errors::one_line(&e),
    }
}

#[test]
fn the_product_varies_the_last_axis_fastest() {
    let s =
        parse("[axes]\n\"array.rows\" = [1, 2]\n\"dram.bytes_per_cycle\" = { from = 2, to = 8, times = 2 }\n").unwrap();
    assert_eq!(s.points.len(), 6);
    let v = |p: usize, a: usize| s.points[p].values[a].clone().unwrap().as_integer().unwrap();
    assert_eq!((v(0, 0), v(0, 1)), (1, 2));
    assert_eq!((v(1, 0), v(1, 1)), (1, 4));
    assert_eq!((v(3, 0), v(3, 1)), (2, 2));
    assert_eq!((v(5, 0), v(5, 1)), (2, 8));
}

#[test]
fn ranges_by_step_and_by_factor() {
    let s = parse("[axes]\n\"array.cols\" = { from = 8, to = 30, step = 8 }\n").unwrap();
    let vals: Vec<i64> = s.axes[0].values.iter().map(|v| v.as_integer().unwrap()).collect();
    assert_eq!(vals, [8, 16, 24]);
    let s = parse("[axes]\n\"dram.latency_cycles\" = { from = 3, to = 100, times = 3 }\n").unwrap();
    let vals: Vec<i64> = s.axes[0].values.iter().map(|v| v.as_integer().unwrap()).collect();
    assert_eq!(vals, [3, 9, 27, 81]);
}

#[test]
fn bad_axes_are_rejected_naming_the_axis() {
    let e = err("[axes]\n\"array.colz\" = [8]\n");
    assert!(e.contains("axis `array.colz`") && e.contains("unknown key"), "{e}");
    let e = err("[axes]\n\"array.rows\" = []\n");
    assert!(e.contains("axis `array.rows` is empty"), "{e}");
    let e = err("[axes]\n\"array.rows\" = [1, 0]\n");
    assert!(e.contains("axis `array.rows` = 0") && e.contains("1..=64"), "{e}");
    let e = err("[axes]\n\"array.lanes\" = [24]\n");
    assert!(e.contains("axis `array.lanes` = 24") && e.contains("power of two"), "{e}");
    let e = err("[axes]\n\"array.rows\" = { from = 4, to = 1, step = 1 }\n");
    assert!(e.contains("axis `array.rows`") && e.contains("empty"), "{e}");
    let e = err("[axes]\n\"layers.conv9.codec\" = [\"raw\"]\n");
    assert!(e.contains("no layer `conv9`") && e.contains("conv1"), "{e}");
    let e = err("[axes]\n\"layers.conv1.codec\" = [\"zip\"]\n");
    assert!(e.contains("axis `layers.conv1.codec` = \"zip\"") && e.contains("expected one of"), "{e}");
    let e = err("[axes]\n\"layers.kernel\" = [1]\n");
    assert!(e.contains("unknown layer key `kernel`"), "{e}");
    // A value that suits some points but not others names the first point it fails in.
    let e = err("[axes]\n\"array.cols\" = [16]\n\"array.lanes\" = [8, 32]\n\"codec.block\" = [8, 16]\n");
    assert!(e.contains("point 1 (array.cols = 16, array.lanes = 8, codec.block = 16) is invalid (1 of"), "{e}");
    let s = parse(
        "skip_invalid = true\n[axes]\n\"array.cols\" = [16]\n\"array.lanes\" = [8, 32]\n\"codec.block\" = [8, 16]\n",
    )
    .unwrap();
    assert_eq!(s.check_points(&indicatif::ProgressBar::hidden()).unwrap().iter().map(|p| p.0).collect::<Vec<_>>(), [1]);
    let e = err("[axes]\n\"array.rows\" = [1, 1]\n");
    assert!(e.contains("given twice"), "{e}");
    let e = err("colour = \"array.rows\"\n[axes]\n\"array.rows\" = [1]\n");
    assert!(e.contains("colour"), "{e}");
    let e = err("color = \"array.cols\"\n[axes]\n\"array.rows\" = [1]\n");
    assert!(e.contains("key `color`"), "{e}");
}

#[test]
fn a_layer_key_on_all_layers_sets_only_the_layers_it_affects() {
    // The example network: conv1 (relu, dct), pool1 (sparse), slbf2 (sign: binary, stored raw),
    // conv3, penni4 (relu, auto), pool5 (golomb), fc6 (accumulator).
    let s = parse("[axes]\n\"layers.codec\" = [\"golomb\"]\n\"layers.step\" = [8]\n").unwrap();
    let (_, net) = super::super::point::resolve(&s, &s.points[0]).unwrap();
    let modes: Vec<(String, String, u32)> =
        net.layers.iter().map(|l| (l.name.clone(), format!("{:?}", l.codec.mode), l.codec.step)).collect();
    let got = |n: &str| modes.iter().find(|m| m.0 == n).unwrap().clone();
    for n in ["conv1", "pool1", "conv3", "penni4", "pool5"] {
        assert_eq!((got(n).1.as_str(), got(n).2), ("Golomb", 8), "{n}");
    }
    assert_eq!(got("slbf2").1, "Raw");
    assert_eq!(got("fc6").1, "Raw");
    // Setting a layer to raw drops its step (it has no effect there, and would be an error).
    let s = parse("[axes]\n\"layers.conv1.codec\" = [\"raw\"]\n").unwrap();
    let (_, net) = super::super::point::resolve(&s, &s.points[0]).unwrap();
    assert_eq!(format!("{:?}", net.layers[0].codec.mode), "Raw");
}

#[test]
fn listed_points_set_their_own_keys() {
    let s = parse("[[points]]\n\"array.rows\" = 1\n[[points]]\n\"array.rows\" = 4\n\"array.cols\" = 16\n").unwrap();
    assert_eq!(s.points.len(), 2);
    assert_eq!(s.axes.len(), 2);
    assert_eq!(s.points[0].values[1], None);
    let (cfg, _) = super::super::point::resolve(&s, &s.points[0]).unwrap();
    assert_eq!((cfg.array.rows, cfg.array.cols), (1, default_cols()));
    let (cfg, _) = super::super::point::resolve(&s, &s.points[1]).unwrap();
    assert_eq!((cfg.array.rows, cfg.array.cols), (4, 16));
}

fn default_cols() -> u32 {
    cbnn::config::AccelConfig::default().array.cols
}

#[test]
fn the_embedded_example_parses() {
    let s = Sweep::example().unwrap();
    assert_eq!(s.points.len(), 24);
    assert_eq!(s.color, Some(0));
}

#[test]
fn huge_or_overflowing_ranges_are_refused_or_cut_at_once() {
    // Counted before any value is made: no minutes of duplicate checks.
    let e = err("[axes]\n\"dram.latency_cycles\" = { from = 0, to = 5000000, step = 1 }\n");
    assert!(e.contains("axis `dram.latency_cycles`") && e.contains("more than 100000 values"), "{e}");
    // A step that would wrap around past i64::MAX: one value.
    let s =
        parse("[axes]\n\"dram.latency_cycles\" = { from = 1, to = 9223372036854775807, step = 9223372036854775807 }\n")
            .unwrap();
    assert_eq!(s.axes[0].values, [toml::Value::Integer(1)]);
    // A factor up to i64::MAX: 1, 2, 4, ... 2^62, and no overflow into a repeated value.
    let s = parse("[axes]\n\"dram.latency_cycles\" = { from = 1, to = 9223372036854775807, times = 2 }\n").unwrap();
    assert_eq!(s.axes[0].values.len(), 63);
    assert_eq!(s.axes[0].values[62], toml::Value::Integer(1 << 62));
    // The same number written twice.
    let e = err("[axes]\n\"clock.mhz\" = [100, 100.0]\n");
    assert!(e.contains("given twice"), "{e}");
    // A product beyond the cap.
    let e = err("[axes]\n\"dram.latency_cycles\" = { from = 1, to = 1000, step = 1 }\n\"clock.mhz\" = { from = 1, to = 1000, step = 1 }\n");
    assert!(e.contains("more than 100000 points"), "{e}");
}

#[test]
fn every_sweep_file_of_the_repository_checks_at_every_point() {
    // The MNIST sweeps read networks that `import` writes first (docs/ACCURACY.md); the others
    // run as the README gives them, so every one of their points must be valid. A sweep of a
    // network `zoo` writes (`../out/zoo/NAME`) is checked from a copy beside a fresh zoo output.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sweeps");
    let mut checked = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".toml") || name.starts_with("mnist_") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let mut path = path;
        for shape in cbnn::network::zoo::Shape::ALL {
            if text.contains(&format!("../out/zoo/{}/", shape.name())) {
                let net_dir = scratch.path().join("out/zoo").join(shape.name());
                std::fs::create_dir_all(&net_dir).unwrap();
                shape.write(&net_dir, 7).unwrap();
                std::fs::create_dir_all(scratch.path().join("sweeps")).unwrap();
                path = scratch.path().join("sweeps").join(&name);
                std::fs::write(&path, &text).unwrap();
            }
        }
        let s = Sweep::load(&path).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let invalid = s.check_points(&indicatif::ProgressBar::hidden()).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(invalid.is_empty(), "{name}: {invalid:?}");
        checked += 1;
    }
    assert!(checked >= 3, "sweeps/array_shape.toml, codec_and_groups.toml and cnv_array.toml at least");
}
