//! Lloyd's k-means over points stored as the rows of a flat `f64` matrix, with k-means++ or
//! uniformly sampled seeds from a seeded generator: the SLBF bank of `slbf.rs`.
//!
//! Written here rather than taken from linfa-clustering: linfa brings ndarray, linfa-nn, sprs,
//! rayon and their kin (about 40 CPU-seconds more of a clean release build on top of nalgebra,
//! measured with `cargo build --timings`) for a loop of a few dozen lines, and this one fixes what
//! the results depend on: ties go to the lowest index, an empty cluster takes the point farthest
//! from its centroid, and the same seed gives the same bank on every machine.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How the first centroids are picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// k-means++ (Arthur & Vassilvitskii 2007): each next seed is a point drawn with probability
    /// proportional to its squared distance from the seeds so far.
    KMeansPlusPlus,
    /// `n` distinct points drawn uniformly.
    Random,
}

/// The centroids (`n` rows of `dim`) and the Lloyd iterations (centroid updates) run.
#[derive(Clone, Debug)]
pub struct Clusters {
    pub centroids: Vec<f64>,
    pub iterations: usize,
}

pub fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The centroid nearest to `p` and its squared distance; the lowest index on a tie.
pub fn nearest(p: &[f64], centroids: &[f64], dim: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, c) in centroids.chunks_exact(dim).enumerate() {
        let d = sq_dist(p, c);
        if d < best.1 {
            best = (j, d);
        }
    }
    best
}

fn seeds(points: &[f64], dim: usize, n: usize, init: Init, rng: &mut StdRng) -> Vec<f64> {
    let count = points.len() / dim;
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let picked: Vec<usize> = match init {
        Init::Random => rand::seq::index::sample(rng, count, n).into_vec(),
        Init::KMeansPlusPlus => {
            let mut picked = vec![rng.gen_range(0..count)];
            let mut d2: Vec<f64> = (0..count).map(|i| sq_dist(row(i), row(picked[0]))).collect();
            while picked.len() < n {
                let total: f64 = d2.iter().sum();
                // Every point sits on a seed already (fewer distinct points than n): any will do.
                let next = if total > 0.0 {
                    let mut r = rng.gen::<f64>() * total;
                    let mut chosen = count - 1;
                    for (i, &d) in d2.iter().enumerate() {
                        if d > 0.0 && r < d {
                            chosen = i;
                            break;
                        }
                        r -= d;
                    }
                    // Rounding can run past the end: take the last point that is not a seed.
                    if d2[chosen] == 0.0 {
                        chosen = d2.iter().rposition(|&d| d > 0.0).expect("total > 0");
                    }
                    chosen
                } else {
                    rng.gen_range(0..count)
                };
                picked.push(next);
                for (i, d) in d2.iter_mut().enumerate() {
                    *d = d.min(sq_dist(row(i), row(next)));
                }
            }
            picked
        }
    };
    picked.iter().flat_map(|&i| row(i).iter().copied()).collect()
}

/// Lloyd's algorithm: `n` clusters of the rows of `points` (`dim` columns), at most
/// `max_iterations` centroid updates, stopping early when no point changes cluster.
/// Needs `1 <= n <= rows`.
pub fn lloyd(points: &[f64], dim: usize, n: usize, init: Init, seed: u64, max_iterations: usize) -> Clusters {
    let count = points.len() / dim;
    assert!(n >= 1 && n <= count && dim >= 1, "k-means needs 1 <= n <= the number of points");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut centroids = seeds(points, dim, n, init, &mut rng);
    let mut assign = vec![usize::MAX; count];
    let mut dist = vec![0f64; count];
    let mut iterations = 0;
    while iterations < max_iterations {
        let mut changed = false;
        for (i, p) in points.chunks_exact(dim).enumerate() {
            let (j, d) = nearest(p, &centroids, dim);
            changed |= assign[i] != j;
            assign[i] = j;
            dist[i] = d;
        }
        if !changed {
            break; // the centroids are already the means of their clusters
        }
        iterations += 1;
        let mut sums = vec![0f64; n * dim];
        let mut counts = vec![0usize; n];
        for (i, p) in points.chunks_exact(dim).enumerate() {
            counts[assign[i]] += 1;
            sums[assign[i] * dim..(assign[i] + 1) * dim].iter_mut().zip(p).for_each(|(s, v)| *s += v);
        }
        // An empty cluster takes the point farthest from its centroid (from a cluster that keeps
        // at least one point), as scikit-learn does.
        for j in 0..n {
            if counts[j] > 0 {
                continue;
            }
            let far = (0..count).filter(|&i| counts[assign[i]] > 1).fold(None, |best: Option<usize>, i| match best {
                Some(b) if dist[b] >= dist[i] => Some(b),
                _ => Some(i),
            });
            let Some(i) = far else { break };
            let (old, p) = (assign[i], &points[i * dim..(i + 1) * dim]);
            counts[old] -= 1;
            sums[old * dim..(old + 1) * dim].iter_mut().zip(p).for_each(|(s, v)| *s -= v);
            counts[j] = 1;
            sums[j * dim..(j + 1) * dim].copy_from_slice(p);
            assign[i] = j;
            dist[i] = 0.0;
        }
        for j in 0..n {
            if counts[j] > 0 {
                for t in 0..dim {
                    centroids[j * dim + t] = sums[j * dim + t] / counts[j] as f64;
                }
            }
        }
    }
    Clusters { centroids, iterations }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight groups on a line: k-means++ seeds one per group whatever the seed (a point of
    /// a seeded group is ~2500 times less likely than one of another group), so Lloyd ends with
    /// the groups' means. Uniform seeds may start two in one group and end in a local optimum,
    /// but still at a fixed point: every centroid the mean of the points nearest to it.
    #[test]
    fn finds_separated_groups_and_stops_at_a_fixed_point() {
        let points: Vec<f64> = [0.0, 0.1, 0.2, 10.0, 10.1, 10.2, 20.0, 20.1, 20.2].to_vec();
        for seed in 0..10 {
            let c = lloyd(&points, 1, 3, Init::KMeansPlusPlus, seed, 100);
            let mut cs = c.centroids.clone();
            cs.sort_by(f64::total_cmp);
            let want = [0.1, 10.1, 20.1];
            assert!(cs.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9), "seed {seed}: {cs:?}");
            let r = lloyd(&points, 1, 3, Init::Random, seed, 100);
            for (j, &c) in r.centroids.iter().enumerate() {
                let mine: Vec<f64> =
                    points.iter().copied().filter(|&p| nearest(&[p], &r.centroids, 1).0 == j).collect();
                let mean = mine.iter().sum::<f64>() / mine.len() as f64;
                assert!((mean - c).abs() < 1e-9, "random seed {seed}: {:?}", r.centroids);
            }
        }
    }

    #[test]
    fn same_seed_same_result_and_ties_go_to_the_lowest_index() {
        let points: Vec<f64> = (0..40).map(|i| ((i * 7919) % 97) as f64).collect();
        let a = lloyd(&points, 2, 5, Init::KMeansPlusPlus, 42, 50);
        let b = lloyd(&points, 2, 5, Init::KMeansPlusPlus, 42, 50);
        assert_eq!(a.centroids, b.centroids);
        assert_eq!(nearest(&[1.0], &[0.0, 2.0, 1.0, 1.0], 1), (2, 0.0));
        assert_eq!(nearest(&[1.0], &[0.0, 2.0], 1).0, 0);
    }

    /// More clusters than distinct points: k-means++ seeds every distinct point once, then
    /// repeats; no panic, zero spread.
    #[test]
    fn more_clusters_than_distinct_points() {
        let points = vec![1.0, 1.0, 1.0, 5.0, 5.0];
        let c = lloyd(&points, 1, 4, Init::KMeansPlusPlus, 3, 10);
        assert!(points.iter().all(|p| nearest(&[*p], &c.centroids, 1).1 == 0.0), "{:?}", c.centroids);
    }
}
