//! The `genovec` command-line tool: a thin layer over the library's engine.

mod cli;

/// mimalloc rather than glibc's malloc: glibc unmaps every freed block over 32 MiB, so a
/// language model's large activations are page-faulted in afresh at every layer (see the
/// `mimalloc` entry in Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
