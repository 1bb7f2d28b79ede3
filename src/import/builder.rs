//! Builds small ONNX models in code, for the importer's tests: a graph of nodes over one float
//! input, with float initializers and the attributes the supported ops take.

use prost::Message;

use super::proto::onnx::{
    self, attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto, AttributeProto,
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// An attribute value for `Builder::node`.
pub enum A {
    I(i64),
    Is(Vec<i64>),
    F(f32),
    S(&'static str),
}

pub struct Builder {
    graph: GraphProto,
    opset: i64,
}

fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| tensor_shape_proto::Dimension {
            value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl Builder {
    /// A graph reading `input` of shape `dims` (batch first) and producing `output`.
    pub fn new(input: &str, dims: &[i64], output: &str, opset: i64) -> Builder {
        let graph = GraphProto {
            name: Some("test".into()),
            input: vec![value_info(input, dims)],
            output: vec![value_info(output, &[])],
            ..Default::default()
        };
        Builder { graph, opset }
    }

    /// A float32 initializer.
    pub fn init(&mut self, name: &str, dims: &[i64], data: &[f32]) -> &mut Self {
        self.graph.initializer.push(TensorProto {
            name: Some(name.into()),
            dims: dims.to_vec(),
            data_type: Some(DataType::Float as i32),
            float_data: data.to_vec(),
            ..Default::default()
        });
        self
    }

    /// An int64 initializer (shapes, axes).
    pub fn init_i64(&mut self, name: &str, dims: &[i64], data: &[i64]) -> &mut Self {
        self.graph.initializer.push(TensorProto {
            name: Some(name.into()),
            dims: dims.to_vec(),
            data_type: Some(DataType::Int64 as i32),
            int64_data: data.to_vec(),
            ..Default::default()
        });
        self
    }

    /// A node of `domain` ("" for standard ops); named after its first output.
    pub fn node(
        &mut self,
        op: &str,
        domain: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<(&str, A)>,
    ) -> &mut Self {
        let attribute = attrs
            .into_iter()
            .map(|(name, a)| {
                let mut p = AttributeProto { name: Some(name.into()), ..Default::default() };
                match a {
                    A::I(v) => {
                        p.i = Some(v);
                        p.r#type = Some(AttributeType::Int as i32);
                    }
                    A::Is(v) => {
                        p.ints = v;
                        p.r#type = Some(AttributeType::Ints as i32);
                    }
                    A::F(v) => {
                        p.f = Some(v);
                        p.r#type = Some(AttributeType::Float as i32);
                    }
                    A::S(v) => {
                        p.s = Some(v.as_bytes().to_vec());
                        p.r#type = Some(AttributeType::String as i32);
                    }
                }
                p
            })
            .collect();
        self.graph.node.push(NodeProto {
            name: Some(outputs[0].into()),
            op_type: Some(op.into()),
            domain: Some(domain.into()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute,
            ..Default::default()
        });
        self
    }

    pub fn model(&self) -> ModelProto {
        ModelProto {
            ir_version: Some(8),
            producer_name: Some("cbnn tests".into()),
            opset_import: vec![
                OperatorSetIdProto { domain: Some(String::new()), version: Some(self.opset) },
                OperatorSetIdProto { domain: Some("qonnx.custom_op.general".into()), version: Some(1) },
            ],
            graph: Some(self.graph.clone()),
            ..Default::default()
        }
    }

    /// The model's protobuf bytes (an .onnx file's content).
    pub fn bytes(&self) -> Vec<u8> {
        self.model().encode_to_vec()
    }
}

/// Re-encodes a model after `edit` (for tests that break a real model in one place).
pub fn edited(bytes: &[u8], edit: impl FnOnce(&mut onnx::ModelProto)) -> Vec<u8> {
    let mut m = onnx::ModelProto::decode(bytes).expect("a valid model to edit");
    edit(&mut m);
    m.encode_to_vec()
}
