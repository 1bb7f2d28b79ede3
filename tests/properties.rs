//! Property tests of the parsers a user's files reach: the .npy reader, the network and config
//! TOML loaders and the codec decoder, on arbitrary bytes and on valid inputs with bytes changed,
//! inserted or cut. Each must return (an error or a value), never panic, and never allocate much
//! more than its input's length justifies: a counting allocator measures each case's peak.
//!
//! `cargo test` runs 2,000 cases per property; `CBNN_SOAK=1` runs 1,000,000. The sweep file's
//! loader has its own in explore/tests/sweep_properties.rs.

use cbnn::codec::{decode, encode, CodecParams, Mode, RecordCheck};
use cbnn::config::AccelConfig;
use cbnn::hostile::{cases, peak_of, CountingAlloc, Edits};
use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

fn config() -> ProptestConfig {
    ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() }
}

fn edits() -> impl Strategy<Value = Edits> {
    (
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        prop::option::of((any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))),
        prop::option::of(any::<usize>()),
    )
        .prop_map(Edits::from)
}

/// A parsed array's data matches its shape.
fn consistent<T>(a: &npyio::Array<T>) -> bool {
    a.shape.iter().product::<usize>() == a.data.len()
}

fn valid_npy() -> Vec<Vec<u8>> {
    vec![
        npyio::f32_to_npy(&[2, 3, 4], &(0..24).map(|i| i as f32 * 0.5 - 3.0).collect::<Vec<_>>()),
        npyio::activations_to_npy(&Tensor3::from_vec(3, 4, 5, (0..60).map(|i| i % 16).collect()), Elem::U8),
        npyio::i64_to_npy(&[7], &[0, 1, 2, 3, 4, 5, 6]),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn npy_arbitrary_bytes_are_errors_or_consistent_arrays(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let peak = peak_of(|| {
            if let Ok(a) = npyio::parse_f32(&bytes) { assert!(consistent(&a)) }
            if let Ok(a) = npyio::parse_int(&bytes, Elem::AnyInt) { assert!(consistent(&a)) }
            let _ = npyio::read_npy(&bytes[..], Some(bytes.len() as u64));
        });
        prop_assert!(peak <= 64 * bytes.len() + (64 << 10), "{peak} bytes for {} input bytes", bytes.len());
    }

    #[test]
    fn npy_edited_files_are_errors_or_consistent_arrays(which in 0usize..3, e in edits()) {
        let b = e.apply(&valid_npy()[which]);
        let peak = peak_of(|| {
            if let Ok(a) = npyio::parse_f32(&b) { assert!(consistent(&a)) }
            if let Ok(a) = npyio::parse_int(&b, Elem::AnyInt) { assert!(consistent(&a)) }
            // Read as a file of this length: a whole file, never more than it holds.
            if let Ok(read) = npyio::read_npy(&b[..], Some(b.len() as u64)) { assert!(read.len() <= b.len()) }
        });
        prop_assert!(peak <= 64 * b.len() + (1 << 20), "{peak} bytes for {} input bytes", b.len());
    }

    #[test]
    fn network_files_with_edits_load_or_give_an_error(e in edits()) {
        let text = e.apply_text(cbnn::examples::TINY_NET_TOML);
        let peak = peak_of(|| {
            let _ = cbnn::network::parse_network(&text, "net.toml", &cbnn::examples::tiny_files());
        });
        prop_assert!(peak <= 64 << 20, "{peak} bytes");
    }

    #[test]
    fn config_files_with_edits_load_or_give_an_error(e in edits()) {
        let text = e.apply_text(cbnn::config::DEFAULT_CONFIG_TOML);
        let peak = peak_of(|| {
            if let Ok(c) = AccelConfig::from_toml_str(&text, "accel.toml") {
                assert!(c.validate().is_ok());
            }
        });
        prop_assert!(peak <= 16 << 20, "{peak} bytes");
    }

    #[test]
    fn codec_streams_decode_or_give_an_error(
        mode in 0usize..5, step_log in 0u32..4, bits in 1u32..=8, c in 1usize..20, h in 1usize..4, w in 1usize..6,
        seed in any::<u64>(), e in edits(), random in any::<bool>(), noise in prop::collection::vec(any::<u8>(), 0..200),
        crc in any::<bool>(),
    ) {
        let modes = [Mode::Raw, Mode::Sparse, Mode::Dct, Mode::Auto, Mode::Golomb];
        let mode = if bits == 1 { Mode::Raw } else { modes[mode] };
        let p = CodecParams { block: 8, mode, step: 1 << step_log, keep: 8, eg_order: 2, segment: 8,
            check: if crc { RecordCheck::Crc8 } else { RecordCheck::None } };
        prop_assume!(p.validate(bits).is_ok());
        // A valid stream of a random tensor, then edited; or bytes from nowhere.
        let mut x = seed;
        let values = (0..c * h * w).map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = ((x >> 33) % (1 << bits)) as i32;
            if bits == 1 { if v == 0 { -1 } else { 1 } } else if x >> 63 == 1 { 0 } else { v }
        });
        let t = Tensor3::from_vec(c, h, w, values.collect());
        let stream = if random { noise } else { e.apply(&encode(&t, bits, &p).bytes) };
        let peak = peak_of(|| {
            if let Ok(d) = decode(&stream, c, h, w, bits, &p) {
                assert_eq!((d.c, d.h, d.w), (c, h, w));
                let ok = |v: i32| if bits == 1 { v == 1 || v == -1 } else { (0..1 << bits).contains(&v) };
                assert!(d.data.iter().all(|&v| ok(v)));
            }
        });
        prop_assert!(peak <= 1 << 20, "{peak} bytes");
    }
}
