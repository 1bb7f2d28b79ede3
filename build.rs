//! Generates the ONNX protobuf types (`import`'s model reader) from the ONNX project's schema,
//! src/import/proto/onnx.proto, with protox (a protobuf compiler in Rust, so no `protoc` is
//! needed) and prost-build.

fn main() {
    let proto = "src/import/proto/onnx.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["src/import/proto"]).expect("src/import/proto/onnx.proto compiles");
    prost_build::Config::new().compile_fds(descriptors).expect("prost-build generates the ONNX types");
}
