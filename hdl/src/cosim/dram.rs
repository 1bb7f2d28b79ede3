//! The testbench's DRAM for a core with the codec: every stored activation tensor is a grid of
//! record slots, one per (row, segment) (SPEC 8.3), each `slot_bytes` long with its record's
//! length beside it, as a DMA engine that places records by their byte counts would keep it.
//! The core fetches a layer's input records in `streams::record_reads` order and writes its
//! output records in `streams::record_writes` order; the testbench follows two slot lists.
//!
//! Tensor `k` is the input of case `k`: given by the host (encoded here with the layer's input
//! codec) or, for a chained case, the output case `k - 1` wrote during the same simulation. The
//! outputs no chained case reads have tensors of their own after these.

use anyhow::{bail, Result};

use super::{LayerCase, Source};
use crate::codec::CodecGeom;
use cbnn::codec;
use cbnn::config::AccelConfig;
use cbnn::hw::{streams, LayerDescriptor};

/// The DRAM image and the slot lists of every case.
pub(crate) struct DramPlan {
    pub slot_bytes: usize,
    /// Initial contents (`slots * slot_bytes` bytes) and record lengths (per slot).
    pub image: Vec<u8>,
    pub lens: Vec<u32>,
    /// Slots read by all cases in order, and each case's range in it.
    pub reads: Vec<u32>,
    pub read_ranges: Vec<(usize, usize)>,
    pub writes: Vec<u32>,
    pub write_ranges: Vec<(usize, usize)>,
    /// First slot of each tensor and its segments per row.
    base: Vec<u32>,
    segs: Vec<u32>,
}

fn grid(shape: [usize; 3], cfg: &AccelConfig) -> (u32, u32) {
    (shape[1] as u32, (shape[0] as u32).div_ceil(cfg.segment()))
}

impl DramPlan {
    pub fn new(cfg: &AccelConfig, cases: &[LayerCase]) -> Result<Self> {
        let g = CodecGeom::from_config(cfg);
        // Tensors 0..n: the input of each case; then, for each case whose output the next case
        // does not read (the last case, or one before a case given its input), a tensor of its
        // own for its output records, so that they never land on the next case's input.
        let mut shapes: Vec<[usize; 3]> = cases.iter().map(|c| c.layer.in_shape).collect();
        let mut outputs = Vec::new();
        for (k, c) in cases.iter().enumerate() {
            if cases.get(k + 1).is_some_and(|next| matches!(next.input, Source::Previous)) {
                outputs.push(k + 1);
            } else {
                outputs.push(shapes.len());
                shapes.push(c.layer.out_shape);
            }
        }
        let (mut base, mut segs, mut slots) = (Vec::new(), Vec::new(), 0u32);
        for s in &shapes {
            let (rows, sg) = grid(*s, cfg);
            base.push(slots);
            segs.push(sg);
            slots += rows * sg;
        }
        // The longest record the encoder can write: every block at its longest.
        let mut slot_bytes = 1;
        for s in &shapes {
            let blocks = (s[0].min(g.segment)).div_ceil(g.block) * s[2];
            slot_bytes = slot_bytes.max((blocks * g.block_bits).div_ceil(8) + 1 + g.check_bits() / 8);
        }
        let mut inputs = Vec::new();
        for (k, c) in cases.iter().enumerate() {
            match c.input {
                Source::Tensor(t) => {
                    let e = codec::encode(t, c.layer.in_bits, &c.layer.in_codec);
                    let mut rest = e.bytes.as_slice();
                    let mut records = Vec::new();
                    for &n in &e.records {
                        let (record, tail) = rest.split_at(n);
                        records.push(record.to_vec());
                        rest = tail;
                    }
                    inputs.push((k, records));
                }
                Source::Records(r) => {
                    let (rows, sg) = grid(c.layer.in_shape, cfg);
                    if r.len() != (rows * sg) as usize {
                        bail!("layer {}: {} records given, its input has {}", c.layer.name, r.len(), rows * sg);
                    }
                    inputs.push((k, r.to_vec()));
                }
                Source::Previous => {
                    let Some(prev) = k.checked_sub(1).map(|p| cases[p].layer) else {
                        bail!("case 0 cannot read a previous layer's output");
                    };
                    if prev.out_shape != c.layer.in_shape
                        || prev.codec != c.layer.in_codec
                        || prev.out_bits != c.layer.in_bits
                    {
                        bail!(
                            "layer {} does not read what layer {} writes (shape, bits or codec differ)",
                            c.layer.name,
                            prev.name
                        );
                    }
                }
            }
        }
        for (_, records) in &inputs {
            slot_bytes = slot_bytes.max(records.iter().map(Vec::len).max().unwrap_or(0));
        }
        let mut image = vec![0u8; slots as usize * slot_bytes];
        let mut lens = vec![0u32; slots as usize];
        for (k, records) in inputs {
            for (r, rec) in records.iter().enumerate() {
                let slot = base[k] as usize + r;
                debug_assert!(r < (shapes[k][1] as u32 * segs[k]) as usize);
                image[slot * slot_bytes..slot * slot_bytes + rec.len()].copy_from_slice(rec);
                lens[slot] = rec.len() as u32;
            }
        }
        let mut plan = DramPlan {
            slot_bytes,
            image,
            lens,
            reads: Vec::new(),
            read_ranges: Vec::new(),
            writes: Vec::new(),
            write_ranges: Vec::new(),
            base,
            segs,
        };
        for (k, c) in cases.iter().enumerate() {
            let d = LayerDescriptor::new(c.layer, cfg)?;
            let r0 = plan.reads.len();
            let reads: Vec<u32> = streams::record_reads(&d, cfg).into_iter().map(|(y, s)| plan.slot(k, y, s)).collect();
            plan.reads.extend(reads);
            plan.read_ranges.push((r0, plan.reads.len()));
            let w0 = plan.writes.len();
            if d.out_mode != cbnn::hw::descriptor::MODE_ACC {
                let writes: Vec<u32> =
                    streams::record_writes(&d).into_iter().map(|(y, s)| plan.slot(outputs[k], y, s)).collect();
                plan.writes.extend(writes);
            }
            plan.write_ranges.push((w0, plan.writes.len()));
        }
        Ok(plan)
    }

    fn slot(&self, tensor: usize, y: u32, seg: u32) -> u32 {
        self.base[tensor] + y * self.segs[tensor] + seg
    }

    /// Case `k`'s output bitstream from the records it wrote (in write order): the records
    /// placed in their slots and read back in stream order (rows, then segments).
    pub fn output_stream(&self, k: usize, records: &[Vec<u8>]) -> Result<Vec<u8>> {
        let (w0, w1) = self.write_ranges[k];
        if records.len() != w1 - w0 {
            bail!("{} output records, expected {}", records.len(), w1 - w0);
        }
        let mut by_slot: Vec<(u32, &Vec<u8>)> = self.writes[w0..w1].iter().copied().zip(records).collect();
        by_slot.sort_by_key(|(s, _)| *s);
        Ok(by_slot.into_iter().flat_map(|(_, r)| r.iter().copied()).collect())
    }
}
