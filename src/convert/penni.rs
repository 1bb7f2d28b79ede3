//! A conv layer to PENNI basis kernels and sparse coefficients (SPEC 3.5): the `O * I` kernels of
//! `K * K` floats are approximated by combinations of `d` shared basis kernels found by PCA
//! without centring, then the coefficients are pruned by magnitude.

use anyhow::{bail, Result};
use nalgebra::DMatrix;

use super::ConvWeights;

/// Which coefficients are zeroed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Prune {
    /// Keep every coefficient.
    None,
    /// The PENNI paper's rule: zero `|c| < std(c)`, the standard deviation over all the layer's
    /// coefficients ([choice] the population one, numpy's default: divided by the count).
    Std,
    /// Keep the largest-magnitude fraction `F` in (0, 1]: `round(F * count)` coefficients, ties
    /// in magnitude going to the lower position in `[O, I, d]` order.
    Density(f64),
}

#[derive(Clone, Copy, Debug)]
pub struct PenniOptions {
    /// `d`; default `min(5, K * K)` (5 is the paper's choice for VGG16 on CIFAR-10).
    pub bases: Option<usize>,
    pub prune: Prune,
}

/// The converted layer: basis `[d, K, K]`, coefficients `[O, I, d]` (pruned).
#[derive(Clone, Debug)]
pub struct Penni {
    pub basis: Vec<f32>,
    pub d: usize,
    pub coef: Vec<f32>,
    /// All `K * K` singular values of the kernel matrix, largest first.
    pub singular_values: Vec<f64>,
    /// Non-zero coefficients after pruning.
    pub nnz: usize,
}

/// PCA without centring (the model `W[o, c] = sum_j coef[o, c, j] * basis[j]` has no mean term):
/// the basis is the top `d` right singular vectors of the `rows x kk` kernel matrix, the
/// coefficients the kernels' projections on the float32 basis that is written. Each basis
/// kernel's sign is fixed so that its largest-magnitude entry (the first such) is positive,
/// making the result independent of the SVD's sign choices. Returns (basis, coef, all `kk`
/// singular values in descending order).
pub fn decompose(kernels: &[f32], kk: usize, d: usize) -> (Vec<f32>, Vec<f32>, Vec<f64>) {
    let rows = kernels.len() / kk;
    // Zero rows up to kk rows give a full kk x kk V (wide matrices have fewer singular vectors)
    // without changing it.
    let padded = rows.max(kk);
    let m = DMatrix::<f64>::from_fn(padded, kk, |r, t| if r < rows { kernels[r * kk + t] as f64 } else { 0.0 });
    let svd = m.svd(false, true);
    let v_t = svd.v_t.expect("v_t was requested");
    let mut order: Vec<usize> = (0..kk).collect();
    order.sort_by(|&a, &b| svd.singular_values[b].total_cmp(&svd.singular_values[a]).then(a.cmp(&b)));
    let singular_values = order.iter().map(|&j| svd.singular_values[j]).collect();
    let mut basis = Vec::with_capacity(d * kk);
    for &j in &order[..d] {
        let v: Vec<f64> = v_t.row(j).iter().copied().collect();
        let peak = (0..kk).fold(0, |best, t| if v[t].abs() > v[best].abs() { t } else { best });
        let sign = if v[peak] < 0.0 { -1.0 } else { 1.0 };
        basis.extend(v.iter().map(|&x| (sign * x) as f32));
    }
    let coef = kernels
        .chunks_exact(kk)
        .flat_map(|w| {
            basis.chunks_exact(kk).map(move |b| w.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum::<f64>() as f32)
        })
        .collect();
    (basis, coef, singular_values)
}

/// Keeps the `keep` largest-magnitude coefficients (ties: lower position first), zeroes the rest.
pub fn keep_largest(coef: &mut [f32], keep: usize) {
    let mut order: Vec<usize> = (0..coef.len()).collect();
    order.sort_by(|&a, &b| coef[b].abs().total_cmp(&coef[a].abs()).then(a.cmp(&b)));
    for &i in &order[keep.min(coef.len())..] {
        coef[i] = 0.0;
    }
}

/// Applies a pruning rule; returns the non-zero coefficients left.
pub fn prune(coef: &mut [f32], rule: Prune) -> usize {
    match rule {
        Prune::None => {}
        Prune::Std => {
            let n = coef.len() as f64;
            let mean = coef.iter().map(|&c| c as f64).sum::<f64>() / n;
            let std = (coef.iter().map(|&c| (c as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            coef.iter_mut().filter(|c| ((**c).abs() as f64) < std).for_each(|c| *c = 0.0);
        }
        Prune::Density(f) => keep_largest(coef, (f * coef.len() as f64).round() as usize),
    }
    coef.iter().filter(|&&c| c != 0.0).count()
}

pub fn convert(w: &ConvWeights, opts: &PenniOptions) -> Result<Penni> {
    let kk = w.kernel * w.kernel;
    let d = opts.bases.unwrap_or(kk.min(5));
    if d == 0 || d > kk {
        bail!("--bases {d}: expected 1..={kk} (K * K for the {0}x{0} kernel)", w.kernel);
    }
    if let Prune::Density(f) = opts.prune {
        if !(f > 0.0 && f <= 1.0) {
            bail!("--density {f}: expected a fraction in (0, 1]");
        }
    }
    let (basis, mut coef, singular_values) = decompose(w.weights, kk, d);
    let nnz = prune(&mut coef, opts.prune);
    Ok(Penni { basis, d, coef, singular_values, nnz })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Weights;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// `count` orthonormal vectors of length `len` (Gram-Schmidt on random vectors), float64.
    fn orthonormal(rng: &mut StdRng, count: usize, len: usize) -> Vec<Vec<f64>> {
        let mut out: Vec<Vec<f64>> = Vec::new();
        while out.len() < count {
            let mut v: Vec<f64> = (0..len).map(|_| rng.gen_range(-1.0..1.0)).collect();
            for u in &out {
                let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
            }
            let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm > 1e-3 {
                out.push(v.iter().map(|a| a / norm).collect());
            }
        }
        out
    }

    /// The rebuilt weights' relative Frobenius error, through the float reference's own rebuild.
    fn error_of(kernels: &[f32], p: &Penni, o: usize, i: usize, k: usize) -> f64 {
        let w = Weights::Penni { basis: p.basis.clone(), d: p.d, coef: p.coef.clone() };
        super::super::relative_error(kernels, &crate::reference::float_conv_weights(&w, o, i, k))
    }

    #[test]
    fn a_layer_built_from_d_orthonormal_bases_is_rebuilt_to_float_precision() {
        let mut rng = StdRng::seed_from_u64(3);
        let (o, i, k, d) = (8, 6, 3, 4);
        let bases = orthonormal(&mut rng, d, k * k);
        let kernels: Vec<f32> = (0..o * i)
            .flat_map(|_| {
                let c: Vec<f64> = (0..d).map(|_| rng.gen_range(-2.0..2.0)).collect();
                (0..k * k).map(|t| (0..d).map(|j| c[j] * bases[j][t]).sum::<f64>() as f32).collect::<Vec<_>>()
            })
            .collect();
        let w = ConvWeights { out_channels: o, in_channels: i, kernel: k, weights: &kernels };
        let p = convert(&w, &PenniOptions { bases: Some(d), prune: Prune::None }).unwrap();
        assert_eq!(p.nnz, o * i * d);
        let e = error_of(&kernels, &p, o, i, k);
        assert!(e < 1e-6, "relative error {e}");
        // The discarded singular values are zero (up to float32 rounding of the kernels).
        assert!(p.singular_values[d] < 1e-5 * p.singular_values[0], "{:?}", p.singular_values);
    }

    /// Kernels with known singular values `s` (M = A diag(s) V^T with orthonormal A and V): with
    /// `d` bases the squared relative error is the discarded energy, sum of the other s^2 over
    /// the sum of all s^2, which is also the sum of squares of the kernels.
    #[test]
    fn fewer_bases_lose_exactly_the_discarded_singular_values_energy() {
        let mut rng = StdRng::seed_from_u64(4);
        let (o, i, k) = (10, 7, 3);
        let kk = k * k;
        let s: Vec<f64> = (0..kk).map(|j| 9.0 - j as f64 * 0.9).collect();
        let a = orthonormal(&mut rng, kk, o * i);
        let v = orthonormal(&mut rng, kk, kk);
        let kernels: Vec<f32> =
            (0..o * i * kk).map(|x| (0..kk).map(|j| a[j][x / kk] * s[j] * v[j][x % kk]).sum::<f64>() as f32).collect();
        let total: f64 = s.iter().map(|x| x * x).sum();
        let sum_sq: f64 = kernels.iter().map(|&x| (x as f64).powi(2)).sum();
        assert!((sum_sq - total).abs() < 1e-4 * total, "{sum_sq} vs {total}");
        let w = ConvWeights { out_channels: o, in_channels: i, kernel: k, weights: &kernels };
        for d in 1..=kk {
            let p = convert(&w, &PenniOptions { bases: Some(d), prune: Prune::None }).unwrap();
            let want = (s[d..].iter().map(|x| x * x).sum::<f64>() / total).sqrt();
            let got = error_of(&kernels, &p, o, i, k);
            assert!((got - want).abs() < 1e-5, "d = {d}: error {got}, expected {want}");
        }
    }

    #[test]
    fn density_pruning_keeps_exactly_round_f_count_coefficients() {
        let mut rng = StdRng::seed_from_u64(5);
        let coef: Vec<f32> =
            (0..37).map(|_| rng.gen_range(0.1f32..1.0) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 }).collect();
        for (f, want) in [(0.01, 0), (0.1, 4), (0.25, 9), (0.5, 19), (0.77, 28), (1.0, 37)] {
            // round(0.5 * 37 = 18.5) = 19: half away from zero, as SPEC's round.
            let mut c = coef.clone();
            assert_eq!(prune(&mut c, Prune::Density(f)), want, "F = {f}");
            let smallest_kept = c.iter().filter(|&&x| x != 0.0).fold(f32::INFINITY, |a, &x| a.min(x.abs()));
            let largest_dropped =
                coef.iter().zip(&c).filter(|(_, &k)| k == 0.0).fold(0f32, |a, (&x, _)| a.max(x.abs()));
            assert!(want == 0 || smallest_kept >= largest_dropped, "F = {f}");
        }
        // Equal magnitudes: the lower positions are kept.
        let mut c = vec![0.5f32, -0.5, 0.5, -0.5, 0.5];
        assert_eq!(prune(&mut c, Prune::Density(0.4)), 2);
        assert_eq!(c, vec![0.5, -0.5, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn std_pruning_zeroes_below_the_population_standard_deviation() {
        // mean 0, population std sqrt((4 + 4 + 0.25 + 0.25 + 0) / 5) = sqrt(1.7) ~ 1.304
        let mut c = vec![2.0f32, -2.0, 0.5, -0.5, 0.0];
        assert_eq!(prune(&mut c, Prune::Std), 2);
        assert_eq!(c, vec![2.0, -2.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn bad_options_are_errors() {
        let kernels = vec![1.0f32; 2 * 2 * 9];
        let w = ConvWeights { out_channels: 2, in_channels: 2, kernel: 3, weights: &kernels };
        let e = convert(&w, &PenniOptions { bases: Some(10), prune: Prune::None }).unwrap_err().to_string();
        assert!(e.contains("--bases 10") && e.contains("1..=9"), "{e}");
        let e = convert(&w, &PenniOptions { bases: None, prune: Prune::Density(1.5) }).unwrap_err().to_string();
        assert!(e.contains("(0, 1]"), "{e}");
        assert_eq!(convert(&w, &PenniOptions { bases: None, prune: Prune::None }).unwrap().d, 5);
    }
}
