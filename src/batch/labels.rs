//! Labels: one class per image, from an integer .npy file `[N]` (`--labels`, a sweep's
//! `labels = "FILE"`) or a list (a sweep's `labels = [...]`), each checked against the number of
//! images and the network's classes.

use anyhow::{bail, Context, Result};
use std::path::Path;

use crate::npyio::{self, Elem};

/// Reads the labels of `images` images from `path`: any integer dtype, shape `[images]`, values
/// in `0..classes`. Errors name the file and what was expected.
pub fn load(path: &Path, images: usize, classes: usize) -> Result<Vec<usize>> {
    let bytes = npyio::read_file(path).context("labels")?;
    parse(&bytes, images, classes).with_context(|| format!("{}: labels", path.display()))
}

/// Labels from .npy bytes (see `load`).
pub fn parse(bytes: &[u8], images: usize, classes: usize) -> Result<Vec<usize>> {
    let a = npyio::parse_int(bytes, Elem::AnyInt)?;
    if a.shape.len() != 1 {
        bail!("expected shape [{images}] (one class per image), found {:?}", a.shape);
    }
    check(&a.data, images, classes)
}

/// Checks labels against the images and classes: one per image, each in `0..classes`.
pub fn check(labels: &[i64], images: usize, classes: usize) -> Result<Vec<usize>> {
    if labels.len() != images {
        let s = if images == 1 { "" } else { "s" };
        bail!("{} labels for {images} image{s}: expected one per image", labels.len());
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, &c)| match usize::try_from(c) {
            Ok(c) if c < classes => Ok(c),
            _ => bail!(
                "label {c} of image {i} out of range: expected 0..{classes} (the network's last layer has {classes} outputs)"
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked_for_shape_count_and_range() {
        let ok = npyio::i64_to_npy(&[3], &[0, 9, 4]);
        assert_eq!(parse(&ok, 3, 10).unwrap(), vec![0, 9, 4]);
        let cases: [(Vec<u8>, &str); 5] = [
            (npyio::f32_to_npy(&[3], &[0.0, 1.0, 2.0]), "expected integer values, found float32"),
            (npyio::i64_to_npy(&[3, 1], &[0, 1, 2]), "expected shape [3] (one class per image), found [3, 1]"),
            (npyio::i64_to_npy(&[2], &[0, 1]), "2 labels for 3 images"),
            (npyio::i64_to_npy(&[3], &[0, -1, 2]), "label -1 of image 1 out of range: expected 0..10"),
            (npyio::i64_to_npy(&[3], &[0, 1, 10]), "label 10 of image 2 out of range"),
        ];
        for (bytes, want) in cases {
            let e = parse(&bytes, 3, 10).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }
}
