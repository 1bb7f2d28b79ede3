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
        self.instance_with_streams(module, inst, conns, &[]);
    }

    /// An instance of `module` with named port connections and, for each `(port, stream)` of
    /// `streams`, its stream port `port` (`port_valid`, `port_data`, `port_ready`) connected to
    /// `stream` as one unit.
    pub fn instance_with_streams(
        &mut self,
        module: &str,
        inst: &str,
        conns: &[(&str, String)],
        streams: &[(&str, &Stream)],
    ) {
        let mut c: Vec<String> = conns.iter().map(|(p, e)| format!("        .{p}({e})")).collect();
        for (port, st) in streams {
            for (part, e) in st.parts() {
                c.push(format!("        .{port}_{part}({e})"));
            }
        }
        writeln!(self.body, "    {module} {inst}(\n{}\n    );", c.join(",\n")).unwrap();
    }

    /// The ports of stream `name` with `width` data bits: a stream into the module (`Dir::In`:
    /// valid and data in, ready out) or out of it. Returns the stream of those ports.
    pub fn stream_port(&mut self, dir: Dir, name: &str, width: usize) -> Stream {
        let back = if dir == Dir::In { Dir::Out } else { Dir::In };
        self.port(dir, &format!("{name}_valid"), 1);
        self.bus(dir, &format!("{name}_data"), width);
        self.port(back, &format!("{name}_ready"), 1);
        Stream::named(name)
    }

    /// The wires of stream `name` with `width` data bits.
    pub fn stream_wires(&mut self, name: &str, width: usize) -> Stream {
        self.wire(&format!("{name}_valid"), 1);
        self.wire(&format!("{name}_data"), width);
        self.wire(&format!("{name}_ready"), 1);
        Stream::named(name)
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

/// A valid/ready/data handshake: the expressions its three signals are connected to, kept
/// together so that a connection cannot drop or cross one of them (after Amaranth's stream
/// signatures). The netlist check (`generator::check`) then checks each signal's width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream {
    pub valid: String,
    pub data: String,
    pub ready: String,
}

impl Stream {
    pub fn new(valid: &str, data: &str, ready: &str) -> Stream {
        Stream { valid: valid.into(), data: data.into(), ready: ready.into() }
    }

    /// The signals `{name}_valid`, `{name}_data` and `{name}_ready`.
    pub fn named(name: &str) -> Stream {
        Stream { valid: format!("{name}_valid"), data: format!("{name}_data"), ready: format!("{name}_ready") }
    }

    fn parts(&self) -> [(&'static str, &str); 3] {
        [("valid", &self.valid), ("data", &self.data), ("ready", &self.ready)]
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

    /// A stream port declares its three signals with the handshake's directions, and a stream
    /// connection wires all three.
    #[test]
    fn a_stream_is_declared_and_connected_as_one_unit() {
        let mut m = NetModule::new("m");
        let input = m.stream_port(Dir::In, "in", 8);
        assert_eq!(input, Stream::new("in_valid", "in_data", "in_ready"));
        let output = m.stream_port(Dir::Out, "out", 8);
        m.instance_with_streams(
            "sub",
            "u0",
            &[("en", "1'b1".into())],
            &[("a", &Stream::new("in_valid & en", "in_data", "in_ready")), ("b", &output)],
        );
        let t = m.finish().text;
        assert!(t.starts_with("module m(in_valid, in_data, in_ready, out_valid, out_data, out_ready);\n"), "{t}");
        assert!(t.contains("input wire in_valid;\n    input wire [7:0] in_data;\n    output wire in_ready;"), "{t}");
        assert!(
            t.contains("output wire out_valid;\n    output wire [7:0] out_data;\n    input wire out_ready;"),
            "{t}"
        );
        assert!(t.contains(".a_valid(in_valid & en),\n        .a_data(in_data),\n        .a_ready(in_ready),"), "{t}");
        assert!(t.contains(".b_valid(out_valid),\n        .b_data(out_data),\n        .b_ready(out_ready)\n"), "{t}");
    }
}
