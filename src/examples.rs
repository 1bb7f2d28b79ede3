//! The embedded example network (examples/tiny) and its input, so every program runs with no
//! arguments. The files are compiled in; `examples/tiny/make_tiny.py` regenerates them.

use anyhow::Result;
use std::collections::BTreeMap;

use crate::network::{parse_network, EmbeddedSource, Network};
use crate::tensor::Tensor3;

pub const TINY_NET_TOML: &str = include_str!("../examples/tiny/net.toml");
pub const TINY_ORIGIN: &str = "<embedded examples/tiny/net.toml>";

macro_rules! embedded_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../examples/tiny/", $name)) as &[u8])),*]
    };
}

const TINY_FILES: &[(&str, &[u8])] = embedded_files!(
    "conv1.npy",
    "conv1_bias.npy",
    "slbf2_bank.npy",
    "slbf2_index.npy",
    "conv3.npy",
    "penni4_basis.npy",
    "penni4_coef.npy",
    "fc6.npy",
);

const TINY_INPUT: &[u8] = include_bytes!("../examples/tiny/input.npy");

/// The files the embedded example network names (its weights).
pub fn tiny_files() -> EmbeddedSource {
    EmbeddedSource(TINY_FILES.iter().copied().collect::<BTreeMap<_, _>>())
}

/// The embedded example network.
pub fn tiny_network() -> Result<Network> {
    parse_network(TINY_NET_TOML, TINY_ORIGIN, &tiny_files())
}

/// The embedded example input (a synthetic 3x32x32 8-bit image).
pub fn tiny_input(net: &Network) -> Result<Tensor3<i32>> {
    crate::npyio::parse_activations(TINY_INPUT, net.input.bits, net.input.shape)
}

/// The network and input a program runs: `--network` / `--input` when given, else the embedded
/// example network and its input (an input is required with a user's network). The input is
/// one image; a batch is an error naming the file.
pub fn load_network_and_input(
    network: Option<&std::path::Path>,
    input: Option<&std::path::Path>,
) -> Result<(Network, Tensor3<i32>)> {
    use anyhow::Context;
    let (net, batch) = load_network_and_batch(network, input)?;
    if batch.stacked {
        anyhow::bail!(
            "{}: a batch of {} images: expected one image of shape {:?} (this program runs one input)",
            input.map(|p| p.display().to_string()).unwrap_or_default(),
            batch.images.len(),
            net.input.shape
        );
    }
    let x = batch.images.into_iter().next().context("an input holds at least one image")?;
    Ok((net, x))
}

/// The network and the images a program runs: like `load_network_and_input`, the input file
/// holding one image `[C, H, W]` or a batch `[N, C, H, W]`.
pub fn load_network_and_batch(
    network: Option<&std::path::Path>,
    input: Option<&std::path::Path>,
) -> Result<(Network, crate::batch::Batch)> {
    let net = match network {
        Some(p) => crate::network::load_network(p)?,
        None => tiny_network()?,
    };
    let batch = match (input, network) {
        (Some(p), _) => crate::batch::Batch::read(p, &net)?,
        (None, None) => crate::batch::Batch::single(tiny_input(&net)?),
        (None, Some(_)) => {
            anyhow::bail!("--input: expected an input tensor (.npy) for the network given with --network")
        }
    };
    Ok((net, batch))
}
