//! Compiles `proto/` into Rust with protox (a pure-Rust protobuf compiler) and prost-build, so
//! building Norn needs no system `protoc`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        root.join("prometheus/types.proto"),
        root.join("prometheus/remote.proto"),
        root.join("io/prometheus/write/v2/types.proto"),
    ];
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [&root])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
