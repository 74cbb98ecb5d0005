//! The `genovec` command-line tool: a thin layer over the library's engine.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
