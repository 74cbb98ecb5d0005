//! `genovec search`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use genovec::engine::{self, QueryResult};
use genovec::seq::{self, DnaSeq, SeqRecord};
use genovec::store::Where;

use super::args::{CollectionArg, ReadArgs};
use super::output::{self, num};

/// Arguments of `search`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    collection: CollectionArg,
    /// Query files (`-` reads standard input).
    #[arg(
        long,
        num_args = 1..,
        required_unless_present_any = ["sequence", "vectors"],
        conflicts_with_all = ["sequence", "vectors"]
    )]
    input: Vec<PathBuf>,
    /// Query vectors in the collection's space (NPY (n, dim) floats, or a Parquet `vector`
    /// column); query i is named `vectors[i]`.
    #[arg(long, value_name = "FILE", conflicts_with = "sequence")]
    vectors: Option<PathBuf>,
    /// One query sequence.
    #[arg(long)]
    sequence: Option<String>,
    #[command(flatten)]
    read: ReadArgs,
    /// Neighbours per query.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Graph beam width, or candidates ranked exactly in a collection searched by projection
    /// (default: the collection's, 64).
    #[arg(long)]
    ef: Option<usize>,
    /// Only return records with this label (repeatable).
    #[arg(long = "label")]
    filter_labels: Vec<String>,
    /// Only return records whose metadata matches this JSON filter, e.g.
    /// '{"tissue":"liver","depth":{"$gte":10}}' (operators $eq $in $gt $gte $lt $lte).
    #[arg(long = "where", value_name = "JSON")]
    filter_where: Option<String>,
    /// JSON Lines instead of TSV.
    #[arg(long)]
    json: bool,
}

/// Query records from `--sequence` or `--input`.
pub fn queries(
    sequence: &Option<String>,
    input: &[PathBuf],
    read: &ReadArgs,
) -> anyhow::Result<Vec<SeqRecord>> {
    match sequence {
        Some(s) => {
            let seq =
                DnaSeq::parse(s.as_bytes()).map_err(|e| anyhow::anyhow!("--sequence: {e}"))?;
            Ok(vec![SeqRecord {
                name: "query".into(),
                seq,
                label: None,
                metadata: None,
            }])
        }
        None => Ok(seq::read_all(input, &read.options(None))?),
    }
}

/// What `search` was given to look up.
enum Queries {
    Vectors(Vec<Vec<f32>>),
    Records(Vec<SeqRecord>),
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let path = args.collection.path();
    let metadata = args
        .filter_where
        .as_deref()
        .map(|text| Where::parse_text(text).map_err(|m| anyhow::anyhow!("--where: {m}")))
        .transpose()?;
    let filter = engine::SearchFilter {
        labels: args.filter_labels,
        metadata,
    };
    // Read the queries before opening the collection: a missing file is named first.
    let input = match &args.vectors {
        Some(file) => Queries::Vectors(seq::read_vectors(file)?),
        None => Queries::Records(queries(&args.sequence, &args.input, &args.read)?),
    };
    if let Some(uri) = super::remote::uri(&args.collection)? {
        let results = match input {
            Queries::Vectors(vectors) => {
                let found = super::remote::search_vectors(&uri, &vectors, args.k, args.ef, &filter);
                vector_results(found?)
            }
            Queries::Records(queries) => {
                super::remote::search(&uri, &queries, args.k, args.ef, &filter)?
            }
        };
        return print(&results, args.json);
    }
    let (collection, embedder) =
        engine::open_for_queries(&path).with_context(|| format!("opening {}", path.display()))?;
    let results = match input {
        Queries::Vectors(vectors) => vector_results(engine::search_vectors(
            &collection,
            &vectors,
            args.k,
            args.ef,
            &filter,
        )?),
        Queries::Records(queries) => engine::search_sequences(
            &collection,
            embedder.as_ref(),
            &queries,
            args.k,
            args.ef,
            &filter,
        )?,
    };
    print(&results, args.json)
}

/// The neighbours of given vectors, each query named by its row in the file.
fn vector_results(found: Vec<Vec<engine::Neighbour>>) -> Vec<QueryResult> {
    (found.into_iter().enumerate())
        .map(|(i, neighbours)| QueryResult {
            query: format!("vectors[{i}]"),
            neighbours,
        })
        .collect()
}

/// Writes results as TSV or JSON Lines.
fn print(results: &[QueryResult], json: bool) -> anyhow::Result<()> {
    let mut out = output::stdout();
    if json {
        results
            .iter()
            .try_for_each(|r| output::json_line(&mut out, r))?;
    } else {
        write_tsv(&mut out, results)?;
    }
    out.flush()?;
    Ok(())
}

fn write_tsv(out: &mut impl Write, results: &[QueryResult]) -> anyhow::Result<()> {
    writeln!(out, "query\trank\tid\tname\tlabel\tdistance")?;
    for r in results {
        for (rank, n) in r.neighbours.iter().enumerate() {
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}",
                output::tsv_field(&r.query),
                rank + 1,
                n.id,
                output::tsv_field(&n.name),
                output::tsv_field(&n.label),
                num(n.distance as f64)
            )?;
        }
    }
    Ok(())
}
