//! The golden model's per-layer fidelity against the float32 reference over a batch: SQNR for
//! multi-bit and accumulator outputs, sign agreement for binary ones, each summed over all
//! images before the ratio is taken.

use crate::quant::QLayer;
use crate::reference::{self, Sqnr};
use crate::tensor::Tensor3;

/// One layer's sums over the images seen so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fidelity {
    /// Binary outputs: values whose sign is the reference's, of how many.
    Signs {
        agree: u64,
        count: u64,
    },
    Sqnr(Sqnr),
}

impl Fidelity {
    /// One image's sums for `layer`, whose output is `out` and float reference output `reference`.
    pub fn of(layer: &QLayer, out: &Tensor3<i32>, reference: &Tensor3<f32>) -> Fidelity {
        if layer.out_bits == 1 {
            let agree = out.data.iter().zip(&reference.data).filter(|(&q, &r)| (q > 0) == (r >= 0.0)).count();
            Fidelity::Signs { agree: agree as u64, count: out.data.len() as u64 }
        } else {
            let mut s = Sqnr::default();
            s.add(&reference.data, &reference::dequantise(layer, out).data);
            Fidelity::Sqnr(s)
        }
    }

    /// Adds another image's sums of the same layer.
    pub fn merge(&mut self, o: &Fidelity) {
        match (self, o) {
            (Fidelity::Signs { agree, count }, Fidelity::Signs { agree: a, count: c }) => {
                *agree += a;
                *count += c;
            }
            (Fidelity::Sqnr(s), Fidelity::Sqnr(t)) => s.merge(t),
            _ => unreachable!("one layer's fidelity is of one kind"),
        }
    }

    /// The table's text and the report's number: the percentage of signs agreeing, or the SQNR
    /// in dB (`None` when exact: JSON has no infinity).
    pub fn describe(&self) -> (String, Option<f64>) {
        match self {
            Fidelity::Signs { agree, count } => {
                let pct = 100.0 * *agree as f64 / *count as f64;
                (format!("sign agreement {pct:.1}%"), Some(pct))
            }
            Fidelity::Sqnr(s) => {
                let db = s.db();
                if db.is_infinite() {
                    ("SQNR exact (no error)".to_string(), None)
                } else {
                    (format!("SQNR {db:.1} dB"), Some(db))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_figures_sum_before_the_ratio() {
        let mut a = Fidelity::Signs { agree: 1, count: 4 };
        a.merge(&Fidelity::Signs { agree: 3, count: 4 });
        assert_eq!(a.describe(), ("sign agreement 50.0%".to_string(), Some(50.0)));
        // Image 1: signal 4, noise 1; image 2: signal 96, noise 9 -> 10 log10(100 / 10) = 10 dB
        // (the mean of the two images' dB would be about 7.5).
        let mut s = Sqnr::default();
        s.add(&[2.0], &[1.0]);
        let mut f = Fidelity::Sqnr(s);
        let mut t = Sqnr::default();
        t.add(&[4.0, 4.0, 8.0], &[4.0, 1.0, 8.0]);
        f.merge(&Fidelity::Sqnr(t));
        let (text, db) = f.describe();
        assert!((db.unwrap() - 10.0).abs() < 1e-12 && text == "SQNR 10.0 dB", "{text}");
    }
}
