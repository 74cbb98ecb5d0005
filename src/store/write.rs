//! Writes: batches of records, deletes and the classifier blob (the graph and compaction are
//! in `upkeep.rs`).
//!
//! Every write is one redb transaction committed with immediate durability; the in-memory
//! state changes only after the commit returned, so a failed write leaves both the file and
//! the open collection as they were.

use redb::{Database, ReadableTable, WriteTransaction};
use sha2::{Digest, Sha256};

use super::collection::Collection;
use super::guard::guarded;
use super::open::{meta_json, storage, Db};
use super::tables::{
    self, RecordRow, CODES, DEDUP, KEY_CLASSIFIER, KEY_NEXT_ID, KEY_QUANT, LABELS, META, METADATA,
    RECORDS, TOMBSTONES, VECTORS,
};
use super::{Int8Quantizer, Quantize};
use crate::seq::{check_metadata, Metadata};
use crate::{Error, Result};

/// A record to insert, with its embedding.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Record name.
    pub name: String,
    /// Label string (added to the dictionary when new).
    pub label: String,
    /// ACGTN sequence bytes.
    pub seq: Vec<u8>,
    /// The embedding, in the collection's dimension (normalised on insert for cosine).
    pub vector: Vec<f32>,
    /// User fields, checked with [`crate::seq::check_metadata`] before they are stored.
    pub metadata: Option<Metadata>,
}

/// What one committed batch did.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome {
    /// For each input record, its new id, or `None` when it was already stored.
    pub ids: Vec<Option<u64>>,
    /// Live records after the batch.
    pub total: usize,
}

/// sha256 of a sequence.
pub fn sequence_hash(seq: &[u8]) -> [u8; 32] {
    Sha256::digest(seq).into()
}

/// The de-duplication key: a record is the same when its label and sequence are.
pub(super) fn dedup_key(label: &str, seq: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    h.update([0u8]);
    h.update(seq);
    h.finalize().into()
}

/// Changes staged inside a write transaction, applied to memory after the commit.
struct Staged {
    rows: Vec<(u64, u32, Vec<f32>, Option<Metadata>)>,
    new_labels: Vec<String>,
    next_id: u64,
    /// The quantizer this batch fitted (the first batch of a quantized collection).
    fitted: Option<Int8Quantizer>,
}

impl Collection {
    fn writer(&self) -> Result<&Database> {
        match &self.db {
            Db::Write(db) => Ok(db),
            Db::Read(_) => Err(Error::InvalidArgument {
                what: "collection".into(),
                message: "opened read-only".into(),
            }),
            Db::Closed => Err(super::open::closed()),
        }
    }

    pub(super) fn begin_write(&self) -> Result<WriteTransaction> {
        self.writer()?.begin_write().map_err(storage)
    }

    /// Inserts a batch in one durable transaction. Records whose (label, sequence) is already
    /// stored are skipped unless `allow_duplicates`.
    pub fn insert_batch(
        &mut self,
        records: &[NewRecord],
        allow_duplicates: bool,
    ) -> Result<BatchOutcome> {
        let path = self.path.clone();
        guarded(&path, || {
            check_batch_metadata(records)?;
            let vectors: Vec<Vec<f32>> = records
                .iter()
                .map(|r| self.prepare_query(&r.vector))
                .collect::<Result<_>>()?;
            let txn = self.begin_write()?;
            let mut staged = Staged {
                rows: Vec::new(),
                new_labels: Vec::new(),
                next_id: self.next_id,
                fitted: self.fit_quantizer(&vectors),
            };
            let mut ids = Vec::with_capacity(records.len());
            {
                let mut tables = BatchTables::open(&txn, self.config.quantize)?;
                for (record, vector) in records.iter().zip(vectors) {
                    ids.push(self.stage_record(
                        &mut tables,
                        &mut staged,
                        record,
                        vector,
                        allow_duplicates,
                    )?);
                }
                let mut meta = txn.open_table(META).map_err(storage)?;
                let next = meta_json(KEY_NEXT_ID, &staged.next_id);
                meta.insert(KEY_NEXT_ID, next.as_slice()).map_err(storage)?;
                if let Some(quant) = &staged.fitted {
                    let value = meta_json(KEY_QUANT, quant);
                    meta.insert(KEY_QUANT, value.as_slice()).map_err(storage)?;
                }
            }
            txn.commit().map_err(storage)?;
            self.apply(staged);
            Ok(BatchOutcome {
                ids,
                total: self.len(),
            })
        })
    }

    /// A quantized collection's first batch fixes the quantizer's scales.
    fn fit_quantizer(&self, vectors: &[Vec<f32>]) -> Option<Int8Quantizer> {
        if self.config.quantize != Quantize::Int8 || self.vectors.quant.is_some() {
            return None;
        }
        let flat: Vec<f32> = vectors.iter().flatten().copied().collect();
        (!flat.is_empty()).then(|| Int8Quantizer::fit(&flat, self.config.dim))
    }

    fn stage_record(
        &self,
        t: &mut BatchTables,
        staged: &mut Staged,
        record: &NewRecord,
        vector: Vec<f32>,
        allow_duplicates: bool,
    ) -> Result<Option<u64>> {
        let key = dedup_key(&record.label, &record.seq);
        if !allow_duplicates {
            if let Some(id) = t.dedup.get(&key).map_err(storage)? {
                self.check_duplicate(t, staged, id.value(), record)?;
                return Ok(None);
            }
        }
        let label = self.stage_label(t, staged, &record.label)?;
        let id = staged.next_id;
        staged.next_id += 1;
        let row = RecordRow {
            name: record.name.clone(),
            label,
            seq: record.seq.clone(),
            hash: sequence_hash(&record.seq),
        };
        t.records
            .insert(id, tables::record_value(id, &row).as_slice())
            .map_err(storage)?;
        t.vectors
            .insert(id, tables::vector_value(id, &vector).as_slice())
            .map_err(storage)?;
        if let Some(codes_table) = &mut t.codes {
            let quant = staged.fitted.as_ref().or(self.vectors.quant.as_ref());
            let quant = quant.expect("a quantized batch has a quantizer");
            let mut codes = Vec::with_capacity(vector.len());
            quant.encode_into(&vector, &mut codes);
            codes_table
                .insert(id, tables::code_value(id, &codes).as_slice())
                .map_err(storage)?;
        }
        if let Some(meta) = &record.metadata {
            t.metadata
                .insert(id, tables::metadata_value(id, meta).as_slice())
                .map_err(storage)?;
        }
        t.dedup.insert(&key, id).map_err(storage)?;
        staged
            .rows
            .push((id, label, vector, record.metadata.clone()));
        Ok(Some(id))
    }

    /// A dedup hit is believed only when the record it names holds the same label and
    /// sequence: a damaged dedup table must not make an insert silently skip a record.
    fn check_duplicate(
        &self,
        t: &BatchTables,
        staged: &Staged,
        id: u64,
        record: &NewRecord,
    ) -> Result<()> {
        let row = t
            .records
            .get(id)
            .map_err(storage)?
            .map(|v| v.value().to_vec());
        // The record may be one of this batch's, under a label this batch adds.
        let label_name = |label: u32| {
            let i = label as usize;
            self.labels
                .get(i)
                .or_else(|| staged.new_labels.get(i.checked_sub(self.labels.len())?))
        };
        let same = row
            .and_then(|v| tables::record_from(id, &v).ok())
            .is_some_and(|row| {
                row.seq == record.seq && label_name(row.label) == Some(&record.label)
            });
        if same {
            Ok(())
        } else {
            Err(Error::Corrupt {
                path: self.path.clone(),
                message: format!("its dedup table names record {id}, which does not match"),
            })
        }
    }

    fn stage_label(&self, t: &mut BatchTables, staged: &mut Staged, name: &str) -> Result<u32> {
        if let Some(i) = self.label_index(name) {
            return Ok(i);
        }
        if let Some(i) = staged.new_labels.iter().position(|l| l == name) {
            return Ok((self.labels.len() + i) as u32);
        }
        let index = (self.labels.len() + staged.new_labels.len()) as u32;
        t.labels
            .insert(index, tables::label_value(index, name).as_slice())
            .map_err(storage)?;
        staged.new_labels.push(name.to_string());
        Ok(index)
    }

    fn apply(&mut self, staged: Staged) {
        if staged.fitted.is_some() {
            self.vectors.quant = staged.fitted;
        }
        self.labels.extend(staged.new_labels);
        self.next_id = staged.next_id;
        for (id, label, vector, meta) in staged.rows {
            self.vectors.push(id, label, &vector);
            if let Some(meta) = meta {
                self.vectors.set_metadata(self.vectors.len() - 1, meta);
            }
        }
    }

    /// Marks records deleted (durably). Unknown or already deleted ids are an error and
    /// nothing is deleted.
    pub fn delete(&mut self, ids: &[u64]) -> Result<()> {
        let path = self.path.clone();
        guarded(&path, || {
            let rows: Vec<usize> = ids
                .iter()
                .map(|&id| {
                    self.vectors
                        .row_of(id)
                        .filter(|&r| !self.vectors.deleted[r])
                        .ok_or(Error::UnknownId { id })
                })
                .collect::<Result<_>>()?;
            let txn = self.begin_write()?;
            {
                let mut tombstones = txn.open_table(TOMBSTONES).map_err(storage)?;
                let mut dedup = txn.open_table(DEDUP).map_err(storage)?;
                let records = txn.open_table(RECORDS).map_err(storage)?;
                for &id in ids {
                    tombstones
                        .insert(id, tables::tombstone_value(id).as_slice())
                        .map_err(storage)?;
                    // Forget the dedup key so the same record can be added again later.
                    let row = records
                        .get(id)
                        .map_err(storage)?
                        .ok_or(Error::UnknownId { id })?;
                    let row = tables::record_from(id, row.value()).map_err(|e| Error::Corrupt {
                        path: self.path.clone(),
                        message: e,
                    })?;
                    dedup
                        .remove(&dedup_key(&self.labels[row.label as usize], &row.seq))
                        .map_err(storage)?;
                }
            }
            txn.commit().map_err(storage)?;
            let newly = rows
                .iter()
                .filter(|&&r| !std::mem::replace(&mut self.vectors.deleted[r], true))
                .count();
            self.tombstones += newly;
            Ok(())
        })
    }

    /// Stores the engine's classifier blob durably (opaque to the store).
    pub fn save_classifier_blob(&mut self, blob: &[u8]) -> Result<()> {
        let path = self.path.clone();
        guarded(&path, || {
            let txn = self.begin_write()?;
            txn.open_table(META)
                .map_err(storage)?
                .insert(
                    KEY_CLASSIFIER,
                    tables::meta_value(KEY_CLASSIFIER, blob).as_slice(),
                )
                .map_err(storage)?;
            txn.commit().map_err(storage)
        })
    }
}

/// Refuses a batch in which a record's metadata breaks the rules, naming the record.
fn check_batch_metadata(records: &[NewRecord]) -> Result<()> {
    for (i, record) in records.iter().enumerate() {
        if let Some(Err(message)) = record.metadata.as_ref().map(check_metadata) {
            return Err(Error::InvalidArgument {
                what: format!("metadata of record {} ({:?})", i + 1, record.name),
                message,
            });
        }
    }
    Ok(())
}

/// The tables a batch insert writes, opened once per transaction.
struct BatchTables<'txn> {
    records: redb::Table<'txn, u64, &'static [u8]>,
    vectors: redb::Table<'txn, u64, &'static [u8]>,
    /// Only in a quantized collection.
    codes: Option<redb::Table<'txn, u64, &'static [u8]>>,
    labels: redb::Table<'txn, u32, &'static [u8]>,
    dedup: redb::Table<'txn, &'static [u8; 32], u64>,
    metadata: redb::Table<'txn, u64, &'static [u8]>,
}

impl<'txn> BatchTables<'txn> {
    fn open(txn: &'txn WriteTransaction, quantize: Quantize) -> Result<Self> {
        let codes = match quantize {
            Quantize::None => None,
            Quantize::Int8 => Some(txn.open_table(CODES).map_err(storage)?),
        };
        Ok(BatchTables {
            records: txn.open_table(RECORDS).map_err(storage)?,
            vectors: txn.open_table(VECTORS).map_err(storage)?,
            codes,
            labels: txn.open_table(LABELS).map_err(storage)?,
            dedup: txn.open_table(DEDUP).map_err(storage)?,
            metadata: txn.open_table(METADATA).map_err(storage)?,
        })
    }
}
