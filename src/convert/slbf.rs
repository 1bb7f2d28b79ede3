//! A conv layer to stacked low-dimensional binary filters (SPEC 3.4): the `I` input channels cut
//! into `m` slices of `d` channels, every (filter, slice) sub-filter replaced by the nearest of a
//! bank of `n` float `d x K x K` filters, given or found by k-means.

use anyhow::{bail, Result};

use super::kmeans::{self, Init};
use super::ConvWeights;

/// How to build the bank.
#[derive(Clone, Debug)]
pub struct SlbfOptions {
    /// `d`, channels per slice; default: the largest divisor of `I` up to 32.
    pub slice_channels: Option<usize>,
    /// `n`, bank filters (k-means only); default: `min(64, ceil(O * m / 4))`.
    pub bank_size: Option<usize>,
    /// A bank to use as it is (no k-means).
    pub bank: Option<GivenBank>,
    pub init: Init,
    pub seed: u64,
    pub iterations: usize,
}

/// A bank read from a file: `[n, d, K, K]` float32; `origin` names it in errors.
#[derive(Clone, Debug)]
pub struct GivenBank {
    pub origin: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// The converted layer: the float bank `[n, d, K, K]` (as written: the hardware binarises it by
/// sign, its magnitudes give the scale alpha of SPEC 5.1) and the index `[O, m]`.
#[derive(Clone, Debug)]
pub struct Slbf {
    pub bank: Vec<f32>,
    pub n: usize,
    pub d: usize,
    pub m: usize,
    pub index: Vec<usize>,
    /// Lloyd iterations run (0 for a given bank).
    pub iterations: usize,
    /// Sum over all sub-filters of the squared distance to their bank filter.
    pub inertia: f64,
    /// `"k-means++"`, `"random"` or the given bank's file.
    pub bank_source: String,
}

/// Divisors of `i`, ascending.
fn divisors(i: usize) -> Vec<usize> {
    (1..=i).filter(|&d| i.is_multiple_of(d)).collect()
}

/// The sub-filters as rows of `d * K * K` floats in (filter, slice) order: in OIHW memory the
/// channels `i*d .. (i+1)*d` of filter `o` are contiguous, so row `o * m + i` is a plain slice.
fn sub_filters(w: &ConvWeights) -> Vec<f64> {
    w.weights.iter().map(|&v| v as f64).collect()
}

/// The nearest bank filter of every sub-filter, and the total squared distance (the inertia).
///
/// Nearest in squared Euclidean distance on the float values, not in Hamming distance on the
/// signs: the float bank is what the layer's scale alpha (SPEC 5.1) and the float reference
/// (SPEC 9) are computed from, so the float stacked weights should be as close as possible to
/// the trained ones; and squared Euclidean distance is what k-means minimises (its centroids are
/// means), so assignment and bank optimise one objective, the Frobenius error of the weights.
pub fn assign(points: &[f64], bank: &[f32], dim: usize) -> (Vec<usize>, f64) {
    let bank: Vec<f64> = bank.iter().map(|&v| v as f64).collect();
    let mut inertia = 0.0;
    let index = points
        .chunks_exact(dim)
        .map(|p| {
            let (j, d) = kmeans::nearest(p, &bank, dim);
            inertia += d;
            j
        })
        .collect();
    (index, inertia)
}

/// `d` and `m` for the layer, checked.
fn slicing(w: &ConvWeights, requested: Option<usize>, bank: Option<&GivenBank>) -> Result<(usize, usize)> {
    let from_bank = bank.map(|b| b.shape[1]);
    let i = w.in_channels;
    let d = match (requested, from_bank) {
        (Some(r), Some(b)) if r != b => {
            bail!("--slice-channels {r}: the bank given with --bank has d = {b} channels per filter; expected {b} (or leave it out)")
        }
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) => divisors(i).into_iter().filter(|&d| d <= 32).max().unwrap_or(1),
    };
    if d == 0 || !i.is_multiple_of(d) {
        let list: Vec<String> = divisors(i).iter().map(|d| d.to_string()).collect();
        let what = match bank {
            Some(b) if requested.is_none() => format!("--bank {}: its filters' d", b.origin),
            _ => "--slice-channels".to_string(),
        };
        bail!("{what} = {d} does not divide the {i} input channels; expected one of {}", list.join(", "));
    }
    Ok((d, i / d))
}

pub fn convert(w: &ConvWeights, opts: &SlbfOptions) -> Result<Slbf> {
    let k = w.kernel;
    if let Some(b) = &opts.bank {
        let ok = b.shape.len() == 4 && b.shape[2] == k && b.shape[3] == k && b.shape[0] >= 1 && b.shape[1] >= 1;
        if !ok {
            bail!("--bank {}: expected shape [n, d, {k}, {k}] (n >= 1, d >= 1), found {:?}", b.origin, b.shape);
        }
        if let Some(i) = b.data.iter().position(|v| !v.is_finite()) {
            bail!("--bank {}: element {i} is {}; expected finite values", b.origin, b.data[i]);
        }
    }
    let (d, m) = slicing(w, opts.slice_channels, opts.bank.as_ref())?;
    let dim = d * k * k;
    let points = sub_filters(w);
    let count = w.out_channels * m;
    let (bank, n, iterations, bank_source) = match &opts.bank {
        Some(b) => {
            if let Some(n) = opts.bank_size.filter(|&n| n != b.shape[0]) {
                bail!(
                    "--bank-size {n}: the bank given with --bank has n = {} filters; expected {} (or leave it out)",
                    b.shape[0],
                    b.shape[0]
                );
            }
            (b.data.clone(), b.shape[0], 0, b.origin.clone())
        }
        None => {
            let n = opts.bank_size.unwrap_or_else(|| count.div_ceil(4).min(64));
            if n == 0 || n > count {
                bail!("--bank-size {n}: expected 1..={count} (the layer has {} filters x {m} slices = {count} sub-filters)", w.out_channels);
            }
            let c = kmeans::lloyd(&points, dim, n, opts.init, opts.seed, opts.iterations);
            let source = match opts.init {
                Init::KMeansPlusPlus => "k-means++",
                Init::Random => "random",
            };
            let mut bank: Vec<f32> = c.centroids.iter().map(|&v| v as f32).collect();
            // A layer whose weights are all ±1 (a trained binary layer, as `import` writes it,
            // its magnitudes in weight_scale) gets a binary bank: the signs of the centroids.
            // Centroids' magnitudes would otherwise shrink the layer's scale (SPEC 5.1 takes
            // alpha from |bank|), which is not what stacking binary filters means.
            let binary = w.weights.iter().all(|&v| v == 1.0 || v == -1.0);
            if binary {
                bank.iter_mut().for_each(|v| *v = crate::quant::binarise(*v) as f32);
            }
            let source =
                if binary { format!("{source}, signs of the centroids (a binary layer)") } else { source.into() };
            (bank, n, c.iterations, source)
        }
    };
    // Assigned against the float32 bank that is written, so the index is exactly "the nearest
    // bank filter" of the file.
    let (index, inertia) = assign(&points, &bank, dim);
    Ok(Slbf { bank, n, d, m, index, iterations, inertia, bank_source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Weights;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// A conv layer built from a known float bank and index (the stacked weights of SPEC 3.4).
    struct Stacked {
        bank: Vec<f32>,
        index: Vec<usize>,
        weights: Vec<f32>,
        /// (O, m, n, d, K)
        dims: (usize, usize, usize, usize, usize),
    }

    impl Stacked {
        fn new(seed: u64, dims: (usize, usize, usize, usize, usize)) -> Stacked {
            let (o, m, n, d, k) = dims;
            let mut rng = StdRng::seed_from_u64(seed);
            let bank: Vec<f32> = (0..n * d * k * k).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
            // Every bank filter used at least once.
            let index: Vec<usize> = (0..o * m).map(|i| if i < n { i } else { rng.gen_range(0..n) }).collect();
            let w = Weights::Slbf { bank: bank.clone(), n, d, index: index.clone(), m };
            let weights = crate::reference::float_conv_weights(&w, o, m * d, k);
            Stacked { bank, index, weights, dims }
        }

        fn conv(&self) -> ConvWeights<'_> {
            let (o, m, _, d, k) = self.dims;
            ConvWeights { out_channels: o, in_channels: m * d, kernel: k, weights: &self.weights }
        }
    }

    fn opts() -> SlbfOptions {
        SlbfOptions {
            slice_channels: None,
            bank_size: None,
            bank: None,
            init: Init::KMeansPlusPlus,
            seed: 1,
            iterations: 100,
        }
    }

    #[test]
    fn a_binary_layer_gets_a_binary_bank_and_nearest_indices() {
        let mut rng = StdRng::seed_from_u64(3);
        let (o, i, k) = (16, 8, 3);
        let weights: Vec<f32> = (0..o * i * k * k).map(|_| if rng.gen_bool(0.5) { 1.0 } else { -1.0 }).collect();
        let conv = ConvWeights { out_channels: o, in_channels: i, kernel: k, weights: &weights };
        let s = convert(&conv, &SlbfOptions { slice_channels: Some(4), bank_size: Some(6), ..opts() }).unwrap();
        assert!(s.bank.iter().all(|&v| v == 1.0 || v == -1.0), "{:?}", s.bank);
        assert!(s.bank_source.contains("signs"), "{}", s.bank_source);
        // Each sub-filter's bank filter is one of the nearest (fewest differing signs).
        let dim = 4 * k * k;
        for (r, &j) in weights.chunks(dim).zip(&s.index) {
            let diff = |b: usize| r.iter().zip(&s.bank[b * dim..(b + 1) * dim]).filter(|(x, y)| x != y).count();
            assert_eq!(diff(j), (0..s.n).map(diff).min().unwrap());
        }
    }

    #[test]
    fn a_given_bank_recovers_the_index_of_a_stacked_layer_exactly() {
        let l = Stacked::new(7, (12, 4, 6, 5, 3));
        let (o, m, n, d, k) = l.dims;
        let given = GivenBank { origin: "bank.npy".into(), shape: vec![n, d, k, k], data: l.bank.clone() };
        let s = convert(&l.conv(), &SlbfOptions { bank: Some(given), ..opts() }).unwrap();
        assert_eq!((s.n, s.d, s.m, s.iterations), (n, d, m, 0));
        assert_eq!((&s.index, &s.bank, s.inertia), (&l.index, &l.bank, 0.0));
        let rebuilt =
            crate::reference::float_conv_weights(&Weights::Slbf { bank: s.bank, n, d, index: s.index, m }, o, m * d, k);
        assert_eq!(super::super::relative_error(&l.weights, &rebuilt), 0.0);
    }

    #[test]
    fn k_means_with_one_cluster_per_distinct_sub_filter_reaches_zero_inertia() {
        let l = Stacked::new(8, (16, 3, 7, 2, 3));
        let (o, m, n, d, _) = l.dims;
        for seed in 0..5 {
            let s = convert(&l.conv(), &SlbfOptions { slice_channels: Some(d), bank_size: Some(n), seed, ..opts() })
                .unwrap();
            assert_eq!(s.inertia, 0.0, "seed {seed}");
            // The same partition as the known index (the bank's order is k-means' own).
            for a in 0..o * m {
                for b in 0..o * m {
                    assert_eq!(l.index[a] == l.index[b], s.index[a] == s.index[b]);
                }
            }
        }
    }

    #[test]
    fn bad_options_are_one_line_errors() {
        let weights = vec![0.5f32; 4 * 6 * 9];
        let w = ConvWeights { out_channels: 4, in_channels: 6, kernel: 3, weights: &weights };
        let e = convert(&w, &SlbfOptions { slice_channels: Some(4), ..opts() }).unwrap_err().to_string();
        assert!(e.contains("--slice-channels = 4") && e.contains("1, 2, 3, 6"), "{e}");
        let e = convert(&w, &SlbfOptions { slice_channels: Some(3), bank_size: Some(9), ..opts() }).unwrap_err();
        assert!(e.to_string().contains("expected 1..=8"), "{e}");
        let given = GivenBank { origin: "b.npy".into(), shape: vec![2, 3, 5, 5], data: vec![0.0; 150] };
        let e = convert(&w, &SlbfOptions { bank: Some(given), ..opts() }).unwrap_err().to_string();
        assert!(e.contains("b.npy") && e.contains("[n, d, 3, 3]"), "{e}");
        // Defaults: d = 6 (divides 6, at most 32), m = 1, n = ceil(4 / 4) = 1.
        let s = convert(&w, &opts()).unwrap();
        assert_eq!((s.d, s.m, s.n), (6, 1, 1));
    }
}
