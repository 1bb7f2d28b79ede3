//! Post-processing of rust-hdl's Verilog: rust-hdl names the top module `top` and emits one module
//! definition per instance (`top$pe$3`, ...). Here identical definitions are merged bottom-up and
//! every module gets a readable name derived from the design name, so an R x C array carries one
//! PE module, not R*C copies.

use std::collections::BTreeMap;

/// One `module ... endmodule` definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    pub name: String,
    pub text: String,
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Splits Verilog text into module definitions (anything between them is dropped).
pub fn parse_modules(verilog: &str) -> Vec<Module> {
    crate::cosim::verilog_tools::split_modules(verilog).into_iter().map(|(name, text)| Module { name, text }).collect()
}

/// Replaces the module names of `module` headers and instantiation lines according to `map`.
fn rename_refs(text: &str, map: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        // rust-hdl closes each module with `endmodule // NAME`.
        if let Some(old) = line.trim_start().strip_prefix("endmodule // ") {
            match map.get(old.trim()) {
                Some(new) => out.push_str(&format!("endmodule // {new}\n")),
                None => out.push_str(&format!("{line}\n")),
            }
            continue;
        }
        let indent_len = line.len() - line.trim_start().len();
        let (indent, rest) = line.split_at(indent_len);
        let (head, tail) = match rest.strip_prefix("module ") {
            Some(r) => ("module ", r),
            None => ("", rest),
        };
        let tok_len = tail.find(|c: char| !is_ident_char(c)).unwrap_or(tail.len());
        let (tok, after) = tail.split_at(tok_len);
        // An instantiation line is `NAME INSTANCE(`; a header is `module NAME(`.
        let is_instance = head.is_empty() && after.starts_with(' ') && {
            let a = after.trim_start();
            let n = a.find(|c: char| !is_ident_char(c)).unwrap_or(a.len());
            n > 0 && a[n..].trim_start().starts_with('(')
        };
        match map.get(tok) {
            Some(new) if !head.is_empty() || is_instance => {
                out.push_str(indent);
                out.push_str(head);
                out.push_str(new);
                out.push_str(after);
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// A readable module name: `top` becomes `design`; `top$rows$2$pe` becomes `design_rows_pe`
/// (instance indices dropped: they are the same definition after merging).
fn readable_name(design: &str, old: &str) -> String {
    let parts: Vec<&str> = old.split('$').skip(1).filter(|p| !p.chars().all(|c| c.is_ascii_digit())).collect();
    if parts.is_empty() {
        design.to_string()
    } else {
        format!("{design}_{}", parts.join("_"))
    }
}

/// Merges identical module definitions and renames all modules after `design` (the top module
/// becomes `design`). The top module comes first in the result.
pub fn dedupe_and_rename(verilog: &str, design: &str) -> Vec<Module> {
    let mut modules = merge_identical(parse_modules(verilog));
    // Readable, unique names.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for m in &modules {
        let base = readable_name(design, &m.name);
        let n = used.entry(base.clone()).or_insert(0);
        let new = if *n == 0 { base.clone() } else { format!("{base}_{n}") };
        *n += 1;
        names.insert(m.name.clone(), new);
    }
    for m in &mut modules {
        m.text = rename_refs(&m.text, &names);
        m.name = names[&m.name].clone();
    }
    modules.sort_by_key(|m| (m.name != design, m.name.clone()));
    modules
}

/// Merges identical module definitions (keeping the first name of each) until nothing changes:
/// merging children can make parents identical. Also used on the union of several blocks' modules.
pub fn merge_identical(mut modules: Vec<Module>) -> Vec<Module> {
    loop {
        let mut by_body: BTreeMap<String, String> = BTreeMap::new();
        let mut map = BTreeMap::new();
        let mut keep = Vec::with_capacity(modules.len());
        for m in &modules {
            let body = rename_refs(&m.text, &BTreeMap::from([(m.name.clone(), "@SELF@".to_string())]));
            match by_body.get(&body) {
                // The same definition emitted twice under one name (two blocks sharing a leaf):
                // drop the copy, nothing to rename.
                Some(first) if *first == m.name => keep.push(false),
                Some(first) => {
                    map.insert(m.name.clone(), first.clone());
                    keep.push(false);
                }
                None => {
                    by_body.insert(body, m.name.clone());
                    keep.push(true);
                }
            }
        }
        if keep.iter().all(|&k| k) {
            return modules;
        }
        let mut i = 0;
        modules.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        for m in &mut modules {
            m.text = rename_refs(&m.text, &map);
        }
    }
}

/// Emits a rust-hdl block as merged, renamed modules; its top module is called `name`.
pub fn emit_block<B: rust_hdl::prelude::Block>(mut uut: B, name: &str) -> Vec<Module> {
    uut.connect_all();
    dedupe_and_rename(&rust_hdl::prelude::generate_verilog(&uut), name)
}

/// `merge_identical`, then a check that no two different modules share a name (two blocks given
/// the same name by mistake), and the netlist self-check (`check::check_design`).
pub fn merge_checked(modules: Vec<Module>) -> anyhow::Result<Vec<Module>> {
    let v = merge_identical(modules);
    let mut names: Vec<&str> = v.iter().map(|m| m.name.as_str()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        anyhow::bail!("two different modules are both named {}", w[0]);
    }
    super::check::check_design(&v)?;
    Ok(v)
}

/// All modules as one Verilog text.
pub fn join(modules: &[Module]) -> String {
    modules.iter().map(|m| m.text.as_str()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: &str = "\
module top(a, y);
    input wire a;
    output wire y;
    top$u$0 u$0(
        .a(a)
    );
    top$u$1 u$1(
        .a(a)
    );
    top$v v(
        .a(a)
    );
endmodule // top

module top$u$0(a);
    input wire a;
    top$u$0$r r(.d(a));
endmodule // top$u$0

module top$u$0$r(d);
    input wire d;
endmodule // top$u$0$r

module top$u$1(a);
    input wire a;
    top$u$1$r r(.d(a));
endmodule // top$u$1

module top$u$1$r(d);
    input wire d;
endmodule // top$u$1$r

module top$v(a);
    input wire a;
    top$v$r r(.d(a));
endmodule // top$v

module top$v$r(d);
    input wire [1:0] d;
endmodule // top$v$r
";

    #[test]
    fn identical_definitions_merge_bottom_up_and_get_readable_names() {
        let ms = dedupe_and_rename(V, "acc");
        let names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
        // u$0 and u$1 (and their r children) merge; v differs because its child differs.
        assert_eq!(names, vec!["acc", "acc_u", "acc_u_r", "acc_v", "acc_v_r"]);
        let top = &ms[0].text;
        assert!(top.starts_with("module acc(a, y);"), "{top}");
        assert_eq!(top.matches("acc_u u$").count(), 2, "{top}");
        assert!(top.contains("acc_v v("));
        assert!(ms[1].text.contains("acc_u_r r(.d(a));"));
        // No reference to an old name survives.
        assert!(!join(&ms).contains("top$"));
    }

    #[test]
    fn the_same_definition_twice_under_one_name_is_kept_once() {
        let m = Module { name: "a".into(), text: "module a(x);\n    input wire x;\nendmodule // a\n".into() };
        let n = Module { name: "b".into(), text: "module b(y);\n    a u(.x(y));\nendmodule // b\n".into() };
        let merged = merge_identical(vec![m.clone(), n.clone(), m.clone()]);
        assert_eq!(merged, vec![m, n]);
    }
}
