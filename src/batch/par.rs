//! Images of a batch in parallel (rayon), results in image order, with a progress bar for
//! batches of more than a handful of images.

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Batches up to this many images run without a progress bar: they are over before one helps.
pub const HANDFUL: usize = 8;

/// A progress bar over `n` images for `program`, on stderr; indicatif draws it only when stderr
/// is a terminal, so logs and tests see nothing. Hidden for a handful of images.
pub fn progress(program: &str, n: usize) -> ProgressBar {
    if n <= HANDFUL {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(n as u64);
    let template = format!("{program}: {{bar:30}} {{pos}}/{{len}} images, {{per_sec}}, ETA {{eta}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("a valid template"));
    bar
}

/// `f(index, item)` on every item, in parallel, the results in item order. On errors, the error
/// of the first failing item in order; items after a failed one are skipped (whatever they gave
/// could not be used), items before it all run, so the error is the same on every run.
pub fn map<T: Sync, R: Send>(
    items: &[T],
    bar: &ProgressBar,
    f: impl Fn(usize, &T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let failed = AtomicUsize::new(usize::MAX);
    let results: Vec<Option<Result<R>>> = items
        .par_iter()
        .enumerate()
        .map(|(i, x)| {
            if i > failed.load(Ordering::Relaxed) {
                return None;
            }
            let r = f(i, x);
            if r.is_err() {
                failed.fetch_min(i, Ordering::Relaxed);
            }
            bar.inc(1);
            Some(r)
        })
        .collect();
    // A skipped item comes after a failed one, so the first error is met before any gap.
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_in_order_and_the_first_error_wins() {
        let items: Vec<usize> = (0..500).collect();
        let bar = ProgressBar::hidden();
        let squares = map(&items, &bar, |i, &x| Ok(i * x)).unwrap();
        assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
        for _ in 0..20 {
            let e = map(&items, &bar, |i, _| if i % 97 == 13 { anyhow::bail!("item {i}") } else { Ok(i) });
            assert_eq!(e.unwrap_err().to_string(), "item 13");
        }
    }
}
