//! Writes: batches of records, deletes and the classifier blob (the graph and compaction are
//! in `upkeep.rs`).
//!
//! Every write is one redb transaction committed with immediate durability; the in-memory
//! state changes only after the commit returned, so a failed write leaves both the file and
//! the open collection as they were.

use redb::{Database, ReadableTable, WriteTransaction};
use sha2::{Digest, Sha256};

use super::batch::{check_batch_metadata, check_client_ids, BatchTables};
use super::client_ids::ClientId;
use super::collection::Collection;
use super::guard::guarded;
use super::open::{meta_json, storage, Db};
use super::tables::{self, RecordRow, KEY_CLASSIFIER, KEY_NEXT_ID, KEY_QUANT, META};
use super::{Int8Quantizer, Quantize};
use crate::seq::Metadata;
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
    /// For each input record, the record its client id named before, now deleted.
    pub replaced: Vec<Option<u64>>,
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
    /// Records replaced by a record with their client id (tombstoned in this transaction).
    replaced: Vec<u64>,
    /// (client id key, new record id) pairs written in this transaction.
    clients: Vec<(String, u64)>,
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
        self.upsert_batch(records, &[], allow_duplicates)
    }

    /// Inserts a batch in one durable transaction, where records may carry a client id
    /// (`client_ids` is empty or has one entry per record).
    ///
    /// A record whose client id names a live record replaces it: in the same transaction the
    /// old record is tombstoned and the id made to name the new one, so a crash leaves either
    /// the old or the new. A record with a client id is never skipped as a duplicate (the id
    /// is its identity) and is not entered in the de-duplication table; records without one
    /// are de-duplicated by (label, sequence) as [`Self::insert_batch`] says. Two records
    /// with the same client id in one batch are refused, and nothing is written.
    pub fn upsert_batch(
        &mut self,
        records: &[NewRecord],
        client_ids: &[Option<ClientId>],
        allow_duplicates: bool,
    ) -> Result<BatchOutcome> {
        let path = self.path.clone();
        guarded(&path, || {
            self.finish_loading()?;
            check_batch_metadata(records)?;
            check_client_ids(records.len(), client_ids)?;
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
                replaced: Vec::new(),
                clients: Vec::new(),
            };
            let (mut ids, mut replaced) = (Vec::new(), Vec::new());
            {
                let mut tables = BatchTables::open(&txn, self.config.quantize)?;
                for (i, (record, vector)) in records.iter().zip(vectors).enumerate() {
                    let client = client_ids.get(i).and_then(Option::as_ref);
                    let (id, old) = self.stage_record(
                        &mut tables,
                        &mut staged,
                        (record, client),
                        vector,
                        allow_duplicates,
                    )?;
                    ids.push(id);
                    replaced.push(old);
                }
                self.stage_meta(&txn, &staged)?;
            }
            txn.commit().map_err(storage)?;
            self.apply(staged);
            Ok(BatchOutcome {
                ids,
                replaced,
                total: self.len(),
            })
        })
    }

    /// The next id and, in a quantized collection's first batch, the quantizer.
    fn stage_meta(&self, txn: &WriteTransaction, staged: &Staged) -> Result<()> {
        let mut meta = txn.open_table(META).map_err(storage)?;
        let next = meta_json(KEY_NEXT_ID, &staged.next_id);
        meta.insert(KEY_NEXT_ID, next.as_slice()).map_err(storage)?;
        if let Some(quant) = &staged.fitted {
            let value = meta_json(KEY_QUANT, quant);
            meta.insert(KEY_QUANT, value.as_slice()).map_err(storage)?;
        }
        Ok(())
    }

    /// A quantized collection's first batch fixes the quantizer's scales.
    fn fit_quantizer(&self, vectors: &[Vec<f32>]) -> Option<Int8Quantizer> {
        if self.config.quantize != Quantize::Int8 || self.vectors.quant.is_some() {
            return None;
        }
        let flat: Vec<f32> = vectors.iter().flatten().copied().collect();
        (!flat.is_empty()).then(|| Int8Quantizer::fit(&flat, self.config.dim))
    }

    /// Stages one record; answers its new id (`None` when skipped as a duplicate) and the
    /// record its client id named before (`None` when it had none).
    fn stage_record(
        &self,
        t: &mut BatchTables,
        staged: &mut Staged,
        (record, client): (&NewRecord, Option<&ClientId>),
        vector: Vec<f32>,
        allow_duplicates: bool,
    ) -> Result<(Option<u64>, Option<u64>)> {
        let key = dedup_key(&record.label, &record.seq);
        if client.is_none() && !allow_duplicates {
            if let Some(id) = t.dedup.get(&key).map_err(storage)? {
                self.check_duplicate(t, staged, id.value(), record)?;
                return Ok((None, None));
            }
        }
        let id = self.stage_row(t, staged, record, vector)?;
        let replaced = match client {
            None => {
                t.dedup.insert(&key, id).map_err(storage)?;
                None
            }
            Some(client) => self.stage_client(t, staged, client.key(), id)?,
        };
        Ok((Some(id), replaced))
    }

    /// Writes a record's row, vector, codes and metadata under a new id.
    fn stage_row(
        &self,
        t: &mut BatchTables,
        staged: &mut Staged,
        record: &NewRecord,
        vector: Vec<f32>,
    ) -> Result<u64> {
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
        staged
            .rows
            .push((id, label, vector, record.metadata.clone()));
        Ok(id)
    }

    /// Points client id `key` at the new record `id`, tombstoning the record it named. The
    /// batch holds each client id once, so the old record is never one of this batch's.
    fn stage_client(
        &self,
        t: &mut BatchTables,
        staged: &mut Staged,
        key: String,
        id: u64,
    ) -> Result<Option<u64>> {
        let old = self.clients.get(&key);
        if let Some(old) = old {
            t.tombstones
                .insert(old, tables::tombstone_value(old).as_slice())
                .map_err(storage)?;
            staged.replaced.push(old);
        }
        t.client_ids
            .insert(key.as_str(), tables::client_id_value(&key, id).as_slice())
            .map_err(storage)?;
        staged.clients.push((key, id));
        Ok(old)
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
        for old in staged.replaced {
            self.mark_deleted(old);
        }
        for (key, id) in staged.clients {
            self.clients.insert(key, id);
        }
    }

    /// Marks a stored record deleted in memory (after its tombstone committed) and frees its
    /// client id.
    pub(super) fn mark_deleted(&mut self, id: u64) {
        if let Some(r) = self.vectors.row_of(id) {
            if !std::mem::replace(&mut self.vectors.deleted[r], true) {
                self.tombstones += 1;
            }
        }
        self.clients.remove_id(id);
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
