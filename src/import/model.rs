//! An ONNX model as the importer sees it: its nodes in order with their attributes, its constant
//! tensors (initializers and `Constant` nodes), its one image input and its one output. Built from
//! the protobuf messages with every structural check a later stage relies on (each node input is
//! defined before use, one input, one output), each failure one line naming the node.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::{BTreeMap, HashMap, HashSet};

use super::proto::onnx::{self, tensor_proto::DataType, AttributeProto, NodeProto, TensorProto};
use super::value::Value;

/// The quantiser domains QONNX is written in: the legacy Brevitas one and the qonnx package's.
pub const QUANT_DOMAINS: [&str; 2] = ["onnx.brevitas", "qonnx.custom_op.general"];

#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Floats(Vec<f32>),
    Str(String),
    Tensor(Value),
    /// A kind no supported op takes (graphs, sparse tensors, ...).
    Other,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub op: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: BTreeMap<String, Attr>,
}

impl Node {
    /// `node "NAME" (OP)`, the way every message names a node.
    pub fn label(&self) -> String {
        format!("node {:?} ({})", self.name, self.op)
    }

    fn attr(&self, key: &str) -> Option<&Attr> {
        self.attrs.get(key)
    }

    pub fn int(&self, key: &str, default: i64) -> Result<i64> {
        match self.attr(key) {
            None => Ok(default),
            Some(Attr::Int(v)) => Ok(*v),
            Some(_) => bail!("{}: attribute `{key}`: expected an integer", self.label()),
        }
    }

    pub fn ints(&self, key: &str) -> Result<Option<Vec<i64>>> {
        match self.attr(key) {
            None => Ok(None),
            Some(Attr::Ints(v)) => Ok(Some(v.clone())),
            Some(_) => bail!("{}: attribute `{key}`: expected a list of integers", self.label()),
        }
    }

    pub fn float(&self, key: &str, default: f32) -> Result<f32> {
        match self.attr(key) {
            None => Ok(default),
            Some(Attr::Float(v)) => Ok(*v),
            Some(_) => bail!("{}: attribute `{key}`: expected a float", self.label()),
        }
    }

    pub fn string(&self, key: &str, default: &str) -> Result<String> {
        match self.attr(key) {
            None => Ok(default.to_string()),
            Some(Attr::Str(v)) => Ok(v.clone()),
            Some(_) => bail!("{}: attribute `{key}`: expected a string", self.label()),
        }
    }

    /// Whether this is a QONNX quantiser op (`Quant`, `BipolarQuant`) of a known domain.
    pub fn is_quantiser(&self) -> bool {
        QUANT_DOMAINS.contains(&self.domain.as_str()) && matches!(self.op.as_str(), "Quant" | "BipolarQuant")
    }
}

/// The graph input: its name and dimensions (`None` for a symbolic one, e.g. the batch).
#[derive(Clone, Debug)]
pub struct GraphInput {
    pub name: String,
    pub dims: Vec<Option<usize>>,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub producer: String,
    /// `(domain, version)` of each opset the model imports.
    pub opsets: Vec<(String, i64)>,
    pub nodes: Vec<Node>,
    pub constants: HashMap<String, Value>,
    pub input: GraphInput,
    pub output: String,
}

impl Model {
    /// Checks and converts a decoded model.
    pub fn from_proto(m: &onnx::ModelProto) -> Result<Model> {
        let g = m.graph.as_ref().context("the model has no graph")?;
        let mut constants = HashMap::new();
        for t in &g.initializer {
            let name = t.name.clone().unwrap_or_default();
            let v = tensor(t).with_context(|| format!("initializer {name:?}"))?;
            constants.insert(name, v);
        }
        // Older exporters list initializers among the graph inputs too: those are not inputs.
        let inputs: Vec<&onnx::ValueInfoProto> = g.input.iter().filter(|i| !constants.contains_key(i.name())).collect();
        let input = match inputs.as_slice() {
            [one] => GraphInput { name: one.name().to_string(), dims: dims(one) },
            [] => bail!("the graph has no input that is not an initializer; expected one image input"),
            [_, extra, ..] => {
                // The first input is the image; another one without an initializer is most
                // likely a constant whose initializer is missing: name the node reading it.
                let reader = g.node.iter().enumerate().find(|(_, n)| n.input.iter().any(|i| i == extra.name()));
                match reader {
                    Some((i, n)) => bail!(
                        "{}: input {:?} is a graph input without an initializer (a missing initializer?); expected one image input and constants",
                        convert_node(n, i)?.label(),
                        extra.name()
                    ),
                    None => bail!("the graph has a second input {:?}; expected one image input", extra.name()),
                }
            }
        };
        let output = match g.output.as_slice() {
            [one] => one.name().to_string(),
            other => bail!("the graph has {} outputs; expected one (the class scores)", other.len()),
        };
        let mut defined: HashSet<String> = constants.keys().cloned().collect();
        defined.insert(input.name.clone());
        let mut nodes = Vec::new();
        for (i, n) in g.node.iter().enumerate() {
            let node = convert_node(n, i)?;
            for inp in node.inputs.iter().filter(|s| !s.is_empty()) {
                if !defined.contains(inp) {
                    bail!(
                        "{}: input {inp:?} is not defined (no initializer, graph input or earlier node output has that name)",
                        node.label()
                    );
                }
            }
            if node.op == "Constant" && node.domain.is_empty() {
                let value = match node.attrs.get("value") {
                    Some(Attr::Tensor(v)) => v.clone(),
                    _ => bail!("{}: only a `value` tensor attribute is supported", node.label()),
                };
                constants.insert(node.outputs[0].clone(), value);
            }
            defined.extend(node.outputs.iter().cloned());
            nodes.push(node);
        }
        if !defined.contains(&output) {
            bail!("the graph output {output:?} is not computed by any node");
        }
        let opsets = m.opset_import.iter().map(|o| (o.domain().to_string(), o.version())).collect();
        Ok(Model { producer: m.producer_name().to_string(), opsets, nodes, constants, input, output })
    }

    /// The node computing `value`, if any.
    pub fn producer_of(&self, value: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.outputs.iter().any(|o| o == value))
    }

    /// The domains of the quantisers in the model, for the report.
    pub fn quant_domains(&self) -> Vec<String> {
        let mut d: Vec<String> = self.nodes.iter().filter(|n| n.is_quantiser()).map(|n| n.domain.clone()).collect();
        d.sort();
        d.dedup();
        d
    }
}

fn dims(v: &onnx::ValueInfoProto) -> Vec<Option<usize>> {
    use onnx::tensor_shape_proto::dimension::Value as D;
    let shape = v.r#type.as_ref().and_then(|t| match &t.value {
        Some(onnx::type_proto::Value::TensorType(tt)) => tt.shape.as_ref(),
        _ => None,
    });
    shape
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(D::DimValue(v)) if *v > 0 => Some(*v as usize),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn convert_node(n: &NodeProto, index: usize) -> Result<Node> {
    let name = match n.name() {
        "" => format!("#{index}"),
        s => s.to_string(),
    };
    let op = n.op_type().to_string();
    let domain = match n.domain() {
        "ai.onnx" => String::new(),
        d => d.to_string(),
    };
    let mut attrs = BTreeMap::new();
    for a in &n.attribute {
        let v = attribute(a).with_context(|| format!("node {name:?} ({op}): attribute `{}`", a.name()))?;
        attrs.insert(a.name().to_string(), v);
    }
    if n.output.is_empty() {
        bail!("node {name:?} ({op}) has no outputs");
    }
    Ok(Node { name, op, domain, inputs: n.input.clone(), outputs: n.output.clone(), attrs })
}

fn attribute(a: &AttributeProto) -> Result<Attr> {
    use onnx::attribute_proto::AttributeType as T;
    // Old exporters leave `type` out: then the field that is set tells.
    let kind = match a.r#type() {
        T::Undefined if a.f.is_some() => T::Float,
        T::Undefined if a.i.is_some() => T::Int,
        T::Undefined if a.s.is_some() => T::String,
        T::Undefined if a.t.is_some() => T::Tensor,
        T::Undefined if !a.ints.is_empty() => T::Ints,
        T::Undefined if !a.floats.is_empty() => T::Floats,
        k => k,
    };
    Ok(match kind {
        T::Int => Attr::Int(a.i()),
        T::Ints => Attr::Ints(a.ints.clone()),
        T::Float => Attr::Float(a.f()),
        T::Floats => Attr::Floats(a.floats.clone()),
        T::String => Attr::Str(String::from_utf8_lossy(a.s()).into_owned()),
        T::Tensor => Attr::Tensor(tensor(a.t.as_ref().context("no tensor")?)?),
        _ => Attr::Other,
    })
}

/// A TensorProto as a float32 or int64 value. Data may be in `raw_data` (little-endian) or in
/// the typed fields; external data and other element types are errors.
pub fn tensor(t: &TensorProto) -> Result<Value> {
    if t.data_location == Some(onnx::tensor_proto::DataLocation::External as i32) {
        bail!("external data is not supported (save the model with its tensors inside the .onnx file)");
    }
    let shape: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| anyhow!("dimension {d} is negative")))
        .collect::<Result<_>>()?;
    let count: usize = shape.iter().product();
    let raw = t.raw_data.as_deref();
    let dtype = DataType::try_from(t.data_type()).unwrap_or(DataType::Undefined);
    let take = |n: usize, what: &str| -> Result<()> {
        if n != count {
            bail!("{what} holds {n} values; its shape {shape:?} needs {count}");
        }
        Ok(())
    };
    match dtype {
        DataType::Float => {
            let data: Vec<f32> = match raw {
                Some(r) if !r.is_empty() || count == 0 => {
                    take(r.len() / 4, "raw_data")?;
                    r.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
                }
                _ => t.float_data.clone(),
            };
            take(data.len(), "the tensor")?;
            Value::from_f32(&shape, data)
        }
        DataType::Int64 | DataType::Int32 => {
            let width = if dtype == DataType::Int64 { 8 } else { 4 };
            let data: Vec<i64> = match raw {
                Some(r) if !r.is_empty() || count == 0 => {
                    take(r.len() / width, "raw_data")?;
                    r.chunks_exact(width)
                        .map(|c| {
                            if width == 8 {
                                i64::from_le_bytes(c.try_into().unwrap())
                            } else {
                                i32::from_le_bytes(c.try_into().unwrap()) as i64
                            }
                        })
                        .collect()
                }
                _ if dtype == DataType::Int64 => t.int64_data.clone(),
                _ => t.int32_data.iter().map(|&v| v as i64).collect(),
            };
            take(data.len(), "the tensor")?;
            Value::from_i64(&shape, data)
        }
        other => bail!("element type {other:?} is not supported; expected float32, int32 or int64 tensors"),
    }
}
