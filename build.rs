//! With the opt-in `mkl` feature, candle links Intel MKL statically (intel-mkl-src) but the
//! OpenMP runtime it needs, libiomp5, as a shared library found under $MKLROOT (see
//! benches/mkl_setup.sh): give genovec's binaries, tests and benches an rpath to it so they run
//! without LD_LIBRARY_PATH. Does nothing without the feature.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=MKLROOT");
    if std::env::var_os("CARGO_FEATURE_MKL").is_none() {
        return;
    }
    if let Some(root) = std::env::var_os("MKLROOT") {
        let lib = std::path::Path::new(&root).join("lib");
        if lib.join("libiomp5.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        }
    }
}
