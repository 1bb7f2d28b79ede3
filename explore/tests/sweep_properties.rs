//! Property tests of the sweep file's loader (tests/properties.rs has the other parsers'): the
//! embedded example sweep with bytes changed, inserted or cut, and ranges of any integers. Each
//! loads or gives an error, never panics, and holds at most what 100,000 points need.
//! `cargo test` runs 2,000 cases per property; `CBNN_SOAK=1` runs 1,000,000.

use cbnn::hostile::{cases, peak_of, CountingAlloc, Edits};
use cbnn_explore::sweep::{Sweep, EXAMPLE};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// The heap a sweep of the most points may hold (points, values and the base network).
const MAX_HEAP: usize = 256 << 20;

fn edits() -> impl Strategy<Value = Edits> {
    (
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        prop::option::of((any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))),
        prop::option::of(any::<usize>()),
    )
        .prop_map(Edits::from)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edited_sweep_files_load_or_give_an_error(e in edits()) {
        let text = e.apply_text(EXAMPLE);
        let peak = peak_of(|| {
            if let Ok(s) = Sweep::parse(&text, "s.toml", None) {
                assert!(!s.points.is_empty() && s.points.len() <= cbnn_explore::sweep::MAX_POINTS);
            }
        });
        prop_assert!(peak <= MAX_HEAP, "{peak} bytes");
    }

    #[test]
    fn ranges_of_any_integers_are_cut_or_refused(from in any::<i64>(), to in any::<i64>(), by in any::<i64>(), times in any::<bool>()) {
        let kind = if times { "times" } else { "step" };
        let text = format!("[axes]\n\"dram.latency_cycles\" = {{ from = {from}, to = {to}, {kind} = {by} }}\n");
        let peak = peak_of(|| {
            if let Ok(s) = Sweep::parse(&text, "s.toml", None) {
                let v: Vec<i64> = s.axes[0].values.iter().map(|v| v.as_integer().unwrap()).collect();
                // Inside the range, strictly increasing (so no value twice), the first `from`.
                assert!(v[0] == from && v.windows(2).all(|w| w[0] < w[1]) && *v.last().unwrap() <= to, "{text}");
            }
        });
        prop_assert!(peak <= MAX_HEAP, "{peak} bytes");
    }
}
