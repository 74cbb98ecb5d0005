//! What a batch insert checks before it writes, and the tables it writes.

use redb::WriteTransaction;

use super::client_ids::ClientId;
use super::open::storage;
use super::tables::{CLIENT_IDS, CODES, DEDUP, LABELS, METADATA, RECORDS, TOMBSTONES, VECTORS};
use super::write::NewRecord;
use super::Quantize;
use crate::seq::check_metadata;
use crate::{Error, Result};

/// Refuses a batch in which a record's metadata breaks the rules, naming the record.
pub(super) fn check_batch_metadata(records: &[NewRecord]) -> Result<()> {
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

/// Refuses client ids that do not match the batch, or one given twice (naming both records).
pub(super) fn check_client_ids(n: usize, client_ids: &[Option<ClientId>]) -> Result<()> {
    if !client_ids.is_empty() && client_ids.len() != n {
        return Err(Error::InvalidArgument {
            what: "client ids".into(),
            message: format!("{} ids for {n} records", client_ids.len()),
        });
    }
    let mut seen = std::collections::HashMap::new();
    for (i, id) in client_ids.iter().enumerate() {
        if let Some(first) = id.as_ref().and_then(|id| seen.insert(id, i)) {
            return Err(Error::InvalidArgument {
                what: format!("id of record {}", i + 1),
                message: format!("record {} has the same id", first + 1),
            });
        }
    }
    Ok(())
}

/// The tables a batch insert writes, opened once per transaction.
pub(super) struct BatchTables<'txn> {
    pub(super) records: redb::Table<'txn, u64, &'static [u8]>,
    pub(super) vectors: redb::Table<'txn, u64, &'static [u8]>,
    /// Only in a quantized collection.
    pub(super) codes: Option<redb::Table<'txn, u64, &'static [u8]>>,
    pub(super) labels: redb::Table<'txn, u32, &'static [u8]>,
    pub(super) dedup: redb::Table<'txn, &'static [u8; 32], u64>,
    pub(super) metadata: redb::Table<'txn, u64, &'static [u8]>,
    pub(super) client_ids: redb::Table<'txn, &'static str, &'static [u8]>,
    pub(super) tombstones: redb::Table<'txn, u64, &'static [u8]>,
}

impl<'txn> BatchTables<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction, quantize: Quantize) -> Result<Self> {
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
            client_ids: txn.open_table(CLIENT_IDS).map_err(storage)?,
            tombstones: txn.open_table(TOMBSTONES).map_err(storage)?,
        })
    }
}
