//! The importer's own reference executor: runs an ONNX graph in float32 on a batch of images, node
//! by node with the ops of ops.rs. Every import compares the golden model of the network it wrote
//! with this run of the original graph.

use anyhow::{Context, Result};
use std::collections::HashMap;

use super::model::Model;
use super::ops;
use super::value::Value;

/// Every value the graph computes for `input` (`[N, ...]` as the graph input's shape), keeping
/// the values `keep` names and those later nodes still need.
pub fn run(model: &Model, input: Value, keep: &dyn Fn(&str) -> bool) -> Result<HashMap<String, Value>> {
    // How many nodes still read each value: a value is dropped after its last reader unless kept.
    let mut readers: HashMap<&str, usize> = HashMap::new();
    for n in &model.nodes {
        for i in n.inputs.iter().filter(|s| !s.is_empty()) {
            *readers.entry(i.as_str()).or_default() += 1;
        }
    }
    let mut values: HashMap<String, Value> = HashMap::new();
    values.insert(model.input.name.clone(), input);
    for n in &model.nodes {
        if n.op == "Constant" && n.domain.is_empty() {
            continue; // read when the model was loaded
        }
        let args: Vec<Option<&Value>> = n
            .inputs
            .iter()
            .map(|name| if name.is_empty() { None } else { values.get(name).or_else(|| model.constants.get(name)) })
            .collect();
        let outs = ops::eval(n, &args)?;
        for i in n.inputs.iter().filter(|s| !s.is_empty()) {
            let left = readers.get_mut(i.as_str()).expect("counted above");
            *left -= 1;
            if *left == 0 && !keep(i) && *i != model.output {
                values.remove(i);
            }
        }
        for (name, v) in n.outputs.iter().zip(outs) {
            values.insert(name.clone(), v);
        }
    }
    values.get(&model.output).with_context(|| format!("the graph output {:?} was not computed", model.output))?;
    Ok(values)
}

/// The graph's output for `input`.
pub fn output(model: &Model, input: Value) -> Result<Value> {
    let mut v = run(model, input, &|_| false)?;
    Ok(v.remove(&model.output).expect("run checks the output"))
}
