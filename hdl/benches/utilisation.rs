//! PE utilisation of the generated core, measured on its emitted Verilog under Icarus Verilog
//! (docs/ARCHITECTURE.md, section 2): conv layers whose reduction `C_in * K * K` fills the lanes
//! (`C_in` a multiple of `R * L`) and whose filters fill the columns (`C_out` a multiple of `C`).
//!
//! utilisation = binary MACs x planes / (R * C * L * cycles), against the cycles of the compute
//! phase (steady state: the controller computing output rows) and of the whole layer (with the
//! activation and weight loads).
//!
//! Run: `cargo bench -p cbnn-hdl --bench utilisation`

use cbnn::config::AccelConfig;
use cbnn::golden;
use cbnn::hw::LayerDescriptor;
use cbnn::network::{Geometry, Network};
use cbnn::quant::compile;
use cbnn::tensor::Tensor3;
use cbnn_hdl::cosim::{run_layers, LayerCase, Traffic};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct Case {
    rows: u32,
    cols: u32,
    lanes: u32,
    c_in: usize,
    c_out: usize,
    hw: usize,
    k: usize,
    bits: u32,
}

fn main() {
    let cases = [
        Case { rows: 4, cols: 4, lanes: 32, c_in: 128, c_out: 16, hw: 16, k: 3, bits: 1 },
        Case { rows: 4, cols: 4, lanes: 32, c_in: 128, c_out: 16, hw: 16, k: 3, bits: 2 },
        Case { rows: 4, cols: 4, lanes: 32, c_in: 256, c_out: 8, hw: 8, k: 3, bits: 1 },
        Case { rows: 2, cols: 8, lanes: 64, c_in: 128, c_out: 16, hw: 16, k: 3, bits: 1 },
    ];
    println!("| array R x C x L | layer (C_in -> C_out, HxW, K, bits) | MACs | compute cycles | steady-state utilisation | layer cycles | whole-layer utilisation |");
    println!("|---|---|---|---|---|---|---|");
    for c in &cases {
        let mut cfg = AccelConfig::default();
        cfg.array.rows = c.rows;
        cfg.array.cols = c.cols;
        cfg.array.lanes = c.lanes;
        cfg.codec.enabled = false;
        let mut rng = StdRng::seed_from_u64(1);
        let g = Geometry { kernel: c.k, stride: 1, padding: c.k / 2 };
        let w = (0..c.c_out * c.c_in * c.k * c.k).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let net = Network::single_conv(c.c_in, c.hw, c.hw, c.c_out, g, c.bits, w);
        let q = compile(&net, &cfg, None).expect("benchmark layer compiles");
        let d = LayerDescriptor::new(&q.layers[0], &cfg).expect("benchmark layer fits the core");
        let data = (0..c.c_in * c.hw * c.hw)
            .map(|_| if c.bits == 1 { [1, -1][rng.gen_range(0..2)] } else { rng.gen_range(0..1 << c.bits) })
            .collect();
        let input = Tensor3::from_vec(c.c_in, c.hw, c.hw, data);
        let case = LayerCase::new(&q.layers[0], &input);
        let Some(runs) = run_layers(&cfg, &[case], Traffic::Free).expect("co-simulation runs") else {
            eprintln!(
                "utilisation: Icarus Verilog (iverilog) is needed; install it (Debian: apt-get install iverilog)"
            );
            std::process::exit(1);
        };
        let run = &runs[0];
        assert_eq!(run.output.data, golden::layer_output(&q.layers[0], &input).data, "RTL output equals golden");
        let macs = (c.c_out * d.h_out as usize * d.w_out as usize * c.c_in * c.k * c.k) as f64;
        let lane_cycles = macs * d.planes as f64 / (c.rows * c.cols * c.lanes) as f64;
        println!(
            "| {} x {} x {} | {} -> {}, {}x{}, {}x{}, {} | {:.0} | {} | {:.1}% | {} | {:.1}% |",
            c.rows,
            c.cols,
            c.lanes,
            c.c_in,
            c.c_out,
            c.hw,
            c.hw,
            c.k,
            c.k,
            if c.bits == 1 { "XNOR".to_string() } else { format!("BWN k={}", c.bits) },
            macs,
            run.compute_cycles,
            100.0 * lane_cycles / run.compute_cycles as f64,
            run.cycles,
            100.0 * lane_cycles / run.cycles as f64
        );
    }
}
