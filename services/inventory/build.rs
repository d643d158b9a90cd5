//! Generates the inventory gRPC server and client.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The vendored protoc keeps the build free of system packages.
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure().compile_with_config(
        config,
        &["proto/inventory.proto"],
        &["proto"],
    )?;
    Ok(())
}
