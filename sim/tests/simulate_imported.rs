//! `simulate` as a user runs it on trained networks: TFC_1W1A and TFC_1W2A imported from QONNX
//! (testdata/mnist) on the first 1,000 MNIST test images. simulate checks every image's every
//! layer against the golden model (a difference exits 1), reports cycles and inferences/s, and
//! its predictions must be the qonnx package's.

use cbnn::config::AccelConfig;
use cbnn::import::{import, Options};
use cbnn::npyio::{self, Elem};
use std::path::{Path, PathBuf};
use std::process::Command;

const IMAGES: usize = 1000;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/mnist").join(name)
}

fn ints(path: &Path) -> Vec<i64> {
    npyio::parse_int(&std::fs::read(path).unwrap(), Elem::AnyInt).unwrap().data
}

#[test]
fn imported_tfc_networks_simulate_bit_exact_on_1000_test_images() {
    let d = tempfile::tempdir().unwrap();
    let all = npyio::parse_int(&std::fs::read(data("t10k-images.npy")).unwrap(), Elem::U8).unwrap();
    let first: Vec<u8> = all.data[..IMAGES * 784].iter().map(|&v| v as u8).collect();
    std::fs::write(d.path().join("x.npy"), npyio::to_npy(&[IMAGES, 1, 28, 28], first.into_iter())).unwrap();
    let labels = &ints(&data("t10k-labels.npy"))[..IMAGES];
    std::fs::write(d.path().join("y.npy"), npyio::to_npy(&[IMAGES], labels.iter().copied())).unwrap();
    for model in ["TFC_1W1A", "TFC_1W2A"] {
        // The network directory as `import` writes it.
        let opts = Options { divisor: 255.0, images: None, labels: None, synthetic: 4 };
        let imp = import(&data(&format!("{model}.onnx")), &AccelConfig::default(), &opts).unwrap();
        let net = d.path().join(model);
        std::fs::create_dir(&net).unwrap();
        std::fs::write(net.join("net.toml"), &imp.files.toml).unwrap();
        for (rel, bytes) in &imp.files.files {
            std::fs::write(net.join(rel), bytes).unwrap();
        }
        let out = d.path().join(format!("{model}-sim"));
        let o = Command::new(env!("CARGO_BIN_EXE_simulate"))
            .args([
                "--network",
                &format!("{model}/net.toml"),
                "--input",
                "x.npy",
                "--labels",
                "y.npy",
                "--json",
                "--out",
            ])
            .arg(&out)
            .current_dir(d.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{model}: {}", String::from_utf8_lossy(&o.stderr));
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["images"], IMAGES, "{model}");
        assert!(r["batch"]["cycles"].as_f64().unwrap() > 0.0 && r["batch"]["inferences_per_s"].as_f64().unwrap() > 0.0);
        let predicted = ints(&out.join("predictions.npy"));
        let reference = &ints(&data(&format!("{model}.qonnx-pred.npy")))[..IMAGES];
        assert_eq!(predicted, reference, "{model}: predictions differ from qonnx's");
    }
}
