//! Waveforms of the simulated core as VCD, written while the simulation runs (only value changes
//! inside the cycle window are written, so memory does not grow with the window). Signal names
//! are the RTL's (`hdl/src/generator/top.rs`: the top's ports and the wires between controller, compute
//! unit and drain), so a VCD of the simulator and one of the Verilog can be viewed side by side.
//! A file appears under its name only when complete, and a FIFO or a device at the path is
//! written in place, never replaced (`cbnn::fsutil::OutputFile`).

use anyhow::{Context, Result};
use cbnn::fsutil::OutputFile;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::core::{Events, PortsIn};
use crate::layer::Probe;

/// The signals, their widths and how to read them from a cycle.
const WAVE_SIGNALS: &[(&str, u32)] = &[
    ("busy", 1),
    ("phase", cbnn::hw::control::Phase::BITS as u32),
    ("act_valid", 1),
    ("act_ready", 1),
    ("w_valid", 1),
    ("w_ready", 1),
    ("out_valid", 1),
    ("out_ready", 1),
    ("code_valid", 1),
    ("code_ready", 1),
    ("load_start", 1),
    ("w_load_start", 1),
    ("c_act_busy", 1),
    ("go", 1),
    ("seq_busy", 1),
    ("drain_start", 1),
    ("drain_busy", 1),
    ("layer", 16),
];

fn values(layer: u64, p: &PortsIn, e: &Events) -> [u64; 18] {
    let b = |v: bool| v as u64;
    [
        b(e.busy),
        e.phase.code(),
        b(p.act_valid),
        b(e.act_ready),
        b(p.w_valid),
        b(e.w_ready),
        b(e.out_valid),
        b(p.out_ready),
        b(e.code_valid),
        b(p.code_ready),
        b(e.load_start),
        b(e.w_load_start),
        b(e.act_busy),
        b(e.go.is_some()),
        b(e.seq_busy),
        b(e.drain_start.is_some()),
        b(e.drain_busy),
        layer,
    ]
}

/// The file behind the VCD writer, shared so that `finish` can flush it (the vcd crate's writer
/// does not give its stream back).
#[derive(Clone)]
struct Shared(std::rc::Rc<std::cell::RefCell<Option<BufWriter<OutputFile>>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.borrow_mut().as_mut() {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("the VCD file is closed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.borrow_mut().as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

pub struct Waves {
    w: vcd::Writer<Shared>,
    file: Shared,
    clock: vcd::IdCode,
    ids: Vec<vcd::IdCode>,
    prev: Vec<Option<u64>>,
    window: std::ops::Range<u64>,
    half: u64,
    /// Cycles so far (across layers) and the current layer's index.
    pub t: u64,
    pub layer: u64,
    path: PathBuf,
}

impl Waves {
    /// A VCD of cycles `window` (counted over the whole network) of the core named `top`,
    /// clocked at `mhz`.
    pub fn create(path: &Path, top: &str, mhz: f64, window: std::ops::Range<u64>) -> Result<Self> {
        let f = OutputFile::create(path)?;
        let file = Shared(std::rc::Rc::new(std::cell::RefCell::new(Some(BufWriter::new(f)))));
        let mut w = vcd::Writer::new(file.clone());
        // Picoseconds: a clock period of whole picoseconds at any sensible frequency.
        let half = ((1e6 / mhz) / 2.0).round().max(1.0) as u64;
        w.timescale(1, vcd::TimescaleUnit::PS)?;
        w.add_module(top)?;
        let clock = w.add_wire(1, "clock")?;
        let ids = WAVE_SIGNALS.iter().map(|(n, width)| w.add_wire(*width, n)).collect::<std::io::Result<Vec<_>>>()?;
        w.upscope()?;
        w.enddefinitions()?;
        Ok(Waves {
            w,
            file,
            clock,
            ids,
            prev: vec![None; WAVE_SIGNALS.len()],
            window,
            half,
            t: 0,
            layer: 0,
            path: path.to_path_buf(),
        })
    }

    /// Flushes the file and puts it at its path.
    pub fn finish(self) -> Result<()> {
        let cannot = || format!("{}: cannot write", self.path.display());
        let buffered = self.file.0.borrow_mut().take().with_context(cannot)?;
        buffered.into_inner().map_err(|e| e.into_error()).with_context(cannot)?.commit()
    }

    fn write_cycle(&mut self, p: &PortsIn, e: &Events) -> std::io::Result<()> {
        let t0 = self.t * 2 * self.half;
        self.w.timestamp(t0)?;
        self.w.change_scalar(self.clock, vcd::Value::V1)?;
        for (i, v) in values(self.layer, p, e).into_iter().enumerate() {
            if self.prev[i] != Some(v) {
                self.prev[i] = Some(v);
                let width = WAVE_SIGNALS[i].1;
                if width == 1 {
                    self.w.change_scalar(self.ids[i], vcd::Value::from(v == 1))?;
                } else {
                    let bits: Vec<vcd::Value> = (0..width).rev().map(|b| vcd::Value::from((v >> b) & 1 == 1)).collect();
                    self.w.change_vector(self.ids[i], &bits)?;
                }
            }
        }
        self.w.timestamp(t0 + self.half)?;
        self.w.change_scalar(self.clock, vcd::Value::V0)
    }
}

impl Probe for Waves {
    fn layer_start(&mut self, index: usize) {
        self.layer = index as u64;
    }
    fn cycle(&mut self, p: &PortsIn, e: &Events) -> Result<()> {
        if self.window.contains(&self.t) {
            self.write_cycle(p, e).with_context(|| format!("{}: cannot write", self.path.display()))?;
        }
        self.t += 1;
        Ok(())
    }
}
