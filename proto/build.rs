//! Generates the gRPC services (messages, clients and servers) from the `.proto` files with
//! `protox` (a protobuf compiler in Rust: no system `protoc`) and `tonic-prost-build`. The
//! generated code stays in OUT_DIR.

const PROTOS: &[&str] = &[
    "keda/externalscaler.proto",
    "vane/autoscaler/v1/autoscaler.proto",
    "vane/autoscaler/v1/target.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for p in PROTOS {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(PROTOS, ["."])?;
    tonic_prost_build::configure()
        .emit_rerun_if_changed(false)
        .compile_fds(fds)?;
    Ok(())
}
