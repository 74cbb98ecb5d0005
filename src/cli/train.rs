//! `genovec train`: bring a collection's classifier up to date.

use genovec::engine::{self, TrainAction, TrainMode, TrainOptions, Trained};

use super::args::CollectionArg;

/// Arguments of `train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    collection: CollectionArg,
    /// Re-tune k, the fusion weight and C (by default they are re-tuned only once the
    /// collection changed by 10% since the last tuning, and otherwise kept while the linear
    /// model is refitted).
    #[arg(long)]
    retune: bool,
    /// For a first training: fit the linear model on the embedding alone.
    #[arg(long)]
    no_handcrafted: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = TrainOptions {
        mode: if args.retune {
            TrainMode::Retune
        } else {
            TrainMode::Auto
        },
        handcrafted: !args.no_handcrafted,
    };
    let trained = match super::remote::uri(&args.collection)? {
        Some(uri) => super::remote::train(&uri, opts)?,
        None => engine::train_collection(&args.collection.path(), opts)?,
    };
    report(&trained);
    Ok(())
}

/// One stderr line saying what training did.
pub fn report(trained: &Trained) {
    let what = match trained.action {
        TrainAction::Tuned => "tuned and fitted",
        TrainAction::Refitted => "refitted with the stored k, weight and C",
        TrainAction::UpToDate => "up to date",
        TrainAction::TooFew => {
            eprintln!(
                "warning: classifier not trained: not enough records per label (at least {} \
                 live records and two labels with two records each are needed); the kNN vote \
                 answers",
                engine::MIN_TRAIN_RECORDS
            );
            return;
        }
    };
    if let Some(c) = &trained.state {
        let p = &c.params;
        eprintln!(
            "classifier: {what}: k={} weight_knn={} C={} on {} records (inner validation \
             accuracy {:.4})",
            p.k, p.weight_knn, p.c, c.trained_on, c.val_accuracy
        );
    }
}
