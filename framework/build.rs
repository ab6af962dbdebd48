//! Compiles `proto/espoir.proto` with protox (a pure-Rust protobuf compiler), so
//! a fresh build needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/espoir.proto";
    println!("cargo:rerun-if-changed={proto}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let descriptors = protox::compile([proto], ["proto"])?;
    prost_build::Config::new().bytes(["."]).compile_fds(descriptors)?;
    // The compiler's version, for the `espoir_build_info` metric: the one
    // cargo runs, so no other tool is needed.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned());
    println!("cargo:rustc-env=ESPOIR_RUSTC_VERSION={version}");
    Ok(())
}
