//! The board-level top's Verilog under Icarus: the serial line is driven and read like a host on
//! the other end of the UART would, and the reply must carry the golden model's checksum, the
//! core's cycle count of the same layer in the core's co-simulation, and the pass flag.

use super::selftest::{REPLY_BYTES, REPLY_MAGIC};
use super::*;
use crate::cosim::verilog_tools;
use crate::cosim::{run_layers, LayerCase, Traffic};
use std::fmt::Write as _;

/// The iCE40 board's config (examples/boards/), so the test checks what the board runs.
fn board_config() -> AccelConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/boards/ice40-hx8k.toml");
    AccelConfig::from_file(std::path::Path::new(path)).unwrap()
}

/// A testbench that receives `replies` replies on `ser_tx` (sampling each bit in its middle, as a
/// host UART does), sends one byte on `ser_rx` after the first reply, and prints every byte
/// (`R k byte framing_ok`) and the LEDs at the end.
fn serial_bench(top: &str, cycles_per_bit: u32, replies: usize) -> String {
    let bit = 2 * cycles_per_bit; // one clock period is 2 time units
    let bytes = replies * REPLY_BYTES;
    let mut tb = String::new();
    writeln!(tb, "module tb;\nreg clk = 0, ser_rx = 1; wire ser_tx; wire [7:0] led;").unwrap();
    writeln!(tb, "{top} dut(.clock(clk), .locked(1'b1), .ser_rx(ser_rx), .ser_tx(ser_tx), .led(led));").unwrap();
    writeln!(tb, "always #1 clk = ~clk;\ninteger i, k, got = 0; reg [7:0] b;").unwrap();
    writeln!(
        tb,
        "initial begin\n\
         \x20 for (k = 0; k < {bytes}; k = k + 1) begin\n\
         \x20   @(negedge ser_tx); #({bit} + {bit} / 2);\n\
         \x20   for (i = 0; i < 8; i = i + 1) begin b[i] = ser_tx; #({bit}); end\n\
         \x20   $display(\"R %0d %0d %0d\", k, b, ser_tx);\n\
         \x20   got = k + 1;\n\
         \x20 end\n\
         \x20 #({bit}); $display(\"L %b\", led); $finish;\n\
         end"
    )
    .unwrap();
    // The request: any byte; 0xA5 has both edges in it.
    writeln!(
        tb,
        "initial begin\n\
         \x20 wait (got == {REPLY_BYTES}); #({bit} * 2);\n\
         \x20 ser_rx = 0; #({bit});\n\
         \x20 for (i = 0; i < 8; i = i + 1) begin ser_rx = (8'ha5 >> i) & 1; #({bit}); end\n\
         \x20 ser_rx = 1;\n\
         end"
    )
    .unwrap();
    writeln!(tb, "initial begin #200000000; $display(\"TIMEOUT\"); $finish; end\nendmodule").unwrap();
    tb
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Power-up run, then a run requested over the UART: both replies carry the golden model's
/// checksum, the pass flag, and the core's cycle count for the layer with every stream free
/// (the ROM players never stall it).
/// A serial line of 8 clock cycles per bit (short co-simulations) and the baud rate that gives
/// it at the config's clock.
fn fast_serial(cfg: &AccelConfig) -> (u32, u32) {
    let bit = 8;
    (bit, (cfg.clock.mhz * 1e6 / bit as f64) as u32)
}

#[test]
fn board_top_answers_on_the_uart_with_the_golden_checksum() {
    let cfg = board_config();
    let (bit, baud) = fast_serial(&cfg);
    let (modules, data) = board_modules(&cfg, cfg.clock.mhz, baud).unwrap();
    let top = board_top_name(&cfg);
    if !verilog_tools::have_icarus("board top co-simulation") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = verilog_tools::icarus_run_with(dir.path(), &serial_bench(&top, bit, 2), &modules).unwrap();
    assert!(!out.contains("TIMEOUT"), "no reply in time:\n{out}");
    let mut bytes = Vec::new();
    for line in out.lines().filter(|l| l.starts_with("R ")) {
        let f: Vec<u32> = line[2..].split(' ').map(|v| v.parse().unwrap()).collect();
        assert_eq!(f[2], 1, "byte {} has no stop bit", f[0]);
        bytes.push(f[1] as u8);
    }
    assert_eq!(bytes.len(), 2 * REPLY_BYTES, "{out}");
    let (first, second) = bytes.split_at(REPLY_BYTES);
    assert_eq!(first, second, "the requested run differs from the power-up run");
    assert_eq!(first[0], REPLY_MAGIC);
    assert_eq!((le32(&first[1..5]), le32(&first[5..9])), data.checksum, "checksum of the result stream");
    assert_eq!(first[13], 0b10, "status: pass, no error");
    // The same layer on the core alone, fed by the co-simulation's host: same output as the
    // golden model, and the cycle count the board reports.
    let runs = run_layers(&cfg, &[LayerCase::new(&data.layer, &data.input)], Traffic::Free).unwrap().unwrap();
    assert_eq!(runs[0].output.data, data.golden.data);
    assert_eq!(le32(&first[9..13]) as u64, runs[0].cycles, "cycles reported by the board");
    let led = out.lines().find_map(|l| l.strip_prefix("L ")).unwrap();
    assert_eq!(&led[4..], "0110", "LEDs error, pass, done, running: {led}");
}

/// A checksum that differs from the golden one (every weight in the ROM inverted, so every dot
/// product changes sign) clears the pass flag: the board's own check can fail.
#[test]
fn board_top_flags_a_wrong_result() {
    let cfg = board_config();
    let (bit, baud) = fast_serial(&cfg);
    let (modules, data) = board_modules_with(&cfg, cfg.clock.mhz, baud, |d| {
        let mask = (1u128 << cfg.array.lanes) - 1;
        d.weights.iter_mut().for_each(|w| *w ^= mask);
    })
    .unwrap();
    let top = board_top_name(&cfg);
    if !verilog_tools::have_icarus("board top co-simulation") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = verilog_tools::icarus_run_with(dir.path(), &serial_bench(&top, bit, 1), &modules).unwrap();
    let bytes: Vec<u8> = out
        .lines()
        .filter_map(|l| l.strip_prefix("R "))
        .map(|l| l.split(' ').nth(1).unwrap().parse::<u32>().unwrap() as u8)
        .collect();
    assert_eq!(bytes.len(), REPLY_BYTES, "{out}");
    assert_ne!((le32(&bytes[1..5]), le32(&bytes[5..9])), data.checksum);
    assert_eq!(bytes[13] & 0b10, 0, "pass flag set for a wrong result");
}

#[test]
fn board_top_is_lint_clean_and_synthesises() {
    let cfg = board_config();
    let (modules, _) = board_modules(&cfg, cfg.clock.mhz, DEFAULT_BAUD).unwrap();
    // iCE40 only: the board's FPGA (the core's own tests synthesise it for ECP5 too).
    verilog_tools::check_lint_and_synth_for(
        "board top",
        &modules,
        &board_top_name(&cfg),
        &[verilog_tools::Family::Ice40],
    );
}
