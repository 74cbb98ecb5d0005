//! `genovec delete` and `genovec compact`.

use genovec::engine;

use super::args::CollectionArg;

/// Arguments of `delete`.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    collection: CollectionArg,
    /// Record ids to delete.
    #[arg(long, required = true, num_args = 1..)]
    id: Vec<u64>,
}

/// Arguments of `compact`.
#[derive(Debug, clap::Args)]
pub struct CompactArgs {
    #[command(flatten)]
    collection: CollectionArg,
}

pub fn delete(args: DeleteArgs) -> anyhow::Result<()> {
    match super::remote::uri(&args.collection)? {
        Some(uri) => super::remote::delete(&uri, &args.id)?,
        None => engine::delete(&args.collection.path(), &args.id)?,
    }
    eprintln!("deleted {} record(s)", args.id.len());
    Ok(())
}

pub fn compact(args: CompactArgs) -> anyhow::Result<()> {
    let path = args.collection.local("compact")?;
    let trained = engine::compact(&path)?;
    eprintln!("compacted {}", path.display());
    super::train::report(&trained);
    Ok(())
}
