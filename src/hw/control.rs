//! The layer controller's contract (docs/ARCHITECTURE.md, section 4): its phases, as the RTL's
//! `phase` output encodes them, and the waits between a load and the first bank read. The RTL
//! controller (`hdl/src/blocks/controller.rs`), the cycle simulator's (`sim/src/controller.rs`),
//! the co-simulation testbench and the waveforms all take them from here.

/// What the controller is doing; the discriminant is the code on its `phase` output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Phase {
    /// No layer: `busy` is low.
    #[default]
    Idle = 0,
    /// A row band is being set up (one cycle).
    Band = 1,
    /// The band's input rows are loading (the activation stream is open).
    LoadA = 2,
    /// The activation loader's last writes are settling (`ACT_SETTLE`).
    SettleA = 3,
    /// A filter tile is being set up (one cycle).
    Tile = 4,
    /// The tile's weights are loading (the weight stream is open).
    LoadW = 5,
    /// The weight loader's last writes are settling (`WEIGHT_SETTLE`).
    SettleW = 6,
    /// Output rows of the tile are being computed: a layer's steady state.
    Rows = 7,
    /// Every run is issued; the last drains are finishing.
    Finish = 8,
    /// A grouped layer's combine entries are loading (after its bank's weights).
    LoadE = 9,
}

impl Phase {
    /// Width of the `phase` output.
    pub const BITS: usize = 4;

    /// Every phase, in code order.
    pub const ALL: [Phase; 10] = [
        Phase::Idle,
        Phase::Band,
        Phase::LoadA,
        Phase::SettleA,
        Phase::Tile,
        Phase::LoadW,
        Phase::SettleW,
        Phase::Rows,
        Phase::Finish,
        Phase::LoadE,
    ];

    /// The code on the `phase` output.
    pub const fn code(self) -> u64 {
        self as u64
    }

    /// The phase a `phase` code stands for, if any.
    pub fn from_code(code: u64) -> Option<Phase> {
        Phase::ALL.get(code as usize).copied()
    }

    /// Whether the controller is loading (or setting up, or settling after) a band's input rows,
    /// a filter tile's weights or a grouped layer's entries: nothing is computed meanwhile.
    pub const fn is_load(self) -> bool {
        matches!(
            self,
            Phase::Band | Phase::LoadA | Phase::SettleA | Phase::Tile | Phase::LoadW | Phase::SettleW | Phase::LoadE
        )
    }

    /// Lower-case name, as in traces.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Band => "band",
            Phase::LoadA => "load_a",
            Phase::SettleA => "settle_a",
            Phase::Tile => "tile",
            Phase::LoadW => "load_w",
            Phase::SettleW => "settle_w",
            Phase::Rows => "rows",
            Phase::Finish => "finish",
            Phase::LoadE => "load_e",
        }
    }
}

/// Cycles the controller waits after the weight loader's last word before the banks may be read
/// (the weight loader's write pipeline).
pub const WEIGHT_SETTLE: u32 = 3;

/// Cycles the controller waits after the activation loader has written its last word (its
/// `busy` fell) before the banks may be read.
pub const ACT_SETTLE: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_fits_the_output_and_names_one_phase() {
        for (i, p) in Phase::ALL.iter().enumerate() {
            assert_eq!(p.code(), i as u64);
            assert!(p.code() < 1 << Phase::BITS);
            assert_eq!(Phase::from_code(p.code()), Some(*p));
        }
        assert_eq!(Phase::from_code(Phase::ALL.len() as u64), None);
        let mut names: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Phase::ALL.len());
    }
}
