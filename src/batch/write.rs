//! The files a run writes: `DIR/output.npy` (the last layer's output), with `--dump-layers`
//! every layer's as `DIR/layers/NN_NAME.npy`, and `DIR/predictions.npy` (each image's class,
//! int64 `[N]`). One image gives `[C, H, W]` outputs as it always did; a batch stacks them
//! `[N, C, H, W]`. Every file is written atomically.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

use crate::npyio::{self, Elem};
use crate::quant::QLayer;
use crate::tensor::Tensor3;

/// Writes output.npy and, with `layers_dir`, every layer's outputs. `outputs` holds per image
/// every layer's output, or only the last layer's when there is no `layers_dir`. Returns the
/// path of output.npy.
pub fn outputs<O: AsRef<[Tensor3<i32>]>>(
    out: &Path,
    layers: &[QLayer],
    outputs: &[O],
    stacked: bool,
    layers_dir: Option<&Path>,
) -> Result<PathBuf> {
    let last = layers.last().context("a run without layers has no output")?;
    let column = |i: usize| -> Vec<&Tensor3<i32>> { outputs.iter().map(|o| &o.as_ref()[i]).collect() };
    let path = out.join("output.npy");
    let last_outputs: Vec<&Tensor3<i32>> = outputs.iter().filter_map(|o| o.as_ref().last()).collect();
    crate::fsutil::write_atomic(&path, &npyio::images_to_npy(&last_outputs, stacked, Elem::for_bits(last.out_bits)))?;
    if let Some(dir) = layers_dir {
        for (i, l) in layers.iter().enumerate() {
            let p = dir.join(format!("{i:02}_{}.npy", l.name));
            crate::fsutil::write_atomic(&p, &npyio::images_to_npy(&column(i), stacked, Elem::for_bits(l.out_bits)))?;
        }
    }
    Ok(path)
}

/// Writes predictions.npy: the class of each image, int64 `[N]`. Returns its path.
pub fn predictions(out: &Path, classes: &[usize]) -> Result<PathBuf> {
    let path = out.join("predictions.npy");
    let values: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
    crate::fsutil::write_atomic(&path, &npyio::i64_to_npy(&[values.len()], &values))?;
    Ok(path)
}
