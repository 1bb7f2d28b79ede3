//! Processing element of the weight-stationary array (docs/ARCHITECTURE.md, section 1).
//!
//! Per cycle: the activation chunk `a_in` (L lanes) meets the active weight word; the signed dot
//! product of the chunk (SPEC 2.2) is added to the partial sum from the PE above and passed down.
//! - XNOR mode: `contrib = 2*popcount(~(a ^ w) & e) - popcount(e)`, `e` the valid lanes: none for
//!   a padded tap (`pad`), `tail_mask` on a pixel's last chunk (`tail`), all otherwise.
//! - BWN mode (one bit-plane): `contrib = 2*popcount(a & w) - popcount(a)`.
//!
//! The two popcounts are registered (stage 1) beside the psum path, so `psum_in -> psum_out` is one
//! register whatever `L` is. They are registered shifted left by `pshift`: with bit-planes side by
//! side on the rows (`LayerDescriptor::plane_rows`), row `p` computes plane `p` of a group of
//! planes and its contribution weighs `2^p`; 0 otherwise.
//!
//! Weights: `shadow` is loaded from the column bus `wl_data` when the load token `wl_en` is here;
//! `first` (the first chunk of a pass) swaps the shadow into the active register and uses it at
//! once. The systolic registers between PEs (activation and flags to the right, load token down)
//! belong to the array (`array.rs`), so a PE has no output that an edge PE would leave unused.

use crate::blocks::popcount::PopCount;
use rust_hdl::prelude::*;

/// `L` lanes, `SW` partial-sum bits (two's complement; at least log2(L) + 2).
#[derive(LogicBlock)]
pub struct Pe<const L: usize, const SW: usize> {
    pub clock: Signal<In, Clock>,
    /// Layer-static: BWN (bit-plane) mode instead of XNOR mode.
    pub bwn: Signal<In, Bit>,
    /// Layer-static: valid lanes of a pixel's last chunk in this row (XNOR mode).
    pub tail_mask: Signal<In, Bits<L>>,
    /// Layer-static: the plane offset of this row's contribution (0 unless planes run side by
    /// side on the rows).
    pub pshift: Signal<In, Bits<3>>,
    pub a_in: Signal<In, Bits<L>>,
    pub pad_in: Signal<In, Bit>,
    pub tail_in: Signal<In, Bit>,
    pub first_in: Signal<In, Bit>,
    pub psum_in: Signal<In, Bits<SW>>,
    pub psum_out: Signal<Out, Bits<SW>>,
    pub wl_data: Signal<In, Bits<L>>,
    pub wl_en: Signal<In, Bit>,
    all_lanes: Constant<Bits<L>>,
    no_lanes: Constant<Bits<L>>,
    weight: Signal<Local, Bits<L>>,
    lanes: Signal<Local, Bits<L>>,
    hits: Signal<Local, Bits<L>>,
    pop_match: PopCount<L, SW>,
    pop_lanes: PopCount<L, SW>,
    shadow: DFF<Bits<L>>,
    active: DFF<Bits<L>>,
    match_count: DFF<Bits<SW>>,
    lane_count: DFF<Bits<SW>>,
    psum: DFF<Bits<SW>>,
}

impl<const L: usize, const SW: usize> Default for Pe<L, SW> {
    fn default() -> Self {
        assert!(SW >= L.trailing_zeros() as usize + 2, "the partial sum must hold +-L");
        Pe {
            clock: Default::default(),
            bwn: Default::default(),
            tail_mask: Default::default(),
            pshift: Default::default(),
            a_in: Default::default(),
            pad_in: Default::default(),
            tail_in: Default::default(),
            first_in: Default::default(),
            psum_in: Default::default(),
            psum_out: Default::default(),
            wl_data: Default::default(),
            wl_en: Default::default(),
            all_lanes: Constant::new(Bits::<L>::mask()),
            no_lanes: Constant::new(0u64.into()),
            weight: Default::default(),
            lanes: Default::default(),
            hits: Default::default(),
            pop_match: Default::default(),
            pop_lanes: Default::default(),
            shadow: Default::default(),
            active: Default::default(),
            match_count: Default::default(),
            lane_count: Default::default(),
            psum: Default::default(),
        }
    }
}

impl<const L: usize, const SW: usize> Logic for Pe<L, SW> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, shadow, active, match_count, lane_count, psum);
        // Weights: load the shadow, swap on the first chunk of a pass.
        if self.wl_en.val() {
            self.shadow.d.next = self.wl_data.val();
        }
        self.weight.next = self.active.q.val();
        if self.first_in.val() {
            self.weight.next = self.shadow.q.val();
            self.active.d.next = self.shadow.q.val();
        }
        // Lanes that count, and lanes whose product is +1.
        self.lanes.next = self.a_in.val();
        self.hits.next = self.a_in.val() & self.weight.val();
        if !self.bwn.val() {
            self.lanes.next = self.all_lanes.val();
            if self.tail_in.val() {
                self.lanes.next = self.tail_mask.val();
            }
            if self.pad_in.val() {
                self.lanes.next = self.no_lanes.val();
            }
            self.hits.next = !(self.a_in.val() ^ self.weight.val()) & self.lanes.val();
        }
        self.pop_match.x.next = self.hits.val();
        self.pop_lanes.x.next = self.lanes.val();
        // Stage 1: popcounts, widened to the psum width and weighted by the row's plane.
        self.match_count.d.next = self.pop_match.count.val() << self.pshift.val();
        self.lane_count.d.next = self.pop_lanes.count.val() << self.pshift.val();
        // Stage 2: psum_out = psum_in + 2 * hits - lanes (wrapping two's complement).
        self.psum.d.next = self.psum_in.val() + (self.match_count.q.val() << 1) - self.lane_count.q.val();
        self.psum_out.next = self.psum.q.val();
    }
}

#[cfg(test)]
mod tests;
