//! `Lit<N, V>`: an `N`-bit constant of value `V` in a block, fixed by its type.
//!
//! rust-hdl writes every bare literal as 32 bits wide, which Verilator's `-Wall` reports when it
//! meets a narrower operand, so a block's constants are `Constant` fields: the Verilog declares
//! them as `localparam`s of the right width. But `Constant` has no `Default` (its value is
//! given at construction), so a block holding one needs a hand-written `Default` that lists
//! every field. `Lit` carries its value in its type instead: blocks built of `Lit`, `Signal`,
//! `DFF` and sub-blocks derive `Default`. To the Verilog generator it is the `Constant` it wraps.

use rust_hdl::core::atom::Atom;
use rust_hdl::prelude::*;

#[derive(Clone, Copy, Debug)]
pub struct Lit<const N: usize, const V: u64>(Constant<Bits<N>>);

impl<const N: usize, const V: u64> Default for Lit<N, V> {
    fn default() -> Self {
        assert!(N >= 64 || V < (1u64 << N), "literal {V} does not fit {N} bits");
        Lit(Constant::new(V.into()))
    }
}

impl<const N: usize, const V: u64> Lit<N, V> {
    /// The value, usable in `#[hdl_gen]` kernels like a `Constant`'s.
    pub fn val(&self) -> Bits<N> {
        self.0.val()
    }
}

impl<const N: usize, const V: u64> Logic for Lit<N, V> {
    fn update(&mut self) {}

    fn connect(&mut self) {}
}

impl<const N: usize, const V: u64> Block for Lit<N, V> {
    fn connect_all(&mut self) {}

    fn update_all(&mut self) {}

    fn has_changed(&self) -> bool {
        false
    }

    fn accept(&self, name: &str, probe: &mut dyn Probe) {
        probe.visit_atom(name, &self.0 as &dyn Atom);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::verilog::emit_block;

    #[derive(LogicBlock, Default)]
    struct AddFive {
        a: Signal<In, Bits<6>>,
        y: Signal<Out, Bits<6>>,
        five: Lit<6, 5>,
    }

    impl Logic for AddFive {
        #[hdl_gen]
        fn update(&mut self) {
            self.y.next = self.a.val() + self.five.val();
        }
    }

    #[test]
    fn a_lit_is_a_localparam_of_its_width() {
        let modules = emit_block(AddFive::default(), "add5");
        let text = crate::generator::verilog::join(&modules);
        assert!(text.contains("five = 6'b101;"), "{text}");
        crate::cosim::verilog_tools::check_lint_and_synth("add5", &modules, "add5");
    }

    #[test]
    fn a_lit_has_its_value_in_rust() {
        assert_eq!(Lit::<6, 5>::default().val(), Bits::<6>::from(5u64));
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn a_value_wider_than_the_lit_is_refused() {
        let _ = Lit::<2, 4>::default();
    }
}
