//! A structural Verilog writer for the levels of the design whose shape comes from the config at
//! run time (R x C PEs, skew chains): rust-hdl fixes port widths and counts in Rust types, so it can
//! describe a PE for any width but not an array whose size is read from a TOML file. The modules
//! written here hold only wires, instances of rust-hdl blocks and `assign`s: no logic.

use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    In,
    Out,
}

/// Marks a port width as a vector declaration (added to the width, see `bus`).
const BUS: usize = 1 << 30;

/// A structural module under construction.
pub struct NetModule {
    name: String,
    ports: Vec<(Dir, String, usize)>,
    body: String,
}

fn range(width: usize) -> String {
    if width == 1 {
        String::new()
    } else {
        format!("[{}:0] ", width - 1)
    }
}

impl NetModule {
    pub fn new(name: &str) -> Self {
        NetModule { name: name.to_string(), ports: Vec::new(), body: String::new() }
    }

    /// A scalar port when `width` is 1.
    pub fn port(&mut self, dir: Dir, name: &str, width: usize) {
        self.ports.push((dir, name.to_string(), width));
    }

    /// A vector port `[width-1:0]` even when `width` is 1, so that `slice` works on it.
    pub fn bus(&mut self, dir: Dir, name: &str, width: usize) {
        self.ports.push((dir, name.to_string(), width + BUS));
    }

    pub fn wire(&mut self, name: &str, width: usize) {
        writeln!(self.body, "    wire {}{name};", range(width)).unwrap();
    }

    pub fn assign(&mut self, lhs: &str, rhs: &str) {
        writeln!(self.body, "    assign {lhs} = {rhs};").unwrap();
    }

    /// An instance of `module` with named port connections.
    pub fn instance(&mut self, module: &str, inst: &str, conns: &[(&str, String)]) {
        let c: Vec<String> = conns.iter().map(|(p, e)| format!("        .{p}({e})")).collect();
        writeln!(self.body, "    {module} {inst}(\n{}\n    );", c.join(",\n")).unwrap();
    }

    pub fn finish(self) -> crate::generator::verilog::Module {
        let names: Vec<&str> = self.ports.iter().map(|(_, n, _)| n.as_str()).collect();
        let mut text = format!("module {}({});\n", self.name, names.join(", "));
        for (dir, n, w) in &self.ports {
            let d = if *dir == Dir::In { "input" } else { "output" };
            let r = if *w >= BUS { format!("[{}:0] ", *w - BUS - 1) } else { range(*w) };
            writeln!(text, "    {d} wire {r}{n};").unwrap();
        }
        text += &self.body;
        writeln!(text, "endmodule // {}", self.name).unwrap();
        crate::generator::verilog::Module { name: self.name, text }
    }
}

/// Bits `[i*w + w - 1 : i*w]` of a packed bus.
pub fn slice(bus: &str, i: usize, w: usize) -> String {
    if w == 1 {
        format!("{bus}[{i}]")
    } else {
        format!("{bus}[{}:{}]", i * w + w - 1, i * w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_ports_wires_assigns_and_instances() {
        let mut m = NetModule::new("m");
        m.port(Dir::In, "a", 4);
        m.port(Dir::Out, "y", 1);
        m.wire("t", 2);
        m.assign("y", &slice("a", 3, 1));
        m.instance("sub", "u0", &[("d", slice("a", 1, 2)), ("q", "t".into())]);
        let t = m.finish().text;
        assert!(t.starts_with("module m(a, y);\n    input wire [3:0] a;\n    output wire y;\n"), "{t}");
        assert!(t.contains("wire [1:0] t;") && t.contains("assign y = a[3];"));
        assert!(t.contains("sub u0(\n        .d(a[3:2]),\n        .q(t)\n    );"), "{t}");
        assert!(t.ends_with("endmodule // m\n"));
    }
}
