//! The input: the preprocessing ops between the image and its quantiser become per-channel pixel
//! thresholds (SPEC 2.5). Each of the 256 pixel values of each channel is run through the ops and
//! the quantiser in float32, as the model computes them on `pixel / divisor`, so the thresholds
//! reproduce its input exactly; the same in exact arithmetic tells which decisions float32
//! rounding could flip.

use anyhow::{bail, Result};

use super::chain::Chain;
use super::quantiser::Quantiser;
use super::Acts;
use crate::import::model::Node;
use crate::import::value::Value;

/// The preprocessing seen so far.
pub struct Pending {
    pub shape: [usize; 3],
    pub flat: bool,
    pub chain: Chain,
}

impl Pending {
    pub fn new(shape: [usize; 3]) -> Pending {
        Pending { shape, flat: false, chain: Chain::default() }
    }
}

#[derive(Clone, Debug)]
pub struct InputMap {
    pub shape: [usize; 3],
    pub divisor: f32,
    pub bits: u32,
    /// The step of the input activations (SPEC 2.3; 1 for a binary input).
    pub step: f64,
    pub zero_point: i64,
    /// `[C][2^bits - 1]` (`[C][1]` for a binary input), 256 where a level is never reached.
    pub thresholds: Vec<Vec<u16>>,
    /// The preprocessing nodes and the quantiser.
    pub nodes: Vec<String>,
    pub quantiser: Quantiser,
    /// Pixel values whose level differs between float32 and exact arithmetic.
    pub rounding_sensitive: usize,
    /// The smallest distance of any pixel value from a decision, in quantiser steps.
    pub margin: f64,
}

impl InputMap {
    pub fn notes(&self) -> Vec<String> {
        if self.rounding_sensitive == 0 {
            return vec![];
        }
        vec![format!(
            "input: {} pixel value(s) quantise differently in float32 (as the model runs) and in exact arithmetic; the thresholds follow float32",
            self.rounding_sensitive
        )]
    }
}

/// Ends the preprocessing at the input quantiser `node`.
pub fn close<'b>(
    p: Pending,
    node: &Node,
    constant: &dyn Fn(usize) -> Result<&'b Value>,
    divisor: f32,
) -> Result<(InputMap, Acts)> {
    let q = Quantiser::of(node, constant)?;
    let (levels, bits) = (q.levels(), q.bits());
    let slots = if bits == 1 { 1 } else { (1usize << bits) - 1 };
    let (mut sensitive, mut margin) = (0usize, f64::INFINITY);
    let mut thresholds = Vec::with_capacity(p.shape[0]);
    for c in 0..p.shape[0] {
        let level = |px: u32| -> i64 { q.level32(p.chain.eval32(c, px as f32 / divisor)) };
        let mut row = vec![256u16; slots];
        let mut prev = level(0);
        for j in 1..=prev.min(slots as i64) {
            row[j as usize - 1] = 0;
        }
        for px in 0..=255u32 {
            let l = level(px);
            if l < prev {
                bail!(
                    "channel {c}: the input's level falls from {prev} to {l} at pixel {px} (the preprocessing decreases with the pixel); expected a non-decreasing input quantisation"
                );
            }
            for j in prev + 1..=l {
                row[j as usize - 1] = px as u16;
            }
            prev = l;
            let exact = p.chain.eval64(c, px as f64 / divisor as f64);
            sensitive += usize::from(q.level64(exact) != l);
            margin = margin.min(q.margin(exact));
        }
        thresholds.push(row);
    }
    let mut nodes = p.chain.nodes.clone();
    nodes.push(node.name.clone());
    let step = if bits == 1 { 1.0 } else { q.scale() as f64 };
    let map = InputMap {
        shape: p.shape,
        divisor,
        bits,
        step,
        zero_point: q.zero_point(),
        thresholds,
        nodes,
        quantiser: q,
        rounding_sensitive: sensitive,
        margin,
    };
    let acts = Acts {
        shape: p.shape,
        bits,
        levels,
        binary: bits == 1,
        scale: q.scale(),
        zero_point: q.zero_point(),
        step,
        flat: p.flat,
    };
    Ok((map, acts))
}
