//! The generator's self-check: every structural module (`netlist.rs`: wires, `assign`s and
//! instances only) is checked against the ports of the modules it instantiates, before any
//! simulator or synthesis tool sees it. Generation fails when
//! - an instance names a module the design does not define, a port that module does not have,
//!   or leaves one of its ports unconnected;
//! - an expression reads a name that is neither a port nor a wire of the module, or a wire or
//!   port is declared twice;
//! - a connection or `assign` joins expressions of different widths.
//!
//! So these errors show up in a plain `cargo test`, with no Icarus, Verilator or Yosys installed.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

use super::expr;
use super::verilog::Module;

/// A port of a module: its direction (`true` for an input) and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortDecl {
    pub input: bool,
    pub width: usize,
}

/// The width of a `[hi:lo]` range, 1 without one.
fn range_width(r: Option<&str>) -> Result<usize> {
    let Some(r) = r else { return Ok(1) };
    let (hi, lo) = r.split_once(':').with_context(|| format!("range [{r}]"))?;
    let (hi, lo): (i64, i64) = (hi.trim().parse()?, lo.trim().parse()?);
    Ok(hi.abs_diff(lo) as usize + 1)
}

/// The ports of a module, from its header and its `input`/`output` declarations (one or several
/// names per declaration, `wire` or `reg`, with or without a range), in header order.
pub fn ports(m: &Module) -> Result<Vec<(String, PortDecl)>> {
    let header = m.text.split_once('(').and_then(|(_, r)| r.split_once(')')).map(|(h, _)| h);
    let names: Vec<&str> =
        header.with_context(|| format!("module {}: no port list", m.name))?.split(',').map(str::trim).collect();
    let mut decls: BTreeMap<String, PortDecl> = BTreeMap::new();
    for stmt in m.text.split(';') {
        // Without its line comments.
        let stmt: Vec<&str> = stmt.lines().map(|l| l.split("//").next().unwrap_or("")).collect();
        let stmt = stmt.join("\n");
        let t = stmt.trim();
        let (input, rest) = match (t.strip_prefix("input "), t.strip_prefix("output ")) {
            (Some(r), _) => (true, r),
            (_, Some(r)) => (false, r),
            _ => continue,
        };
        let rest = rest.trim_start();
        let rest = rest.strip_prefix("wire").or_else(|| rest.strip_prefix("reg")).unwrap_or(rest).trim_start();
        let rest = rest.strip_prefix("signed").unwrap_or(rest).trim_start();
        let (range, list) = match rest.strip_prefix('[') {
            Some(r) => {
                let (range, list) = r.split_once(']').with_context(|| format!("module {}: `{t}`", m.name))?;
                (Some(range), list)
            }
            None => (None, rest),
        };
        let width = range_width(range).with_context(|| format!("module {}: `{t}`", m.name))?;
        for n in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            decls.insert(n.to_string(), PortDecl { input, width });
        }
    }
    names
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| {
            let d = decls.get(*n).with_context(|| format!("module {}: port {n} is not declared", m.name))?;
            Ok((n.to_string(), *d))
        })
        .collect()
}

/// An instance in a structural module: the module, the instance's name, and its connections
/// `(port, expression)`.
struct Instance {
    module: String,
    name: String,
    conns: Vec<(String, String)>,
}

/// A structural module's body: its wires, `assign`s and instances.
struct Structure {
    wires: Vec<(String, usize)>,
    assigns: Vec<(String, String)>,
    instances: Vec<Instance>,
}

/// The body of `m` when it is structural (only what `NetModule` writes), else `None`.
fn structure(m: &Module) -> Result<Option<Structure>> {
    let body = match m.text.split_once(");\n") {
        Some((_, b)) => b,
        None => return Ok(None),
    };
    let mut s = Structure { wires: Vec::new(), assigns: Vec::new(), instances: Vec::new() };
    // Statements end with `;`; an instance spans lines.
    for stmt in body.split(";\n") {
        let t = stmt.trim();
        if t.is_empty() || t.starts_with("endmodule") || t.starts_with("input ") || t.starts_with("output ") {
            continue;
        }
        if let Some(rest) = t.strip_prefix("wire ") {
            let (range, name) = match rest.strip_prefix('[') {
                Some(r) => {
                    let (range, name) = r.split_once(']').with_context(|| format!("`{t}`"))?;
                    (Some(range), name.trim())
                }
                None => (None, rest.trim()),
            };
            s.wires.push((name.to_string(), range_width(range)?));
        } else if let Some(rest) = t.strip_prefix("assign ") {
            let (lhs, rhs) = rest.split_once(" = ").with_context(|| format!("`{t}`"))?;
            s.assigns.push((lhs.trim().to_string(), rhs.trim().to_string()));
        } else if let Some((head, conns)) = t.split_once("(\n") {
            let mut words = head.split_whitespace();
            let (Some(module), Some(inst), None) = (words.next(), words.next(), words.next()) else {
                return Ok(None);
            };
            let conns = conns.trim_end().strip_suffix(')').with_context(|| format!("`{t}`"))?;
            let mut list = Vec::new();
            for c in conns.split(",\n") {
                let c = c.trim();
                let (port, e) =
                    c.strip_prefix('.').and_then(|c| c.split_once('(')).with_context(|| format!("`{c}`"))?;
                let e = e.strip_suffix(')').with_context(|| format!("`{c}`"))?;
                list.push((port.to_string(), e.to_string()));
            }
            s.instances.push(Instance { module: module.to_string(), name: inst.to_string(), conns: list });
        } else {
            // Logic of some other kind: not a netlist this check knows.
            return Ok(None);
        }
    }
    Ok(Some(s))
}

/// Checks every structural module of `modules` (see the module doc); the first problem found is
/// the error, naming the module, the instance and the port or wire.
pub fn check_design(modules: &[Module]) -> Result<()> {
    let mut port_lists: BTreeMap<&str, Vec<(String, PortDecl)>> = BTreeMap::new();
    for m in modules {
        port_lists.insert(m.name.as_str(), ports(m)?);
    }
    for m in modules {
        let Some(s) = structure(m)? else { continue };
        check_module(m, &s, &port_lists).with_context(|| format!("generated netlist {}", m.name))?;
    }
    Ok(())
}

fn check_module(m: &Module, s: &Structure, port_lists: &BTreeMap<&str, Vec<(String, PortDecl)>>) -> Result<()> {
    let mut signals: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, d) in &port_lists[m.name.as_str()] {
        signals.insert(name, d.width);
    }
    for (name, w) in &s.wires {
        if signals.insert(name, *w).is_some() {
            bail!("{name} is declared twice");
        }
    }
    let widths = |n: &str| signals.get(n).copied();
    let read = |text: &str| -> Result<Option<usize>> {
        let e = expr::parse(text, &widths)?;
        if let Some(n) = e.names.iter().find(|n| !signals.contains_key(n.as_str())) {
            bail!("`{text}` reads {n}, which is neither a port nor a wire");
        }
        Ok(e.width)
    };
    for (lhs, rhs) in &s.assigns {
        let (l, r) = (read(lhs)?, read(rhs)?);
        if let (Some(l), Some(r)) = (l, r) {
            if l != r {
                bail!("assign {lhs} ({l} bits) = {rhs} ({r} bits)");
            }
        }
    }
    for Instance { module, name: inst, conns } in &s.instances {
        let Some(ports) = port_lists.get(module.as_str()) else {
            bail!("instance {inst} of {module}: the design has no module {module}");
        };
        for (port, e) in conns {
            let Some((_, d)) = ports.iter().find(|(n, _)| n == port) else {
                bail!("instance {inst} of {module}: {module} has no port {port}");
            };
            if let Some(w) = read(e).with_context(|| format!("instance {inst}, port {port}"))? {
                if w != d.width {
                    bail!("instance {inst} of {module}: port {port} is {} bits, connected to `{e}` of {w}", d.width);
                }
            }
        }
        for (name, _) in ports {
            match conns.iter().filter(|(p, _)| p == name).count() {
                0 => bail!("instance {inst} of {module}: port {name} is not connected"),
                1 => {}
                _ => bail!("instance {inst} of {module}: port {name} is connected twice"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::netlist::{Dir, NetModule};

    fn leaf() -> Module {
        let mut m = NetModule::new("leaf");
        m.bus(Dir::In, "d", 4);
        m.port(Dir::Out, "q", 1);
        m.assign("q", "|d");
        m.finish()
    }

    fn parent(conns: &[(&str, &str)], wire: usize) -> Module {
        let mut m = NetModule::new("top");
        m.bus(Dir::In, "x", 4);
        m.port(Dir::Out, "y", 1);
        m.wire("w", wire);
        m.assign("w", "x");
        let c: Vec<(&str, String)> = conns.iter().map(|(p, e)| (*p, e.to_string())).collect();
        m.instance("leaf", "u0", &c);
        m.finish()
    }

    fn check(m: Module) -> Result<()> {
        check_design(&[m, leaf()])
    }

    #[test]
    fn a_well_formed_netlist_passes() {
        check(parent(&[("d", "w"), ("q", "y")], 4)).unwrap();
        assert_eq!(ports(&leaf()).unwrap()[0], ("d".to_string(), PortDecl { input: true, width: 4 }));
    }

    #[test]
    fn a_port_on_a_wire_of_the_wrong_width_fails() {
        let e = check(parent(&[("d", "x[2:0]"), ("q", "y")], 4)).unwrap_err();
        assert!(format!("{e:#}").contains("port d is 4 bits, connected to `x[2:0]` of 3"), "{e:#}");
        let e = check(parent(&[("d", "w"), ("q", "y")], 5)).unwrap_err();
        assert!(format!("{e:#}").contains("assign w (5 bits) = x (4 bits)"), "{e:#}");
    }

    #[test]
    fn unknown_unconnected_and_undeclared_names_fail() {
        for (conns, want) in [
            (&[("d", "w")][..], "port q is not connected"),
            (&[("d", "w"), ("q", "y"), ("z", "y")][..], "leaf has no port z"),
            (&[("d", "v"), ("q", "y")][..], "reads v, which is neither a port nor a wire"),
            (&[("d", "w"), ("q", "y"), ("q", "y")][..], "port q is connected twice"),
        ] {
            let e = format!("{:#}", check(parent(conns, 4)).unwrap_err());
            assert!(e.contains(want), "{e}");
        }
        let e = format!("{:#}", check_design(&[parent(&[("d", "w"), ("q", "y")], 4)]).unwrap_err());
        assert!(e.contains("the design has no module leaf"), "{e}");
    }

    /// On the generated default core: the structural modules are found and pass, and the top
    /// with one wire widened fails at the port it drives.
    #[test]
    fn the_default_core_is_checked_and_a_widened_wire_fails() {
        let cfg = cbnn::config::AccelConfig::default();
        let mut modules = crate::generator::top::core_modules(&cfg).unwrap();
        let structural: Vec<&str> =
            modules.iter().filter(|m| structure(m).unwrap().is_some()).map(|m| m.name.as_str()).collect();
        for name in [cfg.name.clone(), format!("{}_array", cfg.name), format!("{}_compute", cfg.name)] {
            assert!(structural.contains(&name.as_str()), "{name} is not checked: {structural:?}");
        }
        let top = modules.iter_mut().find(|m| m.name == cfg.name).unwrap();
        assert!(top.text.contains("    wire go;\n"));
        top.text = top.text.replacen("    wire go;\n", "    wire [1:0] go;\n", 1);
        let e = format!("{:#}", check_design(&modules).unwrap_err());
        assert!(e.contains("port go is 1 bits, connected to `go` of 2"), "{e}");
    }
}
