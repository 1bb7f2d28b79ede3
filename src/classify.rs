//! What a network's output says about an image: its class, the argmax (first maximum) of the
//! last layer's output dequantised to real values (`reference::dequantise`: the layer's real
//! per-group scale and bias applied to raw accumulators), and top-1 figures over a batch. The
//! one definition `golden`, `simulate` and `sweep` all use.

use serde::Serialize;

use crate::network::Network;
use crate::quant::QLayer;
use crate::tensor::Tensor3;

/// Index of the first maximum (NaN never wins; 0 for an empty or all-NaN slice).
pub fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold(0, |best, (i, &x)| if x > v[best] || v[best].is_nan() && !x.is_nan() { i } else { best })
}

/// The class the last layer's output `out` stands for.
pub fn predict(last: &QLayer, out: &Tensor3<i32>) -> usize {
    argmax(&crate::reference::dequantise(last, out).data)
}

/// The float32 reference's class: the argmax of its last layer's output (SPEC 9).
pub fn reference_class(float_last: &Tensor3<f32>) -> usize {
    argmax(&float_last.data)
}

/// The network's classes: its last layer's output values (`O` of an fc layer's `[O, 1, 1]`).
pub fn classes(net: &Network) -> usize {
    net.layers.last().map_or(0, |l| l.out_shape.iter().product())
}

/// Top-1 figures of a batch, as the programs report them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Top1 {
    pub images: usize,
    /// Share of images whose class is the float32 reference's.
    pub top1_agreement: f64,
    /// With labels: share of images classified as labelled, and how many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top1_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<usize>,
    /// With labels: the float32 reference's top-1 accuracy (what the network computes without
    /// the accelerator's integer arithmetic, SPEC 9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_top1_accuracy: Option<f64>,
}

impl Top1 {
    /// From each image's predicted class, the float reference's, and the labels if any.
    pub fn new(predicted: &[usize], reference: &[usize], labels: Option<&[usize]>) -> Top1 {
        let n = predicted.len();
        let share = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let same = |other: &[usize]| predicted.iter().zip(other).filter(|(a, b)| a == b).count();
        let correct = labels.map(same);
        let reference_correct = labels.map(|l| reference.iter().zip(l).filter(|(a, b)| a == b).count());
        Top1 {
            images: n,
            top1_agreement: share(same(reference)),
            top1_accuracy: correct.map(share),
            correct,
            reference_top1_accuracy: reference_correct.map(share),
        }
    }

    /// Adds the figures to a JSON report object: `images`, `top1_agreement`, and with labels
    /// `top1_accuracy`, `correct` and `reference_top1_accuracy`.
    pub fn add_to(&self, report: &mut serde_json::Value) {
        if let (Some(o), Ok(serde_json::Value::Object(m))) = (report.as_object_mut(), serde_json::to_value(self)) {
            o.extend(m);
        }
    }

    /// The report's line, e.g. `images: 10; top-1 agreement with the float32 reference: 90.0%`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "images: {}; top-1 agreement with the float32 reference: {:.2}%",
            self.images,
            100.0 * self.top1_agreement
        );
        if let (Some(a), Some(c)) = (self.top1_accuracy, self.correct) {
            s += &format!("; top-1 accuracy: {:.2}% ({c} of {} labels)", 100.0 * a, self.images);
        }
        if let Some(r) = self.reference_top1_accuracy {
            s += &format!(" (float32 reference: {:.2}%)", 100.0 * r);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum_and_skips_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, -1.0]), 1);
        assert_eq!(argmax(&[f32::NAN, -5.0, -2.0]), 2);
        assert_eq!(argmax(&[-2.0, f32::NAN, -1.0]), 2);
        assert_eq!(argmax(&[]), 0);
    }

    #[test]
    fn top1_counts_agreement_and_accuracy() {
        let t = Top1::new(&[1, 2, 3, 4], &[1, 2, 0, 0], Some(&[1, 0, 3, 4]));
        assert_eq!((t.images, t.top1_agreement, t.top1_accuracy, t.correct), (4, 0.5, Some(0.75), Some(3)));
        assert_eq!(t.reference_top1_accuracy, Some(0.25));
        assert!(
            t.describe().contains("top-1 accuracy: 75.00% (3 of 4 labels) (float32 reference: 25.00%)"),
            "{}",
            t.describe()
        );
        let t = Top1::new(&[1], &[1], None);
        assert_eq!(serde_json::to_value(&t).unwrap(), serde_json::json!({"images": 1, "top1_agreement": 1.0}));
    }
}
