//! The trained networks of testdata/mnist, imported from QONNX by `cbnn::import`, on the
//! generated default core's Verilog: every image's core layers run on the RTL (Verilator, with
//! the DRAM model) and on the cycle simulator, maxpool layers on the host with the golden
//! model's arithmetic (as `simulate` runs them). Every layer's output must equal the golden
//! model's, every core layer's cycles the simulator's, and the predicted class (the first
//! maximum of the real values of the last layer's output as the RTL wrote it) golden's and the qonnx
//! package's (`*.qonnx-pred.npy`).

mod common;

use cbnn::config::AccelConfig;
use cbnn::import::lower::Logits;
use cbnn::import::{import, Imported, Options};
use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use cbnn_hdl::cosim::verilog_tools::Simulator;
use cbnn_sim::Traffic;
use common::NetCase;
use std::path::{Path, PathBuf};

/// A trained model of testdata/mnist and the images its qonnx predictions were made on.
struct Model {
    name: &'static str,
    images: &'static str,
}

/// The models run, each on its first `IMAGES` images.
const MODELS: &[Model] = &[
    Model { name: "TFC_1W1A", images: "t10k-images.npy" },
    Model { name: "cnv_1w2a", images: "heldout-images.npy" },
    // Relu outputs of three levels (`out_max = 2`) and a last layer whose input has a zero point.
    Model { name: "TFC_1W2A", images: "t10k-images.npy" },
];
const IMAGES: usize = 5;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/mnist").join(name)
}

/// The first `n` uint8 images `[1, 28, 28]` of an `[N, 1, 28, 28]` file.
fn images(name: &str, n: usize) -> Vec<Tensor3<i32>> {
    let a = npyio::parse_int(&std::fs::read(data(name)).unwrap(), Elem::U8).unwrap();
    assert_eq!(&a.shape[1..], [1, 28, 28], "{name}");
    a.data.chunks(784).take(n).map(|c| Tensor3::from_vec(1, 28, 28, c.iter().map(|&v| v as i32).collect())).collect()
}

/// The first maximum (numpy's argmax).
fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// The accelerator: the default core, the one `gen-verilog` emits without arguments (2 x 8 x 32
/// array, the codec on both activation paths, the combine stage, 8 bytes per cycle of DRAM at a
/// latency of 64), run through the DRAM model. Its limits take both networks as they are: widths
/// up to 32, fc layers up to 4096 inputs, activations up to 8 bits (the conv network's input).
///
/// Verilator, not Icarus: Icarus runs this core at about 400 cycles/s (9 s for one TFC image of
/// 3.7k cycles), so one image of the conv network (145k cycles) would take about 6 minutes, and
/// even a core without the codec and the combine stage (2 x 16 x 32: 77k cycles) took 230 s.
/// Verilator builds the testbench of all ten images in 20-60 s (the register and parameter writes
/// come from a table, `cbnn_hdl::cosim`) and runs them in about 2 s.
fn config() -> AccelConfig {
    let c = AccelConfig::default();
    assert!(c.codec.enabled && c.combine.enabled);
    assert!(c.limits.max_width >= 28 && c.limits.max_fc_inputs >= 784 && c.datapath.act_bits == 8);
    c
}

/// The model imported for `cfg`, checked by the importer on the images the test runs.
fn import_model(m: &Model, cfg: &AccelConfig, x: &[Tensor3<i32>]) -> Imported {
    let opts = Options { divisor: 255.0, images: Some((x.to_vec(), m.images.into())), labels: None, synthetic: 0 };
    import(&data(&format!("{}.onnx", m.name)), cfg, &opts).unwrap()
}

#[test]
fn imported_networks_on_the_rtl_equal_golden_qonnx_and_the_simulator() {
    let t0 = std::time::Instant::now();
    let cfg = config();
    let models: Vec<(&Model, Vec<Tensor3<i32>>)> = MODELS.iter().map(|m| (m, images(m.images, IMAGES))).collect();
    let imported: Vec<Imported> = models.iter().map(|(m, x)| import_model(m, &cfg, x)).collect();
    let mut cases = Vec::new();
    for ((m, x), imp) in models.iter().zip(&imported) {
        for (k, img) in x.iter().enumerate() {
            let what = format!("{} image {k}", m.name);
            cases.push(NetCase { what, net: &imp.qnet, input: imp.network.input.activations(img) });
        }
    }
    let Some(runs) = common::compare_on(Simulator::Verilator, &cfg, &cases, Traffic::Dram, "imported networks") else {
        return;
    };
    let mut runs = runs.iter();
    for ((m, _), imp) in models.iter().zip(&imported) {
        let reference =
            npyio::parse_int(&std::fs::read(data(&format!("{}.qonnx-pred.npy", m.name))).unwrap(), Elem::AnyInt)
                .unwrap()
                .data;
        let Logits::Dots(eval) = &imp.lowered.logits else {
            panic!("{}: the network does not end with dot products", m.name)
        };
        for k in 0..IMAGES {
            let layers = runs.next().unwrap();
            let last = layers.last().unwrap().as_ref().expect("the last layer runs on the core");
            let dots = &last.output.data;
            let logits: Vec<f32> = dots.iter().enumerate().map(|(o, &d)| eval.real32(o, d as i64)).collect();
            // The class as every program takes it from the RTL's output (the argmax of the last
            // layer's real values: with an input zero point, not of the raw dots).
            let last_layer = imp.qnet.layers.last().unwrap();
            let (predicted, reference) = (cbnn::classify::predict(last_layer, &last.output), reference[k] as usize);
            let cycles: Vec<u64> = layers.iter().flatten().map(|r| r.cycles).collect();
            println!(
                "{} image {k}: RTL {} cycles ({cycles:?} on the core layers); predicts {predicted}, golden {}, qonnx {reference}",
                m.name,
                cycles.iter().sum::<u64>(),
                imp.check.golden_predictions[k]
            );
            assert_eq!(predicted, imp.check.golden_predictions[k], "{} image {k}: RTL against golden", m.name);
            assert_eq!(predicted, reference, "{} image {k}: RTL against qonnx", m.name);
            // The model's logits (TensorNorm after the last MatMul) rank the classes alike.
            assert_eq!(argmax(&logits), predicted, "{} image {k}: logits {logits:?}", m.name);
        }
    }
    println!("imported networks: {:.1} s in all", t0.elapsed().as_secs_f64());
}
