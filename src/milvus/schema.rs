//! The layout of a Milvus collection's records: its fields, how a batch of records becomes
//! columns, and the collection's creation with its HNSW index.

use milvus::client::Client;
use milvus::data::FieldColumn;
use milvus::index::{IndexParams, IndexType, MetricType};
use milvus::schema::{CollectionSchemaBuilder, FieldSchema};
use milvus::value::ValueVec;

use super::filter::{FILTER_KEYS, MAX_FILTER_KEYS_BYTES};

use super::client::remote;
use super::meta::Meta;
use super::uri::MilvusUri;
use crate::store::{CollectionConfig, Metric, NewRecord};
use crate::{Error, Result};

/// The longest text a Milvus VARCHAR holds.
pub const VARCHAR_MAX: usize = 65_535;

/// Field names of the records collection.
pub(super) const ID: &str = "id";
pub(super) const LABEL: &str = "label";
pub(super) const NAME: &str = "name";
pub(super) const SEQUENCE: &str = "sequence";
pub(super) const METADATA: &str = "metadata";
pub(super) const HASH: &str = "hash";
pub(super) const VECTOR: &str = "vector";

/// What keeps re-indexing idempotent: sha256 of (label, 0, sequence), hex.
pub(super) fn dedup_hash(label: &str, seq: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    h.update([0]);
    h.update(seq);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A record Milvus cannot hold is refused with its name.
pub(super) fn check_record(r: &NewRecord, dim: usize) -> Result<()> {
    let too_long = |what: &str, len: usize| Error::InvalidArgument {
        what: format!("record {:?}", r.name),
        message: format!("its {what} is {len} bytes, over Milvus's VARCHAR limit of {VARCHAR_MAX}"),
    };
    if r.seq.len() > VARCHAR_MAX {
        return Err(too_long("sequence", r.seq.len()));
    }
    if r.name.len() > VARCHAR_MAX {
        return Err(too_long("name", r.name.len()));
    }
    let keys = super::filter::filter_keys(r.metadata.as_ref()).len();
    if keys > MAX_FILTER_KEYS_BYTES {
        return Err(Error::InvalidArgument {
            what: format!("record {:?}", r.name),
            message: format!(
                "its metadata needs {keys} bytes of filter keys in Milvus, over the limit of \
                 {MAX_FILTER_KEYS_BYTES} (use fewer or shorter fields)"
            ),
        });
    }
    if r.vector.len() != dim {
        return Err(Error::WrongDimension {
            expected: dim,
            got: r.vector.len(),
        });
    }
    Ok(())
}

/// The column-major rows of `records[keep]`, ids from `first` on; `filterable` when the
/// collection has the `filter_keys` field (collections created before it do not).
pub(super) fn columns(
    records: &[NewRecord],
    keep: &[usize],
    hashes: &[String],
    first: u64,
    (dim, metric, filterable): (usize, Metric, bool),
) -> Vec<FieldColumn> {
    let pick =
        |f: &dyn Fn(&NewRecord) -> String| keep.iter().map(|&i| f(&records[i])).collect::<Vec<_>>();
    let ids: Vec<i64> = (0..keep.len()).map(|i| (first + i as u64) as i64).collect();
    let metadata = pick(&|r| {
        r.metadata
            .as_ref()
            .map(|m| serde_json::to_string(m).expect("JSON values serialise"))
            .unwrap_or_default()
    });
    // Stored in the form a local collection stores (unit norm for cosine), so that training
    // reads back the same rows.
    let mut vectors = Vec::with_capacity(keep.len() * dim);
    for &i in keep {
        let mut v = records[i].vector.clone();
        metric.prepare(&mut v);
        vectors.extend(v);
    }
    let schema = schema_fields(dim);
    let filter_keys: Vec<Vec<u8>> = (keep.iter())
        .map(|&i| super::filter::filter_keys(records[i].metadata.as_ref()))
        .collect();
    let mut columns = vec![
        FieldColumn::new(&schema[0], ids),
        FieldColumn::new(&schema[1], pick(&|r| r.label.clone())),
        FieldColumn::new(&schema[2], pick(&|r| r.name.clone())),
        FieldColumn::new(
            &schema[3],
            pick(&|r| String::from_utf8_lossy(&r.seq).into_owned()),
        ),
        FieldColumn::new(&schema[4], metadata),
        FieldColumn::new(
            &schema[5],
            keep.iter().map(|&i| hashes[i].clone()).collect::<Vec<_>>(),
        ),
        FieldColumn::new(&schema[6], vectors),
    ];
    if filterable {
        columns.push(FieldColumn::new(&schema[7], ValueVec::Json(filter_keys)));
    }
    columns
}

/// The records collection's fields, in column order.
pub(super) fn schema_fields(dim: usize) -> Vec<FieldSchema> {
    vec![
        FieldSchema::new_primary_int64(ID, "genovec record id", false),
        FieldSchema::new_varchar(LABEL, "label", VARCHAR_MAX as i32),
        FieldSchema::new_varchar(NAME, "record name", VARCHAR_MAX as i32),
        FieldSchema::new_varchar(SEQUENCE, "sequence (ACGTN)", VARCHAR_MAX as i32),
        FieldSchema::new_varchar(
            METADATA,
            "metadata as JSON text, empty when none",
            VARCHAR_MAX as i32,
        ),
        FieldSchema::new_varchar(HASH, "sha256 of label, 0, sequence", 64),
        FieldSchema::new_float_vector(VECTOR, "embedding, unit norm", dim as i64),
        // The SDK has no constructor for a JSON field; its fields are public.
        FieldSchema {
            dtype: milvus::proto::schema::DataType::Json,
            ..FieldSchema::new_varchar(FILTER_KEYS, "metadata by type, for filters", 1)
        },
    ]
}

/// Creates the records collection (HNSW index with the collection's M and ef_construction,
/// cosine, loaded) and the settings beside it.
pub(super) fn create(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    uri: &MilvusUri,
    config: &CollectionConfig,
) -> Result<()> {
    let mut builder = CollectionSchemaBuilder::new(&uri.name, "genovec collection");
    for field in schema_fields(config.dim) {
        builder.add_field(field);
    }
    let schema = builder.build().map_err(|e| remote(uri, e))?;
    let params = [
        ("M".to_string(), config.graph.m.to_string()),
        (
            "efConstruction".to_string(),
            config.graph.ef_construction.to_string(),
        ),
    ];
    let index = IndexParams::new(
        "vector_hnsw".into(),
        IndexType::HNSW,
        MetricType::COSINE,
        params.into_iter().collect(),
    );
    rt.block_on(async {
        client.create_collection(schema, None).await?;
        client.create_index(&uri.name, VECTOR, index).await?;
        client.load_collection(&uri.name, None).await
    })
    .map_err(|e| remote(uri, e))?;
    Meta::create(rt, client, uri, config)
}
