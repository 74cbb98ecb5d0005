//! Every table and key layout of a collection file, in one place.
//!
//! CHANGING ANY TABLE NAME, KEY OR VALUE ENCODING HERE BREAKS THE FILE FORMAT:
//! bump [`FORMAT_VERSION`] with it. Opening checks the stored version and refuses a mismatch.

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// Version of the on-disk layout described in this file.
pub const FORMAT_VERSION: u32 = 1;

/// `meta`: small settings, JSON-encoded values under the keys below.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// `records`: record id -> bincode([`RecordRow`]).
pub const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
/// `vectors`: record id -> the embedding as little-endian f32 (normalised for cosine).
pub const VECTORS: TableDefinition<u64, &[u8]> = TableDefinition::new("vectors");
/// `labels`: label index -> label string (the label dictionary).
pub const LABELS: TableDefinition<u32, &str> = TableDefinition::new("labels");
/// `dedup`: sha256(label, 0, sequence) -> record id; keeps re-indexing idempotent.
pub const DEDUP: TableDefinition<&[u8; 32], u64> = TableDefinition::new("dedup");
/// `tombstones`: ids of deleted records, filtered at query time until `compact`.
pub const TOMBSTONES: TableDefinition<u64, ()> = TableDefinition::new("tombstones");
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
/// Graph key: the one graph layout blob.
pub const GRAPH_KEY: &str = "hnsw";

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

/// The bincode configuration used for every binary value in the file.
pub fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_fixed_int_encoding()
}

/// Encodes a value with [`bincode_config`].
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode_config()).expect("encoding to a Vec cannot fail")
}

/// Decodes a value written by [`encode`].
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, String> {
    bincode::serde::decode_from_slice(bytes, bincode_config())
        .map(|(value, _)| value)
        .map_err(|e| e.to_string())
}

/// Encodes a vector as little-endian f32 bytes.
pub fn vector_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decodes little-endian f32 bytes into `out`; returns false when the length is wrong.
pub fn vector_from_bytes(bytes: &[u8], out: &mut Vec<f32>) -> bool {
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
    true
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
    fn vectors_round_trip_and_reject_bad_lengths() {
        let v = vec![1.5f32, -2.0, 0.0];
        let mut out = Vec::new();
        assert!(vector_from_bytes(&vector_to_bytes(&v), &mut out));
        assert_eq!(out, v);
        assert!(!vector_from_bytes(&[1, 2, 3], &mut out));
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
