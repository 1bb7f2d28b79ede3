//! The descriptor register file (docs/ARCHITECTURE.md, section 4): one register per entry of
//! `cbnn::hw::regs::REGISTERS`, at its address and of its width, written through the register
//! port (`reg_we`, `reg_addr`, `reg_data`) before a layer starts. Each register's value is an
//! output of the module named after the register.

use rust_hdl::prelude::*;

use crate::generator::netlist::{Dir, NetModule};
use crate::generator::verilog::{emit_block, Module};
use cbnn::hw::regs::{Register, REGISTERS, REG_ADDR_BITS};

const AB: usize = REG_ADDR_BITS as usize;

/// A `W`-bit register loaded when the port writes address `my_addr`.
#[derive(LogicBlock, Default)]
pub struct CfgReg<const W: usize> {
    pub clock: Signal<In, Clock>,
    pub we: Signal<In, Bit>,
    pub addr: Signal<In, Bits<AB>>,
    pub my_addr: Signal<In, Bits<AB>>,
    pub data: Signal<In, Bits<W>>,
    pub q: Signal<Out, Bits<W>>,
    r: DFF<Bits<W>>,
}

impl<const W: usize> Logic for CfgReg<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, r);
        self.q.next = self.r.q.val();
        if self.we.val() & (self.addr.val() == self.my_addr.val()) {
            self.r.d.next = self.data.val();
        }
    }
}

/// A one-bit register (one-bit signals are `Bit`, not `Bits<1>`, in the rest of the design).
#[derive(LogicBlock, Default)]
pub struct CfgBit {
    pub clock: Signal<In, Clock>,
    pub we: Signal<In, Bit>,
    pub addr: Signal<In, Bits<AB>>,
    pub my_addr: Signal<In, Bits<AB>>,
    pub data: Signal<In, Bit>,
    pub q: Signal<Out, Bit>,
    r: DFF<Bit>,
}

impl Logic for CfgBit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, r);
        self.q.next = self.r.q.val();
        if self.we.val() & (self.addr.val() == self.my_addr.val()) {
            self.r.d.next = self.data.val();
        }
    }
}

fn reg_module_name(design: &str, width: u32) -> String {
    format!("{design}_cfg_reg{width}")
}

/// The register file `{design}_regs` and its register blocks.
pub fn regfile_modules(design: &str) -> anyhow::Result<Vec<Module>> {
    let mut m = NetModule::new(&format!("{design}_regs"));
    m.port(Dir::In, "clock", 1);
    m.port(Dir::In, "reg_we", 1);
    m.bus(Dir::In, "reg_addr", AB);
    m.bus(Dir::In, "reg_data", 32);
    let mut widths: Vec<u32> = Vec::new();
    for (i, Register { name, width: w, .. }) in REGISTERS.iter().enumerate() {
        if *w == 1 {
            m.port(Dir::Out, name, 1);
        } else {
            m.bus(Dir::Out, name, *w as usize);
        }
        let data = if *w == 1 { "reg_data[0]".to_string() } else { format!("reg_data[{}:0]", w - 1) };
        m.instance(
            &reg_module_name(design, *w),
            &format!("reg_{name}"),
            &[
                ("clock", "clock".into()),
                ("we", "reg_we".into()),
                ("addr", "reg_addr".into()),
                ("my_addr", format!("{AB}'d{i}")),
                ("data", data),
                ("q", name.to_string()),
            ],
        );
        if !widths.contains(w) {
            widths.push(*w);
        }
    }
    let mut v = vec![m.finish()];
    for w in widths {
        let name = reg_module_name(design, w);
        v.extend(match w {
            1 => emit_block(CfgBit::default(), &name),
            2 => emit_block(CfgReg::<2>::default(), &name),
            3 => emit_block(CfgReg::<3>::default(), &name),
            4 => emit_block(CfgReg::<4>::default(), &name),
            5 => emit_block(CfgReg::<5>::default(), &name),
            8 => emit_block(CfgReg::<8>::default(), &name),
            16 => emit_block(CfgReg::<16>::default(), &name),
            32 => emit_block(CfgReg::<32>::default(), &name),
            _ => anyhow::bail!("no register block of {w} bits (cbnn::hw::regs::REGISTERS)"),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosim::verilog_tools;
    use std::fmt::Write as _;

    /// Every register takes the value written to its address and nothing written elsewhere.
    #[test]
    fn registers_hold_what_their_address_was_written() {
        let modules = regfile_modules("rf").unwrap();
        let mut tb =
            String::from("module tb;\nreg clock = 0, reg_we = 0; reg [5:0] reg_addr = 0; reg [31:0] reg_data = 0;\n");
        let mut conns = vec![
            ".clock(clock)".to_string(),
            ".reg_we(reg_we)".into(),
            ".reg_addr(reg_addr)".into(),
            ".reg_data(reg_data)".into(),
        ];
        for Register { name, width: w, .. } in REGISTERS {
            writeln!(tb, "wire [{}:0] {name};", w - 1).unwrap();
            conns.push(format!(".{name}({name})"));
        }
        writeln!(tb, "rf_regs dut({});\ninitial begin", conns.join(", ")).unwrap();
        // Write a distinct pattern to every address, with writes to unused addresses between.
        for (i, _) in REGISTERS.iter().enumerate() {
            let v = 0x9e37_79b9u32.wrapping_mul(i as u32 + 1);
            writeln!(tb, "reg_we = 1; reg_addr = {i}; reg_data = 32'h{v:x}; #1 clock = 1; #1 clock = 0;").unwrap();
            writeln!(tb, "reg_addr = 63; reg_data = 0; #1 clock = 1; #1 clock = 0;").unwrap();
        }
        writeln!(tb, "reg_we = 0; reg_addr = 0; reg_data = 32'hffffffff; #1 clock = 1; #1 clock = 0;").unwrap();
        for Register { name, .. } in REGISTERS {
            writeln!(tb, "$display(\"R {name} %0d\", {name});").unwrap();
        }
        writeln!(tb, "$finish;\nend\nendmodule").unwrap();
        if !verilog_tools::have_icarus("register file") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = verilog_tools::icarus_run_with(dir.path(), &tb, &modules).unwrap();
        let mut seen = 0;
        for line in out.lines().filter(|l| l.starts_with("R ")) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let i = cbnn::hw::regs::address(f[1]) as usize;
            let w = REGISTERS[i].width;
            let v = 0x9e37_79b9u32.wrapping_mul(i as u32 + 1);
            let want = if w == 32 { v } else { v & ((1 << w) - 1) };
            assert_eq!(f[2].parse::<u32>().unwrap(), want, "{line}");
            seen += 1;
        }
        assert_eq!(seen, REGISTERS.len());
        verilog_tools::check_lint_and_synth("register file", &modules, "rf_regs");
    }
}
