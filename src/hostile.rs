//! What the property tests of the parsers share (tests/properties.rs, explore/tests/sweep_properties.rs):
//! a counting allocator that measures a case's peak heap use, edits of a valid input (bytes
//! replaced, inserted, cut), and the number of cases (`CBNN_SOAK=1` for the long run).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting each thread's live heap bytes and their peak. A test binary
/// installs it with `#[global_allocator]`; `peak_of` then reads it.
pub struct CountingAlloc;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to `System`; the counters are plain thread-local
// cells (no allocation, no destructor), so counting cannot recurse into the allocator.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|c| {
            c.set(c.get() + l.size());
            let _ = PEAK.try_with(|p| p.set(p.get().max(c.get())));
        });
        // SAFETY: as the caller's contract for `GlobalAlloc::alloc`.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        let _ = LIVE.try_with(|c| c.set(c.get().saturating_sub(l.size())));
        // SAFETY: `p` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(p, l) }
    }
}

/// The most heap bytes `f` held at once beyond what was live before it (0 unless the binary's
/// global allocator is `CountingAlloc`).
pub fn peak_of<T>(f: impl FnOnce() -> T) -> usize {
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    drop(f());
    PEAK.with(Cell::get).saturating_sub(before)
}

/// Cases per property: 2,000, or 1,000,000 with `CBNN_SOAK=1`.
pub fn cases() -> u32 {
    if std::env::var_os("CBNN_SOAK").is_some_and(|v| v == "1") {
        1_000_000
    } else {
        2_000
    }
}

/// Edits of a valid input: bytes replaced (position modulo the length), bytes inserted, and a
/// cut (the length kept, modulo the length + 1).
#[derive(Debug, Clone)]
pub struct Edits {
    pub replace: Vec<(usize, u8)>,
    pub insert: Option<(usize, Vec<u8>)>,
    pub cut: Option<usize>,
}

impl From<(Vec<(usize, u8)>, Option<(usize, Vec<u8>)>, Option<usize>)> for Edits {
    fn from((replace, insert, cut): (Vec<(usize, u8)>, Option<(usize, Vec<u8>)>, Option<usize>)) -> Self {
        Edits { replace, insert, cut }
    }
}

impl Edits {
    /// `valid` with the edits applied.
    pub fn apply(&self, valid: &[u8]) -> Vec<u8> {
        let mut b = valid.to_vec();
        for &(i, v) in &self.replace {
            if !b.is_empty() {
                let n = b.len();
                b[i % n] = v;
            }
        }
        if let Some((i, bytes)) = &self.insert {
            let at = i % (b.len() + 1);
            b.splice(at..at, bytes.iter().copied());
        }
        if let Some(c) = self.cut {
            b.truncate(c % (b.len() + 1));
        }
        b
    }

    /// The edits on text, keeping it text: every new byte is one of TOML's digits, signs,
    /// brackets, quotes or a few letters, where a parser's cases are.
    pub fn apply_text(&self, valid: &str) -> String {
        const CHARS: &[u8] = b"0123456789-+.e=[]{}\"', \nabcxyz_";
        let pick = |b: u8| CHARS[b as usize % CHARS.len()];
        let mut e = self.clone();
        e.replace.iter_mut().for_each(|r| r.1 = pick(r.1));
        if let Some((_, bytes)) = &mut e.insert {
            bytes.iter_mut().for_each(|b| *b = pick(*b));
        }
        String::from_utf8_lossy(&e.apply(valid.as_bytes())).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_replace_insert_and_cut_within_the_input() {
        let e = Edits { replace: vec![(7, b'X')], insert: Some((1, b"ab".to_vec())), cut: Some(5) };
        assert_eq!(e.apply(b"hello"), b"habeX");
        assert_eq!(Edits { replace: vec![], insert: None, cut: None }.apply(b""), b"");
        assert!(e.apply_text("hello").is_ascii());
    }
}
