//! Popcount of `L` bits as a balanced adder tree (combinational).
//!
//! rust-hdl's kernel language has no local variables or helper functions, so a balanced tree cannot
//! be written in `#[hdl_gen]`; a loop would give a chain of `L` adders. The Verilog is therefore
//! generated here, level by level, with explicit zero-extension so every addition is width-clean
//! under `verilator -Wall`; `update()` is the same function for rust-hdl's simulator.

use rust_hdl::prelude::*;

/// `count = popcount(x)`, zero-extended to `W >= log2(L) + 1` bits (so that users need no cast:
/// rust-hdl's `bit_cast` emits a mask whose width Verilator flags).
#[derive(LogicBlock)]
pub struct PopCount<const L: usize, const W: usize> {
    pub x: Signal<In, Bits<L>>,
    pub count: Signal<Out, Bits<W>>,
}

impl<const L: usize, const W: usize> Default for PopCount<L, W> {
    fn default() -> Self {
        assert!(L.is_power_of_two() && L >= 2, "PopCount needs a power-of-two width, got {L}");
        assert!(W > L.trailing_zeros() as usize, "PopCount<{L}> needs at least log2(L) + 1 output bits");
        PopCount { x: Default::default(), count: Default::default() }
    }
}

/// The Verilog body of an `l`-input popcount tree (ports `x`, `count` of `w` bits).
pub fn tree_verilog(l: usize, w: usize) -> String {
    let levels = l.trailing_zeros() as usize;
    let mut v = String::new();
    // Level j holds l >> j partial sums of j + 1 bits.
    for j in 1..=levels {
        let w = j + 1;
        for i in 0..(l >> j) {
            let (a, b) = if j == 1 {
                (format!("x[{}]", 2 * i), format!("x[{}]", 2 * i + 1))
            } else {
                (format!("s{}_{}", j - 1, 2 * i), format!("s{}_{}", j - 1, 2 * i + 1))
            };
            v += &format!("wire [{}:0] s{j}_{i} = {{1'b0, {a}}} + {{1'b0, {b}}};\n", w - 1);
        }
    }
    let pad = w - (levels + 1);
    if pad == 0 {
        v += &format!("always @(*) count = s{levels}_0;\n");
    } else {
        v += &format!("always @(*) count = {{{{{pad}{{1'b0}}}}, s{levels}_0}};\n");
    }
    v
}

impl<const L: usize, const W: usize> Logic for PopCount<L, W> {
    fn update(&mut self) {
        let mut n = 0u64;
        for i in 0..L {
            n += self.x.val().get_bit(i) as u64;
        }
        self.count.next = (n as LiteralType).into();
    }
    fn connect(&mut self) {
        self.count.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(tree_verilog(L, W))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosim::verilog_tools;

    fn emit<const L: usize, const PW: usize>() -> String {
        let mut uut = PopCount::<L, PW>::default();
        uut.connect_all();
        generate_verilog(&uut)
    }

    /// The emitted Verilog, run in Icarus on random and corner inputs, counts like Rust.
    fn check<const L: usize, const PW: usize>() {
        if !verilog_tools::have_icarus("popcount") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let design = dir.path().join("design.v");
        std::fs::write(&design, emit::<L, PW>()).unwrap();
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut inputs: Vec<u128> = vec![0, u128::MAX >> (128 - L), 1, 1 << (L - 1)];
        for _ in 0..60 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let wide = ((seed as u128) << 64) | seed.rotate_left(17) as u128;
            inputs.push(wide & (u128::MAX >> (128 - L)));
        }
        let mut tb = format!(
            "module tb;\nreg [{}:0] x; wire [{}:0] count;\ntop dut(.x(x), .count(count));\ninitial begin\n",
            L - 1,
            PW - 1
        );
        for v in &inputs {
            tb += &format!("x = {L}'h{v:x}; #1 $display(\"%0d\", count);\n");
        }
        tb += "$finish;\nend\nendmodule\n";
        let tb_path = dir.path().join("tb.v");
        std::fs::write(&tb_path, tb).unwrap();
        let out = verilog_tools::icarus_run(dir.path(), &[&tb_path, &design], "tb").unwrap();
        let got: Vec<u32> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
        let want: Vec<u32> = inputs.iter().map(|v| v.count_ones()).collect();
        assert_eq!(got, want, "popcount<{L}>");
    }

    #[test]
    fn verilog_counts_like_rust_for_8_32_64_lanes() {
        check::<8, 4>();
        check::<8, 10>();
        check::<32, 6>();
        check::<64, 7>();
    }

    #[test]
    fn verilog_is_lint_clean() {
        if !verilog_tools::have_verilator("popcount lint") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let files = verilog_tools::write_split(dir.path(), &emit::<32, 6>()).unwrap();
        verilog_tools::verilator_lint(&files, "top").unwrap();
        let files = verilog_tools::write_split(dir.path(), &emit::<8, 12>()).unwrap();
        verilog_tools::verilator_lint(&files, "top").unwrap();
    }
}
