//! Compiles `proto/` with a protoc from the `protoc-bin-vendored` crate (no system protoc needed)
//! and writes the file descriptor set that the reflection service serves; with the
//! "libtorch" feature, gives every binary an rpath to libtorch's lib directory (torch-sys's own
//! rpath does not reach the final binary).
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    let include = protoc_bin_vendored::include_path()?;
    std::env::set_var("PROTOC_INCLUDE", &include);
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_build::configure()
        .file_descriptor_set_path(out.join("herken_descriptor.bin"))
        .compile_protos(
            &["proto/herken/v1/herken.proto"],
            &["proto", include.to_str().unwrap_or(".")],
        )?;
    println!("cargo:rerun-if-changed=proto");
    // Set by torch-sys (links = "tch") for its direct dependents.
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        let lib = std::fs::canonicalize(&lib).unwrap_or_else(|_| PathBuf::from(lib));
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
    Ok(())
}
