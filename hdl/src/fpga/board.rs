//! The board-level top (docs/ARCHITECTURE.md, section 9): the core with everything a real board
//! needs to run it alone: a self-test that holds one layer in on-chip ROM (its descriptor, PPU
//! parameters, activation and weight streams), runs it at power-up and for every byte received on
//! the UART, and answers with the checksum of the result stream, the cycle count and a pass flag
//! (the checksum compared with the golden model's, baked in at generation). Ports: `clock`,
//! `locked` (from the PLL of the pin-level top, `fpga::pll`), `ser_rx`, `ser_tx`, `led[7:0]`.
//!
//! LEDs: 0 running, 1 done, 2 pass, 3 error, 7..4 the low bits of the output row in progress.

pub mod rom;
pub mod rom_player;
pub mod selftest;
pub mod selftest_data;
pub mod uart_rx;
pub mod uart_tx;

use anyhow::{bail, Context, Result};

use crate::generator::netlist::{Dir, NetModule};
use crate::generator::top::{core_modules, TopShape};
use crate::generator::verilog::{emit_block, merge_checked, Module};
use cbnn::config::AccelConfig;
use cbnn::hw::regs::REG_ADDR_BITS;
use cbnn::hw::setup::{SETUP_ADDR, SETUP_BITS, SETUP_DATA_BITS, SETUP_KIND, SETUP_PPU, SETUP_SEL};
use rom::add_rom;
use rom_player::RomPlayer;
use selftest::{SelfTest, REPLY_MAGIC};
pub use selftest_data::SelfTestData;
use uart_rx::UartRx;
use uart_tx::UartTx;

/// The UART's rate unless a caller asks for another.
pub const DEFAULT_BAUD: u32 = 115_200;

/// The board top's name for a design.
pub fn board_top_name(cfg: &AccelConfig) -> String {
    format!("{}_board", cfg.name)
}

/// Clock cycles per UART bit at `clock_mhz`.
pub fn cycles_per_bit(clock_mhz: f64, baud: u32) -> Result<u32> {
    let n = (clock_mhz * 1e6 / baud as f64).round();
    if !(2.0..=65536.0).contains(&n) {
        bail!("a UART at {baud} baud needs {n} cycles per bit at {clock_mhz} MHz: expected 2 to 65536");
    }
    Ok(n as u32)
}

/// The board top and every module under it (the core's first after it), and the self-test data
/// it holds. `clock_mhz`: the clock it runs at (the UART's divider comes from it).
pub fn board_modules(cfg: &AccelConfig, clock_mhz: f64, baud: u32) -> Result<(Vec<Module>, SelfTestData)> {
    board_modules_with(cfg, clock_mhz, baud, |_| ())
}

/// As `board_modules`, with the ROM contents changed by `corrupt` after the expected checksum
/// is computed (tests of the board's own pass/fail check).
pub(crate) fn board_modules_with(
    cfg: &AccelConfig,
    clock_mhz: f64,
    baud: u32,
    corrupt: impl FnOnce(&mut SelfTestData),
) -> Result<(Vec<Module>, SelfTestData)> {
    let mut data = SelfTestData::new(cfg)?;
    corrupt(&mut data);
    let bit = cycles_per_bit(clock_mhz, baud)?;
    let s = TopShape::from_config(cfg)?;
    let d = cfg.name.as_str();
    let top = board_top_name(cfg);
    let mut m = NetModule::new(&top);
    m.port(Dir::In, "clock", 1);
    // The clock is stable (the PLL has locked): the self-test leaves its power-on state.
    m.port(Dir::In, "locked", 1);
    m.port(Dir::In, "ser_rx", 1);
    m.port(Dir::Out, "ser_tx", 1);
    m.bus(Dir::Out, "led", 8);
    let mut v = Vec::new();
    board_wires(&mut m, &s);
    v.extend(roms_and_players(&mut m, d, &s, &data)?);
    result_fold(&mut m, &s);
    let core = core_instance(&mut m, cfg, &s)?;
    v.extend(selftest_and_uart(&mut m, d, &data, bit));
    let bias = s.bias_bits;
    m.assign("led", "{row[3:0], failed, pass, done, running}");
    // Bits no block reads: the received byte (any byte starts a run), the controller phase, the
    // row's high bits, the setup entries' unused fields.
    let mut unused = format!("1'b0, rx_data, phase, row[15:4], setup[{}:{}]", SETUP_PPU - 1, SETUP_ADDR + 16);
    if bias < SETUP_DATA_BITS {
        unused += &format!(", setup[{}:{}]", SETUP_DATA_BITS - 1, bias.max(32));
    }
    m.wire("board_unused", 1);
    m.assign("board_unused", &format!("&{{{unused}}}"));
    let mut all = vec![m.finish()];
    all.extend(core);
    all.extend(v);
    Ok((merge_checked(all)?, data))
}

/// The wires between the core, the ROMs and their players, the self-test and the UART.
fn board_wires(m: &mut NetModule, s: &TopShape) {
    let (act_w, w_w, out_w) = (8 * s.compute.beat, s.compute.array.lanes, s.out_lanes * s.out_lane_bits);
    for (name, w) in [
        ("core_reset", 1),
        ("reg_we", 1),
        ("param_we", 1),
        ("start", 1),
        ("busy", 1),
        ("error", 1),
        ("act_valid", 1),
        ("act_ready", 1),
        ("w_valid", 1),
        ("w_ready", 1),
        ("out_valid", 1),
        ("rx_valid", 1),
        ("tx_valid", 1),
        ("tx_ready", 1),
        ("running", 1),
        ("done", 1),
        ("pass", 1),
        ("failed", 1),
        ("row", 16),
        ("phase", cbnn::hw::control::Phase::BITS),
        ("setup_addr", 16),
        ("act_addr", 16),
        ("w_addr", 16),
        ("rx_data", 8),
        ("tx_data", 8),
        ("out_fold", 32),
        ("sum1", 32),
        ("sum2", 32),
        ("run_cycles", 32),
        ("status", 8),
        ("reply", 112),
    ] {
        m.wire(name, w);
    }
    m.wire("setup", SETUP_BITS);
    m.wire("act_data", act_w);
    m.wire("w_data", w_w);
    m.wire("out_data", out_w);
}

/// The ROMs (setup entries, activation beats, weight words) and the players that stream the last
/// two into the core.
fn roms_and_players(m: &mut NetModule, d: &str, s: &TopShape, data: &SelfTestData) -> Result<Vec<Module>> {
    let (act_w, w_w) = (8 * s.compute.beat, s.compute.array.lanes);
    let mut v = Vec::new();
    // ROMs: setup entries, activation beats, weight words.
    v.extend(add_rom(m, d, "rom_setup", &data.setup, SETUP_BITS, "setup_addr", "setup")?);
    v.extend(add_rom(m, d, "rom_act", &data.acts, act_w, "act_addr", "act_data")?);
    v.extend(add_rom(m, d, "rom_w", &data.weights, w_w, "w_addr", "w_data")?);
    for (inst, valid, ready, addr, count) in [
        ("act_player", "act_valid", "act_ready", "act_addr", data.acts.len()),
        ("w_player", "w_valid", "w_ready", "w_addr", data.weights.len()),
    ] {
        if count >= 1 << 16 {
            bail!("the self-test's {inst} stream has {count} words: at most 65535");
        }
        m.instance(
            &format!("{d}_rom_player"),
            inst,
            &[
                ("clock", "clock".into()),
                ("start", "start".into()),
                ("count", format!("16'd{count}")),
                ("valid", valid.into()),
                ("ready", ready.into()),
                ("addr", addr.into()),
            ],
        );
    }
    v.extend(emit_block(RomPlayer::default(), &format!("{d}_rom_player")));

    Ok(v)
}

/// Result beats folded to 32 bits (`selftest_data::fold_beat`).
fn result_fold(m: &mut NetModule, s: &TopShape) {
    let out_w = s.out_lanes * s.out_lane_bits;
    let slices: Vec<String> = (0..out_w.div_ceil(32))
        .map(|k| {
            let hi = (32 * k + 31).min(out_w - 1);
            let part = format!("out_data[{hi}:{}]", 32 * k);
            if hi - 32 * k == 31 {
                part
            } else {
                format!("{{{}'d0, {part}}}", 31 - (hi - 32 * k))
            }
        })
        .collect();
    m.assign("out_fold", &slices.join(" ^ "));
}

/// The core, its register and parameter ports fed from the setup ROM's entries; returns the
/// core's modules.
fn core_instance(m: &mut NetModule, cfg: &AccelConfig, s: &TopShape) -> Result<Vec<Module>> {
    let d = cfg.name.as_str();
    let bias = s.bias_bits;
    let conns: Vec<(&str, String)> = vec![
        ("clock", "clock".into()),
        ("reset", "core_reset".into()),
        ("reg_we", "reg_we".into()),
        ("reg_addr", setup_field(SETUP_ADDR, REG_ADDR_BITS as usize)),
        ("reg_data", setup_field(0, 32)),
        ("param_we", "param_we".into()),
        ("param_sel", setup_field(SETUP_SEL, 1)),
        ("param_ppu", setup_field(SETUP_PPU, 8)),
        ("param_addr", setup_field(SETUP_ADDR, 16)),
        ("param_data", setup_field(0, bias)),
        ("start", "start".into()),
        ("busy", "busy".into()),
        ("error", "error".into()),
        ("act_valid", "act_valid".into()),
        ("act_ready", "act_ready".into()),
        ("act_data", "act_data".into()),
        ("w_valid", "w_valid".into()),
        ("w_ready", "w_ready".into()),
        ("w_data", "w_data".into()),
        ("out_valid", "out_valid".into()),
        // The self-test takes every result beat at once.
        ("out_ready", "1'b1".into()),
        ("out_data", "out_data".into()),
        ("row", "row".into()),
        ("phase", "phase".into()),
    ];
    if bias > SETUP_DATA_BITS {
        bail!("datapath bias width {bias} exceeds the self-test's {SETUP_DATA_BITS}-bit parameter entries");
    }
    let core = core_modules(cfg)?;
    let core_ports = crate::generator::manifest::ports(core.first().context("the core has no modules")?);
    let mut want: Vec<&str> = core_ports.iter().map(|p| p.name.as_str()).collect();
    let mut have: Vec<&str> = conns.iter().map(|(p, _)| *p).collect();
    want.sort();
    have.sort();
    if want != have {
        bail!("the board top connects {have:?}, the core has ports {want:?}");
    }
    m.instance(d, "core", &conns);

    Ok(core)
}

/// Bits `[lo + w - 1 : lo]` of the setup ROM's entry (`cbnn::hw::setup`).
fn setup_field(lo: usize, w: usize) -> String {
    if w == 1 {
        format!("setup[{lo}]")
    } else {
        format!("setup[{}:{lo}]", lo + w - 1)
    }
}

/// The self-test sequencer and the UART it answers on.
fn selftest_and_uart(m: &mut NetModule, d: &str, data: &SelfTestData, bit: u32) -> Vec<Module> {
    let mut v = Vec::new();
    m.instance(
        &format!("{d}_selftest"),
        "selftest",
        &[
            ("clock", "clock".into()),
            ("locked", "locked".into()),
            ("core_reset", "core_reset".into()),
            ("setup_addr", "setup_addr".into()),
            ("setup_kind", setup_field(SETUP_KIND, 2)),
            ("reg_we", "reg_we".into()),
            ("param_we", "param_we".into()),
            ("start", "start".into()),
            ("busy", "busy".into()),
            ("error", "error".into()),
            ("out_fire", "out_valid".into()),
            ("out_fold", "out_fold".into()),
            ("rx_valid", "rx_valid".into()),
            ("tx_valid", "tx_valid".into()),
            ("tx_data", "tx_data".into()),
            ("tx_ready", "tx_ready".into()),
            ("running", "running".into()),
            ("done", "done".into()),
            ("pass", "pass".into()),
            ("failed", "failed".into()),
            ("sum1", "sum1".into()),
            ("sum2", "sum2".into()),
            ("run_cycles", "run_cycles".into()),
            ("status", "status".into()),
            ("reply_in", "reply".into()),
        ],
    );
    m.assign("reply", &format!("{{status, run_cycles, sum2, sum1, 8'h{REPLY_MAGIC:02x}}}"));
    v.extend(emit_block(SelfTest::new(data.checksum), &format!("{d}_selftest")));
    m.instance(
        &format!("{d}_uart_rx"),
        "uart_rx",
        &[("clock", "clock".into()), ("rx", "ser_rx".into()), ("valid", "rx_valid".into()), ("data", "rx_data".into())],
    );
    v.extend(emit_block(UartRx::new(bit), &format!("{d}_uart_rx")));
    m.instance(
        &format!("{d}_uart_tx"),
        "uart_tx",
        &[
            ("clock", "clock".into()),
            ("valid", "tx_valid".into()),
            ("data", "tx_data".into()),
            ("ready", "tx_ready".into()),
            ("tx", "ser_tx".into()),
        ],
    );
    v.extend(emit_block(UartTx::new(bit), &format!("{d}_uart_tx")));
    v
}

#[cfg(test)]
mod tests;
