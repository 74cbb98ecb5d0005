//! Arguments shared by several subcommands.

use std::path::PathBuf;

use genovec::seq::{Format, ReadOptions};

/// How to read sequence files.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadArgs {
    /// File format (auto detects by extension, then content).
    #[arg(long, default_value = "auto")]
    pub format: Format,
    /// Table column holding the sequence (default: `sequence` or `seq`).
    #[arg(long)]
    pub seq_column: Option<String>,
    /// Table column holding the label (default: `label`).
    #[arg(long)]
    pub label_column: Option<String>,
    /// Table column holding the record name (default: `name` or `id`, else file:line).
    #[arg(long)]
    pub name_column: Option<String>,
}

impl ReadArgs {
    /// The library's read options; `label` is given to records that carry none.
    pub fn options(&self, label: Option<String>) -> ReadOptions {
        ReadOptions {
            format: self.format,
            seq_column: self.seq_column.clone(),
            label_column: self.label_column.clone(),
            name_column: self.name_column.clone(),
            label,
        }
    }
}

/// `--adapt`: covariate-shift correction of a query set.
#[derive(Debug, Clone, clap::Args)]
pub struct AdaptArg {
    /// Covariate-shift correction, opt-in: `never` (the default) answers each sequence on
    /// its own; `auto` looks at the query set as a whole and, when what a mix of the
    /// training classes cannot explain of its mean is material (beyond noise, RMS at least
    /// 0.1 standard deviations, at least 100 queries), refits the linear model blind to that
    /// direction and leaves the kNN vote out (every such prediction says `adapted`);
    /// `always` corrects regardless.
    #[arg(long, default_value = "never")]
    pub adapt: genovec::classify::Adapt,
}

/// The fine-tuning run's length and budget, shared by `finetune` and `compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct FinetuneBudget {
    /// Fine-tuning passes over the training rows.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Fine-tune only the last N layers (and what follows them); default: every layer.
    #[arg(long)]
    pub last_layers: Option<usize>,
    /// Fine-tune on at most N rows (a seeded stratified subsample).
    #[arg(long)]
    pub max_train: Option<usize>,
    /// Score at most N dev rows at each early-stopping evaluation.
    #[arg(long, default_value_t = 1000)]
    pub max_dev: usize,
    /// Stop fine-tuning after M minutes (the schedule is fitted to the budget).
    #[arg(long)]
    pub max_minutes: Option<f64>,
    /// Seed of the dev split, subsamples, head initialisation and batch order.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// With --last-layers, run the whole model at every step instead of caching the frozen
    /// layers' output once per row.
    #[arg(long)]
    pub no_frozen_cache: bool,
    /// MiB of the frozen layers' cached output kept in memory; the rest goes to a temporary
    /// file.
    #[arg(long, default_value_t = 2048)]
    pub cache_memory_mb: u64,
}

impl FinetuneBudget {
    /// The library's options with these fields set and the rest at their defaults.
    pub fn options(&self) -> genovec::finetune::FinetuneOptions {
        use genovec::finetune::{FinetuneOptions, Scope};
        FinetuneOptions {
            epochs: self.epochs,
            scope: self.last_layers.map_or(Scope::Full, Scope::LastLayers),
            max_train: self.max_train,
            max_minutes: self.max_minutes,
            max_dev: self.max_dev,
            seed: self.seed,
            cache_frozen: !self.no_frozen_cache,
            cache_memory_mb: self.cache_memory_mb,
            ..FinetuneOptions::default()
        }
    }
}

/// `--collection X`: a name under indexes/ or a path.
#[derive(Debug, Clone, clap::Args)]
pub struct CollectionArg {
    /// Collection name (indexes/NAME.redb) or path (contains `/` or ends in `.redb`).
    #[arg(long)]
    pub collection: String,
}

impl CollectionArg {
    /// The collection file.
    pub fn path(&self) -> PathBuf {
        genovec::engine::collection_path(&self.collection)
    }

    /// The collection file of a command that runs only on local collections.
    pub fn local(&self, command: &str) -> anyhow::Result<PathBuf> {
        local_path(&self.collection, command)
    }
}

/// The file of a local collection; a `milvus://` URI is refused for a `command` that does not
/// run on Milvus yet.
pub fn local_path(collection: &str, command: &str) -> anyhow::Result<PathBuf> {
    if genovec::milvus::MilvusUri::is_milvus(collection) {
        anyhow::bail!("`genovec {command}` does not run on a Milvus collection yet ({collection})");
    }
    Ok(genovec::engine::collection_path(collection))
}
