//! nextpnr's report (`--report FILE`): achieved Fmax against the constraint, utilisation per
//! kind of site, and the critical path.

use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;

/// Used and available sites of one kind (`ICESTORM_LC`, `TRELLIS_COMB`, `DP16KD`, ...).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Usage {
    pub used: u64,
    pub available: u64,
    pub percent: f64,
}

/// The slowest path: where it starts and ends, and its delay split into logic and routing.
#[derive(Clone, Debug, Serialize)]
pub struct CriticalPath {
    pub from: String,
    pub to: String,
    pub delay_ns: f64,
    pub logic_ns: f64,
    pub routing_ns: f64,
    /// The cells the path goes through, in order.
    pub cells: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PnrReport {
    /// False when the design needs more sites of some kind than the FPGA has: nextpnr stopped
    /// before placing, the utilisation is its count of what the design needs, and there is no
    /// timing.
    pub fits: bool,
    pub target_mhz: f64,
    /// The slowest clock's achieved frequency (none when the design has no clocked path).
    pub fmax_mhz: Option<f64>,
    pub timing_met: bool,
    pub utilisation: BTreeMap<String, Usage>,
    pub critical_path: Option<CriticalPath>,
}

/// Parses a nextpnr report; `target_mhz` is the `--freq` it ran with.
pub fn parse_report(json: &str, target_mhz: f64) -> Result<PnrReport> {
    let v: serde_json::Value = serde_json::from_str(json).context("nextpnr report")?;
    let fmax_mhz = v["fmax"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, c)| c["achieved"].as_f64())
        .min_by(|a, b| a.total_cmp(b));
    let mut utilisation = BTreeMap::new();
    for (k, u) in v["utilization"].as_object().into_iter().flatten() {
        let (used, available) = (u["used"].as_u64().unwrap_or(0), u["available"].as_u64().unwrap_or(0));
        if used > 0 {
            let percent = if available == 0 { 0.0 } else { 100.0 * used as f64 / available as f64 };
            utilisation.insert(k.clone(), Usage { used, available, percent });
        }
    }
    // The first critical path listed for the slowest clock domain: nextpnr lists one per
    // clock pair; the longest total delay is the one that sets Fmax.
    let critical_path = v["critical_paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let steps = p["path"].as_array().cloned().unwrap_or_default();
            let delay = |kind: Option<&str>| {
                steps
                    .iter()
                    .filter(|s| kind.is_none_or(|k| s["type"].as_str() == Some(k)))
                    .filter_map(|s| s["delay"].as_f64())
                    .sum::<f64>()
            };
            let mut cells: Vec<String> = Vec::new();
            for s in &steps {
                for end in ["from", "to"] {
                    if let Some(c) = s[end]["cell"].as_str() {
                        if cells.last().map(String::as_str) != Some(c) {
                            cells.push(c.to_string());
                        }
                    }
                }
            }
            CriticalPath {
                from: p["from"].as_str().unwrap_or("").to_string(),
                to: p["to"].as_str().unwrap_or("").to_string(),
                delay_ns: delay(None),
                routing_ns: delay(Some("routing")),
                logic_ns: delay(None) - delay(Some("routing")),
                cells,
            }
        })
        .max_by(|a, b| a.delay_ns.total_cmp(&b.delay_ns));
    Ok(PnrReport {
        fits: true,
        target_mhz,
        timing_met: fmax_mhz.is_none_or(|f| f >= target_mhz),
        fmax_mhz,
        utilisation,
        critical_path,
    })
}

/// What a design that does not fit needs, from the "Device utilisation" block nextpnr logs
/// before it places (`Info:   TRELLIS_COMB:  78296/ 24288   322%`); `None` when every kind fits
/// (nextpnr failed for another reason).
pub fn overflow_from_log(log: &str, target_mhz: f64) -> Option<PnrReport> {
    let mut utilisation = BTreeMap::new();
    let block = log.lines().skip_while(|l| !l.contains("Device utilisation:")).skip(1);
    for line in block {
        let t = line.trim_start_matches("Info:").trim();
        let Some((kind, counts)) = t.split_once(':') else { break };
        let mut nums = counts.split(|c: char| c == '/' || c.is_whitespace()).filter(|x| !x.is_empty());
        let (Some(u), Some(a)) = (nums.next(), nums.next()) else { break };
        let (Ok(used), Ok(available)) = (u.parse::<u64>(), a.parse::<u64>()) else { break };
        if used > 0 {
            let percent = if available == 0 { 0.0 } else { 100.0 * used as f64 / available as f64 };
            utilisation.insert(kind.trim().to_string(), Usage { used, available, percent });
        }
    }
    utilisation.values().any(|u| u.used > u.available).then_some(PnrReport {
        fits: false,
        target_mhz,
        fmax_mhz: None,
        timing_met: false,
        utilisation,
        critical_path: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fmax_utilisation_and_the_longest_path() {
        let json = r#"{
          "fmax": { "clk": { "achieved": 87.5, "constraint": 100.0 }, "clk2": { "achieved": 120.0, "constraint": 100.0 } },
          "utilization": { "ICESTORM_LC": { "available": 7680, "used": 1920 }, "ICESTORM_RAM": { "available": 32, "used": 0 } },
          "critical_paths": [
            { "from": "posedge clk", "to": "posedge clk", "path": [
              { "type": "clk-to-q", "delay": 0.5, "from": { "cell": "a" }, "to": { "cell": "a" } },
              { "type": "routing", "delay": 2.0, "from": { "cell": "a" }, "to": { "cell": "b" } },
              { "type": "logic", "delay": 1.0, "from": { "cell": "b" }, "to": { "cell": "b" } },
              { "type": "setup", "delay": 0.25, "from": { "cell": "c" }, "to": { "cell": "c" } } ] },
            { "from": "posedge clk2", "to": "posedge clk2", "path": [ { "type": "logic", "delay": 1.0 } ] }
          ] }"#;
        let r = parse_report(json, 100.0).unwrap();
        assert_eq!(r.fmax_mhz, Some(87.5));
        assert!(!r.timing_met);
        assert_eq!(r.utilisation["ICESTORM_LC"], Usage { used: 1920, available: 7680, percent: 25.0 });
        assert!(!r.utilisation.contains_key("ICESTORM_RAM"), "unused kinds are left out");
        let p = r.critical_path.unwrap();
        assert_eq!((p.delay_ns, p.routing_ns, p.logic_ns), (3.75, 2.0, 1.75));
        assert_eq!(p.cells, ["a", "b", "c"]);
        assert!(parse_report(json, 80.0).unwrap().timing_met);
    }

    #[test]
    fn a_design_too_large_is_reported_from_the_log() {
        let log = "Info: Device utilisation:\nInfo: \t          TRELLIS_IO:       0/    197     0%\n\
                   Info: \t              DP16KD:      24/     56    42%\n\
                   Info: \t        TRELLIS_COMB:   78296/  24288   322%\n\
                   Info: \nERROR: Unable to place cell 'x', no BELs remaining\n";
        let r = overflow_from_log(log, 100.0).unwrap();
        assert!(!r.fits && !r.timing_met && r.fmax_mhz.is_none());
        assert_eq!(
            r.utilisation["TRELLIS_COMB"],
            Usage { used: 78296, available: 24288, percent: 100.0 * 78296.0 / 24288.0 }
        );
        assert_eq!(r.utilisation["DP16KD"].used, 24);
        assert!(!r.utilisation.contains_key("TRELLIS_IO"));
        assert!(overflow_from_log(&log.replace("78296", "20000"), 100.0).is_none(), "everything fits");
    }
}
