//! Batches of images through a network: the input file of one image `[C, H, W]` or of a batch
//! `[N, C, H, W]` and its labels (`labels`), images run in parallel in image order (`par`), the
//! golden model and the float32 reference over a batch (`eval`, `fidelity`), and the stacked
//! outputs and predictions the programs write (`write`).

pub mod eval;
pub mod fidelity;
pub mod labels;
pub mod par;
pub mod write;

use anyhow::{Context, Result};
use std::path::Path;

use crate::network::Network;
use crate::tensor::Tensor3;

/// The images a program runs, and their labels if given.
#[derive(Clone, Debug)]
pub struct Batch {
    pub images: Vec<Tensor3<i32>>,
    /// The input was a batch `[N, C, H, W]` (outputs are then stacked `[N, ...]`), not one image.
    pub stacked: bool,
    /// One class per image (`--labels`).
    pub labels: Option<Vec<usize>>,
}

impl Batch {
    /// One image that is not a batch (the embedded example's input).
    pub fn single(image: Tensor3<i32>) -> Batch {
        Batch { images: vec![image], stacked: false, labels: None }
    }

    /// Reads an input file for `net`: one image or a batch (`npyio::parse_activation_batch`);
    /// errors name the file and the network's `[input]`.
    pub fn read(path: &Path, net: &Network) -> Result<Batch> {
        Batch::parse(&crate::npyio::read_file(path)?, path, net)
    }

    /// `read` on the bytes of the file `path`. A network that reads pixels (`[input]
    /// thresholds`) takes uint8 pixels and quantises them itself (SPEC 2.5): the images are the
    /// activations its first layer reads.
    pub fn parse(bytes: &[u8], path: &Path, net: &Network) -> Result<Batch> {
        let input = &net.input;
        let what = if input.pixels.is_some() { "uint8 pixels" } else { "activations" };
        let (values, stacked) = crate::npyio::parse_activation_batch(bytes, input.file_bits(), input.shape)
            .with_context(|| {
                format!(
                    "{}: input ({what}) for [input] shape = {:?}, bits = {} of {}",
                    path.display(),
                    input.shape,
                    input.file_bits(),
                    net.origin
                )
            })?;
        let images = values.iter().map(|v| input.activations(v)).collect();
        Ok(Batch { images, stacked, labels: None })
    }

    /// Adds the labels of `path` (`labels::load`), one per image, classes of `net`'s output.
    pub fn with_labels(mut self, path: &Path, net: &Network) -> Result<Batch> {
        self.labels = Some(labels::load(path, self.images.len(), crate::classify::classes(net))?);
        Ok(self)
    }

    /// What a calibration note names as the input it calibrated on.
    pub fn calibration_input(&self) -> &'static str {
        if self.stacked {
            "the first image of the batch"
        } else {
            "this input"
        }
    }
}
