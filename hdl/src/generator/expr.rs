//! The widths of the Verilog expressions the structural netlists write (`netlist.rs`): wire and
//! port names, bit selects and part selects, sized literals, concatenations and replications,
//! and the operators between them. The generator's self-check (`check.rs`) compares them with
//! the widths of the ports and wires they drive.
//!
//! Widths follow Verilog's self-determined sizes: bitwise and arithmetic operators take the
//! wider operand, comparisons, logical operators and reductions give one bit, shifts the left
//! operand's width, `?:` the wider branch. An unsized number has no width of its own (`None`).

use anyhow::{bail, Result};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// A number: its width when sized (`8'd3`), none for a plain decimal.
    Num(Option<usize>, u64),
    Punct(&'static str),
}

const PUNCT: [&str; 27] = [
    "===", "!==", "<<", ">>", "==", "!=", "<=", ">=", "&&", "||", "~&", "~|", "~^", "(", ")", "[", "]", "{", "}", ":",
    "?", ",", "&", "|", "^", "~", "!",
];
const PUNCT1: [&str; 5] = ["+", "-", "*", "<", ">"];

fn tokens(s: &str) -> Result<Vec<Tok>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let j =
                i + s[i..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$')).unwrap_or(s.len() - i);
            out.push(Tok::Ident(s[i..j].to_string()));
            i = j;
        } else if c.is_ascii_digit() {
            let j = i + s[i..].find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len() - i);
            let n: u64 = s[i..j].parse()?;
            if b.get(j) == Some(&b'\'') {
                // A sized literal: width, base, digits.
                let base = b.get(j + 1).map(|&c| (c as char).to_ascii_lowercase());
                let radix = match base {
                    Some('b') => 2,
                    Some('o') => 8,
                    Some('d') => 10,
                    Some('h') => 16,
                    _ => bail!("`{s}`: a sized number without a base"),
                };
                let k = j + 2;
                let e = k + s[k..].find(|c: char| !(c.is_ascii_hexdigit() || c == '_')).unwrap_or(s.len() - k);
                let v = u64::from_str_radix(&s[k..e].replace('_', ""), radix).unwrap_or(0);
                out.push(Tok::Num(Some(n as usize), v));
                i = e;
            } else {
                out.push(Tok::Num(None, n));
                i = j;
            }
        } else if let Some(p) = PUNCT.iter().chain(&PUNCT1).find(|p| s[i..].starts_with(**p)) {
            out.push(Tok::Punct(p));
            i += p.len();
        } else {
            bail!("`{s}`: unexpected `{c}`");
        }
    }
    Ok(out)
}

/// What an expression reads and how wide it is.
pub struct Expr {
    /// The width, when the expression has one of its own.
    pub width: Option<usize>,
    /// The names it reads (a part select's name included).
    pub names: Vec<String>,
}

struct Parser<'a> {
    t: Vec<Tok>,
    i: usize,
    widths: &'a dyn Fn(&str) -> Option<usize>,
    names: Vec<String>,
    text: &'a str,
}

/// Binary operators by precedence, loosest first; `true` for those giving one bit.
const LEVELS: [&[(&str, bool)]; 9] = [
    &[("||", true)],
    &[("&&", true)],
    &[("|", false)],
    &[("^", false), ("~^", false)],
    &[("&", false)],
    &[("==", true), ("!=", true), ("===", true), ("!==", true)],
    &[("<", true), ("<=", true), (">", true), (">=", true)],
    &[("<<", false), (">>", false)],
    &[("+", false), ("-", false)],
];

fn wider(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }

    fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(q)) if *q == p) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<()> {
        if !self.eat(p) {
            bail!("`{}`: expected `{p}` at token {}", self.text, self.i);
        }
        Ok(())
    }

    fn ternary(&mut self) -> Result<Option<usize>> {
        let c = self.binary(0)?;
        if self.eat("?") {
            let a = self.ternary()?;
            self.expect(":")?;
            let b = self.ternary()?;
            // The condition's width does not matter.
            let _ = c;
            return Ok(wider(a, b));
        }
        Ok(c)
    }

    fn binary(&mut self, level: usize) -> Result<Option<usize>> {
        if level == LEVELS.len() {
            return self.multiplicative();
        }
        let mut w = self.binary(level + 1)?;
        'ops: loop {
            for &(op, one_bit) in LEVELS[level] {
                if self.eat(op) {
                    let r = self.binary(level + 1)?;
                    w = if one_bit {
                        Some(1)
                    } else if op == "<<" || op == ">>" {
                        w
                    } else {
                        wider(w, r)
                    };
                    continue 'ops;
                }
            }
            return Ok(w);
        }
    }

    fn multiplicative(&mut self) -> Result<Option<usize>> {
        let mut w = self.unary()?;
        while self.eat("*") {
            let r = self.unary()?;
            w = wider(w, r);
        }
        Ok(w)
    }

    fn unary(&mut self) -> Result<Option<usize>> {
        for op in ["!", "&", "|", "^", "~&", "~|", "~^"] {
            if self.eat(op) {
                self.unary()?;
                return Ok(Some(1));
            }
        }
        if self.eat("~") || self.eat("-") || self.eat("+") {
            return self.unary();
        }
        self.primary()
    }

    fn number(&mut self) -> Result<u64> {
        match self.t.get(self.i).cloned() {
            Some(Tok::Num(_, v)) => {
                self.i += 1;
                Ok(v)
            }
            _ => bail!("`{}`: expected a number at token {}", self.text, self.i),
        }
    }

    fn primary(&mut self) -> Result<Option<usize>> {
        match self.t.get(self.i).cloned() {
            Some(Tok::Num(w, _)) => {
                self.i += 1;
                Ok(w)
            }
            Some(Tok::Ident(name)) => {
                self.i += 1;
                self.names.push(name.clone());
                if self.eat("[") {
                    let hi = self.number()?;
                    let w = if self.eat(":") { hi.abs_diff(self.number()?) as usize + 1 } else { 1 };
                    self.expect("]")?;
                    return Ok(Some(w));
                }
                Ok((self.widths)(&name))
            }
            Some(Tok::Punct("(")) => {
                self.i += 1;
                let w = self.ternary()?;
                self.expect(")")?;
                Ok(w)
            }
            Some(Tok::Punct("{")) => {
                self.i += 1;
                // A replication `{n{x}}`, or a concatenation.
                if let (Some(Tok::Num(_, n)), Some(Tok::Punct("{"))) =
                    (self.t.get(self.i).cloned(), self.t.get(self.i + 1))
                {
                    self.i += 2;
                    let w = self.concat()?;
                    self.expect("}")?;
                    self.expect("}")?;
                    return Ok(w.map(|w| w * n as usize));
                }
                let w = self.concat()?;
                self.expect("}")?;
                Ok(w)
            }
            _ => bail!("`{}`: unexpected token {} ({:?})", self.text, self.i, self.t.get(self.i)),
        }
    }

    /// The parts of a concatenation; its width when every part has one.
    fn concat(&mut self) -> Result<Option<usize>> {
        let mut sum = Some(0);
        loop {
            let w = self.ternary()?;
            sum = match (sum, w) {
                (Some(s), Some(w)) => Some(s + w),
                _ => None,
            };
            if !self.eat(",") {
                return Ok(sum);
            }
        }
    }
}

/// Parses `text`, the widths of names given by `widths`.
pub fn parse(text: &str, widths: &dyn Fn(&str) -> Option<usize>) -> Result<Expr> {
    let mut p = Parser { t: tokens(text)?, i: 0, widths, names: Vec::new(), text };
    let width = p.ternary()?;
    if p.i != p.t.len() {
        bail!("`{text}`: unexpected {:?} after the expression", p.t[p.i]);
    }
    Ok(Expr { width, names: p.names })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn width(e: &str) -> Option<usize> {
        let w = |n: &str| match n {
            "a" => Some(4),
            "b" => Some(8),
            "c" => Some(1),
            _ => None,
        };
        parse(e, &w).unwrap().width
    }

    #[test]
    fn widths_follow_the_self_determined_sizes() {
        assert_eq!(width("a"), Some(4));
        assert_eq!(width("b[7:4]"), Some(4));
        assert_eq!(width("b[3]"), Some(1));
        assert_eq!(width("4'd0"), Some(4));
        assert_eq!(width("{a, b, 1'b0}"), Some(13));
        assert_eq!(width("{3{a}}"), Some(12));
        assert_eq!(width("a & b"), Some(8));
        assert_eq!(width("c ? a : b"), Some(8));
        assert_eq!(width("a == 4'd3"), Some(1));
        assert_eq!(width("&{1'b0, a, b}"), Some(1));
        assert_eq!(width("~(a | 4'h3) ^ a"), Some(4));
        assert_eq!(width("b << 2"), Some(8));
        assert_eq!(width("c & (a != 4'd0) | ~c"), Some(1));
        assert_eq!(width("0"), None);
        let e = parse("r_x + r_y[2:0]", &|_| None).unwrap();
        assert_eq!(e.names, vec!["r_x", "r_y"]);
        assert!(parse("a +", &|_| None).is_err());
        assert!(parse("a b", &|_| None).is_err());
    }
}
