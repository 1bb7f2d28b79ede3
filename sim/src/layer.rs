//! One layer on the simulated core: the host's part (descriptor, streams, the DRAM records of
//! the input), the cycle loop that drives the core model through its ports as the RTL
//! testbench does (`hdl/src/cosim/mod.rs`), and the datapath events of every cycle.

use anyhow::{bail, Result};

use crate::core::{Core, CoreShape, Events, PortsIn};
use crate::datapath::Datapath;
use crate::decoder::DecoderShape;
use crate::encoder::EncoderShape;
use crate::gather::GatherLayer;
use crate::{act_loader::LoaderShape, controller::Bounds, sequencer::SeqShape};
use cbnn::codec::{self, BlockCost, Encoded};
use cbnn::config::AccelConfig;
use cbnn::hw::codec_geom::CodecGeom;
use cbnn::hw::descriptor::MODE_ACC;
use cbnn::hw::dram::{result_beat_bytes, weight_beat_bytes, Dram, ACT, WEIGHT};
use cbnn::hw::trace::RandomGates;
use cbnn::hw::{streams, LayerDescriptor, LayerKind};
use cbnn::quant::QLayer;
use cbnn::tensor::Tensor3;

/// How the core's streams are served: the RTL testbench's `Traffic`, the same type.
pub use cbnn::hw::trace::Traffic;

/// A tensor in DRAM: its values as a layer reads them and, with the codec, its records.
#[derive(Clone, Debug)]
pub struct Stored {
    pub tensor: Tensor3<i32>,
    pub bits: u32,
    pub coded: Option<Encoded>,
}

impl Stored {
    /// `t` written by the host or a layer: coded with `p` when the core has the codec and the
    /// values are not accumulators.
    pub fn new(cfg: &AccelConfig, t: Tensor3<i32>, bits: u32, p: &codec::CodecParams) -> Result<Self> {
        if !cfg.codec.enabled || bits == cbnn::network::ACC_BITS {
            return Ok(Stored { tensor: t, bits, coded: None });
        }
        let e = codec::encode(&t, bits, p);
        let tensor = codec::decode(&e.bytes, t.c, t.h, t.w, bits, p)
            .map_err(|err| anyhow::anyhow!("the stored tensor does not decode: {err}"))?;
        Ok(Stored { tensor, bits, coded: Some(e) })
    }
}

/// One layer's simulation.
#[derive(Clone, Debug)]
pub struct LayerResult {
    /// The output as stored (the next layer's input).
    pub stored: Stored,
    /// Cycles from the `start` edge to the first cycle with `busy` low, as the RTL testbench counts.
    pub cycles: u64,
    /// Of these, cycles with the controller computing output rows (phase `ROWS`).
    pub compute_cycles: u64,
    /// Of these, cycles with the controller loading (`Phase::is_load`): input rows, weights,
    /// entries, with their set-up and settle cycles.
    pub load_cycles: u64,
    /// Cycles the array's pass engine issued an activation read (every PE busy).
    pub array_cycles: u64,
    /// The codec's byte counters (0 without the codec).
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Bytes on the core's DRAM streams: activations read (records with the codec), weights
    /// read, results written (records with the codec).
    pub act_bytes: u64,
    pub weight_bytes: u64,
    pub written_bytes: u64,
    /// Activation values fetched (rows shared by two bands count twice) and values written.
    pub values_in: u64,
    pub values_out: u64,
    /// Cycles a stream of the core waited on memory: a block wanted by the loader (or a weight
    /// word) not offered, or an output beat not taken.
    pub read_stalls: u64,
    pub write_stalls: u64,
}

impl CoreShape {
    pub fn new(cfg: &AccelConfig, d: &LayerDescriptor) -> Self {
        let [t_ch, _, t_w] = d.in_shape;
        let codec = cfg.codec.enabled.then(|| {
            let g = CodecGeom::from_config(cfg);
            (
                DecoderShape::new(&g, &d.in_codec, t_ch, t_w),
                GatherLayer {
                    cols: cfg.array.cols,
                    g_hw: cfg.datapath.scale_group,
                    block: cfg.codec.block,
                    w_out: d.w_out,
                    band_out_rows: d.band_out_rows,
                    h_out: d.h_out,
                    filter_tiles: d.filter_tiles,
                    c_out: d.c_out,
                    grouped: d.kind.grouped(),
                },
                EncoderShape::new(&g, &d.out_codec),
            )
        });
        CoreShape {
            bounds: Bounds::new(d, cfg),
            loader: LoaderShape {
                lanes: cfg.array.lanes,
                beat: cfg.beat_values(),
                segment: cfg.segment(),
                c_in: d.c_in,
                t_ch,
                t_w,
                fc: d.kind == LayerKind::Fc,
                planes: d.planes,
            },
            seq: SeqShape { passes: d.steps, rows: cfg.array.rows, w_out: d.w_out, planes: d.pass_planes },
            w_out: d.w_out,
            g_hw: cfg.datapath.scale_group,
            store_delay: cbnn::hw::pipeline::step_to_acc(cfg.array.rows, cfg.array.cols) as u64,
            codec,
            is_acc: d.out_mode == MODE_ACC,
            run_entries: d.run_entries.clone(),
        }
    }
}

/// The record beats of the layer's activation stream with the codec: every record of
/// `record_reads` as `ceil(bytes / P)` beats `(nbytes, last)`; and the coded length of each
/// block (bits and Exp-Golomb fields) in the order the decoder parses them.
fn record_stream(d: &LayerDescriptor, cfg: &AccelConfig, e: &Encoded) -> (Vec<(u32, bool)>, Vec<BlockCost>) {
    let [c, h, w] = d.in_shape;
    let segs = c.div_ceil(cfg.segment());
    let p = cfg.dram.bytes_per_cycle;
    // First block of every record, in the tensor's record order.
    let mut first = Vec::with_capacity((h * segs) as usize + 1);
    let mut at = 0u32;
    for _y in 0..h {
        for s in codec::segments(c as usize, cfg.segment() as usize) {
            first.push(at);
            at += w * codec::segment_blocks(s, cfg.codec.block as usize).count() as u32;
        }
    }
    first.push(at);
    let (mut beats, mut blocks) = (Vec::new(), Vec::new());
    for (y, s) in streams::record_reads(d, cfg) {
        let r = (y * segs + s) as usize;
        let n = e.records[r] as u32;
        let k = n.div_ceil(p).max(1);
        for i in 0..k {
            beats.push(((n - i * p).min(p), i + 1 == k));
        }
        blocks.extend_from_slice(&e.blocks[first[r] as usize..first[r + 1] as usize]);
    }
    (beats, blocks)
}

/// Watches the core cycle by cycle (waveforms): the ports' inputs and the cycle's events.
pub trait Probe {
    /// A network's layer `index` is about to start (its cycles follow).
    fn layer_start(&mut self, _index: usize) {}
    fn cycle(&mut self, p: &PortsIn, e: &crate::core::Events) -> Result<()>;
}

/// Runs `layer` on the core generated from `cfg`, reading `input` from DRAM.
pub fn run_layer(cfg: &AccelConfig, layer: &QLayer, input: &Stored, traffic: Traffic) -> Result<LayerResult> {
    run_layer_probed(cfg, layer, input, traffic, None)
}

/// The data of a layer's streams, as the host prepared them, and where the core is in each.
struct LayerStreams {
    /// The activation values' beats (the loader's view) and the weight words.
    beats: Vec<streams::ActBeat>,
    words: Vec<u128>,
    /// The activation port's beats `(bytes, last)`: value beats, or record beats.
    port: Vec<(u32, bool)>,
    /// With the codec: each block's coded length, in the order the decoder parses them.
    head_costs: Vec<BlockCost>,
    /// Bytes of a weight word and of a result beat.
    wb: u32,
    out_bytes: u32,
    /// Port beats and weight words taken, value beats written, blocks parsed, bands started.
    ai: usize,
    wi: usize,
    bi: usize,
    hi: usize,
    bands: usize,
}

impl LayerStreams {
    fn new(cfg: &AccelConfig, layer: &QLayer, d: &LayerDescriptor, shape: &CoreShape, input: &Stored) -> Result<Self> {
        let beats = streams::layer_act_stream(d, cfg, &input.tensor, layer.in_bits);
        let words = streams::layer_weight_stream(layer, d, cfg);
        let (port, head_costs) = match (&shape.codec, &input.coded) {
            (None, _) => (beats.iter().map(|b| (b.codes.len() as u32, false)).collect::<Vec<_>>(), Vec::new()),
            (Some(_), Some(e)) => record_stream(d, cfg, e),
            (Some(_), None) => bail!("layer {}: the core has the codec but the input is not coded", layer.name),
        };
        let (wb, out_bytes) = (weight_beat_bytes(cfg), result_beat_bytes(cfg, d.out_mode));
        Ok(LayerStreams { beats, words, port, head_costs, wb, out_bytes, ai: 0, wi: 0, bi: 0, hi: 0, bands: 0 })
    }
}

/// What serves the core's streams: the DRAM model, random gates, or nothing (always ready).
struct Environment {
    dram: Option<Dram>,
    gates: Option<RandomGates>,
}

impl Environment {
    fn new(cfg: &AccelConfig, traffic: Traffic, st: &LayerStreams) -> Self {
        let dram = (traffic == Traffic::Dram)
            .then(|| Dram::new(cfg, st.port.iter().map(|&(n, _)| n).collect(), vec![st.wb; st.words.len()]));
        let gates = match traffic {
            Traffic::Random(seed) => Some(RandomGates::new(seed)),
            _ => None,
        };
        Environment { dram, gates }
    }

    /// The start of cycle `t`: what the environment offers, `(act_valid, w_valid, write_ready)`.
    fn offer(&mut self, t: u64, st: &LayerStreams) -> (bool, bool, bool) {
        if let Some(m) = &mut self.dram {
            m.begin_cycle();
            return (m.read_valid(ACT, t), m.read_valid(WEIGHT, t), m.write_ready());
        }
        let (ga, gw, go) = self.gates.as_mut().map_or((true, true, true), |g| g.step());
        (st.ai < st.port.len() && ga, st.wi < st.words.len() && gw, go)
    }

    /// The end of cycle `t`: the transfers of `e` reach the DRAM model, which then requests.
    fn settle(&mut self, t: u64, e: &Events, st: &LayerStreams) {
        let Some(m) = &mut self.dram else { return };
        if e.act_take {
            m.take(ACT);
        }
        if e.w_take {
            m.take(WEIGHT);
        }
        if e.out_take {
            m.write(st.out_bytes);
        }
        if let Some(c) = e.code {
            m.write(c.nbytes);
        }
        m.end_cycle(t);
    }
}

/// A cycle's events on the datapath and the layer's counts: values into the banks, runs,
/// drains and combine passes, bytes on the streams.
fn consume(
    e: &Events,
    st: &mut LayerStreams,
    dp: &mut Datapath,
    d: &LayerDescriptor,
    shape: &CoreShape,
    r: &mut LayerResult,
) {
    r.compute_cycles += (e.phase == cbnn::hw::control::Phase::Rows) as u64;
    r.load_cycles += e.phase.is_load() as u64;
    r.array_cycles += e.seq_issue as u64;
    if e.load_start {
        dp.start_band(shape.bounds.band_in[st.bands].start);
        st.bands += 1;
    }
    if e.w_load_start {
        dp.start_tile();
    }
    if e.act_take {
        r.act_bytes += st.port[st.ai].0 as u64;
        st.ai += 1;
    }
    if e.act_fire {
        r.values_in += st.beats[st.bi].codes.len() as u64;
        dp.write_beat(&st.beats[st.bi]);
        st.bi += 1;
    }
    if e.w_take {
        r.weight_bytes += st.wb as u64;
        dp.write_weight(st.words[st.wi]);
        st.wi += 1;
    }
    if e.out_take {
        r.written_bytes += st.out_bytes as u64;
    }
    if let Some(c) = e.code {
        r.written_bytes += c.nbytes as u64;
    }
    if let Some((tile, y, bank)) = e.go {
        match &d.grouped {
            // A grouped layer's run `tile` of the row: group and bank tile.
            Some(g) => dp.run_group(tile / g.bank_tiles, tile % g.bank_tiles, y, bank),
            None => dp.run(tile, y, bank),
        }
    }
    if let Some(bank) = e.drain_start {
        dp.drain(bank);
    }
    if let Some(bank) = e.comb_start {
        dp.combine(bank);
    }
    if let Some(tile) = e.oacc_drain {
        dp.drain_oacc(tile);
    }
    if e.dec_fire {
        st.hi += 1;
    }
    if e.enc_take {
        dp.out_blocks.pop_front();
    }
}

/// [`run_layer`] with a probe that sees every cycle.
pub fn run_layer_probed<'p>(
    cfg: &AccelConfig,
    layer: &QLayer,
    input: &Stored,
    traffic: Traffic,
    mut probe: Option<&mut (dyn Probe + 'p)>,
) -> Result<LayerResult> {
    let d = LayerDescriptor::new(layer, cfg)?;
    if input.tensor.shape() != layer.in_shape {
        bail!("layer {}: input of shape {:?}, expected {:?}", layer.name, input.tensor.shape(), layer.in_shape);
    }
    let shape = CoreShape::new(cfg, &d);
    let mut dp = Datapath::new(cfg, &d, layer);
    let mut st = LayerStreams::new(cfg, layer, &d, &shape, input)?;
    let mut env = Environment::new(cfg, traffic, &st);
    let mut core = Core::default();
    core.start();
    let mut r = LayerResult {
        stored: Stored { tensor: Tensor3::zeros(0, 0, 0), bits: 0, coded: None },
        cycles: 0,
        compute_cycles: 0,
        load_cycles: 0,
        array_cycles: 0,
        bytes_in: 0,
        bytes_out: 0,
        act_bytes: 0,
        weight_bytes: 0,
        written_bytes: 0,
        values_in: 0,
        values_out: 0,
        read_stalls: 0,
        write_stalls: 0,
    };
    let mut t = 0u64;
    while core.busy(&shape) {
        if t > 2_000_000_000 {
            bail!("layer {}: the simulated core did not finish in {t} cycles", layer.name);
        }
        let (act_valid, w_valid, write_ready) = env.offer(t, &st);
        let (act_nbytes, act_last) = st.port.get(st.ai).copied().unwrap_or((0, false));
        // A core without the codec has no record port (its `code_ready` is 0, as in the testbench).
        let code_ready = write_ready && shape.codec.is_some();
        let p = PortsIn { act_valid, act_nbytes, act_last, w_valid, out_ready: write_ready, code_ready };
        let head = st.head_costs.get(st.hi).copied().unwrap_or_default();
        let enc = dp.out_blocks.front().copied().unwrap_or_default();
        let e = core.cycle(&shape, &p, head, enc);
        if let Some(pr) = probe.as_deref_mut() {
            pr.cycle(&p, &e)?;
        }
        // Waits on memory (the TB's environment would show the same), before the cycle's
        // transfers move the streams on. A port that wants data the layer no longer has is not
        // waiting on memory.
        let act_wait = e.loader_wants && !act_valid && st.ai < st.port.len();
        let w_wait = e.w_ready && !w_valid && st.wi < st.words.len();
        r.read_stalls += (act_wait || w_wait) as u64;
        r.write_stalls += ((e.out_valid || e.code_valid) && !write_ready) as u64;
        consume(&e, &mut st, &mut dp, &d, &shape, &mut r);
        env.settle(t, &e, &st);
        t += 1;
    }
    r.cycles = t;
    let (ai, wi, bi) = (st.ai, st.wi, st.bi);
    if ai != st.port.len() || wi != st.words.len() || bi != st.beats.len() {
        bail!(
            "layer {}: the simulated core took {ai} of {} activation beats, {wi} of {} weight words, {bi} of {} blocks",
            layer.name,
            st.port.len(),
            st.words.len(),
            st.beats.len()
        );
    }
    r.bytes_in = core.dec.bytes;
    r.bytes_out = core.enc.bytes;
    r.values_out = (d.c_out * d.h_out * d.w_out) as u64;
    let out = std::mem::replace(&mut dp.output, Tensor3::zeros(0, 0, 0));
    r.stored = Stored::new(cfg, out, layer.out_bits, &layer.codec)?;
    if let Some(e) = &r.stored.coded {
        if e.bytes.len() as u64 != r.bytes_out {
            bail!(
                "layer {}: the encoder model sent {} bytes, the records hold {}",
                layer.name,
                r.bytes_out,
                e.bytes.len()
            );
        }
    }
    Ok(r)
}
