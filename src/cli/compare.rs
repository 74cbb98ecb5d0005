//! `genovec compare`.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use genovec::energy::{EnergyModel, DEFAULT_GRID_KG_PER_KWH, DEFAULT_WATTS_PER_CORE};
use genovec::engine::{self, CompareOptions, CompareReport, PipelineResult};
use genovec::seq;

use super::args::{FinetuneBudget, ReadArgs};
use super::output;

/// Arguments of `compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The language model: dnabert2:DIR | nt:DIR | hyenadna:DIR | DIR.
    #[arg(long)]
    embedder: String,
    /// Training files.
    #[arg(long, required = true, num_args = 1..)]
    train: Vec<PathBuf>,
    /// Test files.
    #[arg(long, required = true, num_args = 1..)]
    test: Vec<PathBuf>,
    /// A second test set from another distribution.
    #[arg(long, num_args = 1..)]
    shift_test: Vec<PathBuf>,
    #[command(flatten)]
    read: ReadArgs,
    /// Write report.md, report.json and PNG plots here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the JSON object instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    budget: FinetuneBudget,
    /// Watts drawn by one busy core (energy = CPU seconds x this).
    #[arg(long, default_value_t = DEFAULT_WATTS_PER_CORE)]
    watts_per_core: f64,
    /// Grid carbon intensity, kg CO2e per kWh (default: world average, 0.475).
    #[arg(long, default_value_t = DEFAULT_GRID_KG_PER_KWH)]
    grid_intensity: f64,
    /// Leave out the fine-tuned pipeline.
    #[arg(long)]
    skip_finetune: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let read = args.read.options(None);
    let train = seq::read_all(&args.train, &read)?;
    let test = seq::read_all(&args.test, &read)?;
    let shift = match args.shift_test.is_empty() {
        true => None,
        false => Some(seq::read_all(&args.shift_test, &read)?),
    };
    let opts = CompareOptions {
        embedder: args.embedder.clone(),
        finetune: args.budget.options(),
        energy: EnergyModel {
            watts_per_core: args.watts_per_core,
            grid_kg_per_kwh: args.grid_intensity,
        },
        skip_finetune: args.skip_finetune,
    };
    let report = engine::compare(&train, &test, shift.as_deref(), &opts)?;
    let markdown = markdown(&report);
    if let Some(dir) = &args.out {
        write_outputs(dir, &report, &markdown)?;
    }
    let mut out = output::stdout();
    match args.json {
        true => output::json_line(&mut out, &report)?,
        false => out.write_all(markdown.as_bytes())?,
    }
    out.flush()?;
    Ok(())
}

fn write_outputs(dir: &Path, report: &CompareReport, markdown: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("report.md"), markdown)?;
    std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(report)?)?;
    super::plots::write(dir, report)
}

/// The report as Markdown: one table per test set, the ratios, and the method.
pub fn markdown(report: &CompareReport) -> String {
    let mut md = String::from("# genovec compare\n\n## Test set\n\n");
    table(&mut md, &report.pipelines);
    if !report.shift.is_empty() {
        md.push_str("\n## Shift test set\n\n");
        table(&mut md, &report.shift);
    }
    ratios(&mut md, &report.pipelines);
    let m = &report.method;
    let _ = write!(
        md,
        "\n## Method\n\nEnergy: {} Constants: {} W per busy core, {} kg CO2e/kWh; {} threads.\n",
        m.energy, m.watts_per_core, m.grid_kg_per_kwh, m.threads
    );
    if let Some(f) = &m.finetune {
        let _ = writeln!(
            md,
            "\nFine-tune: {} ({}), lr {}, {} training rows, {} steps ({:.2} epochs), stopped by \
             {:?}, best dev accuracy {:.4}.",
            f.family, f.scope, f.lr, f.n_train, f.steps, f.epochs, f.stopped, f.best_dev_accuracy
        );
    }
    md
}

fn table(md: &mut String, rows: &[PipelineResult]) {
    md.push_str(
        "| pipeline | accuracy | macro-F1 | MCC | AUROC | train s | infer ms/seq | kWh | kg CO2 |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let auroc = r.auroc.map_or("-".into(), |a| format!("{a:.4}"));
        let _ = writeln!(
            md,
            "| {} | {:.4} | {:.4} | {:.4} | {} | {:.1} | {:.3} | {:.2e} | {:.2e} |",
            r.name,
            r.accuracy,
            r.macro_f1,
            r.mcc,
            auroc,
            r.train_time_s,
            r.infer_ms_per_seq,
            r.energy_kwh,
            r.co2_kg
        );
    }
}

/// Fine-tuned over embedding pipeline: inference time and energy.
fn ratios(md: &mut String, rows: &[PipelineResult]) {
    let find = |prefix: &str| rows.iter().find(|r| r.name.starts_with(prefix));
    let (Some(emb), Some(ft)) = (find("embedding+knn+fusion"), find("finetuned")) else {
        return;
    };
    let _ = writeln!(
        md,
        "\nFine-tuned / embedding pipeline: inference time {:.2}x, inference energy {:.2}x, \
         total energy (training + inference) {:.2}x.",
        ft.infer_ms_per_seq / emb.infer_ms_per_seq.max(f64::MIN_POSITIVE),
        ft.infer_energy_kwh / emb.infer_energy_kwh.max(f64::MIN_POSITIVE),
        ft.energy_kwh / emb.energy_kwh.max(f64::MIN_POSITIVE),
    );
}
