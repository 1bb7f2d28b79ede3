//! The ONNX protobuf messages, generated at build time from the ONNX project's schema
//! (`proto/onnx.proto`, see build.rs), and the decoding of a model file.

use anyhow::{anyhow, Result};
use prost::Message;

/// The generated types of package `onnx` (ModelProto, GraphProto, NodeProto, TensorProto, ...).
#[allow(clippy::all, missing_docs)]
pub mod onnx {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

/// Decodes a serialised `ModelProto`; a file that is not one (truncated, or another format) is an
/// error saying what the decoder found, never a panic (prost bounds its recursion).
pub fn decode(bytes: &[u8]) -> Result<onnx::ModelProto> {
    let model = onnx::ModelProto::decode(bytes)
        .map_err(|e| anyhow!("not a valid ONNX model (protobuf decoding failed: {e}); expected an .onnx file"))?;
    // Protobuf accepts many byte strings (every field is optional): a model has a graph with nodes.
    let has_nodes = model.graph.as_ref().is_some_and(|g| !g.node.is_empty());
    if model.ir_version.unwrap_or(0) <= 0 || !has_nodes {
        return Err(anyhow!("not an ONNX model (no IR version or no graph nodes); expected an .onnx file"));
    }
    Ok(model)
}
