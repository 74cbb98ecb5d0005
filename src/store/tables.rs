//! Every table and key layout of a collection file, in one place.
//!
//! CHANGING ANY TABLE NAME, KEY OR VALUE ENCODING HERE BREAKS THE FILE FORMAT:
//! bump [`FORMAT_VERSION`] with it. Opening checks the stored version and refuses a mismatch.

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

use super::seal::{seal, unseal};

/// Version of the on-disk layout described in this file. Version 1 had no checksums; a writer
/// upgrades it in place (see `upgrade.rs`).
pub const FORMAT_VERSION: u32 = 2;
/// Version 2 plus the [`CODES`] table and the [`KEY_QUANT`] meta value: written only by
/// quantized collections, so that a genovec that does not know the codes refuses the file
/// instead of adding records without them. Unquantized collections stay at version 2.
pub const FORMAT_VERSION_INT8: u32 = 3;

/// The format version a collection with `config` is written with.
pub fn format_version(config: &crate::store::CollectionConfig) -> u32 {
    match config.quantize {
        crate::store::Quantize::None => FORMAT_VERSION,
        crate::store::Quantize::Int8 => FORMAT_VERSION_INT8,
    }
}

// Every `&[u8]` value below is sealed: the payload named, then a CRC-32 of (table name, key,
// payload), checked on every read (see `seal.rs`).

/// `meta`: small settings, JSON-encoded values under the keys below.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// `records`: record id -> bincode([`RecordRow`]).
pub const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
/// `vectors`: record id -> the embedding as little-endian f32 (normalised for cosine).
pub const VECTORS: TableDefinition<u64, &[u8]> = TableDefinition::new("vectors");
/// `codes`: record id -> the vector's int8 codes (quantized collections only; see `quant.rs`).
pub const CODES: TableDefinition<u64, &[u8]> = TableDefinition::new("codes");
/// `labels`: label index -> label string, UTF-8 (the label dictionary).
pub const LABELS: TableDefinition<u32, &[u8]> = TableDefinition::new("labels");
/// `dedup`: sha256(label, 0, sequence) -> record id; keeps re-indexing idempotent. Not sealed:
/// a hit is checked against the record it names before it is trusted.
pub const DEDUP: TableDefinition<&[u8; 32], u64> = TableDefinition::new("dedup");
/// `tombstones`: ids of deleted records (an empty sealed payload), filtered at query time
/// until `compact`.
pub const TOMBSTONES: TableDefinition<u64, &[u8]> = TableDefinition::new("tombstones");
/// `metadata`: record id -> the record's metadata as a JSON object (only records that carry
/// some). Added after version 3 without a version bump: a file without the table has no
/// metadata, and a genovec that does not know it reads the file as before.
pub const METADATA: TableDefinition<u64, &[u8]> = TableDefinition::new("metadata");
/// `client_ids`: a client's own id for a record -> the record id (8 bytes, little-endian u64),
/// for records inserted with one. The key is `s:<text>` for a string id and `i:<decimal>` for
/// an integer id, so `"7"` and `7` are different ids (see `client_ids.rs`). Every entry names a
/// stored record; one naming a deleted record (left by a genovec that predates the table) is
/// ignored and dropped at compaction. Added without a version bump, like [`METADATA`]: a file
/// without the table has no client ids.
pub const CLIENT_IDS: TableDefinition<&str, &[u8]> = TableDefinition::new("client_ids");
/// `graph`: the persisted HNSW layout under [`GRAPH_KEY`] (bincode, fixed-width integers).
pub const GRAPH: TableDefinition<&str, &[u8]> = TableDefinition::new("graph");

/// Meta key: the format version (JSON number).
pub const KEY_FORMAT: &str = "format_version";
/// Meta key: the [`crate::store::CollectionConfig`] (JSON).
pub const KEY_CONFIG: &str = "config";
/// Meta key: the next record id to assign (JSON number).
pub const KEY_NEXT_ID: &str = "next_id";
/// Meta key: the trained classifier, opaque to the store (JSON written by the engine).
pub const KEY_CLASSIFIER: &str = "classifier";
/// Meta key: the int8 quantizer's scales (JSON), once the first batch fitted them.
pub const KEY_QUANT: &str = "quantizer";
/// Graph key: the one graph layout blob.
pub const GRAPH_KEY: &str = "hnsw";
/// Graph key: the label index of each graph node, written with the layout so that a reader
/// can open without reading every record (see `quick.rs`). The payload is the CRC-32 of the
/// layout's ids (little-endian u64s), then one little-endian u32 per node: a blob left beside
/// a different layout (written by a genovec that predates the key) does not match and is
/// ignored. Added without a version bump; a file without it opens by reading the records.
pub const GRAPH_LABELS_KEY: &str = "hnsw_labels";

/// One stored record. The vector lives in [`VECTORS`] under the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRow {
    /// The record's name (FASTA id or table name column).
    pub name: String,
    /// Index into the label dictionary.
    pub label: u32,
    /// The sequence, ACGTN bytes.
    pub seq: Vec<u8>,
    /// sha256 of the sequence bytes.
    pub hash: [u8; 32],
}

/// The largest value a decode may claim (the graph of a few million nodes fits): a damaged
/// length is refused instead of allocated.
const DECODE_LIMIT: usize = 1 << 32;

/// The bincode configuration used for every binary value in the file.
pub fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_fixed_int_encoding()
}

/// Encodes a value with [`bincode_config`].
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode_config()).expect("encoding to a Vec cannot fail")
}

/// Decodes a value written by [`encode`], refusing any length over [`DECODE_LIMIT`].
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, String> {
    let config = bincode::config::standard()
        .with_fixed_int_encoding()
        .with_limit::<DECODE_LIMIT>();
    bincode::serde::decode_from_slice(bytes, config)
        .map(|(value, _)| value)
        .map_err(|e| e.to_string())
}

/// A meta value, sealed.
pub fn meta_value(key: &str, json: &[u8]) -> Vec<u8> {
    seal("meta", key.as_bytes(), json)
}

/// The JSON of a meta value.
pub fn meta_payload<'a>(key: &str, value: &'a [u8]) -> Result<&'a [u8], String> {
    unseal("meta", key.as_bytes(), value)
}

/// A record row, sealed.
pub fn record_value(id: u64, row: &RecordRow) -> Vec<u8> {
    seal("records", &id.to_le_bytes(), &encode(row))
}

/// Decodes a sealed record row.
pub fn record_from(id: u64, value: &[u8]) -> Result<RecordRow, String> {
    decode(unseal("records", &id.to_le_bytes(), value)?).map_err(|e| format!("record {id}: {e}"))
}

/// The label index of a sealed record row, without decoding its name and sequence (what
/// opening a collection needs of each record; `check` decodes them all). The layout is
/// bincode's fixed-width one: the name's u64 length and bytes, then the label as u32.
pub fn record_label(id: u64, value: &[u8]) -> Result<u32, String> {
    let payload = unseal("records", &id.to_le_bytes(), value)?;
    let at = name_end(id, payload)?;
    let label = payload
        .get(at..at.saturating_add(4))
        .ok_or_else(|| too_short(id))?;
    Ok(u32::from_le_bytes(label.try_into().expect("4 bytes")))
}

/// The name of a sealed record row, without decoding its sequence (what a search's evidence
/// needs of each neighbour).
pub fn record_name(id: u64, value: &[u8]) -> Result<String, String> {
    let payload = unseal("records", &id.to_le_bytes(), value)?;
    let name = &payload[8..name_end(id, payload)?];
    String::from_utf8(name.to_vec()).map_err(|_| format!("record {id}: its name is not UTF-8"))
}

/// Where a record payload's name ends (bincode's fixed-width layout: the name's u64 length,
/// its bytes, then the label).
fn name_end(id: u64, payload: &[u8]) -> Result<usize, String> {
    let name_len = payload.get(..8).ok_or_else(|| too_short(id))?;
    let name_len = u64::from_le_bytes(name_len.try_into().expect("8 bytes"));
    usize::try_from(name_len)
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|&end| end <= payload.len())
        .ok_or_else(|| too_short(id))
}

fn too_short(id: u64) -> String {
    format!("record {id} is too short")
}

/// A vector, sealed little-endian f32.
pub fn vector_value(id: u64, v: &[f32]) -> Vec<u8> {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    seal("vectors", &id.to_le_bytes(), &bytes)
}

/// Appends a sealed vector of `dim` components to `out`.
pub fn vector_into(id: u64, value: &[u8], dim: usize, out: &mut Vec<f32>) -> Result<(), String> {
    let bytes = unseal("vectors", &id.to_le_bytes(), value)?;
    if bytes.len() != dim * 4 {
        return Err(format!(
            "the vector of record {id} has {} bytes, not {}",
            bytes.len(),
            dim * 4
        ));
    }
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
    Ok(())
}

/// A vector's int8 codes, sealed.
pub fn code_value(id: u64, codes: &[i8]) -> Vec<u8> {
    let bytes: Vec<u8> = codes.iter().map(|&c| c as u8).collect();
    seal("codes", &id.to_le_bytes(), &bytes)
}

/// Appends sealed int8 codes of `dim` components to `out`.
pub fn codes_into(id: u64, value: &[u8], dim: usize, out: &mut Vec<i8>) -> Result<(), String> {
    let bytes = unseal("codes", &id.to_le_bytes(), value)?;
    if bytes.len() != dim {
        return Err(format!(
            "the codes of record {id} have {} bytes, not {dim}",
            bytes.len()
        ));
    }
    out.extend(bytes.iter().map(|&b| b as i8));
    Ok(())
}

/// A record's metadata, sealed JSON.
pub fn metadata_value(id: u64, meta: &crate::seq::Metadata) -> Vec<u8> {
    let json = serde_json::to_vec(meta).expect("a JSON map always serialises");
    seal("metadata", &id.to_le_bytes(), &json)
}

/// Decodes a record's sealed metadata.
pub fn metadata_from(id: u64, value: &[u8]) -> Result<crate::seq::Metadata, String> {
    let json = unseal("metadata", &id.to_le_bytes(), value)?;
    serde_json::from_slice(json).map_err(|e| format!("the metadata of record {id}: {e}"))
}

/// A client id entry's value: the record id, sealed under the entry's key.
pub fn client_id_value(key: &str, id: u64) -> Vec<u8> {
    seal("client_ids", key.as_bytes(), &id.to_le_bytes())
}

/// The record id a sealed client id entry names.
pub fn client_id_from(key: &str, value: &[u8]) -> Result<u64, String> {
    let bytes = unseal("client_ids", key.as_bytes(), value)?;
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| format!("client id {key:?} does not hold a record id"))?;
    Ok(u64::from_le_bytes(bytes))
}

/// A label name, sealed.
pub fn label_value(index: u32, name: &str) -> Vec<u8> {
    seal("labels", &index.to_le_bytes(), name.as_bytes())
}

/// Decodes a sealed label name.
pub fn label_from(index: u32, value: &[u8]) -> Result<String, String> {
    let bytes = unseal("labels", &index.to_le_bytes(), value)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| format!("label {index} is not UTF-8"))
}

/// A tombstone's value: the empty payload sealed under its id.
pub fn tombstone_value(id: u64) -> Vec<u8> {
    seal("tombstones", &id.to_le_bytes(), &[])
}

/// Checks a tombstone's value against its id.
pub fn tombstone_check(id: u64, value: &[u8]) -> Result<(), String> {
    unseal("tombstones", &id.to_le_bytes(), value).map(|_| ())
}

/// A graph layout, sealed.
pub fn graph_value<T: Serialize>(layout: &T) -> Vec<u8> {
    seal("graph", GRAPH_KEY.as_bytes(), &encode(layout))
}

/// Decodes a sealed graph layout.
pub fn graph_from<T: for<'de> Deserialize<'de>>(value: &[u8]) -> Result<T, String> {
    decode(unseal("graph", GRAPH_KEY.as_bytes(), value)?).map_err(|e| format!("graph: {e}"))
}

/// The CRC-32 that ties a graph-labels blob to the layout with these node ids.
pub fn ids_checksum(ids: &[u64]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    ids.iter().for_each(|id| h.update(&id.to_le_bytes()));
    h.finalize()
}

/// The graph nodes' labels, sealed with the checksum of the nodes' ids.
pub fn graph_labels_value(ids: &[u64], labels: &[u32]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(4 + labels.len() * 4);
    payload.extend_from_slice(&ids_checksum(ids).to_le_bytes());
    labels
        .iter()
        .for_each(|l| payload.extend_from_slice(&l.to_le_bytes()));
    seal("graph", GRAPH_LABELS_KEY.as_bytes(), &payload)
}

/// The graph nodes' labels, or `Ok(None)` when the blob was written for another layout (not
/// the nodes `ids`). A failed checksum or a wrong length is an error.
pub fn graph_labels_from(ids: &[u64], value: &[u8]) -> Result<Option<Vec<u32>>, String> {
    let payload = unseal("graph", GRAPH_LABELS_KEY.as_bytes(), value)?;
    let (sum, labels) = payload
        .split_at_checked(4)
        .ok_or("the graph labels are too short")?;
    if u32::from_le_bytes(sum.try_into().expect("4 bytes")) != ids_checksum(ids) {
        return Ok(None);
    }
    if labels.len() != ids.len() * 4 {
        return Err("the graph labels disagree with the graph's size".into());
    }
    let labels = labels.chunks_exact(4);
    Ok(Some(
        labels
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_row_round_trips() {
        let row = RecordRow {
            name: "r1".into(),
            label: 3,
            seq: b"ACGTN".to_vec(),
            hash: [7; 32],
        };
        assert_eq!(decode::<RecordRow>(&encode(&row)).unwrap(), row);
    }

    #[test]
    fn vectors_round_trip_and_reject_bad_lengths_and_ids() {
        let v = vec![1.5f32, -2.0, 0.0];
        let mut out = Vec::new();
        vector_into(4, &vector_value(4, &v), 3, &mut out).unwrap();
        assert_eq!(out, v);
        assert!(vector_into(4, &vector_value(4, &v), 2, &mut out).is_err());
        assert!(vector_into(5, &vector_value(4, &v), 3, &mut out).is_err());
        let mut codes = Vec::new();
        codes_into(4, &code_value(4, &[-127, 0, 5]), 3, &mut codes).unwrap();
        assert_eq!(codes, vec![-127, 0, 5]);
        assert!(codes_into(4, &code_value(4, &[1, 2]), 3, &mut codes).is_err());
        assert!(codes_into(6, &code_value(4, &[1, 2, 3]), 3, &mut codes).is_err());
    }

    #[test]
    fn the_label_and_name_are_read_without_decoding_the_row() {
        let row = RecordRow {
            name: "name-ü".into(),
            label: 70_001,
            seq: b"ACGT".to_vec(),
            hash: [1; 32],
        };
        let value = record_value(9, &row);
        assert_eq!(record_label(9, &value).unwrap(), 70_001);
        assert!(record_label(8, &value).is_err());
        let short = seal("records", &9u64.to_le_bytes(), &(1u64 << 60).to_le_bytes());
        assert!(record_label(9, &short).is_err());
        assert_eq!(record_name(9, &value).unwrap(), "name-ü");
        assert!(record_name(8, &value).is_err());
        assert!(record_name(9, &short).is_err());
        let mut bad = 2u64.to_le_bytes().to_vec();
        bad.extend_from_slice(&[0xff, 0xfe, 0, 0, 0, 0]);
        let bad = seal("records", &9u64.to_le_bytes(), &bad);
        assert!(record_name(9, &bad).unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn a_huge_claimed_length_is_refused_not_allocated() {
        // A name whose length field claims 2^60 bytes.
        let mut bytes = (1u64 << 60).to_le_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        assert!(decode::<RecordRow>(&bytes).is_err());
    }

    #[test]
    fn truncated_bincode_is_an_error() {
        let bytes = encode(&RecordRow {
            name: "x".into(),
            label: 0,
            seq: vec![b'A'],
            hash: [0; 32],
        });
        assert!(decode::<RecordRow>(&bytes[..bytes.len() - 3]).is_err());
    }
}
