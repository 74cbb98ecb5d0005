//! `genovec eval`.

use std::io::Write;
use std::path::PathBuf;

use genovec::engine::{self, EvalOptions, EvalReport};
use genovec::seq;

use super::args::{AdaptArg, ReadArgs};
use super::output::{self, num};

/// Arguments of `eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Training files.
    #[arg(long, num_args = 1.., requires = "test", conflicts_with = "data")]
    train: Vec<PathBuf>,
    /// Test files.
    #[arg(long, num_args = 1.., requires = "train")]
    test: Vec<PathBuf>,
    /// Files for cross-validation (with --folds).
    #[arg(long, num_args = 1.., requires = "folds", required_unless_present = "train")]
    data: Vec<PathBuf>,
    /// Number of stratified folds.
    #[arg(long)]
    folds: Option<usize>,
    /// Also cross-validate with near-duplicates kept in one fold (records joined by pairs at
    /// --identity or more, as `qc` finds them), and report both.
    #[arg(long, value_enum, requires = "folds")]
    group: Option<Group>,
    /// Least identity of two records that --group keeps together.
    #[arg(long, default_value_t = 0.9, requires = "group")]
    identity: f64,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    adapt: AdaptArg,
    /// Embedder spec.
    #[arg(long, default_value = "composition")]
    embedder: String,
    /// Voting neighbours (default: tuned on each training set).
    #[arg(long)]
    k: Option<usize>,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Train the linear model on the embedding alone, without the handcrafted features.
    #[arg(long)]
    no_handcrafted: bool,
    /// Index each fold's training rows with int8 codes in memory (as `index --quantize`).
    #[arg(long, default_value = "none")]
    quantize: genovec::store::Quantize,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write every test row's outcome as TSV (name, truth, predicted, confidence), in
    /// input order, for paired comparisons.
    #[arg(long)]
    predictions: Option<PathBuf>,
}

/// What `--group` keeps together.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Group {
    /// Records joined by near-duplicate pairs.
    NearDuplicates,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let read = args.read.options(None);
    let opts = EvalOptions {
        embedder: args.embedder.clone(),
        k: args.k,
        seed: args.seed,
        handcrafted: !args.no_handcrafted,
        adapt: args.adapt.adapt,
        quantize: args.quantize,
    };
    if let (Some(folds), Some(Group::NearDuplicates)) = (args.folds, args.group) {
        return grouped(&seq::read_all(&args.data, &read)?, folds, &args, &opts);
    }
    let report = match args.folds {
        Some(folds) => engine::eval_folds(&seq::read_all(&args.data, &read)?, folds, &opts)?,
        None => engine::eval_split(
            &seq::read_all(&args.train, &read)?,
            &seq::read_all(&args.test, &read)?,
            &opts,
        )?,
    };
    report
        .folds
        .iter()
        .filter_map(|f| f.shift.as_ref())
        .for_each(super::classify::note_shift);
    if let Some(path) = &args.predictions {
        write_predictions(path, &report)?;
    }
    let mut out = output::stdout();
    if args.json {
        output::json_line(&mut out, &report)?;
    } else {
        write_table(&mut out, &report)?;
    }
    out.flush()?;
    Ok(())
}

/// `--group near-duplicates`: the ungrouped and the grouped cross-validation, both reported.
fn grouped(
    data: &[seq::SeqRecord],
    folds: usize,
    args: &Args,
    opts: &EvalOptions,
) -> anyhow::Result<()> {
    let plain = engine::eval_folds(data, folds, opts)?;
    let (grouped, groups) = engine::eval_folds_grouped(data, folds, args.identity, opts)?;
    if let Some(path) = &args.predictions {
        write_predictions(path, &grouped)?;
    }
    let mut out = output::stdout();
    if args.json {
        let both = serde_json::json!({
            "ungrouped": plain, "grouped": grouped,
            "near_duplicate_groups": groups, "identity": args.identity,
        });
        output::json_line(&mut out, &both)?;
    } else {
        writeln!(out, "ungrouped folds")?;
        write_table(&mut out, &plain)?;
        let identity = num(args.identity);
        writeln!(
            out,
            "\nnear-duplicates kept in one fold ({groups} groups, identity >= {identity})"
        )?;
        write_table(&mut out, &grouped)?;
    }
    out.flush()?;
    Ok(())
}

fn write_predictions(path: &std::path::Path, r: &EvalReport) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(out, "name\ttruth\tpredicted\tconfidence")?;
    for row in &r.rows {
        writeln!(
            out,
            "{}\t{}\t{}\t{}",
            row.name,
            row.truth,
            row.predicted,
            num(row.confidence)
        )?;
    }
    out.flush()?;
    Ok(())
}

fn write_table(out: &mut impl Write, r: &EvalReport) -> anyhow::Result<()> {
    writeln!(
        out,
        "train {}  test {}  folds {}",
        r.n_train,
        r.n_test,
        r.folds.len()
    )?;
    writeln!(out, "accuracy  {}", num(r.accuracy))?;
    writeln!(out, "macro_f1  {}", num(r.macro_f1))?;
    writeln!(out, "mcc       {}", num(r.mcc))?;
    writeln!(out, "auroc     {}", r.auroc.map_or("n/a".into(), num))?;
    for (i, f) in r.folds.iter().enumerate() {
        let p = f.params.as_ref().map_or("kNN only".into(), |p| {
            format!("k={} weight_knn={} C={}", p.k, p.weight_knn, p.c)
        });
        let shift = f.shift.as_ref().map_or(String::new(), |s| {
            let adapted = if s.adapted { ", adapted" } else { "" };
            format!(
                " shift rms {} ({}x noise{adapted})",
                num(s.rms),
                num(s.noise_ratio)
            )
        });
        writeln!(
            out,
            "fold {}: accuracy {} macro_f1 {} mcc {} ({p}){shift}",
            i + 1,
            num(f.metrics.accuracy),
            num(f.metrics.macro_f1),
            num(f.metrics.mcc)
        )?;
    }
    writeln!(out, "confusion (rows true, columns predicted):")?;
    let width = r.labels.iter().map(String::len).max().unwrap_or(4).max(6);
    write!(out, "{:width$}", "")?;
    r.labels
        .iter()
        .try_for_each(|l| write!(out, " {l:>width$}"))?;
    writeln!(out)?;
    for (label, row) in r.labels.iter().zip(&r.confusion) {
        write!(out, "{label:width$}")?;
        row.iter().try_for_each(|c| write!(out, " {c:>width$}"))?;
        writeln!(out)?;
    }
    Ok(())
}
