//! The record check of SPEC 8.9 against corrupt streams: the experiment of docs/CODEC.md
//! ("Corrupt records"). Streams of the real activations in testdata/real, coded sparse and
//! golomb, are corrupted at random (one to four bits flipped, a byte overwritten, a byte cut or
//! added); the golden decoder must reject every one of them with the check, where without it a
//! share decodes silently to a different tensor. Run with `-- --nocapture` for the counts.

use cbnn::codec::{self, CodecParams, Mode, RecordCheck};
use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

/// The testdata/real tensors, cropped to 16 channels and 8 rows: streams of a few kB.
fn tensors() -> Vec<Tensor3<i32>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/real");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "npy"));
    files.sort();
    files
        .iter()
        .map(|p| {
            let a = npyio::parse_int(&std::fs::read(p).unwrap(), Elem::U8).unwrap();
            let (h, w) = (a.shape[1].min(8), a.shape[2]);
            let mut t = Tensor3::zeros(16, h, w);
            for c in 0..16 {
                for y in 0..h {
                    for x in 0..w {
                        t.set(c, y, x, a.data[(c * a.shape[1] + y) * w + x] as i32);
                    }
                }
            }
            t
        })
        .collect()
}

/// One random corruption of `s`.
fn corrupt(rng: &mut StdRng, s: &[u8]) -> Vec<u8> {
    let mut b = s.to_vec();
    match rng.gen_range(0..4) {
        0 => {
            for _ in 0..rng.gen_range(1..=4) {
                let bit = rng.gen_range(0..8 * b.len());
                b[bit / 8] ^= 0x80 >> (bit % 8);
            }
        }
        1 => {
            let i = rng.gen_range(0..b.len());
            b[i] = b[i].wrapping_add(rng.gen_range(1..=255));
        }
        2 => {
            b.remove(rng.gen_range(0..b.len()));
        }
        _ => {
            b.insert(rng.gen_range(0..=b.len()), rng.gen());
        }
    }
    b
}

#[test]
fn the_crc_detects_every_corruption_that_decodes_silently_without_it() {
    let mut rng = StdRng::seed_from_u64(8);
    let ts = tensors();
    let mut silent = [0usize; 2];
    let mut tried = 0usize;
    let mut bytes = [0usize; 2];
    for check in [RecordCheck::None, RecordCheck::Crc8] {
        let k = check.bytes();
        for t in &ts {
            for (mode, step, eg) in [(Mode::Sparse, 1, 2), (Mode::Golomb, 4, 3)] {
                let p = CodecParams { block: 8, mode, step, keep: 8, eg_order: eg, segment: 8, check };
                let e = codec::encode(t, 8, &p);
                bytes[k] += e.bytes.len();
                assert!(codec::decode(&e.bytes, t.c, t.h, t.w, 8, &p).is_ok());
                for _ in 0..200 {
                    let bad = corrupt(&mut rng, &e.bytes);
                    if bad == e.bytes {
                        continue;
                    }
                    tried += usize::from(k == 0);
                    if codec::decode(&bad, t.c, t.h, t.w, 8, &p).is_ok() {
                        silent[k] += 1;
                    }
                }
            }
        }
    }
    println!(
        "{tried} corrupted streams per setting: {} decode without an error without the check, {} with crc8; \
         the check costs {} of {} bytes ({:.2}%)",
        silent[0],
        silent[1],
        bytes[1] - bytes[0],
        bytes[0],
        100.0 * (bytes[1] - bytes[0]) as f64 / bytes[0] as f64
    );
    assert!(silent[0] > tried / 20, "without the check many corruptions decode: {} of {tried}", silent[0]);
    assert_eq!(silent[1], 0, "with the check no corruption decodes");
}

/// `codec --check crc8`: each record one byte longer, the files decode with the check and not
/// without it, and the table and JSON name it.
#[test]
fn the_codec_program_writes_and_reports_the_check() {
    let d = tempfile::tempdir().unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/real/chelsea__stem_relu.npy");
    let run = |check: &str, out: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_codec"))
            .args(["--input", input.to_str().unwrap(), "--mode", "sparse", "--check", check, "--json", "--out"])
            .arg(d.path().join(out))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let (plain, checked) = (run("none", "plain"), run("crc8", "crc"));
    assert_eq!(checked["params"]["check"], "crc8");
    let t = npyio::parse_int(&std::fs::read(&input).unwrap(), Elem::U8).unwrap();
    let [c, h, w] = [t.shape[0], t.shape[1], t.shape[2]];
    let records = (h * c.div_ceil(8)) as u64;
    let bytes = |v: &serde_json::Value| v["total"]["coded_bytes"].as_u64().unwrap();
    assert_eq!(bytes(&checked), bytes(&plain) + records);
    let bin = std::fs::read(d.path().join("crc/chelsea__stem_relu.bin")).unwrap();
    let p = |check| CodecParams { block: 8, mode: Mode::Sparse, step: 1, keep: 8, eg_order: 2, segment: 8, check };
    assert!(codec::decode(&bin, c, h, w, 8, &p(RecordCheck::Crc8)).is_ok());
    assert!(codec::decode(&bin, c, h, w, 8, &p(RecordCheck::None)).is_err());
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_codec"))
        .args(["--input", input.to_str().unwrap(), "--check", "crc16"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("crc8"), "{err}");
}
