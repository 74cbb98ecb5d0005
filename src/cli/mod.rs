//! Argument parsing and dispatch. Each subcommand lives in its own file and only parses,
//! calls `genovec::engine`, and formats.

mod args;
mod check;
mod classify;
mod compare;
mod demo;
mod eval;
mod export;
mod finetune;
mod index;
mod info;
mod maintain;
mod output;
mod plots;
mod progress;
mod qc;
mod qc_plots;
mod remote;
mod search;
mod serve;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// genovec: an embedded vector database for DNA sequences with retrieval-augmented
/// classification.
#[derive(Debug, Parser)]
#[command(name = "genovec", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Index labelled sequences into a collection.
    Index(index::Args),
    /// Find the nearest stored records of query sequences.
    Search(search::Args),
    /// Classify sequences by their nearest labelled neighbours and a linear model.
    Classify(classify::Args),
    /// Show a collection's counts and settings.
    Info(info::Args),
    /// Delete records by id (tombstones until `compact`).
    Delete(maintain::DeleteArgs),
    /// Drop deleted records, rebuild the graph and bring the classifier up to date.
    Compact(maintain::CompactArgs),
    /// Train the classifier: refit the linear model, re-tuning k, weight and C when due.
    Train(train::Args),
    /// Write every live record (with metadata and vector) as Parquet, NPY, FASTA or JSON Lines.
    Export(export::Args),
    /// Verify a whole collection file: checksums, cross-references and redb's pages.
    Check(check::Args),
    /// Evaluate the pipeline: train/test or seeded stratified cross-validation.
    Eval(eval::Args),
    /// Index seeded synthetic data and classify held-out sequences.
    Demo(demo::Args),
    /// Serve collections over a JSON HTTP API.
    Serve(serve::Args),
    /// Fine-tune a DNA language model with a classification head (the contrast to kNN).
    Finetune(finetune::Args),
    /// Compare frozen embeddings + kNN, the composition embedder and a fine-tuned model.
    Compare(compare::Args),
    /// Report duplicates, near-duplicates across sets, label conflicts and class statistics.
    Qc(qc::Args),
}

/// A write past a file-size limit (`ulimit -f`) then fails with a storage error naming the
/// file, which a server recovers from, instead of SIGXFSZ killing the process.
fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code and is done
    // before any other thread starts.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Runs the CLI; errors print on stderr and give exit status 1.
pub fn main() -> ExitCode {
    init_tracing();
    ignore_file_size_signal();
    let cli = Cli::parse();
    // A server's requests are not long work of the user's: its log stays free of phases.
    if !matches!(cli.command, Command::Serve(_)) {
        progress::install();
    }
    let result = match cli.command {
        Command::Index(a) => index::run(a),
        Command::Search(a) => search::run(a),
        Command::Classify(a) => classify::run(a),
        Command::Info(a) => info::run(a),
        Command::Delete(a) => maintain::delete(a),
        Command::Compact(a) => maintain::compact(a),
        Command::Train(a) => train::run(a),
        Command::Check(a) => check::run(a),
        Command::Export(a) => export::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Finetune(a) => {
            keep_freed_pages();
            no_candle_pool_workers();
            finetune::run(a)
        }
        Command::Compare(a) => {
            keep_freed_pages();
            no_candle_pool_workers();
            compare::run(a)
        }
        Command::Qc(a) => qc::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GENOVEC_LOG")
        .unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs candle's own elementwise ops on the calling thread (`CANDLE_NUM_THREADS=1`), unless
/// the user set that variable.
///
/// candle sizes a second pool from it, apart from rayon's, for adds and multiplies of 64k
/// values or more (the gradient store's adds among them). Its workers spin after each op,
/// and its callers queue on one lock: with a fine-tuning step's shares of the batch running
/// on every thread (`finetune::batch_gradients`), that pool cost HyenaDNA-tiny's step on two
/// threads about a third of its time (0.32-0.36 s a step without it, 0.47 s with it), while
/// inference on two threads was the same either way (`model_throughput`, BENCHMARKS.md).
/// candle reads the variable once, when the pool starts: this runs before any model loads.
fn no_candle_pool_workers() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// Makes mimalloc keep the pages it frees instead of returning them to the OS after a second.
///
/// A fine-tuning step frees and re-allocates its activations, gradients and their
/// temporaries, hundreds of MB for a 50M-parameter model; returned pages come back as
/// fresh ones that the kernel zeroes, which took 20-40 % of an NT-v2-50M step (perf,
/// `clear_page_erms`). For these one-shot commands the resident size stays at the peak
/// instead.
pub fn keep_freed_pages() {
    // SAFETY: mi_option_set only stores the option; mimalloc reads it when it next purges.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// `mi_option_purge_delay` of mimalloc's `mimalloc.h` (v3, the crate's default; the crate
/// exports no constant for it): milliseconds before freed memory is purged, -1 for never.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[cfg(test)]
mod tests {
    /// The option number is the purge delay: its default is v3's 1000 ms.
    #[test]
    fn option_15_is_the_purge_delay() {
        // SAFETY: reads an option.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert!(delay == 1000 || delay == -1, "{delay}");
    }
}
